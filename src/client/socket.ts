import { isRight } from 'fp-ts/lib/Either.js'
import { ServerFrame } from '../core/protocol/server-frames.js'

export interface ChatSocket {
  readonly send: (command: unknown) => void
  readonly close: () => void
}

/** One WebSocket to /ws, decoding every frame with the server's own codecs. */
export const openSocket = (handlers: {
  readonly opened: () => void
  readonly frame: (frame: ServerFrame) => void
  readonly invalid: (raw: string) => void
  readonly closed: (code: number, reason: string) => void
}): ChatSocket => {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`
  const socket = new WebSocket(url)
  socket.addEventListener('open', handlers.opened)
  socket.addEventListener('message', (event) => {
    const raw = String(event.data)
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch {
      return handlers.invalid(raw)
    }
    const decoded = ServerFrame.decode(json)
    if (isRight(decoded)) handlers.frame(decoded.right)
    else handlers.invalid(raw)
  })
  socket.addEventListener('close', (event) => handlers.closed(event.code, event.reason))
  return {
    send: (command) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(command))
    },
    close: () => socket.close(1000, 'signed out'),
  }
}
