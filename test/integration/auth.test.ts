import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, uniqueName, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server.stop()
})

const me = (headers: Record<string, string>) => fetch(`${server.url}/auth/me`, { headers })

describe('POST /auth/register', () => {
  it('creates the account, answers 201 {user, token} and sets the session cookie', async () => {
    const username = uniqueName('reg')
    const response = await postJson(`${server.url}/auth/register`, {
      name: 'Ana Souza',
      username,
      email: `${username}@Example.com`,
      password: 'correct horse battery',
    })
    expect(response.status).toBe(201)
    const body = (await response.json()) as { user: Record<string, unknown>; token: string }
    expect(body.user).toEqual({ username, name: 'Ana Souza', email: `${username}@Example.com`, createdAt: expect.any(String) })
    expect(body.user).not.toHaveProperty('password')
    expect(body.user).not.toHaveProperty('passwordHash')
    expect(body.token.split('.')).toHaveLength(3)
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(new RegExp(`^sala_session=${body.token.replace(/\./g, '\\.')};`))
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/')
    expect(cookie).toContain('Max-Age=2592000')
    expect(cookie).not.toContain('Secure')
  })

  it('answers 400 with one detail per bad field', async () => {
    const response = await postJson(`${server.url}/auth/register`, {
      name: '',
      username: 'a b',
      email: 'not-an-email',
      password: 'x'.repeat(73),
    })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: { code: string; details: Array<{ path: string }> } }
    expect(body.error.code).toBe('validation_failed')
    expect(body.error.details.map((d) => d.path).sort()).toEqual(['email', 'name', 'password', 'username'])
  })

  it('refuses objects where strings belong, and missing fields', async () => {
    const response = await postJson(`${server.url}/auth/register`, { name: { $ne: 1 }, username: ['ana'], email: 'a@b.co' })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: { details: Array<{ path: string; message: string }> } }
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'password', message: 'is required' },
        expect.objectContaining({ path: 'name' }),
        expect.objectContaining({ path: 'username' }),
      ]),
    )
  })

  it('answers 409 for a username or e-mail taken in any letter case', async () => {
    const taken = await register(server)
    const sameName = await postJson(`${server.url}/auth/register`, {
      name: 'X',
      username: taken.username.toUpperCase(),
      email: `${uniqueName()}@example.com`,
      password: 'long enough',
    })
    expect(sameName.status).toBe(409)
    expect(((await sameName.json()) as { error: { code: string } }).error.code).toBe('username_taken')
    const sameEmail = await postJson(`${server.url}/auth/register`, {
      name: 'X',
      username: uniqueName(),
      email: `${taken.username}@EXAMPLE.com`.toUpperCase(),
      password: 'long enough',
    })
    expect(sameEmail.status).toBe(409)
    expect(((await sameEmail.json()) as { error: { code: string } }).error.code).toBe('email_taken')
  })

  it('lets exactly one of two racing registrations of one username win', async () => {
    const username = uniqueName('race')
    const attempt = (n: number) =>
      postJson(`${server.url}/auth/register`, { name: 'R', username, email: `${username}${n}@example.com`, password: 'long enough' })
    const statuses = (await Promise.all([attempt(1), attempt(2), attempt(3)])).map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409, 409])
  })

  it('answers 415 for a non-JSON body, 400 for malformed JSON, 413 for an oversized one', async () => {
    const form = await fetch(`${server.url}/auth/register`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' })
    expect(form.status).toBe(415)
    const broken = await fetch(`${server.url}/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":' })
    expect(broken.status).toBe(400)
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('malformed_json')
    const huge = await postJson(`${server.url}/auth/register`, { name: 'x'.repeat(20_000) })
    expect(huge.status).toBe(413)
  })
})

describe('POST /auth/login', () => {
  it('accepts the username or the e-mail, in any case', async () => {
    const user = await register(server)
    for (const login of [user.username, user.username.toUpperCase(), `${user.username}@example.com`]) {
      const response = await postJson(`${server.url}/auth/login`, { username: login, password: user.password })
      expect(response.status).toBe(200)
      const body = (await response.json()) as { user: { username: string }; token: string }
      expect(body.user.username).toBe(user.username)
      expect(response.headers.get('set-cookie')).toContain('sala_session=')
    }
  })

  it('gives the same 401 for an unknown user and a wrong password', async () => {
    const user = await register(server)
    const wrong = await postJson(`${server.url}/auth/login`, { username: user.username, password: 'wrong password' })
    const unknown = await postJson(`${server.url}/auth/login`, { username: 'nobody-here', password: 'wrong password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(await wrong.json()).toEqual(await unknown.json())
  })
})

describe('sessions', () => {
  it('GET /auth/me works with the cookie or a Bearer token, and 401 without', async () => {
    const user = await register(server)
    expect((await me({ Cookie: user.cookie })).status).toBe(200)
    const viaBearer = await me({ Authorization: `Bearer ${user.token}` })
    expect(((await viaBearer.json()) as { user: { username: string } }).user.username).toBe(user.username)
    const none = await me({})
    expect(none.status).toBe(401)
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthenticated')
    expect((await me({ Authorization: `Bearer ${user.token}x` })).status).toBe(401)
  })

  it('logout answers 204, clears the cookie, revokes the token on HTTP and WS, and closes its sockets with 4001', async () => {
    const user = await register(server)
    const socket = await ChatClient.connect(server, { token: user.token })
    await socket.next('welcome')
    const response = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } })
    expect(response.status).toBe(204)
    expect(response.headers.get('set-cookie')).toMatch(/^sala_session=; .*Max-Age=0/)
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: 'session revoked' })
    expect((await me({ Authorization: `Bearer ${user.token}` })).status).toBe(401)
    expect((await me({ Cookie: user.cookie })).status).toBe(401)
    await expect(ChatClient.connect(server, { token: user.token })).rejects.toThrow('401')
  })

  it('logout of one session leaves the user’s other sessions alone', async () => {
    const user = await register(server)
    const other = (await (await postJson(`${server.url}/auth/login`, { username: user.username, password: user.password })).json()) as { token: string }
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } })
    expect((await me({ Authorization: `Bearer ${other.token}` })).status).toBe(200)
  })

  it('tells a request without credentials to sign in, and one with a bad, tampered or revoked token that its session is not valid', async () => {
    const message = async (headers: Record<string, string>) => {
      const response = await me(headers)
      expect(response.status).toBe(401)
      const { error } = (await response.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('unauthenticated')
      return error.message
    }
    expect(await message({})).toMatch(/^sign in first/)
    const user = await register(server)
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${user.token}` } })
    for (const headers of [{ Authorization: `Bearer ${user.token}` }, { Cookie: user.cookie }, { Authorization: 'Bearer not-a-token' }, { Authorization: `Bearer ${user.token}x` }]) {
      expect(await message(headers)).toMatch(/session is not valid/)
    }
  })

  it('logout without a session still answers 204', async () => {
    expect((await fetch(`${server.url}/auth/logout`, { method: 'POST' })).status).toBe(204)
  })
})

