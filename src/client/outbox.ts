import type { Attachment } from '../core/uploads.js'
import type { ChatMessage } from '../core/protocol/server-frames.js'
import type { Command } from './frames.js'

// Messages written and not yet acknowledged. A message belongs to the room it was written in, whatever
// room the page is in when its answer comes; (room, clientId) is its key. The protocol's `message` goes to
// the connection's current room, so a message is only ever put on the wire while the page is in its room,
// and a resend carries the same clientId, which the server uses to store it once and ack it again. It also
// says its `room`, so that a server which has meanwhile moved the user (another tab of theirs) stores
// nothing and answers `not_in_room` rather than filing it in a room its writer never saw.

export type Delivery =
  /** Waits for its room to be joined on a live connection. */
  | { readonly state: 'queued' }
  /** Written to the current connection; an `ack` or an `error` will answer. */
  | { readonly state: 'sent' }
  /**
   * Was on a connection that closed before its answer: it may be stored. Resent (same clientId, so never
   * stored twice) once its room is joined again, unless that room's messages show it; never declared lost.
   */
  | { readonly state: 'unconfirmed' }
  /** Needs the writer: a retry puts it back in the queue. */
  | { readonly state: 'failed'; readonly reason: string }

export interface Outgoing {
  readonly room: string
  readonly clientId: string
  readonly text: string
  readonly attachments: ReadonlyArray<Attachment>
  readonly delivery: Delivery
}

export type Outbox = ReadonlyArray<Outgoing>

/** A message's key: the room it was written in and its clientId. */
export interface MessageKey {
  readonly room: string
  readonly clientId: string
}

export const LEFT_ROOM = 'Not sent: you had left this room before the connection came back.'
export const MOVED_AWAY = 'Not sent: you had moved to another room (in another tab) before it arrived.'
export const ARCHIVED = 'Not sent: the room is archived.'

/**
 * The `message` command for `message`. `withRoom` is false only towards a server older than the field,
 * which refuses it as unknown (the page learns that from its refusal: see `refusedRoomField`).
 */
export const messageCommand = (message: Outgoing, withRoom: boolean): Command => ({
  type: 'message',
  ...(message.text === '' ? {} : { text: message.text }),
  ...(message.attachments.length === 0 ? {} : { attachments: message.attachments.map((a) => a.url) }),
  clientId: message.clientId,
  ref: message.clientId,
  ...(withRoom ? { room: message.room } : {}),
})

const is = (room: string, clientId: string) => (message: MessageKey) => message.room === room && message.clientId === clientId

const withDelivery = (delivery: Delivery) => (message: Outgoing): Outgoing => ({ ...message, delivery })

/** Whether `message` waits on the writer (failed) or on a visit to its room (unconfirmed). */
export const unsettled = (message: Outgoing): boolean => message.delivery.state === 'failed' || message.delivery.state === 'unconfirmed'

/** Whether any of `keys` is still in the outbox waiting on the writer or on a visit to its room. */
export const stillUnsettled = (outbox: Outbox, keys: ReadonlyArray<MessageKey>): boolean =>
  outbox.some((message) => unsettled(message) && keys.some((key) => is(key.room, key.clientId)(message)))

/** The connection closed: whatever was on it may or may not have been stored. */
export const connectionLost = (outbox: Outbox): Outbox =>
  outbox.map((message) => (message.delivery.state === 'sent' ? withDelivery({ state: 'unconfirmed' })(message) : message))

/**
 * Messages whose room, as far as the page holds it (`stored`: a room's messages by room id), shows them
 * stored: their ack was lost with a connection, or another room's catch-up came first. They leave the
 * outbox, so they are neither resent nor reported as not sent. Ours are recognised by author and clientId.
 */
export const seenStored = (outbox: Outbox, me: string, stored: (room: string) => ReadonlyArray<ChatMessage>): Outbox =>
  outbox.filter((message) => !stored(message.room).some((m) => m.user.username === me && m.clientId === message.clientId))

/**
 * The page is now in `room` on a live connection (after `seenStored`). The room's queue and its unconfirmed
 * messages go on the wire; what was queued for another room can no longer be sent there, and fails; what
 * is unconfirmed elsewhere stays so until its room is visited (it may be stored: it is not declared lost).
 */
export const roomEntered = (outbox: Outbox, room: string): readonly [Outbox, ReadonlyArray<Outgoing>] => {
  const due = outbox.filter((message) => message.room === room && waitsForWire(message))
  const next = outbox.map((message) => {
    if (due.includes(message)) return withDelivery({ state: 'sent' })(message)
    return message.delivery.state === 'queued' ? withDelivery({ state: 'failed', reason: LEFT_ROOM })(message) : message
  })
  return [next, due]
}

const waitsForWire = (message: Outgoing): boolean => message.delivery.state === 'queued' || message.delivery.state === 'unconfirmed'

/** Everything queued for `room`, put on the wire (the page is in it on a live connection). */
export const flush = (outbox: Outbox, room: string): readonly [Outbox, ReadonlyArray<Outgoing>] => {
  const due = outbox.filter((message) => message.room === room && waitsForWire(message))
  return [outbox.map((message) => (due.includes(message) ? withDelivery({ state: 'sent' })(message) : message)), due]
}

/**
 * The message an `ack` or an `error` answers: by room and clientId; else (a server that does not say the
 * room, or an older one that stored it in the room the user had moved to) the one on the wire with that
 * clientId. ClientIds are random UUIDs; the room only makes the key exact.
 */
export const answered = (outbox: Outbox, clientId: string, room: string | undefined): Outgoing | undefined =>
  (room === undefined ? undefined : outbox.find(is(room, clientId))) ??
  outbox.find((message) => message.clientId === clientId && message.delivery.state === 'sent') ??
  outbox.find((message) => message.clientId === clientId)

/** A message refused by a server too old to know `room`: it goes back to the queue, to be sent without it. */
export const requeued = (outbox: Outbox, message: Outgoing): Outbox =>
  outbox.map((other) => (other === message ? withDelivery({ state: 'queued' })(other) : other))

export const without = (outbox: Outbox, message: Outgoing): Outbox => outbox.filter((other) => other !== message)

export const failed = (outbox: Outbox, message: Outgoing, reason: string): Outbox =>
  outbox.map((other) => (other === message ? withDelivery({ state: 'failed', reason })(other) : other))

/** The writer asked to try a failed message again. */
export const retried = (outbox: Outbox, room: string, clientId: string): Outbox =>
  outbox.map((message) => (is(room, clientId)(message) && message.delivery.state === 'failed' ? withDelivery({ state: 'queued' })(message) : message))

export const discarded = (outbox: Outbox, room: string, clientId: string): Outbox =>
  outbox.filter((message) => !is(room, clientId)(message) || message.delivery.state !== 'failed')
