import { readdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
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

/** A raw connection to the server that has written `head`, and what the server has sent on it so far. */
const rawRequest = (head: string): Promise<{ socket: Socket; received: () => string }> =>
  new Promise((resolve, reject) => {
    let received = ''
    const { port } = new URL(server.url)
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(head)
      resolve({ socket, received: () => received })
    })
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('error', reject)
  })

const accessLine = async (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
  for (let i = 0; i < 500; i++) {
    const found = lines().find((line) => line['msg'] === 'http request' && match(line))
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('no such access line')
}

describe('requests that never finish', () => {
  it('an upload the client abandons halfway leaves its line: aborted, connection_closed', async () => {
    const ana = await register(server)
    const boundary = 'sala-test-boundary'
    const { socket } = await rawRequest(
      `POST /uploads?abandoned=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ana.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="half.txt"\r\nContent-Type: text/plain\r\n\r\n` +
        'only the first bytes of the file',
    )
    const before = lines().length
    // Leave once the server is writing the file, so the request is well under way.
    const uploads = join(server.dataDir, 'uploads')
    for (let i = 0; i < 500 && !(await readdir(uploads)).some((name) => name.endsWith('.part')); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    socket.destroy()
    const line = await accessLine((l) => l['path'] === '/uploads' && l['aborted'] === true)
    expect(line).toMatchObject({ method: 'POST', aborted: true, reason: 'connection_closed', requestId: expect.any(String) })
    expect(lines().length).toBeGreaterThan(before)
  })

  it('a download the client abandons leaves its line with the status sent: aborted, connection_closed', async () => {
    const ana = await register(server)
    const form = new FormData()
    form.append('files', new Blob([Buffer.alloc(8 << 20, 'a')], { type: 'text/plain' }), 'big.txt')
    const uploaded = await fetch(`${server.url}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${ana.token}` }, body: form })
    expect(uploaded.status).toBe(201)
    const url = ((await uploaded.json()) as { files: Array<{ url: string }> }).files[0]?.url ?? ''
    const download = await rawRequest(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`)
    for (let i = 0; i < 500 && !download.received().startsWith('HTTP/1.1 200'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    // Stop reading, so the 8 MiB cannot all have gone out, then leave.
    download.socket.pause()
    download.socket.destroy()
    const line = await accessLine((l) => l['path'] === url)
    expect(line).toMatchObject({ method: 'GET', status: 200, aborted: true, reason: 'connection_closed' })
  })
})
