import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { ClientMessageId, CommandRef, MessageText } from '../brands.js'
import { describeProblems, explained, strictObject, type FieldProblem } from '../codecs.js'
import { isWellFormed } from '../text.js'
import { parseMessageId } from './message-id.js'
import * as O from 'fp-ts/lib/Option.js'

// Ids are compared exactly as sent, never normalized; they only have to be well-formed text (text.ts).
// Any string a room id could be (no id is longer than 64): an unknown one is answered unknown_room, which
// repeats it, so its length is bounded here rather than by the frame's.
const AnyRoomName = explained(t.refinement(t.string, (s) => s.length <= 128 && isWellFormed(s), 'RoomName'), 'must be a room id string of at most 128 characters')
const SinceId = explained(
  t.refinement(t.string, (s) => s.length <= 64 && isWellFormed(s), 'SinceId'),
  'must be a message id string',
)
const BeforeId = explained(
  t.refinement(t.string, (s) => O.isSome(parseMessageId(s)), 'MessageId'),
  'must be a message id received from the server',
)
export const HISTORY_PAGE_MAX = 100
const HistoryLimit = explained(
  t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1 && n <= HISTORY_PAGE_MAX, 'HistoryLimit'),
  `must be an integer from 1 to ${HISTORY_PAGE_MAX}`,
)

export const JoinCommand = strictObject(
  'JoinCommand',
  { type: t.literal('join') },
  // The room is any string here: an unknown one is answered `unknown_room`, not `bad_request`.
  { room: AnyRoomName, since: SinceId, ref: CommandRef },
)
export const LeaveCommand = strictObject('LeaveCommand', { type: t.literal('leave') }, { ref: CommandRef })
export const MAX_ATTACHMENTS = 10
const AttachmentUrls = explained(
  t.refinement(t.array(t.string), (urls) => urls.length <= MAX_ATTACHMENTS && urls.every((u) => u.length <= 512 && isWellFormed(u)), 'AttachmentUrls'),
  `must be a list of at most ${MAX_ATTACHMENTS} links returned by POST /uploads`,
)
const MessageFields = strictObject(
  'MessageCommand',
  { type: t.literal('message') },
  // `room`: the room the message was written in. Another tab of the same user may have moved them since;
  // then nothing is stored, rather than the message landing in a room its writer never saw.
  { text: MessageText, attachments: AttachmentUrls, clientId: ClientMessageId, ref: CommandRef, room: AnyRoomName },
)
/** A message has text, attachments, or both. */
type MessageFields = t.TypeOf<typeof MessageFields>
const hasContent = (input: unknown, context: t.Context) => (command: MessageFields): t.Validation<MessageFields> =>
  command.text !== undefined || (command.attachments?.length ?? 0) > 0
    ? t.success(command)
    : t.failure(input, [...context, { key: 'text', type: MessageText, actual: undefined }], 'a message needs text or at least one attachment')
export const MessageCommand = new t.Type<MessageFields, unknown, unknown>(
  'MessageCommand',
  MessageFields.is,
  (input, context) => E.chain(hasContent(input, context))(MessageFields.validate(input, context)),
  t.identity,
)
export const TypingStartCommand = strictObject(
  'TypingStartCommand',
  { type: t.literal('typing_start') },
  { ref: CommandRef },
)
export const TypingStopCommand = strictObject('TypingStopCommand', { type: t.literal('typing_stop') }, { ref: CommandRef })
export const HistoryCommand = strictObject(
  'HistoryCommand',
  { type: t.literal('history') },
  { before: BeforeId, limit: HistoryLimit, ref: CommandRef },
)
/**
 * Moves the user's read marker in `room` up to the message `upTo` (never back; an id beyond the room's last
 * message is taken as its last), or, without `upTo`, to the room's last message: "mark all read" for a
 * client that has only counted a room's messages and holds none of their ids. No reply on success;
 * `unknown_room` for a room the user does not belong to.
 */
export const ReadCommand = strictObject('ReadCommand', { type: t.literal('read'), room: AnyRoomName }, { upTo: BeforeId, ref: CommandRef })
/** A position in a room's member list, as `joined` and `members` give it: opaque to clients. */
export const MemberCursor = explained(
  t.refinement(t.string, (s) => /^(0|[1-9][0-9]{0,14})$/.test(s), 'MemberCursor'),
  'must be a cursor from a joined or members frame',
)
/**
 * Asks for the next page of the members of `room`, the room the user is in, after `cursor` (without it,
 * the first page, as `joined` gives it). Answered by a `members` frame; `not_in_room` for another room.
 */
