import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageText, RoomId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { StoredMessage } from '../../src/core/chat/state.js'
import { ATTACHMENT_HOLD_MS, orphanCutoff, orphanCutoffs } from '../../src/core/upload-budget.js'
import { toAttachment, UploadName, type Upload } from '../../src/core/uploads.js'
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js'
import { sqliteMessageStore } from '../../src/adapters/sqlite/messages.js'
import type { MessageStore, UploadStore } from '../../src/adapters/stores.js'
import { MIGRATIONS } from '../../src/adapters/sqlite/migrations.js'
import { sqliteUploadStore } from '../../src/adapters/sqlite/uploads.js'
import { user } from '../arbitraries.js'

// The upload store and the message store against a real SQLite file: a file is attached only when a message
// linking to it is stored, a lookup for a message only holds it for a while, and the sweep takes every
// upload no stored message links to once its grace period and any hold are over, and never one that is linked.

const TTL_SECONDS = 60
const TTL_MS = TTL_SECONDS * 1000
const T0 = 1_700_000_000_000

let dir: string
let db: SqliteDatabase
let uploads: UploadStore
let messages: MessageStore
const ana = user('ana')
const room = trusted(RoomId, 'sala-1')
let seq = 0

const addUser = async (database: SqliteDatabase, u: typeof ana) =>
  database.run('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    u.id, u.name, u.username, `${u.username}@example.com`, `${u.username}@example.com`, 'x', 0,
  ])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sala-uploads-'))
  db = await openDatabase(join(dir, 'sala.db'))
  await addUser(db, ana)
  uploads = sqliteUploadStore(db)
  messages = sqliteMessageStore(db)
})
afterAll(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

const right = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw new Error(`store failed: ${JSON.stringify(result.left)}`)
  return result.right
}

const newName = (): UploadName => trusted(UploadName, randomBytes(16).toString('base64url'))

const upload = async (at: number): Promise<Upload> => {
  const made: Upload = { name: newName(), owner: ana.id, originalName: 'f.txt', type: 'text/plain', size: 1 }
  await right(uploads.register([made], at))
  return made
}

/** The lookup the server makes for a message at `at`. */
const hold = (names: ReadonlyArray<UploadName>, at: number) => right(uploads.hold(names, at, orphanCutoff(at, TTL_SECONDS)))
const sweep = (at: number) => right(uploads.deleteOrphans(orphanCutoffs(at, TTL_SECONDS), 1000))
const exists = async (name: UploadName) => (await right(uploads.find(name))) !== undefined

const message = (linked: ReadonlyArray<Upload>, at: number, fields: Partial<StoredMessage> = {}): StoredMessage => ({
  seq: ++seq,
  room,
  user: ana,
  text: trusted(MessageText, `message ${seq}`),
  attachments: linked.map(toAttachment),
  sentAt: at,
  ...fields,
})

