import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageText, RoomId, SessionId, UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { ChatUser, NewMessage, StoredMessage } from '../../src/core/chat/state.js'
import type { MessageNumbered } from '../../src/core/chat/events.js'
import { chatMessage } from '../../src/core/chat/frames.js'
import { ATTACHMENT_HOLD_MS, orphanCutoff, orphanCutoffs } from '../../src/core/upload-budget.js'
import { toAttachment, UploadName, type Upload } from '../../src/core/uploads.js'
import { createMessageWriter, type WriteOutcome } from '../../src/adapters/message-writer.js'
import { StoreError } from '../../src/adapters/store-failure.js'
import type { MessageStore, Stores } from '../../src/adapters/stores.js'
import { user } from '../arbitraries.js'
import { STORE_ENGINES, type OpenedEngine, type StoreEngine } from './store-engines.js'

// The storage contract (src/adapters/stores.ts), the same tests for every engine in STORE_ENGINES: what is
// read back is what was written, in order; the unique keys (not a read before the write) decide what is a
// resend and who got a name first, however two writers race; uploads are attached only by a stored message
// that links to them, and the sweep takes only what no stored message links to once its grace is over.

const T0 = 1_700_000_000_000
const TTL_SECONDS = 60
const TTL_MS = TTL_SECONDS * 1000

/** Registers a fresh database of `engine` for the enclosing describe; tests get it through `test`. */
const useEngine = (engine: StoreEngine) => {
  let opened: OpenedEngine | string = 'not opened'
  beforeAll(async () => {
    opened = await engine.open()
    if (typeof opened === 'string') console.warn(`store contract on ${engine.name} skipped: ${opened}`)
  })
  afterAll(async () => {
    if (typeof opened !== 'string') await opened.cleanup()
  })
  return (name: string, body: (stores: Stores) => Promise<void>, timeout?: number) =>
    it(
      name,
      async (context) => {
        if (typeof opened === 'string') return context.skip()
        await body(opened.stores)
      },
      timeout,
    )
}

const right = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw new Error(`store failed: ${String(result.left)} ${JSON.stringify(result.left)}`)
  return result.right
}

/** `message` as the store numbered it in `stored`. */
const numbered = ({ key, ...message }: NewMessage, stored: ReadonlyArray<MessageNumbered>): StoredMessage => {
  const seq = stored.find((s) => s.key === key)?.seq
  if (seq === undefined) throw new Error(`message ${key} was not stored`)
  return { ...message, seq }
}

const newUser = (u: ChatUser, email = `${u.username}@example.com`) => ({
  id: u.id,
  name: u.name,
  username: u.username,
  email,
  passwordHash: `hash-of-${u.username}`,
  createdAt: T0,
})

let rooms = 0
const freshRoom = (): RoomId => trusted(RoomId, `contract-${++rooms}`)

