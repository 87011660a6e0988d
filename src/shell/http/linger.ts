import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** How long a refused client may go on sending after our answer before its connection is cut. */
export const LINGER_MS = 2000

/**
 * Ends an exchange whose request body was not read (an early 401, 403, 413, 415 or 429) so that the client
 * reads the answer. The response must say `Connection: close`; the socket is then closed gently.
 *
 * Why not simply close: a socket closed with unread data makes the kernel send a reset, which can reach the
 * client before it has read our answer, and fails the client's next write with EPIPE or ECONNRESET; curl
 * and Node's own client then report the error instead of the status. So, as nginx's lingering close does:
 * once the response is written our side is half-closed (FIN: the client learns there is no more), and what
 * the client still sends is read and dropped until it closes too, or until `lingerMs` passes.
 */
export const closeAfterResponse = (req: IncomingMessage, res: ServerResponse, lingerMs = LINGER_MS): void => {
  // A request a reader destroyed has let go of its socket; the response still holds it.
  const socket = res.socket ?? req.socket
  // Already gone (the client left, or a reader destroyed it): nothing left to close gently.
  if (socket === null || socket.destroyed) return
  // Node's HTTP server ends a `Connection: close` exchange with `socket.destroySoon()` (FIN, then close as
  // soon as it is flushed). Replacing it on this one socket is the hook that runs after the response is
  // written. Should Node stop calling it, the connection still closes, only less gently.
  socket.destroySoon = () => linger(socket, req, lingerMs)
}

const linger = (socket: Socket, req: IncomingMessage, lingerMs: number): void => {
  socket.end()
  // Flowing with no reader: the HTTP parser goes on consuming the body and it is dropped.
  req.resume()
  const cut = setTimeout(() => socket.destroy(), lingerMs)
  cut.unref()
  socket.once('close', () => clearTimeout(cut))
  // The client's FIN ends the exchange: nothing more will come.
  socket.once('end', () => socket.destroy())
}
