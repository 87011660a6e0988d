import type { WebSocket, WebSocketServer } from 'ws'

/**
 * Pings every socket each interval and cuts the ones that did not answer the previous ping. A client
 * whose network vanished (a half-open TCP connection) would otherwise stay "present" for ever; cutting
 * it fires 'close', so its user leaves with reason `disconnected`.
 */
export const startHeartbeat = (wss: WebSocketServer, intervalMs: number): { stop: () => void } => {
  const answered = new WeakSet<WebSocket>()
  const watched = new WeakSet<WebSocket>()
  // One listener shared by every socket (an emitter calls it with `this` set to the socket).
  function markAnswered(this: WebSocket): void {
    answered.add(this)
  }
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (!watched.has(socket)) {
        // First sight of this socket: it gets a whole interval to answer.
        watched.add(socket)
        socket.on('pong', markAnswered)
      } else if (!answered.has(socket)) {
        socket.terminate()
        continue
      }
      answered.delete(socket)
      socket.ping()
    }
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