export const MembersCommand = strictObject('MembersCommand', { type: t.literal('members'), room: AnyRoomName }, { cursor: MemberCursor, ref: CommandRef })
/** An application-level heartbeat: browsers cannot see WebSocket pings, so a page asks with this. */
export const PingCommand = strictObject('PingCommand', { type: t.literal('ping') }, { ref: CommandRef })

// A session token is a JWT of a few hundred characters; the bound only keeps nonsense cheap to refuse.
const TOKEN_MAX_LENGTH = 4096
const SessionToken = explained(
  t.refinement(t.string, (s) => s.length >= 1 && s.length <= TOKEN_MAX_LENGTH, 'SessionToken'),
  'must be the token from POST /auth/login or /auth/register',
)
/**
 * Signs in a connection opened without credentials (no Authorization header, no cookie): its first frame.
 * No `ref`: nothing answers it but `welcome` or the close.
 */
export const AuthCommand = strictObject('AuthCommand', { type: t.literal('auth'), token: SessionToken }, {})

/** Every command a client may send, by its `type`. */
export const clientCommandCodecs = {
  join: JoinCommand,
  leave: LeaveCommand,
  message: MessageCommand,
  typing_start: TypingStartCommand,
  typing_stop: TypingStopCommand,
  history: HistoryCommand,
  ping: PingCommand,
  read: ReadCommand,
  members: MembersCommand,
  auth: AuthCommand,
} as const

export type ClientCommandType = keyof typeof clientCommandCodecs
export type ClientCommand = { [K in ClientCommandType]: t.TypeOf<(typeof clientCommandCodecs)[K]> }[ClientCommandType]
/**
 * The commands the chat handles. `auth` never reaches it: the shell signs the connection in with it, so a
 * token never enters the chat's events.
 */
export type ChatCommand = Exclude<ClientCommand, { readonly type: 'auth' }>
export type ChatCommandType = ChatCommand['type']
export type AuthCommand = t.TypeOf<typeof AuthCommand>
export type JoinCommand = t.TypeOf<typeof JoinCommand>
export type MessageCommand = t.TypeOf<typeof MessageCommand>
export type HistoryCommand = t.TypeOf<typeof HistoryCommand>
export type ReadCommand = t.TypeOf<typeof ReadCommand>
export type MembersCommand = t.TypeOf<typeof MembersCommand>

/** Why a frame was not a command; `ref` is echoed when the frame had a usable one. */
export interface RejectedFrame {
  readonly message: string
  readonly details: ReadonlyArray<FieldProblem>
  readonly ref?: string
}

const isCommandType = (type: unknown): type is ClientCommandType =>
  typeof type === 'string' && Object.hasOwn(clientCommandCodecs, type)

/**
 * Decodes one text frame. Total: any string yields a command or a rejection, never an exception.
 * Dispatching on `type` first gives errors about the command the client meant, not about every variant.
 */
export const decodeClientFrame = (text: string): E.Either<RejectedFrame, ClientCommand> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return E.left({ message: 'frame is not valid JSON', details: [] })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return E.left({ message: 'frame must be a JSON object with a "type"', details: [] })
  }
  const record = json as Record<string, unknown>
  const ref = usableRef(record['ref'])
  const withRef = (rejection: Omit<RejectedFrame, 'ref'>): RejectedFrame =>
    ref === undefined ? rejection : { ...rejection, ref }
  const type = record['type']
  if (type === undefined) return E.left(withRef({ message: 'frame must be a JSON object with a "type"', details: [] }))
  if (!isCommandType(type)) return E.left(withRef({ message: `unknown command type ${JSON.stringify(type)}`, details: [] }))
  const decoder: t.Decoder<unknown, ClientCommand> = clientCommandCodecs[type]
  const decoded = decoder.decode(json)
  if (E.isRight(decoded)) return E.right(decoded.right)
  const details = describeProblems(decoded.left)
  return E.left(withRef({ message: `invalid ${type} command`, details }))
}

const usableRef = (ref: unknown): string | undefined => (CommandRef.is(ref) ? ref : undefined)
