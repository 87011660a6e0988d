import pg from 'pg'
import WebSocket from 'ws'
import type { ServerFrame } from '../../src/core/protocol/server-frames.js'
import { waitFor, type ChatClient } from '../integration/helpers.js'

// What clients have seen of a room, read from the frames they recorded (never consumed with `next`), and
// steady traffic whose acknowledgements can be checked against the database afterwards.

type Joined = Extract<ServerFrame, { type: 'joined' }>

/** Sends `join` and answers the `joined` frame, left in `client.frames` so the views below still see it. */
export const joinRoom = (client: ChatClient, room: string, ref: string, since?: string): Promise<Joined> => {
  client.send({ type: 'join', room, ref, ...(since === undefined ? {} : { since }) })
  return waitFor(() => client.frames.find((f): f is Joined => f.type === 'joined' && f.ref === ref), `joined ${ref}`, 10_000)
}

/**
 * The ids of `room`'s messages as `client` heard them, in arrival order: a `joined` frame's history, live
 * `message`s and the `ack`s of its own (except those whose ref `skipAck` names: a resend's ack repeats
 * the id the first send got).
 */
export const heardIds = (client: ChatClient, room: string, skipAck?: (ref: string) => boolean): number[] => idsIn(client.frames, room, skipAck)

const idsIn = (frames: ReadonlyArray<ServerFrame>, room: string, skipAck: (ref: string) => boolean = () => false): number[] =>
  frames.flatMap((f) => {
    if (f.type === 'joined' && f.room === room) return f.history.map((m) => Number(m.id))
    if (f.type === 'message' && f.room === room) return [Number(f.id)]
    if (f.type === 'ack' && f.room === room && !skipAck(f.ref ?? '')) return [Number(f.id)]
    return []
  })

/**
 * `heardIds` from the last `joined` frame of `room` on: what a client that (re)joined with `since` has by
 * then. Frames before it (a tab that lands in the room the user is in elsewhere gets a `joined` of its own
 * on connecting) are what the `since` catch-up repeats.
 */
export const heardFromLastJoin = (client: ChatClient, room: string, skipAck?: (ref: string) => boolean): number[] => {
  const last = client.frames.findLastIndex((f) => f.type === 'joined' && f.room === room)
  return idsIn(last < 0 ? client.frames : client.frames.slice(last), room, skipAck)
}

/** Who `client` was last told is in `room`: its `joined` list, then every `user_joined` and `user_left`. */
export const presentUsers = (client: ChatClient, room: string): Set<string> => {
  const present = new Set<string>()
  for (const f of client.frames) {
    if (f.type === 'joined' && f.room === room) {
      present.clear()
      for (const user of f.users) present.add(user.username)
    } else if (f.type === 'user_joined' && f.room === room) present.add(f.user.username)
    else if (f.type === 'user_left' && f.room === room) present.delete(f.user.username)
  }
  return present
}

/** The `user_left` frames about `username` that `client` received. */
export const leftFrames = (client: ChatClient, username: string) =>
  client.frames.filter((f): f is Extract<ServerFrame, { type: 'user_left' }> => f.type === 'user_left' && f.user.username === username)

/** Every number in `expected` that `heard` lacks. */
export const missing = (heard: ReadonlyArray<number>, expected: Iterable<number>): number[] => {
  const have = new Set(heard)
  return [...expected].filter((id) => !have.has(id))
}

/** Whether `ids` rise strictly: in id order, without a duplicate. */
export const rising = (ids: ReadonlyArray<number>): boolean => ids.every((id, i) => i === 0 || id > ids[i - 1]!)

export interface StoredRow {
  readonly seq: number
  readonly clientId: string | null
  readonly text: string
}

