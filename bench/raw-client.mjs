// A minimal WebSocket client for the load generator: the HTTP upgrade by hand, then frames scanned in
// place in each TCP read. The `ws` client decodes every frame into its own Buffer, emits it, and the
// generator then made a string of it; at hundreds of thousands of frames a second that, not the server,
// was what capped the fan-out figures. Here a frame costs a few byte comparisons unless it is wanted.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

const OP_TEXT = 0x1
const OP_CLOSE = 0x8
const OP_PING = 0x9
const OP_PONG = 0xa

/**
 * Opens a WebSocket to ws://host:port/path. `onText(buffer, start, end)` sees each text frame's payload
 * in place (copy it if it must outlive the call). Resolves once the server has answered 101.
 */
export const openRaw = ({ host, port, path, headers = {}, localAddress, onText, onClose = () => {} }) =>
  new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress, noDelay: true })
    const key = randomBytes(16).toString('base64')
    // Bytes read but not yet scanned (a frame's beginning), kept as the reads gave them: a frame of hundreds
    // of KiB arrives in many reads, and joining them at each read would copy it over and over.
    let pieces = []
    let held = 0
    // How many bytes the partial frame at the head of `pieces` needs before a scan can get further.
    let needed = 0
    let upgraded = false

    const send = (opcode, payload) => {
      const length = payload.length
      const header = length < 126 ? 6 : length < 65536 ? 8 : 14
      const out = Buffer.allocUnsafe(header + length)
      out[0] = 0x80 | opcode
      if (length < 126) out[1] = 0x80 | length
      else if (length < 65536) (out[1] = 0x80 | 126), out.writeUInt16BE(length, 2)
      else (out[1] = 0x80 | 127), out.writeBigUInt64BE(BigInt(length), 2)
      // A zero mask: clients must mask, and masking with zeros leaves the payload as it is.
      out.writeUInt32BE(0, header - 4)
      payload.copy(out, header)
      socket.write(out)
    }

    const scan = (buffer) => {
      let at = 0
      needed = 0
      while (buffer.length - at >= 2) {
        const opcode = buffer[at] & 0x0f
        let length = buffer[at + 1] & 0x7f
        let header = 2
        if (length === 126) {
          if (buffer.length - at < 4) break
          length = buffer.readUInt16BE(at + 2)
          header = 4
        } else if (length === 127) {
          if (buffer.length - at < 10) break
          length = Number(buffer.readBigUInt64BE(at + 2))
          header = 10
        }
        const start = at + header
        const end = start + length
        if (end > buffer.length) {
          needed = end - at
          break
        }
        if (opcode === OP_TEXT) onText(buffer, start, end)
        else if (opcode === OP_PING) send(OP_PONG, buffer.subarray(start, end))
        else if (opcode === OP_CLOSE) socket.end()
        at = end
      }
      pieces = at === buffer.length ? [] : [buffer.subarray(at)]
      held = buffer.length - at
    }

    socket.on('data', (chunk) => {
      pieces.push(chunk)
      held += chunk.length
      // A partial frame's header said how long it is: nothing to scan until it is all here.
      if (upgraded && held < needed) return
      const buffer = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, held)
      if (upgraded) return scan(buffer)
      pieces = [buffer]
      const headEnd = buffer.indexOf('\r\n\r\n')
      if (headEnd === -1) return
      const head = buffer.toString('latin1', 0, headEnd)
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy()
        return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`))
      }
      upgraded = true
      resolve({ sendText: (text) => send(OP_TEXT, Buffer.from(text)), terminate: () => socket.destroy() })
      scan(buffer.subarray(headEnd + 4))
    })
    socket.on('error', reject)
    socket.on('close', onClose)
    const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
  })
