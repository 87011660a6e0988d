import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { explained, keptAsIs, normalizing } from './codecs.js'
import { checkMessageText, checkName, cleanName, hasControlCharacters, isWellFormed, type TextProblem } from './text.js'

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

// Account fields, as a person types them. Text goes through the one rule of text.ts.

export interface UsernameBrand {
  readonly Username: unique symbol
}
// ASCII only, so normalization changes nothing and a lone surrogate or a look-alike never matches.
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
const EMAIL_MAX = 254
const EMAIL_SENTENCE = `must be a valid e-mail address of at most ${EMAIL_MAX} characters`
const checkEmail = (raw: string): E.Either<string, string> => {
  const checked = checkName(raw, { max: EMAIL_MAX })
  if (E.isLeft(checked)) return E.left(sentenceFor(checked.left, EMAIL_SENTENCE))
  return EMAIL_SHAPE.test(checked.right) ? E.right(checked.right) : E.left(EMAIL_SENTENCE)
}
/** An e-mail address as typed, in NFC; addresses are compared by `comparisonKey` (NFC, lower case). */
export const Email = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, EmailBrand> => keptAsIs(checkEmail, s), 'Email'),
  checkEmail,
)
export type Email = t.TypeOf<typeof Email>

export interface PersonNameBrand {
  readonly PersonName: unique symbol
}
export const PERSON_NAME_MAX = 100
const PERSON_NAME_SENTENCE = `must be 1-${PERSON_NAME_MAX} characters, without control, bidirectional or invisible characters or surrounding spaces`
const checkPersonName = (raw: string): E.Either<string, string> =>
  E.mapLeft((problem: TextProblem) => sentenceFor(problem, PERSON_NAME_SENTENCE))(checkName(raw, { max: PERSON_NAME_MAX }))
/** A display name, in NFC: something visible, on one line, with nothing that reorders or hides characters. */
export const PersonName = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, PersonNameBrand> => keptAsIs(checkPersonName, s), 'PersonName'),
  checkPersonName,
)
export type PersonName = t.TypeOf<typeof PersonName>

/**
 * A display name read back from the database. One an earlier, looser version stored (a bidi override, a
 * zero-width space) is shown without what today's rule refuses, or as the username when nothing visible
 * is left: such a name never reaches anyone the way it was meant to be misread.
 */
export const storedPersonName = (stored: string, username: Username): PersonName => {
  const asIs = PersonName.decode(stored)
  if (E.isRight(asIs)) return asIs.right
  const cleaned = PersonName.decode([...cleanName(stored).trim()].slice(0, PERSON_NAME_MAX).join('').trim())
  return E.isRight(cleaned) ? cleaned.right : usernameAsName(username)
}

// Letters, digits and `_.-` always make a valid display name.
const usernameAsName = (username: Username): PersonName => {
  const decoded = PersonName.decode(username)
  if (E.isLeft(decoded)) throw new TypeError(`username ${JSON.stringify(username)} is not a valid display name`)
  return decoded.right
}

export interface PasswordBrand {
  readonly Password: unique symbol
}
// bcrypt reads at most 72 bytes and stops at a NUL byte; a longer password would be silently truncated
// and one with a NUL would match its own prefix, so both are refused. A lone surrogate would be hashed as
// U+FFFD, matching every other lone surrogate, so it is refused too. Passwords are hashed in NFC (as NIST
// SP 800-63B asks), so "café" typed composed or decomposed is one password.
const PASSWORD_SENTENCE = 'must be 8-72 bytes long once in NFC, in well-formed Unicode, without NUL characters'
const isPasswordShape = (s: string): boolean => {
  const bytes = utf8Length(s)
  return isWellFormed(s) && !s.includes('\u0000') && bytes >= 8 && bytes <= 72
}
const checkPassword = (raw: string): E.Either<string, string> => {
  if (!isWellFormed(raw)) return E.left(PASSWORD_SENTENCE)
  const nfc = raw.normalize('NFC')
  return isPasswordShape(nfc) ? E.right(nfc) : E.left(PASSWORD_SENTENCE)
}
export const Password = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, PasswordBrand> => isPasswordShape(s) && s === s.normalize('NFC'), 'Password'),
  checkPassword,
)

/**
 * The passwords a typed one may have been registered as, in the order to try them: its NFC form, then,
 * for an account made before passwords were normalized, the bytes as typed. Empty when no registered
 * password could be it (too long, a NUL...): the login then fails without a real comparison.
 */