describe.each(STORE_ENGINES)('the $name stores', (engine) => {
  describe('messages', () => {
    const test = useEngine(engine)
    const ana = user('ana')
    const bia = user('bia')
    let made = 0
    let ready = false
    const room = trusted(RoomId, 'sala-1')
    const other = trusted(RoomId, 'sala-2')
    /** A message as the core posts it: no seq, a provisional key. */
    const message = (fields: Partial<NewMessage> = {}): NewMessage => {
      made++
      return { key: made, room, user: ana, text: trusted(MessageText, `message ${made}`), attachments: [], sentAt: T0 + made, ...fields }
    }
    const setUp = async (stores: Stores) => {
      if (ready) return
      for (const u of [ana, bia]) await right(stores.users.create(newUser(u)))
      ready = true
    }
    const all = async (store: MessageStore, r: RoomId) => right(store.page(r, Infinity, 100_000))
    /** Inserts, expecting every message kept; answers them as stored, numbered by the store. */
    const insertAll = async (store: MessageStore, messages: ReadonlyArray<NewMessage>): Promise<StoredMessage[]> => {
      const outcome = await right(store.insert(messages))
      expect(outcome.duplicates).toEqual([])
      return messages.map((m) => numbered(m, outcome.stored))
    }

    test('numbers each room from 1 in batch order, and each later batch above every seq the room has', async (stores) => {
      await setUp(stores)
      const [r1, r2] = [freshRoom(), freshRoom()]
      const first = await right(stores.messages.insert([message({ room: r1 }), message({ room: r2 }), message({ room: r1 })]))
      expect(first.stored.map((s) => [s.room, s.seq])).toEqual([
        [r1, 1],
        [r2, 1],
        [r1, 2],
      ])
      const second = await right(stores.messages.insert([message({ room: r1 })]))
      expect(second.stored.map((s) => s.seq)).toEqual([3])
    })

    test('stores a batch of any size up to maxBatch whole, in order, mixed with resends, and takes the next batch after a failed one', async (stores) => {
      await setUp(stores)
      // Sizes on both sides of every statement size an engine may keep prepared (SQLite pads to powers of two).
      const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 127, 128, 129, 255, 256, 257, stores.messages.maxBatch - 1, stores.messages.maxBatch]
      const r = freshRoom()
      let last = 0
      let count = 0
      for (const size of sizes) {
        const batch = Array.from({ length: size }, (_, i) => message({ room: i % 2 === 0 ? r : other, clientId: `size-${size}-${i}` }))
        const outcome = await right(stores.messages.insert(batch))
        expect(outcome.duplicates).toEqual([])
        expect(outcome.stored.map((s) => s.key)).toEqual(batch.map((m) => m.key))
        // Rising within the batch and above every earlier seq of the room. Not always contiguous: a number
        // a resend would have had may be skipped (PostgreSQL's counter is raised before the insert skips it).
        const mine = outcome.stored.filter((s) => s.room === r).map((s) => s.seq)
        expect(mine.length).toBe(Math.ceil(size / 2))
        mine.forEach((seq) => {
          expect(seq).toBeGreaterThan(last)
          last = seq
        })
        count += mine.length
        // The same batch again is all resends, answered with the originals.
        const again = await right(stores.messages.insert(batch.map((m) => ({ ...m, key: m.key + 1_000_000 }))))
        expect(again.stored).toEqual([])
        expect(again.duplicates.map((d) => d.key)).toEqual(batch.map((m) => m.key + 1_000_000))
      }
      const tooMany = Array.from({ length: stores.messages.maxBatch + 1 }, () => message({ room: r }))
      expect(E.isLeft(await stores.messages.insert(tooMany)())).toBe(true)
      const after = await right(stores.messages.insert([message({ room: r })]))
      expect(after.stored[0]?.seq).toBeGreaterThan(last)
      const kept = await all(stores.messages, r)
      expect(kept).toHaveLength(count + 1)
      expect(kept.at(-1)?.seq).toBe(after.stored[0]?.seq)
    }, 60_000)

    test('keeps one message per (room, user, clientId) and names the original of each one left out', async (stores) => {
      await setUp(stores)
      const first = message({ clientId: 'k1' })
      const [kept] = await insertAll(stores.messages, [first])
      const again = message({ clientId: 'k1' })
      const fresh = message({ clientId: 'k2' })
      const plain = message()
      const outcome = await right(stores.messages.insert([again, fresh, plain]))
      expect(outcome.duplicates).toEqual([{ room, key: again.key, original: { seq: kept!.seq, sentAt: first.sentAt } }])
      expect(outcome.stored.map((s) => s.key)).toEqual([fresh.key, plain.key])
      const stored = await all(stores.messages, room)
      expect(stored.filter((m) => m.clientId === 'k1')).toEqual([kept])
      expect(stored.map((m) => m.seq)).toEqual(expect.arrayContaining(outcome.stored.map((s) => s.seq)))
    })

    test('scopes the key to the room and the user', async (stores) => {
      await setUp(stores)
      const mine = message({ clientId: 'k3' })
      const hers = message({ clientId: 'k3', user: bia })
      const elsewhere = message({ clientId: 'k3', room: other })
      const outcome = await right(stores.messages.insert([mine, hers, elsewhere]))
      expect(outcome.duplicates).toEqual([])
      expect(outcome.stored.map((s) => s.key)).toEqual([mine.key, hers.key, elsewhere.key])
    })

    test('settles two inserts of the same clientId racing each other: one is kept, the other is its duplicate', async (stores) => {
      await setUp(stores)
      const a = message({ clientId: 'race' })
      const b = message({ clientId: 'race' })
      const [first, second] = await Promise.all([right(stores.messages.insert([a])), right(stores.messages.insert([b]))])
      // Which of the two commits first is the engine's choice; exactly one is kept, the other names it.
      const outcomes = [
        { mine: a, outcome: first },
        { mine: b, outcome: second },
      ]
      const kept = outcomes.filter((o) => o.outcome.stored.length === 1 && o.outcome.duplicates.length === 0)
      const left = outcomes.filter((o) => o.outcome.stored.length === 0 && o.outcome.duplicates.length === 1)
      expect(kept).toHaveLength(1)
      expect(left).toHaveLength(1)
      const original = { seq: kept[0]!.outcome.stored[0]!.seq, sentAt: kept[0]!.mine.sentAt }
      expect(left[0]!.outcome.duplicates).toEqual([{ room, key: left[0]!.mine.key, original }])
      // Within one batch too: the later copy repeats the earlier one.
      const c = message({ clientId: 'same-batch' })
      const d = message({ clientId: 'same-batch' })
      const batch = await right(stores.messages.insert([c, d]))
      expect(batch.stored.map((s) => s.key)).toEqual([c.key])
      expect(batch.duplicates).toEqual([{ room, key: d.key, original: { seq: batch.stored[0]!.seq, sentAt: c.sentAt } }])
    })

    test('numbers racing writers of one room without a clash: every message kept once, seqs distinct and rising per writer', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const writers = Array.from({ length: 4 }, () => Array.from({ length: 10 }, () => message({ room: r })))
      const outcomes = await Promise.all(
        writers.map(async (batches) => {
          const seqs: number[] = []
          for (const m of batches) seqs.push(...(await right(stores.messages.insert([m]))).stored.map((s) => s.seq))
          return seqs
        }),
      )
      for (const seqs of outcomes) expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      const everySeq = outcomes.flat()
      expect(new Set(everySeq).size).toBe(40)
      expect((await all(stores.messages, r)).map((m) => m.seq)).toEqual([...everySeq].sort((x, y) => x - y))
    })

    test('fails the whole batch, as a StoreError that says `failed`, when one message cannot be stored', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      // A sender with no account breaks the foreign key: nothing of the batch is kept, nothing is numbered.
      const result = await stores.messages.insert([message({ room: r }), message({ room: r, user: user('ghost') })])()
      expect(E.isLeft(result)).toBe(true)
      if (E.isLeft(result)) {
        expect(result.left).toBeInstanceOf(StoreError)
        expect(result.left.failure.condition).toBe('failed')
        expect(result.left.failure.code).not.toBe('UNKNOWN')
      }
      expect(await all(stores.messages, r)).toEqual([])
      const [after] = await insertAll(stores.messages, [message({ room: r })])
      expect(after!.seq).toBeGreaterThanOrEqual(1)
    })

    test('reads back every decoded text byte for byte as it was sent live', async (stores) => {
      await setUp(stores)
      const pieces = fc.constantFrom('a', 'é', 'e\u0301', '👨‍👩‍👧', '\u200b', '\u202e', ' ', '\n', '\t', '\u0000', '\ud800', '中', '\ufeff', '🏳️‍🌈')
      const texts = fc.array(pieces, { minLength: 1, maxLength: 10 }).map((parts) => parts.join(''))
      await fc.assert(
        fc.asyncProperty(texts, async (raw) => {
          const decoded = MessageText.decode(raw)
          if (E.isLeft(decoded)) return
          const [sent] = await insertAll(stores.messages, [message({ text: decoded.right, room: other })])
          const read = (await all(stores.messages, other)).find((m) => m.seq === sent!.seq)
          expect(Buffer.from(JSON.stringify(chatMessage(read!)))).toEqual(Buffer.from(JSON.stringify(chatMessage(sent!))))
        }),
        { numRuns: 100 },
      )
    })

    test('reads back attachments, clientIds and the sender’s names as written', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const attachment = { url: '/static/abc', name: 'a b.png', type: 'image/png', size: 12 }
      const sent = await insertAll(stores.messages, [message({ room: r, clientId: 'c-1', attachments: [attachment] }), message({ room: r, user: bia, text: '' })])
      expect(await all(stores.messages, r)).toEqual(sent)
    })

    test('keeps rooms apart and reads each in seq order, whatever the order batches were interleaved', async (stores) => {
      await setUp(stores)
      const [r1, r2] = [freshRoom(), freshRoom()]
      const written: StoredMessage[] = []
      for (let batch = 0; batch < 5; batch++) {
        written.push(...(await insertAll(stores.messages, [message({ room: r1 }), message({ room: r2 }), message({ room: r1, user: bia })])))
      }
      for (const r of [r1, r2]) {
        const expected = written.filter((m) => m.room === r)
        expect(await all(stores.messages, r)).toEqual(expected)
      }
    })

    test('pages backwards from any id, newest `limit` first, each page in seq order; history gives the last few and the last seq', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const empty = await right(stores.messages.roomHistory(r, 10))
      expect(empty).toEqual({ lastSeq: 0, recent: [] })
      const written = await insertAll(stores.messages, Array.from({ length: 25 }, () => message({ room: r })))
      expect(written.map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
      expect(await right(stores.messages.page(r, Infinity, 10))).toEqual(written.slice(15))
      expect(await right(stores.messages.page(r, 16, 10))).toEqual(written.slice(5, 15))
      expect(await right(stores.messages.page(r, 6, 10))).toEqual(written.slice(0, 5))
      expect(await right(stores.messages.page(r, 1, 10))).toEqual([])
      expect(await right(stores.messages.page(r, 1000, 3))).toEqual(written.slice(22))
      expect(await right(stores.messages.roomHistory(r, 5))).toEqual({ lastSeq: 25, recent: written.slice(20) })
      expect(await right(stores.messages.roomHistory(r, 100))).toEqual({ lastSeq: 25, recent: written })
    })

    test('reads forwards after any seq, oldest first, at most `limit` (what a process missed), and only that room', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const written = await insertAll(stores.messages, Array.from({ length: 12 }, (_, i) => message({ room: i % 3 === 2 ? other : r })))
      const mine = written.filter((m) => m.room === r)
      expect(await right(stores.messages.since(r, 0, 100))).toEqual(mine)
      expect(await right(stores.messages.since(r, mine[2]!.seq, 3))).toEqual(mine.slice(3, 6))
      expect(await right(stores.messages.since(r, mine.at(-1)!.seq, 10))).toEqual([])
      // Read in turns of any size, the reads add up to every message once.
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 5 }), async (after, limit) => {
          const read: StoredMessage[] = []
          for (let from = after; ; ) {
            const turn = await right(stores.messages.since(r, from, limit))
            read.push(...turn)
            if (turn.length < limit) break
            from = turn.at(-1)!.seq
          }
          expect(read).toEqual(mine.filter((m) => m.seq > after))
        }),
        { numRuns: 20 },
      )
    })

    test('catches up from any `since`: the recent history and pages before it together give every later message once', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const written = await insertAll(stores.messages, Array.from({ length: 40 }, () => message({ room: r })))
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), async (since, keep, limit) => {
          const history = await right(stores.messages.roomHistory(r, keep))
          let caughtUp = history.recent.filter((m) => m.seq > since)
          let before = history.recent[0]?.seq ?? Infinity
          while (before > since + 1) {
            const older = await right(stores.messages.page(r, before, limit))
            if (older.length === 0) break
            caughtUp = [...older.filter((m) => m.seq > since), ...caughtUp]
            before = older[0]!.seq
          }
          expect(caughtUp).toEqual(written.filter((m) => m.seq > since))
        }),
        { numRuns: 30 },
      )
    })

    test('takes a batch of `maxBatch` messages in one insert', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const batch = Array.from({ length: stores.messages.maxBatch }, () => message({ room: r }))
      await insertAll(stores.messages, batch)
      expect((await right(stores.messages.roomHistory(r, 1))).lastSeq).toBe(batch.length)
    })

    test('the group-commit writer stores more than `maxBatch` in batches, answering in the order written', async (stores) => {
      await setUp(stores)
      const r = freshRoom()
      const outcomes: WriteOutcome[] = []
      const writer = createMessageWriter(stores.messages, (outcome) => outcomes.push(outcome))
      const written = Array.from({ length: stores.messages.maxBatch * 2 + 3 }, () => message({ room: r }))
      for (const m of written) writer.write(m)
      await writer.drain()
      expect(outcomes.every(E.isRight)).toBe(true)
      expect(outcomes.length).toBeGreaterThanOrEqual(3)
      const stored = outcomes.flatMap((o) => (E.isRight(o) ? o.right.stored : []))
      expect(stored.map((s) => s.key)).toEqual(written.map((m) => m.key))
      expect(stored.map((s) => s.seq)).toEqual(written.map((_, i) => i + 1))
      expect(await all(stores.messages, r)).toEqual(written.map((m) => numbered(m, stored)))
    }, 60_000)

    test('the writer carries a failed batch’s StoreFailure as plain data, and a kept one’s duplicates', async (stores) => {
      await setUp(stores)
      const full = { condition: 'full', code: 'ENOSPC', message: 'no space left on device' } as const
      const failing: MessageStore = { ...stores.messages, insert: () => async () => E.left(new StoreError(full)) }
      const outcomes: WriteOutcome[] = []
      const writer = createMessageWriter(failing, (outcome) => outcomes.push(outcome))
      const lost = [message(), message()]
      for (const m of lost) writer.write(m)
      await writer.drain()
      expect(outcomes).toEqual([E.left({ messages: lost, error: full })])
      // Plain data: it survives a round trip through JSON, as an event crossing processes would.
      expect(JSON.parse(JSON.stringify(outcomes[0]))).toEqual(outcomes[0])

      const real: WriteOutcome[] = []
      const original = message({ clientId: 'w1' })
      const [kept] = await insertAll(stores.messages, [original])
      const realWriter = createMessageWriter(stores.messages, (outcome) => real.push(outcome))
      const resend = message({ clientId: 'w1' })
      realWriter.write(resend)
      await realWriter.drain()
      expect(real).toEqual([E.right({ stored: [], duplicates: [{ room, key: resend.key, original: { seq: kept!.seq, sentAt: original.sentAt } }] })])
    })
  })

  describe('users and sessions', () => {
    const test = useEngine(engine)

    test('finds a user by id, by username or by e-mail, in any case', async (stores) => {
      const ana = user('ana')
      const created = await right(stores.users.create(newUser(ana, 'Ana.Souza@Example.com')))
      expect(created.user).toEqual(ana)
      expect(created.account).toEqual({ username: 'ana', name: ana.name, email: 'Ana.Souza@Example.com', createdAt: new Date(T0).toISOString() })
      expect(created.passwordHash).toBe('hash-of-ana')
      for (const login of ['ana', 'ANA', 'Ana.Souza@Example.com', 'ana.souza@example.com']) {
        expect(await right(stores.users.findByLogin(login))).toEqual(created)
      }
      expect(await right(stores.users.findById(ana.id))).toEqual(created)
      expect(await right(stores.users.findByLogin('nobody'))).toBeUndefined()
      expect(await right(stores.users.findById(user('nobody').id))).toBeUndefined()
    })

    test('answers which of a sign-up’s username or e-mail is taken, in any case', async (stores) => {
      await right(stores.users.create(newUser(user('bia'))))
      expect(await right(stores.users.findTaken('BIA', 'new@example.com'))).toEqual({ type: 'username_taken' })
      expect(await right(stores.users.findTaken('new', 'BIA@example.COM'))).toEqual({ type: 'email_taken' })
      expect(await right(stores.users.findTaken('bia', 'bia@example.com'))).toEqual({ type: 'username_taken' })
      expect(await right(stores.users.findTaken('new', 'new@example.com'))).toBeUndefined()
    })

    test('refuses a taken username or e-mail on create, whatever its case', async (stores) => {
      await right(stores.users.create(newUser(user('caio'))))
      const again = (username: string, email: string) =>
        stores.users.create({ ...newUser(user(username), email), id: trusted(UserId, `id-${randomBytes(4).toString('hex')}`) })()
      expect(await again('CAIO', 'other@example.com')).toEqual(E.left({ type: 'username_taken' }))
      expect(await again('other', 'CAIO@EXAMPLE.COM')).toEqual(E.left({ type: 'email_taken' }))
    })

    test('settles two racing sign-ups with one name: one account, the other told the name is taken', async (stores) => {
      const results = await Promise.all(
        ['dora@example.com', 'dora2@example.com'].map((email, index) =>
          stores.users.create({ ...newUser(user('dora'), email), id: trusted(UserId, `id-dora-${index}`) })(),
        ),
      )
      expect(results.filter(E.isRight)).toHaveLength(1)
      expect(results.filter(E.isLeft).map((result) => result.left)).toEqual([{ type: 'username_taken' }])
      // Two identical sign-ups: which key trips first is the engine's choice; either answer is a 409.
      const twins = await Promise.all([0, 1].map((index) => stores.users.create({ ...newUser(user('eva')), id: trusted(UserId, `id-eva-${index}`) })()))
      expect(twins.filter(E.isRight)).toHaveLength(1)
      expect(twins.filter(E.isLeft).map((result) => result.left)).toEqual([{ type: expect.stringMatching(/^(username|email)_taken$/) }])
    })

    test('stores a session with its expiry, revokes it once (keeping the first time) and finds no unknown one', async (stores) => {
      const fabio = user('fabio')
      await right(stores.users.create(newUser(fabio)))
      const id = trusted(SessionId, randomBytes(24).toString('base64url'))
      await right(stores.sessions.create({ id, userId: fabio.id, createdAt: T0, expiresAt: T0 + 3_600_000 }))
      expect(await right(stores.sessions.find(id))).toEqual({ id, userId: fabio.id, expiresAt: T0 + 3_600_000, revokedAt: null })
      await right(stores.sessions.revoke(id, T0 + 10))
      await right(stores.sessions.revoke(id, T0 + 20))
      expect(await right(stores.sessions.find(id))).toEqual({ id, userId: fabio.id, expiresAt: T0 + 3_600_000, revokedAt: T0 + 10 })
      const unknown = trusted(SessionId, randomBytes(24).toString('base64url'))
      expect(await right(stores.sessions.find(unknown))).toBeUndefined()
      await right(stores.sessions.revoke(unknown, T0))
      // An expired session is found as stored: the caller (accounts.ts) judges it against its clock.
      const expired = trusted(SessionId, randomBytes(24).toString('base64url'))
      await right(stores.sessions.create({ id: expired, userId: fabio.id, createdAt: T0 - 10, expiresAt: T0 - 1 }))
      expect(await right(stores.sessions.find(expired))).toEqual({ id: expired, userId: fabio.id, expiresAt: T0 - 1, revokedAt: null })
    })
  })

  describe('uploads', () => {
    const test = useEngine(engine)
    const ana = user('ana')
    const bia = user('bia')
    const room = trusted(RoomId, 'sala-1')
    let made = 0
    let ready = false
    const setUp = async (stores: Stores) => {
      if (ready) return
      for (const u of [ana, bia]) await right(stores.users.create(newUser(u)))
      ready = true
    }
    const newName = (): UploadName => trusted(UploadName, randomBytes(16).toString('base64url'))
    const upload = async (stores: Stores, at: number, owner: ChatUser = ana, size = 1): Promise<Upload> => {
      const made: Upload = { name: newName(), owner: owner.id, originalName: 'f.txt', type: 'text/plain', size }
      await right(stores.uploads.register([made], at))
      return made
    }
    /** The lookup the server makes for a message at `at`. */
    const hold = (stores: Stores, names: ReadonlyArray<UploadName>, at: number) => right(stores.uploads.hold(names, at, orphanCutoff(at, TTL_SECONDS)))
    const sweep = (stores: Stores, at: number) => right(stores.uploads.deleteOrphans(orphanCutoffs(at, TTL_SECONDS), 1000))
    const exists = async (stores: Stores, name: UploadName) => (await right(stores.uploads.find(name))) !== undefined
    const message = (linked: ReadonlyArray<Upload>, at: number, fields: Partial<NewMessage> = {}): NewMessage => ({
      key: ++made,
      room,
      user: ana,
      text: trusted(MessageText, `message ${made}`),
      attachments: linked.map(toAttachment),
      sentAt: at,
      ...fields,
    })

    test('registers a request’s files all or none, finds them, and sums each owner’s bytes', async (stores) => {
      await setUp(stores)
      const caio = user('caio')
      await right(stores.users.create(newUser(caio)))
      expect(await right(stores.uploads.storedBytes(caio.id))).toBe(0)
      const files: Upload[] = [
        { name: newName(), owner: caio.id, originalName: 'a.png', type: 'image/png', size: 1000 },
        { name: newName(), owner: caio.id, originalName: 'b c.pdf', type: 'application/pdf', size: 2500 },
      ]
      await right(stores.uploads.register(files, T0))
      expect(await right(stores.uploads.find(files[0]!.name))).toEqual(files[0])
      expect([...(await right(stores.uploads.findMany([files[1]!.name, files[0]!.name, newName()])))].sort((a, b) => a.size - b.size)).toEqual(files)
      expect(await right(stores.uploads.findMany([]))).toEqual([])
      expect(await right(stores.uploads.find(newName()))).toBeUndefined()
      expect(await right(stores.uploads.storedBytes(caio.id))).toBe(3500)
      // A name already taken fails the whole request: the other file is not registered either.
      const again = { name: newName(), owner: caio.id, originalName: 'd.txt', type: 'text/plain', size: 7 }
      const clash = await stores.uploads.register([again, files[0]!], T0)()
      expect(E.isLeft(clash) && clash.left).toBeInstanceOf(StoreError)
      expect(await right(stores.uploads.find(again.name))).toBeUndefined()
      expect(await right(stores.uploads.storedBytes(caio.id))).toBe(3500)
      // Attached or not, a file counts against its owner's quota. (Attached here so no later sweep takes them.)
      await right(stores.messages.insert([message(files, T0 + 1, { user: caio })]))
      expect(await right(stores.uploads.storedBytes(caio.id))).toBe(3500)
    })

    test('a sweep between the lookup and the store does not take the file; once stored, it is attached for good', async (stores) => {
      await setUp(stores)
      const file = await upload(stores, T0)
      // Looked up at the last moment of its grace period, stored after a sweep that would otherwise take it.
      const lookupAt = T0 + TTL_MS
      expect((await hold(stores, [file.name], lookupAt)).map((u) => u.name)).toEqual([file.name])
      expect(await sweep(stores, lookupAt + 1000)).toEqual([])
      expect(await sweep(stores, lookupAt + ATTACHMENT_HOLD_MS - 1)).toEqual([])
      await right(stores.messages.insert([message([file], lookupAt + 2000)]))
      expect(await sweep(stores, lookupAt + 100 * ATTACHMENT_HOLD_MS)).toEqual([])
      expect(await exists(stores, file.name)).toBe(true)
    })

    test('a file whose message is never stored is swept once the hold is over', async (stores) => {
      await setUp(stores)
      const file = await upload(stores, T0)
      await hold(stores, [file.name], T0 + 1000)
      expect(await sweep(stores, T0 + TTL_MS + 1)).toEqual([])
      expect(await sweep(stores, T0 + 1000 + ATTACHMENT_HOLD_MS + 1)).toEqual([file.name])
    })

    test('a lookup past the grace period finds no unattached file and holds nothing; an attached one is found whenever', async (stores) => {
      await setUp(stores)
      const orphan = await upload(stores, T0)
      const linked = await upload(stores, T0)
      await right(stores.messages.insert([message([linked], T0 + 10)]))
      const late = T0 + TTL_MS + 1
      expect((await hold(stores, [orphan.name, linked.name], late)).map((u) => u.name)).toEqual([linked.name])
      expect(await sweep(stores, late)).toEqual([orphan.name])
    })

    test('a resend left out as a duplicate attaches nothing, nor does a batch that fails', async (stores) => {
      await setUp(stores)
      const first = await upload(stores, T0)
      const second = await upload(stores, T0)
      const third = await upload(stores, T0)
      await hold(stores, [first.name, second.name, third.name], T0 + 10)
      const outcome = await right(
        stores.messages.insert([message([first], T0 + 20, { clientId: 'same' }), message([second], T0 + 20, { clientId: 'same' })]),
      )
      expect(outcome.duplicates).toHaveLength(1)
      // A sender with no account fails the whole batch (a foreign key): nothing of it attaches anything.
      const failed = await stores.messages.insert([message([third], T0 + 40), message([], T0 + 40, { user: user('ghost') })])()
      expect(E.isLeft(failed)).toBe(true)
      const swept = await sweep(stores, T0 + 10 + ATTACHMENT_HOLD_MS + 1)
      expect([...swept].sort()).toEqual([second.name, third.name].sort())
      expect(await exists(stores, first.name)).toBe(true)
    })

    test('another user’s message naming my file does not attach it', async (stores) => {
      await setUp(stores)
      const mine = await upload(stores, T0)
      await right(stores.messages.insert([message([mine], T0 + 10, { user: bia })]))
      expect(await sweep(stores, T0 + TTL_MS + 1)).toEqual([mine.name])
    })

    test('sweeps at most `limit` orphans a time, the oldest first', async (stores) => {
      await setUp(stores)
      const made = [await upload(stores, T0 + 3), await upload(stores, T0 + 1), await upload(stores, T0 + 2)]
      const cutoffs = orphanCutoffs(T0 + TTL_MS + 10, TTL_SECONDS)
      // The names come back in no particular order; which ones are taken is the contract.
      expect([...(await right(stores.uploads.deleteOrphans(cutoffs, 2)))].sort()).toEqual([made[1]!.name, made[2]!.name].sort())
      expect(await right(stores.uploads.deleteOrphans(cutoffs, 2))).toEqual([made[0]!.name])
      expect(await right(stores.uploads.deleteOrphans(cutoffs, 2))).toEqual([])
    })

    // Any interleaving of uploads, lookups, stores and sweeps over random times: a file a stored message links
    // to is never swept, and after a sweep no file outlives its grace period plus the hold unless a stored
    // message links to it.
    test('never sweeps a linked file, and bounds an unlinked one’s life, whatever the order', async (stores) => {
      await setUp(stores)
      type Step =
        | { readonly type: 'upload' }
        | { readonly type: 'wait'; readonly ms: number }
        | { readonly type: 'send'; readonly pick: number; readonly stored: boolean; readonly sweepAfterMs: number | undefined }
        | { readonly type: 'sweep' }
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.constant({ type: 'upload' as const }),
        fc.record({ type: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 * TTL_MS }), fc.integer({ min: 0, max: 2 * ATTACHMENT_HOLD_MS })) }),
        fc.record({
          type: fc.constant('send' as const),
          pick: fc.nat(),
          stored: fc.boolean(),
          sweepAfterMs: fc.option(fc.integer({ min: 0, max: ATTACHMENT_HOLD_MS - 1 }), { nil: undefined }),
        }),
        fc.constant({ type: 'sweep' as const }),
      )
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          let now = T0
          const made: Array<{ readonly upload: Upload; readonly at: number }> = []
          const linked = new Set<UploadName>()
          for (const s of steps) {
            switch (s.type) {
              case 'upload':
                made.push({ upload: await upload(stores, now), at: now })
                break
              case 'wait':
                now += s.ms
                break
              case 'sweep':
                await sweep(stores, now)
                break
              case 'send': {
                if (made.length === 0) break
                const chosen = made[s.pick % made.length]!.upload
                const found = await hold(stores, [chosen.name], now)
                if (s.sweepAfterMs !== undefined) await sweep(stores, now + s.sweepAfterMs)
                if (s.stored && found.length === 1) {
                  await right(stores.messages.insert([message(found, now)]))
                  linked.add(chosen.name)
                }
                break
              }
            }
            for (const name of linked) if (!(await exists(stores, name))) throw new Error(`linked upload ${name} was swept`)
            if (s.type === 'sweep') {
              const overdue = made.filter((m) => !linked.has(m.upload.name) && m.at < now - TTL_MS - ATTACHMENT_HOLD_MS)
              for (const m of overdue) if (await exists(stores, m.upload.name)) throw new Error(`unlinked upload made at ${m.at} outlived a sweep at ${now}`)
            }
          }
        }),
        { numRuns: 60 },
      )
    }, 60_000)
  })

  describe('readiness and shutdown', () => {
    it('proves a write commits, and closes', async () => {
      const opened = await engine.open()
      if (typeof opened === 'string') return
      expect(E.isRight(await opened.port.probeWrite()())).toBe(true)
      await opened.cleanup()
    })
  })
})
