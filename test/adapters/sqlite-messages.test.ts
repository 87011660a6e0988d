import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageText, RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { StoredMessage } from '../../src/core/chat/state.js'
import { chatMessage } from '../../src/core/chat/frames.js'
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js'
import { sqliteMessageStore } from '../../src/adapters/sqlite/messages.js'
import type { MessageStore } from '../../src/adapters/stores.js'
import { StoreError } from '../../src/adapters/store-failure.js'
import { createMessageWriter, type WriteOutcome } from '../../src/adapters/message-writer.js'
import { user } from '../arbitraries.js'

// The message store against a real SQLite file: the unique key on (room, user, clientId) decides what is
// a resend, whatever the caller knew, and what is read back is byte for byte what was written.

let dir: string
let db: SqliteDatabase
let store: MessageStore
const ana = user('ana')
const bia = user('bia')
const room = trusted(RoomId, 'sala-1')
const other = trusted(RoomId, 'sala-2')
let seq = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sala-messages-'))
  db = await openDatabase(join(dir, 'sala.db'))
  for (const u of [ana, bia]) {
    await db.run('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      u.id, u.name, u.username, `${u.username}@example.com`, `${u.username}@example.com`, 'x', 0,
    ])
  }
  store = sqliteMessageStore(db)
})
afterAll(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

const message = (fields: Partial<StoredMessage> = {}): StoredMessage => ({
  seq: ++seq,
  room,
  user: ana,
  text: trusted(MessageText, `message ${seq}`),
  attachments: [],
  sentAt: 1_700_000_000_000 + seq,
  ...fields,
})

const insert = async (messages: ReadonlyArray<StoredMessage>) => {
  const result = await store.insert(messages)()
  if (E.isLeft(result)) throw new Error(`insert failed: ${JSON.stringify(result.left)}`)
  return result.right
}

const page = async (r: RoomId) => {
  const result = await store.page(r, Infinity, 1000)()
  if (E.isLeft(result)) throw result.left
  return result.right
}

describe('the message store', () => {
  it('keeps one message per (room, user, clientId) and names the original of each one left out', async () => {
    const first = message({ clientId: 'k1' })
    expect(await insert([first])).toEqual({ duplicates: [] })
    const again = message({ clientId: 'k1' })
    const fresh = message({ clientId: 'k2' })
    const plain = message()
    const outcome = await insert([again, fresh, plain])
    expect(outcome.duplicates).toEqual([{ room, seq: again.seq, original: { seq: first.seq, sentAt: first.sentAt } }])
    const stored = (await page(room)).map((m) => m.seq)
    expect(stored).toContain(fresh.seq)
    expect(stored).toContain(plain.seq)
    expect(stored).not.toContain(again.seq)
  })

  it('scopes the key to the room and the user', async () => {
    const mine = message({ clientId: 'k3' })
    const hers = message({ clientId: 'k3', user: bia })
    const elsewhere = message({ clientId: 'k3', room: other })
    expect(await insert([mine, hers, elsewhere])).toEqual({ duplicates: [] })
  })

  it('settles two inserts of the same clientId racing each other: one is kept, the other is its duplicate', async () => {
    const a = message({ clientId: 'race' })
    const b = message({ clientId: 'race' })
    const [first, second] = await Promise.all([insert([a]), insert([b])])
    expect(first.duplicates).toEqual([])
    expect(second.duplicates).toEqual([{ room, seq: b.seq, original: { seq: a.seq, sentAt: a.sentAt } }])
    // Within one batch too: the later copy repeats the earlier one.
    const c = message({ clientId: 'same-batch' })
    const d = message({ clientId: 'same-batch' })
    expect((await insert([c, d])).duplicates).toEqual([{ room, seq: d.seq, original: { seq: c.seq, sentAt: c.sentAt } }])
  })

  it('still fails the whole batch, with the engine’s code as data, when a (room, seq) is taken', async () => {
    const kept = message()
    await insert([kept])
    const clash = message()
    const result = await store.insert([clash, { ...message(), seq: kept.seq }])()
    expect(E.isLeft(result) && result.left.failure).toEqual({
      condition: 'failed',
      code: 'SQLITE_CONSTRAINT',
      message: expect.stringContaining('UNIQUE constraint failed'),
    })
    expect((await page(room)).map((m) => m.seq)).not.toContain(clash.seq)
  })

  it('reads back every decoded text byte for byte as it was sent live', async () => {
    const pieces = fc.constantFrom('a', 'é', 'e\u0301', '👨‍👩‍👧', '\u200b', '\u202e', ' ', '\n', '\t', '\u0000', '\ud800', '中', '\ufeff', '🏳️‍🌈')
    const texts = fc.array(pieces, { minLength: 1, maxLength: 10 }).map((parts) => parts.join(''))
    await fc.assert(
      fc.asyncProperty(texts, async (raw) => {
        const decoded = MessageText.decode(raw)
        if (E.isLeft(decoded)) return
        const sent = message({ text: decoded.right, room: other })
        await insert([sent])
        const read = (await page(other)).find((m) => m.seq === sent.seq)
        expect(read?.text).toBe(sent.text)
        expect(Buffer.from(JSON.stringify(chatMessage(read!)))).toEqual(Buffer.from(JSON.stringify(chatMessage(sent))))
      }),
      { numRuns: 150 },
    )
  })
})

const FULL = { condition: 'full', code: 'SQLITE_FULL', message: 'SQLITE_FULL: database or disk is full' } as const

describe('the message writer', () => {
  it('carries the store’s code and message on a failed batch, and the duplicates on a kept one', async () => {
    const failing: MessageStore = {
      ...store,
      insert: () => async () => E.left(new StoreError(FULL)),
    }
    const outcomes: WriteOutcome[] = []
    const writer = createMessageWriter(failing, (outcome) => outcomes.push(outcome))
    const lost = [message(), message()]
    for (const m of lost) writer.write(m)
    await writer.drain()
    expect(outcomes).toEqual([E.left({ messages: lost, error: FULL })])
    // Plain data: it survives a round trip through JSON, as an event crossing processes would.
    expect(JSON.parse(JSON.stringify(outcomes[0]))).toEqual(outcomes[0])

    const real: WriteOutcome[] = []
    const original = message({ clientId: 'w1' })
    await insert([original])
    const realWriter = createMessageWriter(store, (outcome) => real.push(outcome))
    const resend = message({ clientId: 'w1' })
    realWriter.write(resend)
    await realWriter.drain()
    expect(real).toEqual([E.right({ messages: [resend], duplicates: [{ room, seq: resend.seq, original: { seq: original.seq, sentAt: original.sentAt } }] })])
  })
})
