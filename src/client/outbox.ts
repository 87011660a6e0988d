import type { Attachment } from '../core/uploads.js'
import type { ChatMessage } from '../core/protocol/server-frames.js'
import type { Command } from './frames.js'

// Messages written and not yet acknowledged. A message belongs to the room it was written in, whatever
// room the page is in when its answer comes; (room, clientId) is its key. The protocol's `message` goes to
// the connection's current room, so a message is only ever put on the wire while the page is in its room,
// and a resend carries the same clientId, which the server uses to store it once and ack it again.

export type Delivery =
  /** Waits for its room to be joined on a live connection. */
  | { readonly state: 'queued' }
  /** Written to the current connection; an `ack` or an `error` will answer. */
  | { readonly state: 'sent' }
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

export const LEFT_ROOM = 'Not sent: you had left this room before the connection came back.'

export const messageCommand = (message: Outgoing): Command => ({
  type: 'message',
  ...(message.text === '' ? {} : { text: message.text }),
  ...(message.attachments.length === 0 ? {} : { attachments: message.attachments.map((a) => a.url) }),
  clientId: message.clientId,
  ref: message.clientId,
})

const is = (room: string, clientId: string) => (message: Outgoing) => message.room === room && message.clientId === clientId

const withDelivery = (delivery: Delivery) => (message: Outgoing): Outgoing => ({ ...message, delivery })

/** The connection closed: whatever was on it may or may not have been stored, so it waits to be resent. */
export const connectionLost = (outbox: Outbox): Outbox =>
  outbox.map((message) => (message.delivery.state === 'sent' ? withDelivery({ state: 'queued' })(message) : message))

/**
 * The page is now in `room` on a live connection, and `seen` is what the room says it holds. Ours among
 * those were stored (their ack was lost with a connection) and leave the outbox; the rest of the room's
 * queue goes on the wire; what waits for another room can no longer be sent there, and fails.
 */
export const roomEntered = (
  outbox: Outbox,
  room: string,
  me: string,
  seen: ReadonlyArray<ChatMessage>,
): readonly [Outbox, ReadonlyArray<Outgoing>] => {
  const stored = new Set(seen.filter((m) => m.user.username === me && m.clientId !== undefined).map((m) => m.clientId))
  const kept = outbox.filter((message) => message.room !== room || !stored.has(message.clientId))
  const due = kept.filter((message) => message.room === room && message.delivery.state === 'queued')
  const next = kept.map((message) => {
    if (message.delivery.state !== 'queued') return message
    return message.room === room ? withDelivery({ state: 'sent' })(message) : withDelivery({ state: 'failed', reason: LEFT_ROOM })(message)
  })
  return [next, due]
}

/** Everything queued for `room`, put on the wire (the page is in it on a live connection). */
export const flush = (outbox: Outbox, room: string): readonly [Outbox, ReadonlyArray<Outgoing>] => {
  const due = outbox.filter((message) => message.room === room && message.delivery.state === 'queued')
  return [outbox.map((message) => (due.includes(message) ? withDelivery({ state: 'sent' })(message) : message)), due]
}

/**
 * The message an `ack` answers: by room and clientId, or, from a server that does not say the room, the
 * one on the wire with that clientId (clientIds are random UUIDs; the room only makes the key exact).
 */
export const answered = (outbox: Outbox, clientId: string, room: string | undefined): Outgoing | undefined =>
  room !== undefined
    ? outbox.find(is(room, clientId))
    : (outbox.find((message) => message.clientId === clientId && message.delivery.state === 'sent') ?? outbox.find((message) => message.clientId === clientId))

export const without = (outbox: Outbox, message: Outgoing): Outbox => outbox.filter((other) => other !== message)

export const failed = (outbox: Outbox, message: Outgoing, reason: string): Outbox =>
  outbox.map((other) => (other === message ? withDelivery({ state: 'failed', reason })(other) : other))

/** The writer asked to try a failed message again. */
export const retried = (outbox: Outbox, room: string, clientId: string): Outbox =>
  outbox.map((message) => (is(room, clientId)(message) && message.delivery.state === 'failed' ? withDelivery({ state: 'queued' })(message) : message))

export const discarded = (outbox: Outbox, room: string, clientId: string): Outbox =>
  outbox.filter((message) => !is(room, clientId)(message) || message.delivery.state !== 'failed')
