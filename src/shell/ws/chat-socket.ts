import type { Duplex } from 'node:stream'
import { WebSocket, type RawData } from 'ws'

/** The connection a socket belongs to: it hears everything the socket has to say. */
export interface SocketPeer {
  readonly frame: (data: RawData, isBinary: boolean) => void
  readonly closed: (code: number) => void
  readonly failed: (error: Error) => void
}

/**
 * ws's server-side socket, made by ws itself (the server's `WebSocket` option), that hands its events
 * straight to its connection instead of to listeners.
 *
 * Why: an idle socket is mostly bookkeeping, and an emitter's listeners were a large part of it: a
 * dictionary-mode table that grows with each event name, a closure and a scope per listener, plus the
 * server's own client set with its 'close' listener. At tens of thousands of sockets that was several
 * hundred bytes each. Here the socket holds one reference to its peer and one flag for the heartbeat.
 * Anyone who does add a listener still gets the event, after the peer.
 */
export class ChatSocket extends WebSocket {
  peer: SocketPeer | undefined = undefined
  /** The TCP socket under this one: broadcasts are framed once and written to it directly. */
  tcp: Duplex | undefined = undefined
  /** Whether the peer answered the last ping (a new socket has a whole interval before the first). */
  answeredPing = true

  /**
   * Starts the closing handshake, and cuts the connection if the peer has not answered it within
   * `CLOSE_GRACE_MS`. ws itself would wait 30 s; a client that ignores a close (after logout, abuse, a
   * full send buffer) would hold its socket, and its address's slot, all that time.
   */
  override close(code?: number, reason?: string | Buffer): void {
    const first = this.readyState === WebSocket.OPEN
    super.close(code, reason)
    if (first) setTimeout(cutIfOpen, CLOSE_GRACE_MS, this).unref()
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const peer = this.peer
    switch (event) {
      case 'message':
        // Once the server has decided to close (logout 4001, abuse 1008, slow 1013, shutdown 1001...),
        // the socket is CLOSING and nothing more the peer sends reaches the chat, though ws keeps reading
        // until the peer answers the close or the socket is cut.
        if (this.readyState !== WebSocket.OPEN) return false
        peer?.frame(args[0] as RawData, args[1] as boolean)
        break
      case 'close':
        peer?.closed(args[0] as number)
        break
      case 'error':
        peer?.failed(args[0] as Error)
        // With no listener, an emitter throws its 'error': the peer has handled it.
        if (this.listenerCount('error') === 0) return peer !== undefined
        break
      case 'pong':
        this.answeredPing = true
        break
    }
    return super.emit(event, ...args)
  }
}

/** How long a peer has to answer the server's close frame before its connection is cut. */
export const CLOSE_GRACE_MS = 5000

// Module-level, so that the timer holds the socket and nothing else.
const cutIfOpen = (socket: WebSocket): void => {
  if (socket.readyState !== WebSocket.CLOSED) socket.terminate()
}

/** A socket wired to its connection and its TCP socket, as the runtime holds it. */
export type BoundSocket = ChatSocket & { readonly peer: SocketPeer; readonly tcp: Duplex }

export const bindSocket = (socket: ChatSocket, peer: SocketPeer, tcp: Duplex): BoundSocket => Object.assign(socket, { peer, tcp })
