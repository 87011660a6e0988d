import { flush, messageCommand, type MessageKey, type Outgoing } from './outbox.js'
import type { Command } from './frames.js'
import { noMembers } from './members.js'
import type { Cmd, Model, Step } from './model.js'

// Small steps the reducer and its frame handlers share.

export const send = (command: Command): Cmd => ({ type: 'send', command })

/** The `message` command for each of `messages`, with their room unless the server is too old for it. */
export const sendMessages = (model: Model, messages: ReadonlyArray<Outgoing>): ReadonlyArray<Cmd> =>
  messages.map((message) => send(messageCommand(message, model.messageRoom === 'said')))

/** Adds a notice of a problem; one `about` messages goes once none of them waits on the writer any more. */
export const notice = (model: Model, text: string, about: ReadonlyArray<MessageKey> = []): Model => ({
  ...model,
  notices: [...model.notices, { id: model.nextNoticeId, text, ...(about.length === 0 ? {} : { about: about.map(({ room, clientId }) => ({ room, clientId })) }) }].slice(-5),
  nextNoticeId: model.nextNoticeId + 1,
})

/** Adds a notice that something asked for was done (an invitation, a removal): not a problem. */
export const inform = (model: Model, text: string): Model => ({
  ...model,
  notices: [...model.notices, { id: model.nextNoticeId, text, tone: 'info' as const }].slice(-5),
  nextNoticeId: model.nextNoticeId + 1,
})

/**
 * Whether a command sent now reaches `room`: the connection is welcomed, the server has it in `room`, and
 * no join is on its way (the server would handle the command after that join, in the other room).
 */
export const ready = (model: Model, room: string): boolean =>
  model.connection.state === 'online' && model.room === room && model.joining === null

/** Whether the room on screen is the one commands reach now. */
export const inShownRoom = (model: Model): boolean => model.shown !== null && ready(model, model.shown)

/** Sends a join for `room` with the `since` of what we hold of it, and shows the room. */
export const join = (model: Model, room: string): Step => {
  const since = model.timelines.get(room)?.cursor ?? null
  const ref = `join-${model.nextRef}`
  const staying = room === model.room
  return [
    {
      ...model,
      shown: room,
      joining: { ref, room, since },
      nextRef: model.nextRef + 1,
      landing: { state: 'landed' },
      members: staying ? model.members : noMembers,
      typing: staying ? model.typing : [],
      loadingOlder: false,
    },
    [send({ type: 'join', room, ...(since === null ? {} : { since }), ref })],
  ]
}

/**
 * The user opens `room` (from the list, a room they made, a conversation). Nothing is sent if the page is
 * there or on its way there; before `welcome` it is only shown, and joined when the server says welcome.
 */
export const enter = (model: Model, room: string): Step => {
  const there = model.joining === null ? model.room === room : model.joining.room === room
  if (room === model.shown && there) return [model, []]
  if (model.connection.state !== 'online') return [{ ...model, shown: room, members: noMembers, typing: [], loadingOlder: false }, []]
  return join(model, room)
}

/** Puts what waits for `room` on the wire, if the page is in it. */
export const flushIfReady = (model: Model, room: string): Step => {
  if (!ready(model, room)) return [model, []]
  const [outbox, due] = flush(model.outbox, room)
  return [{ ...model, outbox }, sendMessages(model, due)]
}

