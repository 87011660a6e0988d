import type { ChatMessage } from '../core/protocol/server-frames.js'

// One room's messages as the page knows them. Message ids are per room (each room counts from 1), so a
// timeline only ever holds its own room's messages, and the page keeps one per room it has been in.

/** How many messages `joined` brings and `history` asks for. */
export const PAGE = 50

export interface Timeline {
  /** This room's messages, in id order, without duplicates. */
  readonly messages: ReadonlyArray<ChatMessage>
  readonly hasOlder: boolean
  /**
   * The newest id received from the room with nothing missing before it (since the last fresh start): the
   * `since` of the next join. Acks do not move it: a message of ours stored just after we left a room can
   * come after messages of others that we never received.
   */
  readonly cursor: string | null
}

/** A room's latest messages, as `joined` without `since` (or with a gap) gives them. */
export const freshTimeline = (history: ReadonlyArray<ChatMessage>): Timeline => {
  const messages = mergeMessages([], history)
  return { messages, hasOlder: history.length >= PAGE, cursor: messages.at(-1)?.id ?? null }
}

/** What a room said since `timeline.cursor`, as `joined` with that `since` and no gap gives it. */
export const caughtUp = (timeline: Timeline, history: ReadonlyArray<ChatMessage>): Timeline => ({
  messages: mergeMessages(timeline.messages, history),
  hasOlder: timeline.hasOlder,
  cursor: newest(timeline.cursor, history.at(-1)?.id),
})

/** A message the room sent live: nothing came between it and what we had. */
export const received = (timeline: Timeline, message: ChatMessage): Timeline => ({
  ...timeline,
  messages: mergeMessages(timeline.messages, [message]),
  cursor: newest(timeline.cursor, message.id),
})

/** One of our messages, acknowledged: shown, but the cursor stays (see `cursor`). */
export const filed = (timeline: Timeline, message: ChatMessage): Timeline => ({
  ...timeline,
  messages: mergeMessages(timeline.messages, [message]),
})

/** A page of older messages. */
export const olderLoaded = (timeline: Timeline, page: ReadonlyArray<ChatMessage>): Timeline => ({
  ...timeline,
  messages: mergeMessages(page, timeline.messages),
  hasOlder: page.length >= PAGE,
})

/** Ids are zero-padded, so string order is id order. Only for messages of one room: ids repeat across rooms. */
export const mergeMessages = (a: ReadonlyArray<ChatMessage>, b: ReadonlyArray<ChatMessage>): ReadonlyArray<ChatMessage> => {
  const byId = new Map<string, ChatMessage>()
  for (const message of [...a, ...b]) byId.set(message.id, message)
  return [...byId.values()].sort((x, y) => compareIds(x.id, y.id))
}

const compareIds = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0)

const newest = (a: string | null, b: string | undefined): string | null =>
  b === undefined ? a : a === null || compareIds(a, b) < 0 ? b : a