/** The room's messages in the database, in seq order (what "stored" means, whichever process wrote it). */
export const storedMessages = async (databaseUrl: string, room: string): Promise<StoredRow[]> => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ seq: string; client_id: string | null; text: string }>(
      'SELECT seq, client_id, text FROM messages WHERE room = $1 ORDER BY seq',
      [room],
    )
    return rows.map((row) => ({ seq: Number(row.seq), clientId: row.client_id, text: row.text }))
  } finally {
    await client.end()
  }
}

/** One message a sender sent: its text, its `clientId` (also its `ref`), and when it was sent (ms). */
export interface Sent {
  readonly clientId: string
  readonly text: string
  readonly at: number
}

/**
 * Each sender (by label) writes one message to `room` every `intervalMs`, with a `clientId` (also its ref),
 * while its socket is open; `use` swaps a sender's client (it reconnected). Acks are read from every client
 * a sender has used.
 */
export class Traffic {
  readonly sent = new Map<string, Sent[]>()
  /** When each ack arrived (ms), by clientId. */
  readonly ackedAt = new Map<string, number>()
  private readonly clients = new Map<string, ChatClient[]>()
  private readonly listened = new WeakSet<ChatClient>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly room: string,
    private readonly intervalMs: number,
  ) {}

  /** Starts `label` sending from `client` (again, after a reconnect). */
  use(label: string, client: ChatClient): void {
    if (!this.listened.has(client)) {
      this.listened.add(client)
      client.socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type?: string; clientId?: string }
        if (frame.type === 'ack' && frame.clientId !== undefined && !this.ackedAt.has(frame.clientId)) this.ackedAt.set(frame.clientId, Date.now())
      })
    }
    this.clients.set(label, [...(this.clients.get(label) ?? []), client])
    if (!this.sent.has(label)) this.sent.set(label, [])
    this.timer ??= setInterval(() => this.tick(), this.intervalMs)
  }

  /** Stops `label`'s messages (all senders when no label is given). */
  stop(label?: string): void {
    if (label !== undefined) {
      this.clients.delete(label)
      return
    }
    this.clients.clear()
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** The id each acknowledged message got, by clientId, from every client of every sender. */
  acks(clients: Iterable<ChatClient>): Map<string, number> {
    const acked = new Map<string, number>()
    for (const client of clients) {
      for (const f of client.frames) if (f.type === 'ack' && f.room === this.room && f.clientId !== undefined) acked.set(f.clientId, Number(f.id))
    }
    return acked
  }

  /**
   * How long each message sent from `from` to `to` (ms) waited for its ack, the longest first; one still
   * unanswered counts until now.
   */
  ackWaits(from: number, to: number): number[] {
    const now = Date.now()
    const waits: number[] = []
    for (const sent of this.sent.values()) {
      for (const m of sent) if (m.at >= from && m.at <= to) waits.push((this.ackedAt.get(m.clientId) ?? now) - m.at)
    }
    return waits.sort((a, b) => b - a)
  }

  /** How many of `label`'s messages have been sent. */
  count(label: string): number {
    return this.sent.get(label)?.length ?? 0
  }

  private tick(): void {
    for (const [label, clients] of this.clients) {
      const client = clients[clients.length - 1]
      if (client === undefined || client.socket.readyState !== WebSocket.OPEN) continue
      const sent = this.sent.get(label) ?? []
      const message = { clientId: `${label}-${sent.length}`, text: `${label} ${sent.length}`, at: Date.now() }
      sent.push(message)
      client.send({ type: 'message', room: this.room, text: message.text, clientId: message.clientId, ref: message.clientId })
    }
  }
}

/** The id (as the server wrote it) of the latest message of `room` that `client` heard, for a `since`. */
export const lastHeard = (client: ChatClient, room: string): string | undefined => {
  let last: string | undefined
  for (const f of client.frames) {
    const ids =
      f.type === 'joined' && f.room === room ? f.history.map((m) => m.id) : (f.type === 'message' || f.type === 'ack') && f.room === room ? [f.id] : []
    for (const id of ids) if (last === undefined || Number(id) > Number(last)) last = id
  }
  return last
}
