import { request } from 'node:http'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, register, settle, startTestServer, type Registered, type TestServer } from './helpers.js'

interface Part {
  readonly name: string
  readonly filename?: string
  readonly type?: string
  readonly data: Buffer | string
}

const BOUNDARY = 'sala-test-boundary'
const multipart = (parts: ReadonlyArray<Part>): Buffer =>
  Buffer.concat([
    ...parts.map((part) =>
      Buffer.concat([
        Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"` +
            (part.filename === undefined ? '' : `; filename="${part.filename}"`) +
            '\r\n' +
            (part.type === undefined ? '' : `Content-Type: ${part.type}\r\n`) +
            '\r\n',
        ),
        Buffer.from(part.data),
        Buffer.from('\r\n'),
      ]),
    ),
    Buffer.from(`--${BOUNDARY}--\r\n`),
  ])

// A real 1x1 PNG: content detection reads past the signature (the IHDR chunk), as it should.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')

interface UploadedFile {
  readonly url: string
  readonly name: string
  readonly type: string
  readonly size: number
}

const postUpload = (server: TestServer, user: Registered, body: Buffer, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
    body,
  })

const uploadOk = async (server: TestServer, user: Registered, parts: ReadonlyArray<Part>): Promise<UploadedFile[]> => {
  const response = await postUpload(server, user, multipart(parts))
  expect(response.status, await response.clone().text()).toBe(201)
  return ((await response.json()) as { files: UploadedFile[] }).files
}

const storedFiles = async (server: TestServer) => readdir(join(server.dataDir, 'uploads'))

let server: TestServer
let ana: Registered
beforeAll(async () => {
  server = await startTestServer({ MAX_FILE_BYTES: String(200 * 1024 * 1024) })
  ana = await register(server)
})
afterAll(async () => {
  await server.stop()
})

describe('POST /uploads', () => {
  it('stores one file and answers its link, original name, type and size', async () => {
    const [file] = await uploadOk(server, ana, [{ name: 'files', filename: 'notes.txt', type: 'text/plain', data: 'olá mundo' }])
    expect(file).toEqual({ url: expect.stringMatching(/^\/static\/[A-Za-z0-9_-]{22}$/), name: 'notes.txt', type: 'text/plain', size: 10 })
    const served = await fetch(`${server.url}${file!.url}`)
    expect(served.status).toBe(200)
    expect(await served.text()).toBe('olá mundo')
    expect(served.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(served.headers.get('content-length')).toBe('10')
    expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(served.headers.get('etag')).toBe(`"${file!.url.split('/').pop()}"`)
    expect(served.headers.get('content-disposition')).toBe(`inline; filename="notes.txt"; filename*=UTF-8''notes.txt`)
  })

  it('keeps several files in the order their parts arrived, accepting any file field', async () => {
    const files = await uploadOk(server, ana, [
      { name: 'files', filename: 'a.png', type: 'image/png', data: PNG },
      { name: 'caption', data: 'a form field is fine' },
      { name: 'other', filename: 'b.txt', type: 'text/plain', data: 'b' },
      { name: 'files', filename: 'c.bin', type: 'application/octet-stream', data: 'ccc' },
    ])
    expect(files.map((f) => [f.name, f.type, f.size])).toEqual([
      ['a.png', 'image/png', PNG.length],
      ['b.txt', 'text/plain', 1],
      ['c.bin', 'application/octet-stream', 3],
    ])
    expect(new Set(files.map((f) => f.url)).size).toBe(3)
  })

  it('needs a session, and refuses a cookie upload from a foreign origin', async () => {
    const anonymous = await fetch(`${server.url}/uploads`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` }, body: multipart([{ name: 'files', filename: 'x', data: 'x' }]) })
    expect(anonymous.status).toBe(401)
    const foreign = await fetch(`${server.url}/uploads`, {
      method: 'POST',
      headers: { Cookie: ana.cookie, Origin: 'https://evil.example', 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
      body: multipart([{ name: 'files', filename: 'x', data: 'x' }]),
    })
    expect(foreign.status).toBe(403)
  })

  it.each([
    ['not multipart', { 'Content-Type': 'application/json' }, '{}', 415, 'unsupported_media_type'],
    ['no boundary', { 'Content-Type': 'multipart/form-data' }, 'x', 400, 'malformed_multipart'],
    ['no file part', {}, multipart([{ name: 'caption', data: 'just text' }]), 400, 'no_files'],
    ['an empty file', {}, multipart([{ name: 'files', filename: 'empty.txt', data: '' }]), 400, 'empty_file'],
    ['a malformed body', {}, Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="x"\r\n\r\nunterminated`), 400, 'malformed_multipart'],
  ])('refuses %s', async (_label, headers, body, status, code) => {
    const before = await storedFiles(server)
    const response = await postUpload(server, ana, Buffer.from(body), headers)
    expect(response.status).toBe(status)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code)
    expect(await storedFiles(server)).toEqual(before)
  })

  it('sanitizes the original name and keeps Unicode', async () => {
    const files = await uploadOk(server, ana, [
      { name: 'files', filename: '../../etc/evil\u202Egnp.exe', data: 'x' },
      { name: 'files', filename: 'café ☕.txt', type: 'text/plain', data: 'y' },
      { name: 'files', filename: '..\\..\\windows\\x.txt', data: 'z' },
    ])
    expect(files.map((f) => f.name)).toEqual(['evilgnp.exe', 'café ☕.txt', 'x.txt'])
    const served = await fetch(`${server.url}${files[1]!.url}`)
    expect(served.headers.get('content-disposition')).toBe(`inline; filename="caf_ _.txt"; filename*=UTF-8''caf%C3%A9%20%E2%98%95.txt`)
  })
})

