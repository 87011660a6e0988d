import * as t from 'io-ts'
import { codePointLength, explained, hasControlCharacters } from './codecs.js'

// Identities made by the adapters (random or from the database). Opaque inside the core.

export interface UserIdBrand {
  readonly UserId: unique symbol
}
export const UserId = t.brand(t.string, (s): s is t.Branded<string, UserIdBrand> => s.length > 0, 'UserId')
export type UserId = t.TypeOf<typeof UserId>

export interface SessionIdBrand {
  readonly SessionId: unique symbol
}
export const SessionId = t.brand(
  t.string,
  (s): s is t.Branded<string, SessionIdBrand> => /^[A-Za-z0-9_-]{16,64}$/.test(s),
  'SessionId',
)
export type SessionId = t.TypeOf<typeof SessionId>

export interface ConnectionIdBrand {
  readonly ConnectionId: unique symbol
}
export const ConnectionId = t.brand(
  t.string,
  (s): s is t.Branded<string, ConnectionIdBrand> => s.length > 0,
  'ConnectionId',
)
export type ConnectionId = t.TypeOf<typeof ConnectionId>

// Account fields, as a person types them.

export interface UsernameBrand {
  readonly Username: unique symbol
}
export const Username = explained(
  t.brand(t.string, (s): s is t.Branded<string, UsernameBrand> => /^[A-Za-z0-9_.-]{3,32}$/.test(s), 'Username'),
  'must be 3-32 characters of letters, digits, "_", "." or "-"',
)
export type Username = t.TypeOf<typeof Username>

export interface EmailBrand {
  readonly Email: unique symbol
}
// Deliberately loose: the only real test of an address is mail arriving; this catches typos.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/
export const Email = explained(
  t.brand(
    t.string,
    (s): s is t.Branded<string, EmailBrand> => s.length <= 254 && EMAIL_SHAPE.test(s) && !hasControlCharacters(s),
    'Email',
  ),
  'must be a valid e-mail address of at most 254 characters',
)
export type Email = t.TypeOf<typeof Email>

export interface PersonNameBrand {
  readonly PersonName: unique symbol
}
export const PersonName = explained(
  t.brand(
    t.string,
    (s): s is t.Branded<string, PersonNameBrand> =>
      s.trim() === s && codePointLength(s) >= 1 && codePointLength(s) <= 100 && !hasControlCharacters(s),
    'PersonName',
  ),
  'must be 1-100 characters, without control characters or surrounding spaces',
)
export type PersonName = t.TypeOf<typeof PersonName>

export interface PasswordBrand {
  readonly Password: unique symbol
}
// bcrypt reads at most 72 bytes; a longer password would be silently truncated, so it is refused.
export const Password = explained(
  t.brand(
    t.string,
    (s): s is t.Branded<string, PasswordBrand> => {
      const bytes = utf8Length(s)
      return bytes >= 8 && bytes <= 72
    },
    'Password',
  ),
  'must be 8-72 bytes long',
)
export type Password = t.TypeOf<typeof Password>

const utf8 = new TextEncoder()
const utf8Length = (s: string): number => utf8.encode(s).length

// Chat values.

export interface RoomIdBrand {
  readonly RoomId: unique symbol
}
export const RoomId = t.brand(
  t.string,
  (s): s is t.Branded<string, RoomIdBrand> => /^[a-z0-9][a-z0-9-]{0,63}$/.test(s),
  'RoomId',
)
export type RoomId = t.TypeOf<typeof RoomId>

export interface MessageTextBrand {
  readonly MessageText: unique symbol
}
export const MESSAGE_MAX_CHARACTERS = 4000
const isMessageTextShape = (s: string): s is t.Branded<string, MessageTextBrand> =>
  s === s.trim() && codePointLength(s) >= 1 && codePointLength(s) <= MESSAGE_MAX_CHARACTERS
const TrimmedMessageText = t.brand(t.string, isMessageTextShape, 'MessageText')
/** Message text, trimmed: decoding trims, so what is stored and sent is what was measured. */
export const MessageText = new t.Type<t.TypeOf<typeof TrimmedMessageText>, string, unknown>(
  'MessageText',
  TrimmedMessageText.is,
  (u, c) =>
    typeof u === 'string' && isMessageTextShape(u.trim())
      ? TrimmedMessageText.validate(u.trim(), c)
      : t.failure(u, c, `must be a string of 1-${MESSAGE_MAX_CHARACTERS} characters after trimming`),
  (text) => text,
)
export type MessageText = t.TypeOf<typeof MessageText>

/** A client's own id for a message, used to make resends idempotent. */
export const ClientMessageId = explained(
  t.refinement(t.string, (s) => s.length >= 1 && s.length <= 64 && !hasControlCharacters(s), 'ClientMessageId'),
  'must be 1-64 characters without control characters',
)

/** The `ref` a client attaches to a command so that it can match the answer. */
export const CommandRef = explained(
  t.refinement(t.string, (s) => s.length >= 1 && s.length <= 64, 'CommandRef'),
  'must be a string of 1-64 characters',
)
