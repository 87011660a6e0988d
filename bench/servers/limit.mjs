// The practical limit: serialize and frame each broadcast once, cork every recipient until setImmediate,
// so all the frames due to one socket in a tick leave in one write. No auth, no persistence.
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const frame = (payload) => {
  const length = payload.length
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(header + length)
  out[0] = 0x81
  if (length < 126) out[1] = length
  else if (length < 65536) (out[1] = 126), out.writeUInt16BE(length, 2)
  else (out[1] = 127), out.writeBigUInt64BE(BigInt(length), 2)
  payload.copy(out, header)
  return out
}
const server = createServer()
const wss = new WebSocketServer({ server, perMessageDeflate: false })
const raw = new Map()
let corked = []
let next = 1
wss.on('connection', (socket, req) => {
  raw.set(socket, req.socket)
  socket.on('close', () => raw.delete(socket))
  socket.on('message', (data) => {
    const command = JSON.parse(data.toString())
    if (command.type !== 'message') return
    const message = { type: 'message', id: String(next++), room: 'sala-1', text: command.text }
    socket.send(JSON.stringify({ type: 'ack', id: message.id }))
    const bytes = frame(Buffer.from(JSON.stringify(message)))
    for (const [other, tcp] of raw) {
      if (other === socket) continue
      if (!tcp.writableCorked) {
        tcp.cork()
        if (corked.push(tcp) === 1) setImmediate(() => { const all = corked; corked = []; for (const s of all) s.uncork() })
      }
      tcp.write(bytes)
    }
  })
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(JSON.stringify({ listening: server.address().port })))