describe('attaching and holding uploads', () => {
  it('a sweep between the lookup and the store does not take the file; once stored, it is attached for good', async () => {
    const file = await upload(T0)
    // Looked up at the last moment of its grace period, stored after a sweep that would otherwise take it.
    const lookupAt = T0 + TTL_MS
    expect((await hold([file.name], lookupAt)).map((u) => u.name)).toEqual([file.name])
    expect(await sweep(lookupAt + 1000)).toEqual([])
    expect(await sweep(lookupAt + ATTACHMENT_HOLD_MS - 1)).toEqual([])
    await right(messages.insert([message([file], lookupAt + 2000)]))
    expect(await sweep(lookupAt + 100 * ATTACHMENT_HOLD_MS)).toEqual([])
    expect(await exists(file.name)).toBe(true)
  })

  it('a file whose message is never stored is swept once the hold is over', async () => {
    const file = await upload(T0)
    await hold([file.name], T0 + 1000)
    expect(await sweep(T0 + TTL_MS + 1)).toEqual([])
    expect(await sweep(T0 + 1000 + ATTACHMENT_HOLD_MS + 1)).toEqual([file.name])
  })

  it('a lookup past the grace period finds no unattached file and holds nothing; an attached one is found whenever', async () => {
    const orphan = await upload(T0)
    const linked = await upload(T0)
    await right(messages.insert([message([linked], T0 + 10)]))
    const late = T0 + TTL_MS + 1
    expect((await hold([orphan.name, linked.name], late)).map((u) => u.name)).toEqual([linked.name])
    expect(await sweep(late)).toEqual([orphan.name])
  })

  it('a resend left out as a duplicate attaches nothing, nor does a batch that fails', async () => {
    const first = await upload(T0)
    const second = await upload(T0)
    const third = await upload(T0)
    await hold([first.name, second.name, third.name], T0 + 10)
    const outcome = await right(messages.insert([message([first], T0 + 20, { clientId: 'same' }), message([second], T0 + 20, { clientId: 'same' })]))
    expect(outcome.duplicates).toHaveLength(1)
    const taken = message([], T0 + 30)
    await right(messages.insert([taken]))
    const failed = await messages.insert([message([third], T0 + 40), { ...message([], T0 + 40), seq: taken.seq }])()
    expect(E.isLeft(failed)).toBe(true)
    const swept = await sweep(T0 + 10 + ATTACHMENT_HOLD_MS + 1)
    expect([...swept].sort()).toEqual([second.name, third.name].sort())
    expect(await exists(first.name)).toBe(true)
  })

  it('another user’s message naming my file does not attach it', async () => {
    const bia = user('bia')
    await addUser(db, bia)
    const mine = await upload(T0)
    await right(messages.insert([message([mine], T0 + 10, { user: bia })]))
    expect(await sweep(T0 + TTL_MS + 1)).toEqual([mine.name])
  })

  // Any interleaving of uploads, lookups, stores and sweeps over random times: a file a stored message links
  // to is never swept, and after a sweep no file outlives its grace period plus the hold unless a stored
  // message links to it.
  it('never sweeps a linked file, and bounds an unlinked one’s life, whatever the order', async () => {
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
              made.push({ upload: await upload(now), at: now })
              break
            case 'wait':
              now += s.ms
              break
            case 'sweep':
              await sweep(now)
              break
            case 'send': {
              if (made.length === 0) break
              const chosen = made[s.pick % made.length]!.upload
              const found = await hold([chosen.name], now)
              if (s.sweepAfterMs !== undefined) await sweep(now + s.sweepAfterMs)
              if (s.stored && found.length === 1) {
                await right(messages.insert([message(found, now)]))
                linked.add(chosen.name)
              }
              break
            }
          }
          for (const name of linked) if (!(await exists(name))) throw new Error(`linked upload ${name} was swept`)
          if (s.type === 'sweep') {
            const overdue = made.filter((m) => !linked.has(m.upload.name) && m.at < now - TTL_MS - ATTACHMENT_HOLD_MS)
            for (const m of overdue) if (await exists(m.upload.name)) throw new Error(`unlinked upload made at ${m.at} outlived a sweep at ${now}`)
          }
        }
      }),
      { numRuns: 60 },
    )
  })
})

describe('migration 6', () => {
  it('gives back to the sweep the files a check alone attached, and keeps those a stored message links to', async () => {
    const file = join(dir, 'old.db')
    const old = await open({ filename: file, driver: sqlite3.Database })
    for (const [index, sql] of MIGRATIONS.slice(0, 5).entries()) await old.exec(`BEGIN; ${sql}; PRAGMA user_version = ${index + 1}; COMMIT;`)
    await addUser(old, ana)
    const [claimedOnly, linked] = [newName(), newName()]
    for (const name of [claimedOnly, linked]) {
      await old.run('INSERT INTO uploads (name, owner_id, original_name, type, size, created_at, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        name, ana.id, 'f.txt', 'text/plain', 1, T0, T0 + 5,
      ])
    }
    await old.run('INSERT INTO messages (room, seq, user_id, text, sent_at, attachments) VALUES (?, ?, ?, ?, ?, ?)', [
      room, 1, ana.id, 'hi', T0 + 6, JSON.stringify([{ url: `/static/${linked}`, name: 'f.txt', type: 'text/plain', size: 1 }]),
    ])
    await old.close()

    const migrated = await openDatabase(file)
    try {
      const store = sqliteUploadStore(migrated)
      expect(await right(store.deleteOrphans(orphanCutoffs(T0 + TTL_MS + 10, TTL_SECONDS), 100))).toEqual([])
      expect(await right(store.deleteOrphans(orphanCutoffs(T0 + 5 + ATTACHMENT_HOLD_MS + 1, TTL_SECONDS), 100))).toEqual([claimedOnly])
      expect(await right(store.find(linked))).toBeDefined()
    } finally {
      await migrated.close()
    }
  })
})
