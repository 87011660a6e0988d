import type { MessageNumbered } from '../core/chat/events.js'
import type { NewMessage } from '../core/chat/state.js'

// Engine-neutral bookkeeping for a store that numbers a batch in one INSERT ... RETURNING: what each row's
// seq is relative to its room's last, and which message of the batch each returned row is.

/** Each message's place among the batch's messages of its room, from 1, in batch order. */
export const positionsInRoom = (messages: ReadonlyArray<NewMessage>): ReadonlyArray<number> => {
  const counts = new Map<string, number>()
  return messages.map((m) => {
    const position = (counts.get(m.room) ?? 0) + 1
    counts.set(m.room, position)
    return position
  })
}

/** A row the insert returned: the columns that tell which message it is. */
export interface KeptRow {
  readonly room: string
  readonly seq: number
  readonly user_id: string
  readonly client_id: string | null
}

export interface Sorted {
  /** The messages kept, with their seq, in batch order. */
  readonly stored: ReadonlyArray<MessageNumbered>
  /** The messages left out as resends (the unique key on room, user, clientId), in batch order. */
  readonly left: ReadonlyArray<NewMessage>
}

/**
 * Which messages of `messages` the insert kept, given the rows it returned in any order. Only a message
 * with a clientId can be left out, and it is kept exactly when a row has its (room, user, clientId) and no
 * earlier message of the batch had it (the insert ran in batch order). Seqs rise with batch order within a
 * room, so the kept messages of a room, in order, are its rows sorted by seq. Throws when the rows do not
 * add up, which would be a bug in the statement.
 */
export const sortKept = (messages: ReadonlyArray<NewMessage>, rows: ReadonlyArray<KeptRow>): Sorted => {
  const returned = new Set(rows.flatMap((row) => (row.client_id === null ? [] : [clientKey(row.room, row.user_id, row.client_id)])))
  const seen = new Set<string>()
  const left: NewMessage[] = []
  const kept: NewMessage[] = []
  for (const message of messages) {
    if (message.clientId === undefined) {
      kept.push(message)
      continue
    }
    const key = clientKey(message.room, message.user.id, message.clientId)
    if (returned.has(key) && !seen.has(key)) kept.push(message)
    else left.push(message)
    seen.add(key)
  }
  const seqsByRoom = new Map<string, number[]>()
  for (const row of rows) {
    const seqs = seqsByRoom.get(row.room)
    if (seqs === undefined) seqsByRoom.set(row.room, [Number(row.seq)])
    else seqs.push(Number(row.seq))
  }
  for (const seqs of seqsByRoom.values()) seqs.sort((a, b) => a - b)
  const taken = new Map<string, number>()
  const stored = kept.map((message): MessageNumbered => {
    const index = taken.get(message.room) ?? 0
    taken.set(message.room, index + 1)
    const seq = seqsByRoom.get(message.room)?.[index]
    if (seq === undefined) throw new Error(`the insert returned fewer rows of ${message.room} than it kept`)
    return { room: message.room, key: message.key, seq }
  })
  if (stored.length !== rows.length) throw new Error(`the insert returned ${rows.length} rows for ${stored.length} kept messages`)
  return { stored, left }
}

const clientKey = (room: string, user: string, clientId: string): string => `${room}\u0000${user}\u0000${clientId}`
