import type { ChatSocket } from './chat-socket.js'

/**
 * Pings every open socket each interval and cuts the ones that did not answer the previous ping. A
 * client whose network vanished (a half-open TCP connection) would otherwise stay "present" for ever;
 * cutting it fires 'close', so its user leaves with reason `disconnected`.
 */
export const startHeartbeat = (sockets: () => Iterable<ChatSocket>, intervalMs: number): { stop: () => void } => {
  const timer = setInterval(() => {
    for (const socket of sockets()) {
      if (socket.readyState !== socket.OPEN) continue
      if (!socket.answeredPing) {
        socket.terminate()
        continue
      }
      socket.answeredPing = false
      socket.ping()
    }
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
