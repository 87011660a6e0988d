import { RoomId, type ConnectionId } from '../brands.js'
import type { MessageCommand } from '../protocol/client-commands.js'
import { findSender, roomOf, sendTo, setRoom } from './audience.js'
import type { Effect } from './effects.js'
import type { DuplicateMessage, MessageNumbered, MessageReceipt, StoreFailure } from './events.js'
import { aboutRoom, errorFrame } from './frames.js'
import { ackFrame, forget, numbered, pointAtStored } from './delivery.js'
import { ackWhenDelivered, arrive } from './ordering.js'
import { toAttachment, type Attachment, type Upload } from '../uploads.js'
import {
  clientIdKey,
  type AckWaiter,
  type ChatState,
  type ChatUser,
  type ClientIdHolder,
  type NewMessage,
  type PendingMessage,
  type RoomState,
  type StoredMessage,
} from './state.js'
import { unchanged, type Step } from './step-result.js'
import { stopTyping } from './typing.js'

/**
 * A message is accepted now and numbered by the store, which gives it its `seq` in the transaction that
 * keeps it (so any number of processes may write one room); until then it is pending under a provisional
 * `key` of this process, and nobody sees it (not even its sender's ack). A resend whose `clientId` memory
 * knows posts nothing: it waits for, or gets, the first ack. One memory does not know (the first copy has
 * left `recent`, or the server restarted) is posted like any message: the store keeps every clientId under
 * a unique key, so the insert itself is the lookup, and it answers with the original, which is acked
 * instead (`messagesStored`). Asking the store first would cost a read for every message a client numbers
 * (the web client numbers them all) and still race.
 */
export const postMessage = (
  state: ChatState,
  connection: ConnectionId,
  command: MessageCommand,
  uploads: ReadonlyMap<string, Upload>,
  at: number,
): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const room = roomOf(state, sender.presence)
  if (room === undefined) {
    return unchanged(state, [sendTo(connection, aboutRoom(errorFrame('not_in_room', 'join a room before sending', command.ref), writtenIn(command)))])
  }
  if (command.room !== undefined && command.room !== room.id) {
    // Written in a room this user has left since (another tab moved them): stored nowhere.
    const refusal = errorFrame('not_in_room', `you are in ${room.id} now, not in ${command.room}: the message was not sent`, command.ref)
    return unchanged(state, [sendTo(connection, aboutRoom(refusal, writtenIn(command)))])
  }
  if (room.profile.archivedAt !== null) {
    return unchanged(state, [sendTo(connection, aboutRoom(errorFrame('room_archived', 'this room is archived: its history stays, but nothing new can be written there', command.ref), room.id))])
  }
  const attachments = resolveAttachments(command.attachments ?? [], uploads, sender.presence.user)
  if (typeof attachments === 'string') {
    return unchanged(state, [sendTo(connection, aboutRoom(errorFrame('invalid_attachment', attachments, command.ref), room.id))])
  }
  const waiter: AckWaiter = command.ref === undefined ? { connection } : { connection, ref: command.ref }
  const user = sender.presence.user
  const known = command.clientId === undefined ? undefined : room.clientIds.get(clientIdKey(user.id, command.clientId))
  const resent = known === undefined ? undefined : answerResend(state, room, known, waiter)
  if (resent !== undefined) return resent

  const message: NewMessage = {
    key: state.nextKey,
    room: room.id,
    user,
    text: command.text ?? '',
    attachments,
    sentAt: at,
    ...(command.clientId === undefined ? {} : { clientId: command.clientId }),
  }
  const posted: RoomState = {
    ...room,
    pending: room.pending.set(message.key, { message, waiters: [waiter] }),
    clientIds:
      command.clientId === undefined ? room.clientIds : room.clientIds.set(clientIdKey(user.id, command.clientId), { pending: message.key }),
  }
  // Sending ends typing, announced now rather than when the store answers.
  const [next, typingEffects] = stopTyping({ ...setRoom(state, posted), nextKey: state.nextKey + 1 }, sender.presence, at)
  return [next, [...typingEffects, { type: 'storeMessage', message }]]
}

/** The room a message says it was written in, when that is a room id at all. */
const writtenIn = (command: MessageCommand): RoomId | undefined => (command.room !== undefined && RoomId.is(command.room) ? command.room : undefined)

/** Only the sender's own uploads, linked as `/static/<name>`, can be attached; the answer says which link is not. */
const resolveAttachments = (
  urls: ReadonlyArray<string>,
  uploads: ReadonlyMap<string, Upload>,
  sender: ChatUser,
): ReadonlyArray<Attachment> | string => {
  const attachments: Attachment[] = []
  for (const url of urls) {
    const upload = uploads.get(url)
    if (upload === undefined || upload.owner !== sender.id) return `${JSON.stringify(url)} is not a file you uploaded (POST /uploads)`
    attachments.push(toAttachment(upload))
  }
  return attachments
}