describe('origin checks on cookie-authenticated requests', () => {
  it('refuses a cookie logout from a foreign or missing Origin, accepts the server’s own', async () => {
    const user = await register(server)
    const foreign = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Cookie: user.cookie, Origin: 'https://evil.example' } })
    expect(foreign.status).toBe(403)
    const missing = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Cookie: user.cookie } })
    expect(missing.status).toBe(403)
    expect((await me({ Cookie: user.cookie })).status).toBe(200)
    const own = await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Cookie: user.cookie, Origin: server.url } })
    expect(own.status).toBe(204)
    expect((await me({ Cookie: user.cookie })).status).toBe(401)
  })

  it('refuses a login posted from a foreign site', async () => {
    const user = await register(server)
    const response = await postJson(`${server.url}/auth/login`, { username: user.username, password: user.password }, { Origin: 'https://evil.example' })
    expect(response.status).toBe(403)
  })

  it('refuses a cookie WebSocket upgrade from a foreign or missing Origin', async () => {
    const user = await register(server)
    await expect(ChatClient.connect(server, { cookie: user.cookie, origin: 'https://evil.example' })).rejects.toThrow('403')
    await expect(ChatClient.connect(server, { cookie: user.cookie })).rejects.toThrow('403')
    const ok = await ChatClient.connect(server, { cookie: user.cookie, origin: server.url })
    await ok.next('welcome')
    ok.close()
  })

  it('accepts origins listed in ALLOWED_ORIGINS', async () => {
    const other = await startTestServer({ ALLOWED_ORIGINS: 'https://chat.example.com' })
    try {
      const user = await register(other)
      const client = await ChatClient.connect(other, { cookie: user.cookie, origin: 'https://chat.example.com' })
      await client.next('welcome')
      client.close()
    } finally {
      await other.stop()
    }
  })
})

describe('other routes', () => {
  it('GET /rooms needs a session and lists the rooms with member counts', async () => {
    expect((await fetch(`${server.url}/rooms`)).status).toBe(401)
    const user = await register(server)
    const response = await fetch(`${server.url}/rooms`, { headers: { Authorization: `Bearer ${user.token}` } })
    expect(await response.json()).toEqual([
      { id: 'sala-1', name: 'Sala 1', members: expect.any(Number), visibility: 'public', unread: 0, member: false },
      { id: 'sala-2', name: 'Sala 2', members: expect.any(Number), visibility: 'public', unread: 0, member: false },
      { id: 'sala-3', name: 'Sala 3', members: expect.any(Number), visibility: 'public', unread: 0, member: false },
    ])
  })

  it('GET /health answers 200; unknown routes 404 and wrong methods 405, all as JSON', async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' })
    const missing = await fetch(`${server.url}/nope`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found')
    const wrong = await fetch(`${server.url}/auth/login`)
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    expect(wrong.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('never logs a password or a token', async () => {
    const user = await register(server)
    await postJson(`${server.url}/auth/login`, { username: user.username, password: user.password })
    const log = server.logLines.join('')
    expect(log).not.toContain(user.password)
    expect(log).not.toContain(user.token)
  })
})

describe('restart', () => {
  it('keeps accounts and sessions valid across a restart with the same data folder', async () => {
    const own = await startTestServer()
    const user = await register(own)
    const restarted = await own.restart()
    try {
      const response = await fetch(`${restarted.url}/auth/me`, { headers: { Authorization: `Bearer ${user.token}` } })
      expect(response.status).toBe(200)
      const login = await postJson(`${restarted.url}/auth/login`, { username: user.username, password: user.password })
      expect(login.status).toBe(200)
    } finally {
      await restarted.stop()
    }
  })
})