export const passwordCandidates = (typed: string): ReadonlyArray<string> => {
  const nfc = Password.decode(typed)
  const first: ReadonlyArray<string> = E.isRight(nfc) ? [nfc.right] : []
  const legacy = isPasswordShape(typed) && !first.includes(typed) ? [typed] : []
  return [...first, ...legacy]
}
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

export const ROOM_NAME_MAX = 64
/** A room's display name (from `ROOMS`): the same rule as a person's name. Right: the name in NFC. */
export const checkRoomName = (raw: string): E.Either<string, string> =>
  E.mapLeft((problem: TextProblem) => sentenceFor(problem, `needs a name of 1-${ROOM_NAME_MAX} characters`))(
    checkName(raw, { max: ROOM_NAME_MAX }),
  )

export interface MessageTextBrand {
  readonly MessageText: unique symbol
}
export const MESSAGE_MAX_CHARACTERS = 4000
const MESSAGE_LENGTH_SENTENCE = `must be a string of 1-${MESSAGE_MAX_CHARACTERS} characters after trimming`
const checkText = (raw: string): E.Either<string, string> =>
  E.mapLeft((problem: TextProblem) =>
    problem === 'control_character'
      ? 'must not contain control characters other than tabs and line breaks'
      : sentenceFor(problem, MESSAGE_LENGTH_SENTENCE),
  )(checkMessageText(raw, { max: MESSAGE_MAX_CHARACTERS }))
/**
 * Message text as stored and sent: decoding normalizes (NFC) and trims, so what is stored, sent live and
 * read back from history is the one string that was measured.
 */
export const MessageText = normalizing(
  t.brand(t.string, (s): s is t.Branded<string, MessageTextBrand> => keptAsIs(checkText, s), 'MessageText'),
  checkText,
)
export type MessageText = t.TypeOf<typeof MessageText>

/**
 * Message text read back from the database. What this version stored decodes to itself. A text an
 * earlier, looser version accepted (only invisible characters, a control character) is history: it is
 * shown as it was kept, not re-judged, and that is the one place a text is branded without the rule.
 */
export const storedMessageText = (stored: string): MessageText => {
  const decoded = MessageText.decode(stored)
  return E.isRight(decoded) ? decoded.right : (stored as MessageText)
}

/** A client's own id for a message, used to make resends idempotent. Compared and echoed exactly as sent. */
export const ClientMessageId = explained(
  t.refinement(
    t.string,
    (s) => s.length >= 1 && s.length <= 64 && isWellFormed(s) && !hasControlCharacters(s),
    'ClientMessageId',
  ),
  'must be 1-64 characters of well-formed Unicode, without control characters',
)

/** The `ref` a client attaches to a command so that it can match the answer; echoed exactly as sent. */
export const CommandRef = explained(
  t.refinement(t.string, (s) => s.length >= 1 && s.length <= 64 && isWellFormed(s), 'CommandRef'),
  'must be a string of 1-64 characters of well-formed Unicode',
)

/** What a refused piece of text is told; `length` is the field's own sentence about its size. */
export const sentenceFor = (problem: TextProblem, length: string): string => {
  switch (problem) {
    case 'ill_formed':
      return 'must be well-formed Unicode text (it holds a lone surrogate)'
    case 'control_character':
      return 'must not contain control characters or line breaks'
    case 'bidi_control':
      return 'must not contain bidirectional control characters (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C)'
    case 'invisible_character':
      return 'must not contain invisible characters (zero-width spaces or joiners, soft hyphens, stray variation selectors...)'
    case 'mark_without_base':
      return 'must not have a combining mark (an accent) without a letter before it to sit on'
    case 'too_many_marks':
      return 'must not stack more than 4 combining marks (accents) on one letter, nor the same one twice'
    case 'private_use':
      return 'must not contain private-use characters (U+E000-F8FF, planes 15-16): they look different on every screen'
    case 'noncharacter':
      return 'must not contain Unicode noncharacters (U+FDD0-FDEF, U+FFFE, U+FFFF and their kin in every plane)'
    case 'unassigned':
      return 'must not contain code points Unicode has not assigned'
    case 'surrounding_space':
      return 'must not start or end with a space'
    case 'no_visible_content':
      return 'must show something: not only spaces and invisible characters'
    case 'too_short':
    case 'too_long':
      return length
  }
}