describe('limits: nothing of a refused request is kept', () => {
  let small: TestServer
  let user: Registered
  beforeAll(async () => {
    small = await startTestServer({ MAX_FILE_BYTES: '1024', MAX_FILES: '2' })
    user = await register(small)
  })
  afterAll(async () => {
    await small.stop()
  })

  it('answers 413 for a file over MAX_FILE_BYTES, even when another file was fine', async () => {
    const response = await postUpload(
      small,
      user,
      multipart([
        { name: 'files', filename: 'ok.txt', data: 'fine' },
        { name: 'files', filename: 'big.bin', data: Buffer.alloc(1025, 1) },
      ]),
    )
    expect(response.status).toBe(413)
    expect(await storedFiles(small)).toEqual([])
  })

  it('accepts a file of exactly MAX_FILE_BYTES', async () => {
    const [file] = await uploadOk(small, user, [{ name: 'files', filename: 'edge.bin', data: Buffer.alloc(1024, 2) }])
    expect(file!.size).toBe(1024)
  })

  it('answers 413 for more than MAX_FILES files', async () => {
    const before = await storedFiles(small)
    const response = await postUpload(
      small,
      user,
      multipart([1, 2, 3].map((n) => ({ name: 'files', filename: `${n}.txt`, data: String(n) }))),
    )
    expect(response.status).toBe(413)
    expect(await storedFiles(small)).toEqual(before)
  })
})

describe('a client that aborts mid-upload', () => {
  it('leaves no file and no row behind, and the server keeps serving', async () => {
    const before = await storedFiles(server)
    const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n`)
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/uploads`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ana.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(10 * 1024 * 1024) },
      })
      req.on('error', () => resolve())
      req.write(head)
      req.write(Buffer.alloc(512 * 1024, 7), () => {
        setTimeout(() => {
          req.destroy()
          resolve()
        }, 100)
      })
    })
    await settle(300)
    expect(await storedFiles(server)).toEqual(before)
    const [file] = await uploadOk(server, ana, [{ name: 'files', filename: 'after.txt', data: 'still here' }])
    expect(file!.name).toBe('after.txt')
  })
})

