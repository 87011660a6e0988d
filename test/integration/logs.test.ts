import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: 'debug' })
})
afterAll(async () => {
  await server.stop()
})

const lines = () => server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>)

describe('logs', () => {
  it('never contain a password, a token, a cookie or a message text, across a full flow', async () => {
    const ana = await register(server)
    const login = await postJson(`${server.url}/auth/login`, { username: ana.username, password: ana.password })
    const loginToken = ((await login.json()) as { token: string }).token
    await fetch(`${server.url}/auth/me`, { headers: { Cookie: ana.cookie } })
    await postJson(`${server.url}/auth/login`, { username: ana.username, password: 'a wrong secret password' })
    const form = new FormData()
    form.append('files', new Blob(['secret file body'], { type: 'text/plain' }), 'notes.txt')
    await fetch(`${server.url}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${ana.token}` }, body: form })
    const client = await ChatClient.connect(server, { token: ana.token })
    await client.next('welcome')
    client.send({ type: 'join', room: 'sala-2' })
    await client.next('joined')
    const text = 'the private message text 7f3a9c'
    client.send({ type: 'message', text, ref: 'm' })
    await client.next('ack')
    client.send('{"type":"message","text":"malformed secret 81bd')
    await client.next('error')
    client.close()
    await fetch(`${server.url}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${loginToken}` } })

    const log = server.logLines.join('')
    for (const secret of [ana.password, 'a wrong secret password', ana.token, loginToken, ana.cookie, text, 'malformed secret 81bd', 'secret file body']) {
      expect(log, `a log line contains ${secret.slice(0, 12)}…`).not.toContain(secret)
    }
  })

  it('has one access line per request with its correlation fields, and join/leave lines at info', async () => {
    const before = server.logLines.length
    const bia = await register(server)
    const client = await ChatClient.connect(server, { token: bia.token })
    await client.next('welcome')
    client.send({ type: 'join', room: 'sala-3' })
    await client.next('joined')
    client.send({ type: 'leave' })
    client.close()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const recent = lines().slice(before)
    const access = recent.find((l) => l['msg'] === 'http request' && l['path'] === '/auth/register')
    expect(access).toMatchObject({ level: 'info', method: 'POST', status: 201, requestId: expect.any(String), durationMs: expect.any(Number), bytes: expect.any(Number) })
    expect(recent.find((l) => l['msg'] === 'connected')).toMatchObject({ level: 'info', connectionId: expect.any(String), userId: expect.any(String) })
    expect(recent.find((l) => l['msg'] === 'joined room')).toMatchObject({ level: 'info', room: 'sala-3', connectionId: expect.any(String), userId: expect.any(String) })
    expect(recent.find((l) => l['msg'] === 'left room')).toMatchObject({ level: 'info', room: 'sala-3', reason: 'left' })
    expect(recent.find((l) => l['msg'] === 'disconnected')).toMatchObject({ level: 'info' })
    for (const line of recent) expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) })
  })
})
