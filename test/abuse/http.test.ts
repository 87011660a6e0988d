import { SignJWT, base64url, decodeJwt } from 'jose'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, uniqueName, type Registered, type TestServer } from '../integration/helpers.js'
import { expectStillServes } from './still-serves.js'

const SECRET = 'abuse-suite-secret-that-is-long-enough-to-use'
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ SESSION_SECRET: SECRET })
})
afterAll(async () => {
  await server.stop()
})

const me = (token: string) => fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${token}` } })
const key = new TextEncoder().encode(SECRET)

/** A token like the server's, with one thing changed. */
const forge = async (
  user: Registered,
  change: { alg?: string; iss?: string; aud?: string; exp?: number; nbf?: number; sid?: string; key?: Uint8Array } = {},
) => {
  const real = decodeJwt(user.token)
  const now = Math.floor(Date.now() / 1000)
  let jwt = new SignJWT({ sid: change.sid ?? real['sid'] })
    .setProtectedHeader({ alg: change.alg ?? 'HS256', typ: 'JWT' })
    .setSubject(String(real.sub))
    .setIssuer(change.iss ?? 'sala')
    .setAudience(change.aud ?? 'sala')
    .setIssuedAt(now)
    .setExpirationTime(change.exp ?? now + 3600)
  if (change.nbf !== undefined) jwt = jwt.setNotBefore(change.nbf)
  return jwt.sign(change.key ?? key)
}

describe('tokens that must never authenticate', () => {
  it('the real token works (control)', async () => {
    const user = await register(server)
    expect((await me(user.token)).status).toBe(200)
    expect((await me(await forge(user))).status).toBe(200)
  })

  it.each([
    ['a tampered signature', async (u: Registered) => u.token.slice(0, -4) + (u.token.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
    [
      'a tampered payload',
      async (u: Registered) => {
        const [header, payload, signature] = u.token.split('.')
        const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>
        const changed = base64url.encode(JSON.stringify({ ...claims, sub: 'someone-else' }))
        return `${header}.${changed}.${signature}`
      },
    ],
    [
      'alg: none',
      async (u: Registered) => {
        const [, payload] = u.token.split('.')
        return `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`
      },
    ],
    ['another algorithm (HS512, same secret)', (u: Registered) => forge(u, { alg: 'HS512' })],
    ['another key', (u: Registered) => forge(u, { key: new TextEncoder().encode('x'.repeat(48)) })],
    ['an expired token', (u: Registered) => forge(u, { exp: Math.floor(Date.now() / 1000) - 60 })],
    ['a token not valid yet', (u: Registered) => forge(u, { nbf: Math.floor(Date.now() / 1000) + 3600 })],
    ['a wrong issuer', (u: Registered) => forge(u, { iss: 'not-sala' })],
    ['a wrong audience', (u: Registered) => forge(u, { aud: 'not-sala' })],
    ['a session that does not exist', (u: Registered) => forge(u, { sid: 'A'.repeat(32) })],
    ['garbage', async () => 'not-a-jwt'],
  ])('%s -> 401 on HTTP and on the WebSocket', async (_label, make) => {
    const user = await register(server)
    const token = await make(user)
    const response = await me(token)
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthenticated')
    await expect(ChatClient.connect(server, { token })).rejects.toThrow('401')
  })

  // Deletes the row through the SQLite file; on PostgreSQL the store contract suite covers a missing session.
  it.skipIf(process.env['SALA_TEST_ENGINE'] === 'postgres')('a valid token whose session row was deleted -> 401', async () => {
    const user = await register(server)
    const db = await open({ filename: join(server.dataDir, 'sala.db'), driver: sqlite3.Database })
    await db.run('DELETE FROM sessions WHERE id = ?', [decodeJwt(user.token)['sid']])
    await db.close()
    expect((await me(user.token)).status).toBe(401)
  })

  it('a cookie replayed after logout -> 401', async () => {
    const user = await register(server)
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Cookie: user.cookie, Origin: server.url } })
    const replay = await fetch(`${server.url}/auth/me`, { headers: { Cookie: user.cookie } })
    expect(replay.status).toBe(401)
    await expectStillServes(server)
  })
})

describe('login throttling', () => {
  it('backs off an account after ten failures, with 429 and Retry-After, for every address', async () => {
    const own = await startTestServer()
    try {
      const user = await register(own)
      for (let i = 0; i < 10; i++) {
        const wrong = await postJson(`${own.url}/auth/login`, { username: user.username, password: 'wrong password' })
        expect(wrong.status).toBe(401)
      }
      const eleventh = await postJson(`${own.url}/auth/login`, { username: user.username, password: 'wrong password' })
      expect(eleventh.status).toBe(401)
      const blocked = await postJson(`${own.url}/auth/login`, { username: user.username, password: user.password })
      expect(blocked.status).toBe(429)
      expect(blocked.headers.get('retry-after')).toBe('1')
      expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('too_many_attempts')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expect((await postJson(`${own.url}/auth/login`, { username: user.username, password: user.password })).status).toBe(200)
      // Unknown names are throttled the same way: the answer reveals nothing.
      const nobody = uniqueName('nobody')
      for (let i = 0; i < 11; i++) await postJson(`${own.url}/auth/login`, { username: nobody, password: 'x' })
      expect((await postJson(`${own.url}/auth/login`, { username: nobody, password: 'x' })).status).toBe(429)
      await expectStillServes(own)
    } finally {
      await own.stop()
    }
  })

  it('blocks one address after 100 failures across accounts (sprayer), by the proxy’s X-Forwarded-For when trusted', async () => {
    const own = await startTestServer({ TRUST_PROXY: 'true' })
    try {
      const user = await register(own)
      const from = (ip: string) => ({ 'X-Forwarded-For': ip })
      for (let i = 0; i < 100; i++) await postJson(`${own.url}/auth/login`, { username: `spray${i}`, password: 'x' }, from('203.0.113.9'))
      const sprayer = await postJson(`${own.url}/auth/login`, { username: user.username, password: user.password }, from('203.0.113.9'))
      expect(sprayer.status).toBe(429)
      const neighbour = await postJson(`${own.url}/auth/login`, { username: user.username, password: user.password }, from('203.0.113.10'))
      expect(neighbour.status).toBe(200)
    } finally {
      await own.stop()
    }
  })
})

describe('input that looks like code is data', () => {
  it('stores SQL-looking names and texts literally', async () => {
    const sneaky = `robert'); DROP TABLE users;--`
    const username = uniqueName('bobby')
    const registered = await postJson(`${server.url}/auth/register`, { name: sneaky, username, email: `${username}@example.com`, password: 'long enough' })
    expect(registered.status).toBe(201)
    const { token } = (await registered.json()) as { token: string }
    const client = await ChatClient.connect(server, { token })
    expect((await client.next('welcome')).user.name).toBe(sneaky)
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    const text = `'; DELETE FROM messages; SELECT '1`
    client.send({ type: 'message', text, ref: 'sql' })
    await client.next('ack')
    client.send({ type: 'history', limit: 1 })
    expect((await client.next('history')).messages[0]?.text).toBe(text)
    client.close()
    await expectStillServes(server)
  })

  it('refuses objects and arrays where strings belong, before they reach the database', async () => {
    for (const username of [{ $gt: '' }, ['admin'], 42, null, true]) {
      const response = await postJson(`${server.url}/auth/login`, { username, password: 'x' })
      expect(response.status).toBe(400)
    }
  })
})

describe('security headers on every response', () => {
  it.each([
    ['GET', '/health'],
    ['GET', '/nope'],
    ['GET', '/auth/me'],
    ['POST', '/auth/login'],
    ['GET', '/static/AAAAAAAAAAAAAAAAAAAAAA'],
  ])('%s %s', async (method, path) => {
    const response = await fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) })
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
  })
})
