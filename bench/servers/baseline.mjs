// The naive reference: plain ws, no auth, no persistence, one JSON.stringify + ws.send per recipient.
import { WebSocketServer } from 'ws'

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', perMessageDeflate: false })
let next = 1
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const command = JSON.parse(data.toString())
    if (command.type !== 'message') return
    const message = { type: 'message', id: String(next++), room: 'sala-1', text: command.text }
    socket.send(JSON.stringify({ type: 'ack', id: message.id }))
    for (const other of wss.clients) {
      if (other !== socket && other.readyState === other.OPEN) other.send(JSON.stringify(message))
    }
  })
})
wss.on('listening', () => console.log(JSON.stringify({ listening: wss.address().port })))
