import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'
import { expectStillServes } from './still-serves.js'

const BOUNDARY = 'abuse-boundary'
let server: TestServer
let user: Registered
beforeAll(async () => {
  server = await startTestServer({ MAX_FILES: '3' })
  user = await register(server)
})
afterAll(async () => {
  await server.stop()
})

const send = (body: string | Buffer) =>
  fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
    body,
  })

const filePart = (disposition: string, data = 'data') =>
  `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: text/plain\r\n\r\n${data}\r\n`
const end = `--${BOUNDARY}--\r\n`

describe('hostile file names are stored as harmless display names', () => {
  it.each([
    ['%2e%2e%2fsala.db', '%2e%2e%2fsala.db'],
    ['..%2F..%2Fetc%2Fpasswd', '%2F..%2Fetc%2Fpasswd'],
    ['a'.repeat(300), 'a'.repeat(200)],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['..\\..\\boot.ini', 'boot.ini'],
  ])('%j', async (raw, shown) => {
    const response = await send(filePart(`form-data; name="files"; filename="${raw}"`) + end)
    expect(response.status).toBe(201)
    const { files } = (await response.json()) as { files: Array<{ url: string; name: string }> }
    expect(files[0]!.name).toBe(shown)
    expect(files[0]!.url).toMatch(/^\/static\/[A-Za-z0-9_-]{22}$/)
    const stored = await readdir(join(server.dataDir, 'uploads'))
    expect(stored.every((name) => /^[A-Za-z0-9_-]{22}$/.test(name))).toBe(true)
  })
})

describe('NUL in a file name', () => {
  it('encoded (RFC 5987 filename*) is stripped from the display name', async () => {
    const response = await send(filePart(`form-data; name="files"; filename*=UTF-8''nul%00byte.txt`) + end)
    expect(response.status).toBe(201)
    expect(((await response.json()) as { files: Array<{ name: string }> }).files[0]!.name).toBe('nulbyte.txt')
  })

  it('raw, inside the part header, makes the body malformed: 400, nothing kept', async () => {
    const before = await readdir(join(server.dataDir, 'uploads'))
    const response = await send(filePart('form-data; name="files"; filename="nul\u0000byte.txt"') + end)
    expect(response.status).toBe(400)
    expect(await readdir(join(server.dataDir, 'uploads'))).toEqual(before)
  })
})

describe('malformed multipart bodies', () => {
  it.each([
    ['a part without headers', `--${BOUNDARY}\r\n\r\ndata\r\n${end}`],
    ['a header line without a colon', `--${BOUNDARY}\r\nthis is not a header\r\n\r\ndata\r\n${end}`],
    ['a body that never ends', filePart('form-data; name="files"; filename="x.txt"').slice(0, -2)],
    ['only the closing boundary', end],
    ['no boundary at all', 'just some bytes'],
  ])('%s -> 4xx, nothing kept', async (_label, body) => {
    const before = await readdir(join(server.dataDir, 'uploads'))
    const response = await send(body)
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(response.status).toBeLessThan(500)
    expect(await readdir(join(server.dataDir, 'uploads'))).toEqual(before)
    await expectStillServes(server)
  })

  it('too many parts -> 413, nothing kept', async () => {
    const before = await readdir(join(server.dataDir, 'uploads'))
    const fields = Array.from({ length: 40 }, (_, i) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join('')
    const response = await send(fields + filePart('form-data; name="files"; filename="x.txt"') + end)
    expect(response.status).toBe(413)
    expect(await readdir(join(server.dataDir, 'uploads'))).toEqual(before)
  })
})
