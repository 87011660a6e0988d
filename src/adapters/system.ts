import { randomBytes, randomUUID } from 'node:crypto'
import { ConnectionId, SessionId, UserId } from '../core/brands.js'
import { trusted } from '../core/codecs.js'
import { UploadName } from '../core/uploads.js'

/** The clock and the id generators: the only sources of time and randomness the core ever sees. */
export interface System {
  readonly now: () => number
  readonly newUserId: () => UserId
  readonly newSessionId: () => SessionId
  readonly newConnectionId: () => ConnectionId
  readonly newUploadName: () => UploadName
}

export const realSystem: System = {
  now: () => Date.now(),
  newUserId: () => trusted(UserId, randomUUID()),
  // 192 random bits: a session id is a bearer secret's second half, so it must not be guessable.
  newSessionId: () => trusted(SessionId, randomBytes(24).toString('base64url')),
  newConnectionId: () => trusted(ConnectionId, randomUUID()),
  // 128 random bits: the name is the only thing that protects an uploaded file from strangers.
  newUploadName: () => trusted(UploadName, randomBytes(16).toString('base64url')),
}
