import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createPasswordHasher, type PasswordHasher } from '../../src/adapters/password-hasher.js'
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js'
import { sqliteSessionStore } from '../../src/adapters/sqlite/sessions.js'
import { sqliteUserStore } from '../../src/adapters/sqlite/users.js'
import { realSystem } from '../../src/adapters/system.js'
import { createTokenIssuer } from '../../src/adapters/tokens.js'
import { RegisterRequest } from '../../src/core/accounts.js'
import { trusted } from '../../src/core/codecs.js'
import { createAccounts, type Accounts } from '../../src/shell/accounts.js'

let dir: string
let db: SqliteDatabase
let real: PasswordHasher
let hashes: number
let accounts: Accounts

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sala-accounts-'))
  db = await openDatabase(join(dir, 'sala.db'))
  real = createPasswordHasher(4, { size: 1 })
  hashes = 0
  // Counts the sign-up hashes: the thing a taken name must not cost.
  const hasher: PasswordHasher = { ...real, hash: (password) => (hashes++, real.hash(password)) }
  accounts = createAccounts({
    users: sqliteUserStore(db),
    sessions: sqliteSessionStore(db),
    hasher,
    tokens: createTokenIssuer('a-test-secret-of-at-least-32-characters'),
    system: realSystem,
    sessionTtlSeconds: 3600,
  })
})

afterEach(async () => {
  await real.close()
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

const request = (username: string, email: string) =>
  trusted(RegisterRequest, { name: 'Ana Souza', username, email, password: 'correct horse battery' })

describe('sign-up', () => {
  it('answers a taken username or e-mail, in any case, without hashing a password', async () => {
    expect(E.isRight(await accounts.register(request('ana', 'ana@example.com'))())).toBe(true)
    expect(hashes).toBe(1)
    for (const [username, email, taken] of [
      ['ana', 'other@example.com', 'username_taken'],
      ['ANA', 'other@example.com', 'username_taken'],
      ['bia', 'ana@example.com', 'email_taken'],
      ['bia', 'ANA@Example.COM', 'email_taken'],
      ['ana', 'ana@example.com', 'username_taken'],
    ] as const) {
      expect(await accounts.register(request(username, email))()).toEqual(E.left({ type: taken }))
    }
    expect(hashes).toBe(1)
  })

  it('still lets the unique indexes settle a race between two identical sign-ups', async () => {
    const results = await Promise.all([accounts.register(request('cai', 'cai@example.com'))(), accounts.register(request('cai', 'cai@example.com'))()])
    expect(results.filter(E.isRight)).toHaveLength(1)
    // Which index trips first is SQLite's choice; either answer is a 409.
    expect(results.filter(E.isLeft).map((result) => result.left)).toEqual([{ type: expect.stringMatching(/^(username|email)_taken$/) }])
  })
})

describe('passwords', () => {
  const login = async (name: string, password: string) => {
    const identity = await accounts.identify(name)()
    if (E.isLeft(identity)) throw identity.left
    return accounts.login(identity.right, password)()
  }

  it('are compared in NFC: registered composed, typed decomposed (and the other way) is the same password', async () => {
    expect(E.isRight(await accounts.register(trusted(RegisterRequest, { name: 'Dina', username: 'dina', email: 'dina@example.com', password: 'caf\u00e9 au lait' }))())).toBe(true)
    expect(E.isRight(await login('dina', 'cafe\u0301 au lait'))).toBe(true)
    expect(E.isRight(await login('dina', 'caf\u00e9 au lait'))).toBe(true)
  })

  it('still accept an account registered, before normalization, with a decomposed password', async () => {
    const hash = await real.hash('cafe\u0301 au lait' as Parameters<PasswordHasher['hash']>[0])
    await db.run("INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES ('old-1', 'Old', 'olga', 'olga@example.com', 'olga@example.com', ?, 0)", [hash])
    expect(E.isRight(await login('olga', 'cafe\u0301 au lait'))).toBe(true)
  })

  it('never match past bcrypt’s 72 bytes or a NUL, which bcrypt would silently cut off', async () => {
    const password = 'p'.repeat(72)
    expect(E.isRight(await accounts.register(trusted(RegisterRequest, { name: 'Eva', username: 'eva', email: 'eva@example.com', password }))())).toBe(true)
    expect(E.isRight(await login('eva', password))).toBe(true)
    expect(await login('eva', `${password}b`)).toEqual(E.left({ type: 'invalid_credentials' }))
    expect(E.isRight(await accounts.register(trusted(RegisterRequest, { name: 'Fia', username: 'fia', email: 'fia@example.com', password: 'abcdefgh' }))())).toBe(true)
    expect(await login('fia', 'abcdefgh\u0000abcdefgh')).toEqual(E.left({ type: 'invalid_credentials' }))
    expect(E.isLeft(RegisterRequest.decode({ name: 'Gil', username: 'gil', email: 'gil@example.com', password: 'abcdefgh\u0000tail' }))).toBe(true)
  })
})
