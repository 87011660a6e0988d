import { randomBytes, randomUUID } from 'node:crypto'
import { ConnectionId, RoomId, SessionId, UserId } from '../core/brands.js'
import { trusted } from '../core/codecs.js'
import { UploadName } from '../core/uploads.js'

/** The clock and the id generators: the only sources of time and randomness the core ever sees. */
export interface System {
  readonly now: () => number
  readonly newUserId: () => UserId
  readonly newSessionId: () => SessionId
  readonly newConnectionId: () => ConnectionId
  readonly newUploadName: () => UploadName
  /** A room someone makes: `r-` and 12 lowercase base32 characters (docs/rooms.md). */
  readonly newRoomId: () => RoomId
  /** A direct conversation: `dm-` and 12 lowercase base32 characters. */
  readonly newDirectRoomId: () => RoomId
}

export const realSystem: System = {
  now: () => Date.now(),
  newUserId: () => trusted(UserId, randomUUID()),
  // 192 random bits: a session id is a bearer secret's second half, so it must not be guessable.
  newSessionId: () => trusted(SessionId, randomBytes(24).toString('base64url')),
  newConnectionId: () => trusted(ConnectionId, randomUUID()),
  // 128 random bits: the name is the only thing that protects an uploaded file from strangers.
  newUploadName: () => trusted(UploadName, randomBytes(16).toString('base64url')),
  // 60 random bits: room ids are no secret (a private room hides behind membership, not its id); they only
  // need to be unlikely to collide, and the store's key refuses the rare one that does.
  newRoomId: () => trusted(RoomId, `r-${base32(12)}`),
  newDirectRoomId: () => trusted(RoomId, `dm-${base32(12)}`),
}

// RFC 4648's alphabet in lower case: a RoomId holds lower-case letters and digits only.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** `length` characters, each 5 uniform random bits (a byte's low 5 bits: 256 is a multiple of 32). */
const base32 = (length: number): string => [...randomBytes(length)].map((byte) => BASE32[byte & 31]).join('')
