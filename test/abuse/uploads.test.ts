import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'
import { expectStillServes } from './still-serves.js'
import { BOUNDARY as UPLOAD_BOUNDARY, partHead, UploadStream, waitFor } from '../integration/upload-client.js'

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

describe('early refusals end the exchange: the client reads the status, not a reset', () => {
  let small: TestServer
  let owner: Registered
  beforeAll(async () => {
    small = await startTestServer({ MAX_FILE_BYTES: '100000' })
    owner = await register(small)
  })
  afterAll(async () => {
    await small.stop()
  })

  const GiB = 1024 ** 3
  // What the kernel buffers between the two sockets on loopback, far below the gigabyte being offered.
  const BUFFERED = 64 * 1024 ** 2

  /** Offers a 1 GiB body as fast as the connection takes it and stops when the answer comes, as curl does. */
  const offer = async (url: string, path: string, headers: Record<string, string>, head: Buffer = Buffer.alloc(0), chunked = false) => {
    const upload = new UploadStream(url, headers, chunked ? undefined : head.length + GiB, path)
    const started = process.hrtime.bigint()
    if (head.length > 0) await upload.write(head)
    const pouring = upload.pour(head.length + GiB)
    const answer = await upload.answer
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    await pouring
    // The server ends its side after the answer; the connection then closes without an error on ours.
    await upload.closed
    return { answer, ms, errors: upload.errors }
  }

  const multipart = (headers: Record<string, string> = {}) => ({ 'Content-Type': `multipart/form-data; boundary=${UPLOAD_BOUNDARY}`, ...headers })

  it('a part past MAX_FILE_BYTES is answered 413 at once, not after the rest is read', async () => {
    const { answer, ms, errors } = await offer(small.url, '/uploads', multipart({ Authorization: `Bearer ${owner.token}` }), partHead('huge.bin'))
    console.log(`1 GiB part against MAX_FILE_BYTES=100000: 413 after ${ms.toFixed(0)} ms, ${(answer.sentBeforeAnswer / 2 ** 20).toFixed(1)} MiB sent`)
    expect(answer.status).toBe(413)
    expect(answer.body.error?.code).toBe('payload_too_large')
    expect(answer.headers['connection']).toBe('close')
    expect(answer.sentBeforeAnswer).toBeLessThan(BUFFERED)
    expect(errors).toEqual([])
    expect((await readdir(join(small.dataDir, 'uploads'))).filter((name) => name.endsWith('.part'))).toEqual([])
  })

  it.each([
    ['401 without a session', '/uploads', () => multipart(), false, 401, 'unauthenticated'],
    ['403 for a cookie from a foreign origin', '/uploads', () => multipart({ Cookie: owner.cookie, Origin: 'https://evil.example' }), false, 403, 'forbidden_origin'],
    ['415 for a body that is not multipart', '/uploads', () => ({ Authorization: `Bearer ${owner.token}`, 'Content-Type': 'application/octet-stream' }), false, 415, 'unsupported_media_type'],
    ['413 for a JSON body declared past its limit', '/auth/login', () => ({ 'Content-Type': 'application/json' }), false, 413, 'payload_too_large'],
    ['413 for a chunked JSON body that passes its limit', '/auth/login', () => ({ 'Content-Type': 'application/json' }), true, 413, 'payload_too_large'],
  ])('%s', async (_label, path, headers, chunked, status, code) => {
    const { answer, errors } = await offer(small.url, path, headers(), Buffer.alloc(0), chunked)
    expect(answer.status).toBe(status)
    expect(answer.body.error?.code).toBe(code)
    expect(answer.headers['connection']).toBe('close')
    expect(answer.sentBeforeAnswer).toBeLessThan(BUFFERED)
    expect(errors).toEqual([])
  })

  it('trickling uploads hold no more than the per-user cap of files open; the rest are refused at once', async () => {
    const trickler = await register(small)
    const uploads = Array.from({ length: 20 }, () => new UploadStream(small.url, multipart({ Authorization: `Bearer ${trickler.token}` }), undefined))
    await Promise.all(uploads.map((upload) => upload.write(Buffer.concat([partHead('drip.bin'), Buffer.from('drip')]))))
    await waitFor('16 refusals', () => uploads.filter((upload) => upload.answered?.status === 429).length === 16)
    expect(uploads.every((upload) => upload.answered === undefined || upload.answered.body.error?.code === 'too_many_uploads')).toBe(true)
    expect((await readdir(join(small.dataDir, 'uploads'))).filter((name) => name.endsWith('.part')).length).toBe(4)
    await expectStillServes(small)
    for (const upload of uploads) upload.destroy()
    await waitFor('the trickles cleaned up', async () => (await readdir(join(small.dataDir, 'uploads'))).filter((name) => name.endsWith('.part')).length === 0)
  })
})