/** Joins the first copy's waiters, or acks it from memory; undefined when memory no longer holds it. */
const answerResend = (state: ChatState, room: RoomState, holder: ClientIdHolder, waiter: AckWaiter): Step | undefined => {
  if ('pending' in holder) {
    const pending = room.pending.get(holder.pending)
    if (pending === undefined) return undefined
    const waiting = { ...pending, waiters: [...pending.waiters, waiter] }
    return [setRoom(state, { ...room, pending: room.pending.set(holder.pending, waiting) }), []]
  }
  const stored = room.recent.find((m) => m.seq === holder.stored)
  return stored === undefined ? undefined : unchanged(state, [sendTo(waiter.connection, ackFrame(room.id, stored, stored.clientId, waiter))])
}

/** Settles each message still pending, in order; messages the core no longer waits for are skipped. */
const settle = <T extends { readonly room: RoomId; readonly key: number }>(
  state: ChatState,
  answers: ReadonlyArray<T>,
  settleOne: (state: ChatState, room: RoomState, pending: PendingMessage, answer: T) => Step,
): Step => {
  let next = state
  const effects: Effect[] = []
  for (const answer of answers) {
    const room = next.rooms.get(answer.room)
    const pending = room?.pending.get(answer.key)
    if (room === undefined || pending === undefined) continue
    const [settled, settledEffects] = settleOne(next, room, pending, answer)
    next = settled
    effects.push(...settledEffects)
  }
  return [next, effects]
}

/**
 * The store kept `stored`, numbered, in the order they were asked (their seq order within a room): each
 * goes to the room in seq order (at once, unless another process's message must come first), and when
 * other processes share the chat they hear of them in one announcement. The senders of each duplicate get
 * the original's ack and nobody else hears anything.
 */
export const messagesStored = (
  state: ChatState,
  stored: ReadonlyArray<MessageNumbered>,
  duplicates: ReadonlyArray<DuplicateMessage>,
  at: number,
): Step => {
  const kept: StoredMessage[] = []
  const [delivered, deliveries] = settle(state, stored, (current, room, { message: posted, waiters }, { seq }) => {
    const message = numbered(posted, seq)
    kept.push(message)
    const settled: RoomState = {
      ...room,
      pending: room.pending.remove(posted.key),
      clientIds: pointAtStored(room.clientIds, message, { pending: posted.key }),
    }
    return arrive(current, settled, { message, waiters }, at)
  })
  const [answered, answers] = settle(delivered, duplicates, (current, room, pending, { original }) =>
    answerDuplicate(current, room, pending, original, at),
  )
  const announcement: ReadonlyArray<Effect> =
    state.settings.cluster === null || kept.length === 0 ? [] : [{ type: 'announce', fact: { type: 'messages_stored', messages: kept } }]
  return [answered, [...announcement, ...deliveries, ...answers]]
}

/**
 * A resend the store recognised: it never got a number, and memory points the clientId at the original
 * while `recent` still holds it.
 */
const answerDuplicate = (state: ChatState, room: RoomState, { message, waiters }: PendingMessage, original: MessageReceipt, at: number): Step => {
  const forgotten = forget(room.clientIds, message, { pending: message.key })
  const clientIds =
    message.clientId !== undefined && room.recent.some((m) => m.seq === original.seq)
      ? forgotten.set(clientIdKey(message.user.id, message.clientId), { stored: original.seq })
      : forgotten
  const settled: RoomState = { ...room, pending: room.pending.remove(message.key), clientIds }
  // The original was stored by another process and is not delivered here yet: its ack waits for it, or it
  // would reach the sender before messages that come before it.
  if (state.settings.cluster !== null && original.seq > room.lastSeq) {
    return ackWhenDelivered(state, settled, original, waiters.map((waiter) => ({ waiter, sentAt: original.sentAt, ...(message.clientId === undefined ? {} : { clientId: message.clientId }) })), at)
  }
  const next = setRoom(state, settled)
  const acks = waiters
    .filter((waiter) => next.connections.has(waiter.connection))
    .map((waiter) => sendTo(waiter.connection, ackFrame(message.room, original, message.clientId, waiter)))
  return [next, acks]
}

/**
 * The store failed: one log line says what was lost and why (how many, in which rooms, from whom, never
 * text), and the senders hear so and may resend with the same clientId.
 */
export const messagesNotStored = (state: ChatState, messages: ReadonlyArray<NewMessage>, error: StoreFailure): Step => {
  const [next, errors] = settle(state, messages, (current, room, { message, waiters }) => {
    const after = setRoom(current, {
      ...room,
      pending: room.pending.remove(message.key),
      clientIds: forget(room.clientIds, message, { pending: message.key }),
    })
    const failure = (ref: string | undefined) =>
      aboutRoom(errorFrame('internal_error', 'the message could not be stored; send it again', ref), message.room)
    const refusals = waiters
      .filter((waiter) => after.connections.has(waiter.connection))
      .map((waiter) => sendTo(waiter.connection, failure(waiter.ref)))
    return [after, refusals]
  })
  return [next, [lostLog(messages, error), ...errors]]
}

// Lost messages were never numbered: the line names their rooms and senders instead of ids.
const lostLog = (messages: ReadonlyArray<NewMessage>, error: StoreFailure): Effect => ({
  type: 'log',
  level: 'error',
  message: 'messages not stored',
  fields: {
    condition: error.condition,
    code: error.code,
    error: error.message,
    count: messages.length,
    rooms: [...new Set(messages.map((m) => m.room))],
    users: [...new Set(messages.map((m) => m.user.id))],
  },
})