describe('a 100 MiB upload', () => {
  it('is streamed to disk: the server’s memory grows far less than the file', async () => {
    const size = 100 * 1024 * 1024
    const chunk = Buffer.alloc(256 * 1024, 0x61)
    const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`)
    global.gc?.()
    const baseline = process.memoryUsage()
    let peakRss = baseline.rss
    let peakHeap = baseline.heapUsed
    const sampler = setInterval(() => {
      const now = process.memoryUsage()
      peakRss = Math.max(peakRss, now.rss)
      peakHeap = Math.max(peakHeap, now.heapUsed)
    }, 20)
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/uploads`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${ana.token}`,
          'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
          'Content-Length': String(head.length + size + tail.length),
        },
      })
      req.on('response', (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.write(head)
      let sent = 0
      // Written as the socket drains, so the client side holds one chunk at a time too.
      const writeMore = () => {
        while (sent < size) {
          sent += chunk.length
          if (!req.write(chunk)) return void req.once('drain', writeMore)
        }
        req.end(tail)
      }
      writeMore()
    })
    clearInterval(sampler)
    expect(response.status).toBe(201)
    const [file] = (JSON.parse(response.body) as { files: UploadedFile[] }).files
    expect(file!.size).toBe(size)
    const rssGrowth = peakRss - baseline.rss
    const heapGrowth = peakHeap - baseline.heapUsed
    console.log(`100 MiB upload: peak RSS growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB, peak heap growth ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`)
    expect(rssGrowth).toBeLessThan(40 * 1024 * 1024)
    expect(heapGrowth).toBeLessThan(40 * 1024 * 1024)
    const served = await fetch(`${server.url}${file!.url}`, { method: 'HEAD' })
    expect(served.headers.get('content-length')).toBe(String(size))
  })
})

describe('a disk error', () => {
  it('answers 500, keeps nothing, and the server keeps serving', async () => {
    const own = await startTestServer()
    try {
      const user = await register(own)
      const folder = join(own.dataDir, 'uploads')
      await rm(folder, { recursive: true })
      const response = await postUpload(own, user, multipart([{ name: 'files', filename: 'x.txt', data: 'x' }]))
      expect(response.status).toBe(500)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('internal_error')
      await mkdir(folder)
      const [file] = await uploadOk(own, user, [{ name: 'files', filename: 'y.txt', data: 'y' }])
      expect(await readdir(folder)).toEqual([file!.url.split('/').pop()])
    } finally {
      await own.stop()
    }
  })
})

describe('GET /static/<name>', () => {
  it.each(['/static/..%2Fsala.db', '/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/static/../sala.db', '/static/AAAAAAAAAAAAAAAAAAAAAA', '/static/.x.part', '/static/'])(
    '%s is 404',
    async (path) => {
      const response = await fetch(`${server.url}${path}`)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found')
    },
  )

  it('serves HTML and SVG as sandboxed attachments, and never trusts a claimed image type without its bytes', async () => {
    const files = await uploadOk(server, ana, [
      { name: 'files', filename: 'page.html', type: 'text/html', data: '<script>alert(1)</script>' },
      { name: 'files', filename: 'pic.svg', type: 'image/svg+xml', data: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' },
      { name: 'files', filename: 'fake.png', type: 'image/png', data: '<html><script>alert(1)</script></html>' },
      { name: 'files', filename: 'polyglot.html', type: 'text/html', data: Buffer.concat([PNG, Buffer.from('<script>alert(1)</script>')]) },
    ])
    expect(files.map((f) => f.type)).toEqual(['text/html', 'image/svg+xml', 'application/octet-stream', 'image/png'])
    for (const file of files.slice(0, 3)) {
      const served = await fetch(`${server.url}${file.url}`)
      expect(served.headers.get('content-disposition')).toMatch(/^attachment; /)
      expect(served.headers.get('content-security-policy')).toBe('sandbox')
      expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    }
    const polyglot = await fetch(`${server.url}${files[3]!.url}`)
    expect(polyglot.headers.get('content-type')).toBe('image/png')
    expect(polyglot.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('answers Range requests, conditional requests and HEAD', async () => {
    const [file] = await uploadOk(server, ana, [{ name: 'files', filename: 'digits.txt', type: 'text/plain', data: '0123456789' }])
    const url = `${server.url}${file!.url}`
    const part = await fetch(url, { headers: { Range: 'bytes=2-5' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe('bytes 2-5/10')
    expect(await part.text()).toBe('2345')
    const suffix = await fetch(url, { headers: { Range: 'bytes=-3' } })
    expect(await suffix.text()).toBe('789')
    const open = await fetch(url, { headers: { Range: 'bytes=7-' } })
    expect(await open.text()).toBe('789')
    const beyond = await fetch(url, { headers: { Range: 'bytes=50-60' } })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe('bytes */10')
    // A range whose last byte comes before its first is not a range (RFC 9110 14.1.1): the whole file.
    for (const invalid of ['bytes=5-2', 'bytes=50-2']) {
      const whole = await fetch(url, { headers: { Range: invalid } })
      expect(whole.status).toBe(200)
      expect(whole.headers.get('content-range')).toBeNull()
      expect(await whole.text()).toBe('0123456789')
    }
    const etag = part.headers.get('etag')!
    expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304)
    const head = await fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('10')
    expect(await head.text()).toBe('')
  })
})

describe('attachments in messages', () => {
  it('round-trip to another member, in history too; only own uploads may be attached', async () => {
    const bia = await register(server)
    const [photo, doc] = await uploadOk(server, ana, [
      { name: 'files', filename: 'photo.png', type: 'image/png', data: PNG },
      { name: 'files', filename: 'doc.txt', type: 'text/plain', data: 'hello' },
    ])
    const anaSocket = await ChatClient.connect(server, { token: ana.token })
    const biaSocket = await ChatClient.connect(server, { token: bia.token })
    for (const socket of [anaSocket, biaSocket]) {
      await socket.next('welcome')
      socket.send({ type: 'join', room: 'sala-3' })
      await socket.next('joined')
    }
    anaSocket.send({ type: 'message', text: 'look', attachments: [photo!.url, doc!.url], ref: 'a1' })
    const ack = await anaSocket.next('ack', (f) => f.ref === 'a1')
    const received = await biaSocket.next('message', (m) => m.id === ack.id)
    expect(received.attachments).toEqual([photo, doc])

    anaSocket.send({ type: 'message', attachments: [photo!.url], ref: 'a2' })
    const onlyFile = await biaSocket.next('message', (m) => m.text === '')
    expect(onlyFile.attachments).toEqual([photo])
    await anaSocket.next('ack', (f) => f.ref === 'a2')

    biaSocket.send({ type: 'message', text: 'mine now?', attachments: [photo!.url], ref: 'b1' })
    expect(await biaSocket.next('error', (f) => f.ref === 'b1')).toMatchObject({ code: 'invalid_attachment' })
    for (const url of ['https://evil.example/x.png', '/static/AAAAAAAAAAAAAAAAAAAAAA', `${server.url}${photo!.url}`]) {
      anaSocket.send({ type: 'message', text: 'x', attachments: [url], ref: 'bad' })
      expect(await anaSocket.next('error', (f) => f.ref === 'bad')).toMatchObject({ code: 'invalid_attachment' })
    }
    anaSocket.send({ type: 'message', ref: 'empty' })
    expect(await anaSocket.next('error', (f) => f.ref === 'empty')).toMatchObject({ code: 'bad_request' })
    anaSocket.send({ type: 'message', text: 'x', attachments: Array.from({ length: 11 }, () => photo!.url), ref: 'many' })
    expect(await anaSocket.next('error', (f) => f.ref === 'many')).toMatchObject({ code: 'bad_request' })

    const late = await ChatClient.connect(server, { token: (await register(server)).token })
    await late.next('welcome')
    late.send({ type: 'join', room: 'sala-3' })
    const joined = await late.next('joined')
    expect(joined.history.find((m) => m.id === ack.id)?.attachments).toEqual([photo, doc])
    for (const socket of [anaSocket, biaSocket, late]) socket.close()
  })

  it('a message with attachments does not let the sender’s next frames overtake it', async () => {
    const [file] = await uploadOk(server, ana, [{ name: 'files', filename: 'f.txt', type: 'text/plain', data: 'f' }])
    const socket = await ChatClient.connect(server, { token: ana.token })
    await socket.next('welcome')
    socket.send({ type: 'join', room: 'sala-2' })
    await socket.next('joined')
    socket.send({ type: 'message', text: 'first', attachments: [file!.url], ref: '1' })
    socket.send({ type: 'message', text: 'second', ref: '2' })
    const first = await socket.next('ack', (f) => f.ref === '1')
    const second = await socket.next('ack', (f) => f.ref === '2')
    expect(first.id < second.id).toBe(true)
    socket.close()
  })
})

describe('upload leftovers at start', () => {
  it('removes the .part files a crash left long ago, and keeps recent ones (another process sharing UPLOAD_DIR may be writing them)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sala-leftovers-'))
    const uploads = join(dataDir, 'uploads')
    await mkdir(uploads, { recursive: true })
    const old = join(uploads, '.crashed-upload.part')
    const fresh = join(uploads, '.under-way.part')
    await writeFile(old, 'half a file')
    await writeFile(fresh, 'half a file')
    const hourAgo = new Date(Date.now() - 3_600_000)
    await utimes(old, hourAgo, hourAgo)
    const server = await startTestServer({}, dataDir)
    try {
      const left = await readdir(uploads)
      expect(left).toContain('.under-way.part')
      expect(left).not.toContain('.crashed-upload.part')
    } finally {
      await server.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
