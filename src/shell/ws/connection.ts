import * as E from 'fp-ts/lib/Either.js'
import type { RawData, WebSocket } from 'ws'
import { decodeClientFrame } from '../../core/protocol/client-commands.js'
import type { Logger } from '../../adapters/logger.js'
import type { System } from '../../adapters/system.js'
import type { Authenticated } from '../accounts.js'
import type { ChatRuntime } from '../chat-runtime.js'

const toText = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')

/** Wires one open socket to the runtime: frames in become events, close becomes an event. */
export const attachConnection = (runtime: ChatRuntime, system: System, log: Logger) => (socket: WebSocket, signedIn: Authenticated): void => {
  const connection = system.newConnectionId()
  const user = signedIn.record.user
  const connectionLog = log.child({ connectionId: connection, userId: user.id })
  runtime.attach(connection, socket)

  socket.on('message', (data, isBinary) => {
    const at = system.now()
    if (isBinary) {
      runtime.dispatch({ type: 'FrameRejected', connection, message: 'binary frames are not accepted: send JSON text', details: [], at })
      return
    }
    const decoded = decodeClientFrame(toText(data))
    if (E.isRight(decoded)) {
      runtime.dispatch({ type: 'CommandReceived', connection, command: decoded.right, at })
      return
    }
    connectionLog.debug('frame rejected', { reason: decoded.left.message })
    const { message, details, ref } = decoded.left
    runtime.dispatch({ type: 'FrameRejected', connection, message, details, ...(ref === undefined ? {} : { ref }), at })
  })
  socket.on('close', (code) => {
    runtime.detach(connection)
    runtime.dispatch({ type: 'ConnectionClosed', connection, at: system.now() })
    connectionLog.info('disconnected', { code })
  })
  // ws closes the socket itself after an 'error' (bad frame, oversized payload); we only record it.
  socket.on('error', (error) => connectionLog.debug('socket error', { err: error }))

  connectionLog.info('connected')
  runtime.dispatch({
    type: 'ConnectionOpened',
    connection,
    user,
    session: signedIn.session.id,
    sessionExpiresAt: signedIn.session.expiresAt,
    at: system.now(),
  })
}
