import { CLOSE_NORMAL } from '../core/protocol/close-codes.js'
import { SUBPROTOCOLS } from '../core/protocol/version.js'
import { decodeFrame, type Command, type Frame } from './frames.js'

/** The subprotocols the page offers, best first: the server picks the latest it speaks. */
const OFFERED = [SUBPROTOCOLS[2], SUBPROTOCOLS[1]]

export interface ChatSocket {
  readonly send: (command: Command) => void
  /** Closes the socket and stops reporting anything about it: the page has moved on. */
  readonly close: (reason: string) => void
}

/** One WebSocket to /ws, decoding every frame with the server's own codecs (frames.ts). */
export const openSocket = (handlers: {
  readonly opened: () => void
  readonly frame: (frame: Frame) => void
  /** A frame of a type this page does not use: only a sign of life. */
  readonly other: () => void
  readonly invalid: (raw: string) => void
  readonly closed: (code: number, reason: string) => void
}): ChatSocket => {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`
  // Version 2 (paged members, gathered presence: docs/big-rooms.md), and version 1 for a server one release
  // older (a rolling deploy), which refuses an offer it has nothing of. The page handles the frames of both.
  const socket = new WebSocket(url, OFFERED)
  // A socket the page gave up on (a dead link, a sign-out) may still report its close much later, when
  // the page is on a newer socket: from then on it reports nothing.
  let current = true
  socket.addEventListener('open', () => {
    if (current) handlers.opened()
  })
  socket.addEventListener('message', (event) => {
    if (!current) return
    const raw = String(event.data)
    const decoded = decodeFrame(raw)
    switch (decoded.type) {
      case 'frame':
        return handlers.frame(decoded.frame)
      case 'other':
        return handlers.other()
      case 'invalid':
        return handlers.invalid(raw)
    }
  })
  socket.addEventListener('close', (event) => {
    if (current) handlers.closed(event.code, event.reason)
  })
  return {
    send: (command) => {
      if (current && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(command))
    },
    close: (reason) => {
      current = false
      socket.close(CLOSE_NORMAL, reason)
    },
  }
}
