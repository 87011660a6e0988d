import * as E from 'fp-ts/lib/Either.js'
import type { Duplex } from 'node:stream'
import type { RawData, WebSocket } from 'ws'
import { decodeClientFrame, type ClientCommand } from '../../core/protocol/client-commands.js'
import { uploadNameFromUrl, uploadUrl, type Upload, type UploadName } from '../../core/uploads.js'
import type { Logger } from '../../adapters/logger.js'
import type { System } from '../../adapters/system.js'
import type { Authenticated } from '../accounts.js'
import type { ChatRuntime } from '../chat-runtime.js'

export interface ConnectionDependencies {
  readonly runtime: ChatRuntime
  readonly system: System
  readonly log: Logger
  readonly findUploads: (names: ReadonlyArray<UploadName>) => Promise<E.Either<Error, ReadonlyArray<Upload>>>
}

type Inbound = { readonly kind: 'frame'; readonly data: RawData; readonly isBinary: boolean } | { readonly kind: 'closed'; readonly code: number }

export const CLOSE_UNSUPPORTED_DATA = 1003

const toText = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')

/**
 * Wires one open socket to the runtime. Frames are handled strictly in arrival order: a message whose
 * attachments must first be looked up holds back the frames behind it (and the close), so a client's
 * commands never overtake one another.
 */
export const attachConnection = (deps: ConnectionDependencies) => (socket: WebSocket, signedIn: Authenticated, raw: Duplex): void => {
  const { runtime, system, log } = deps
  const connection = system.newConnectionId()
  const user = signedIn.record.user
  const connectionLog = log.child({ connectionId: connection, userId: user.id })
  const inbox: Inbound[] = []
  let waiting = false

  const pump = (): void => {
    while (!waiting && inbox.length > 0) {
      const next = inbox.shift()
      if (next === undefined) return
      const lookup = next.kind === 'frame' ? handleFrame(next.data, next.isBinary) : handleClose(next.code)
      if (lookup === undefined) continue
      waiting = true
      void lookup.finally(() => {
        waiting = false
        pump()
      })
    }
  }

  const handleFrame = (data: RawData, isBinary: boolean): Promise<void> | undefined => {
    const at = system.now()
    if (isBinary) {
      // The protocol is JSON text; 1003 is WebSocket's own code for "cannot accept this data type".
      socket.close(CLOSE_UNSUPPORTED_DATA, 'binary frames are not accepted: send JSON text')
      return undefined
    }
    const decoded = decodeClientFrame(toText(data))
    if (E.isLeft(decoded)) {
      connectionLog.debug('frame rejected', { reason: decoded.left.message })
      const { message, details, ref } = decoded.left
      runtime.dispatch({ type: 'FrameRejected', connection, message, details, ...(ref === undefined ? {} : { ref }), at })
      return undefined
    }
    const command = decoded.right
    if (command.type === 'message' && (command.attachments?.length ?? 0) > 0) return withUploads(command, command.attachments ?? [])
    runtime.dispatch({ type: 'CommandReceived', connection, command, at })
    return undefined
  }

  // The core decides whether the links are acceptable; the shell only finds what they point at.
  const withUploads = async (command: ClientCommand, urls: ReadonlyArray<string>): Promise<void> => {
    const names = urls.flatMap((url) => {
      const name = uploadNameFromUrl(url)
      return name === undefined ? [] : [name]
    })
    const found = await deps.findUploads(names)
    const ref = command.ref === undefined ? {} : { ref: command.ref }
    if (E.isLeft(found)) {
      connectionLog.error('attachment lookup failed', { err: found.left })
      runtime.dispatch({ type: 'CommandFailed', connection, message: 'the message could not be sent; try again', ...ref, at: system.now() })
      return
    }
    const uploads = new Map(found.right.map((upload) => [uploadUrl(upload.name), upload]))
    runtime.dispatch({ type: 'CommandReceived', connection, command, uploads, at: system.now() })
  }

  const handleClose = (code: number): undefined => {
    runtime.detach(connection)
    runtime.dispatch({ type: 'ConnectionClosed', connection, at: system.now() })
    connectionLog.info('disconnected', { code })
    return undefined
  }

  runtime.attach(connection, socket, raw)
  socket.on('message', (data, isBinary) => {
    inbox.push({ kind: 'frame', data, isBinary })
    pump()
  })
  socket.on('close', (code) => {
    inbox.push({ kind: 'closed', code })
    pump()
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
