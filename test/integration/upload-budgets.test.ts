import { existsSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { realSystem } from '../../src/adapters/system.js'
import type { ServerFrame } from '../../src/core/protocol/server-frames.js'
import { openUploadFile, storageFailure } from '../../src/shell/uploads/receive.js'
import { ChatClient, register, settle, startTestServer, type Registered, type TestServer } from './helpers.js'
import { BOUNDARY, multipartOf, partFiles, partHead, tail, UploadStream, waitFor, type Answer } from './upload-client.js'

const KiB = 1024
const MiB = 1024 * KiB

const post = async (server: TestServer, user: Registered, files: ReadonlyArray<{ filename: string; data: Buffer }>): Promise<Omit<Answer, 'sentBeforeAnswer'>> => {
  const response = await fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipartOf(files),
  })
  return { status: response.status, headers: Object.fromEntries(response.headers), body: (await response.json()) as Answer['body'] }
}

/**
 * The status of a GET of `path`. Polled in a tight loop on a loaded machine, a request now and then goes out
 * on a kept-alive connection the server is closing as idle ("other side closed"); a GET is safe to send again.
 */
const statusOf = async (server: TestServer, path: string): Promise<number> => {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${server.url}${path}`)
      await response.arrayBuffer()
      return response.status
    } catch (error) {
      if (attempt >= 3) throw error
    }
  }
}

const file = (bytes: number, filename = 'f.bin') => [{ filename, data: Buffer.alloc(bytes, 1) }]
const uploadDir = (server: TestServer) => join(server.dataDir, 'uploads')
const stored = async (server: TestServer) => (await readdir(uploadDir(server))).filter((name) => !name.startsWith('.'))
const storedBytes = async (server: TestServer) => {
  const names = await stored(server)
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(uploadDir(server), name))).size))
  return sizes.reduce((sum, size) => sum + size, 0)
}
const stream = (server: TestServer, user: Registered | undefined, declaredBytes?: number) =>
  new UploadStream(server.url, user === undefined ? {} : { Authorization: `Bearer ${user.token}` }, declaredBytes)


describe('the storage quota (UPLOAD_QUOTA_BYTES)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ UPLOAD_QUOTA_BYTES: String(MiB), MAX_FILE_BYTES: String(2 * MiB) })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('takes files up to the quota exactly, refuses one that would pass it with 413 quota_exceeded, and keeps nothing of it', async () => {
    const ana = await register(server)
    expect((await post(server, ana, file(600 * KiB))).status).toBe(201)
    const before = await stored(server)
    const refused = await post(server, ana, file(500 * KiB))
    expect(refused.status).toBe(413)
    expect(refused.body.error?.code).toBe('quota_exceeded')
    expect(await stored(server)).toEqual(before)
    await waitFor('no upload under way', async () => (await partFiles(uploadDir(server))).length === 0)
    expect((await post(server, ana, file(MiB - 600 * KiB))).status).toBe(201)
    expect((await post(server, ana, file(1))).body.error?.code).toBe('quota_exceeded')
    // Another user's quota is their own.
    expect((await post(server, await register(server), file(MiB))).status).toBe(201)
  })

  it('counts a request’s files together', async () => {
    const bia = await register(server)
    const refused = await post(server, bia, [...file(600 * KiB, 'a.bin'), ...file(600 * KiB, 'b.bin')])
    expect(refused.body.error?.code).toBe('quota_exceeded')
    expect((await post(server, bia, [...file(500 * KiB, 'a.bin'), ...file(500 * KiB, 'b.bin')])).status).toBe(201)
  })

  it('is counted as the bytes arrive: a 1 GiB upload is refused once it passes the quota, not after it ends', async () => {
    const caio = await register(server)
    const huge = stream(server, caio, partHead('huge.bin').length + 1024 * MiB + tail.length)
    await huge.write(partHead('huge.bin'))
    const pouring = huge.pour(1024 * MiB)
    const answer = await huge.answer
    await pouring
    expect(answer.status).toBe(413)
    expect(answer.body.error?.code).toBe('quota_exceeded')
    expect(answer.headers['connection']).toBe('close')
    // What the kernel buffers between the two sockets, far below the gigabyte.
    expect(answer.sentBeforeAnswer).toBeLessThan(64 * MiB)
    await huge.closed
    expect(huge.errors).toEqual([])
    await waitFor('the partial file removed', async () => (await partFiles(uploadDir(server))).length === 0)
  })

  it('is shared by one user’s concurrent uploads: together they cannot pass it', async () => {
    const dora = await register(server)
    const size = 700 * KiB
    const uploads = [stream(server, dora), stream(server, dora)]
    for (const upload of uploads) await upload.write(Buffer.concat([partHead('half.bin'), Buffer.alloc(size / 2, 2)]))
    // Both are under way, each with half its file counted, before either sends the rest.
    await waitFor('both uploads under way', async () => (await partFiles(uploadDir(server))).length === 2)
    const before = await storedBytes(server)
    for (const upload of uploads) upload.end(Buffer.concat([Buffer.alloc(size / 2, 2), tail]))
    const answers = await Promise.all(uploads.map((upload) => upload.answer))
    expect(answers.map((a) => a.status).sort()).toEqual([201, 413])
    expect(answers.find((a) => a.status === 413)?.body.error?.code).toBe('quota_exceeded')
    expect((await storedBytes(server)) - before).toBe(size)
  })
})

describe('uploads at once (MAX_CONCURRENT_UPLOADS)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONCURRENT_UPLOADS: '4' })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('refuses the fifth with 429 too_many_uploads and Retry-After, before reading its body', async () => {
    const ana = await register(server)
    const open = [1, 2, 3, 4].map(() => stream(server, ana))
    for (const upload of open) await upload.write(Buffer.concat([partHead('slow.bin'), Buffer.alloc(KiB, 3)]))
    await waitFor('four uploads under way', async () => (await partFiles(uploadDir(server))).length === 4)

    // Headers only: the answer cannot depend on a body that was never sent.
    const fifth = stream(server, ana, 10 * MiB)
    const refused = await fifth.answer
    expect(refused.status).toBe(429)
    expect(refused.body.error?.code).toBe('too_many_uploads')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(refused.headers['connection']).toBe('close')
    expect(refused.sentBeforeAnswer).toBe(0)
    fifth.destroy()

    // Someone else is not held up by it.
    expect((await post(server, await register(server), file(10))).status).toBe(201)
    for (const upload of open) upload.end(tail)
    expect((await Promise.all(open.map((upload) => upload.answer))).map((a) => a.status)).toEqual([201, 201, 201, 201])
    expect((await post(server, ana, file(10))).status).toBe(201)
  })
})

describe('the upload rate (UPLOAD_RATE per minute)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ UPLOAD_RATE: '3' })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('answers 429 rate_limited with Retry-After past it, for that user only', async () => {
    const ana = await register(server)
    for (let i = 0; i < 3; i++) expect((await post(server, ana, file(10))).status).toBe(201)
    const limited = await post(server, ana, file(10))
    expect(limited.status).toBe(429)
    expect(limited.body.error?.code).toBe('rate_limited')
    // One request back every 20 s.
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(19)
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(20)
    expect((await post(server, await register(server), file(10))).status).toBe(201)
  })
})

describe('a full upload disk', () => {
  let server: TestServer
  let full: string | undefined
  beforeAll(async () => {
    // The seam: while `full` names an error code, every write of an upload fails with it, as the kernel's would.
    const diskError = (code: string) => Object.assign(new Error(`${code}: no space left on device, write`), { code, errno: -28, syscall: 'write' })
    const openFile = (path: string) => {
      if (full === undefined) return openUploadFile(path)
      const code = full
      return new Writable({ write: (_chunk, _encoding, done) => done(diskError(code)) })
    }
    server = await startTestServer({}, undefined, { openUploadFile: openFile })
  })
  afterAll(async () => {
    await server.stop()
  })

  it.each(['ENOSPC', 'EDQUOT'])('(%s) answers 507 storage_full, keeps nothing, logs the cause, and serves again once there is room', async (code) => {
    const ana = await register(server)
    const before = await stored(server)
    full = code
    const refused = await post(server, ana, file(100 * KiB))
    full = undefined
    expect(refused.status).toBe(507)
    expect(refused.body.error).toEqual({ code: 'storage_full', message: 'the server has no room for the file right now' })
    expect(await stored(server)).toEqual(before)
    expect(server.logLines.some((line) => line.includes('upload not stored') && line.includes(code))).toBe(true)
    expect((await post(server, ana, file(10))).status).toBe(201)
  })

  it('a full database is the same answer; other write failures stay a 500', () => {
    expect(storageFailure(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })).status).toBe(507)
    expect(storageFailure(Object.assign(new Error('permission denied'), { code: 'EACCES', syscall: 'open' })).status).toBe(500)
  })
})

describe('orphan uploads (UPLOAD_ORPHAN_TTL)', () => {
  let server: TestServer
  let offsetMs = 0
  beforeAll(async () => {
    const system = { ...realSystem, now: () => Date.now() + offsetMs }
    server = await startTestServer({ UPLOAD_ORPHAN_TTL: '60', UPLOAD_QUOTA_BYTES: '1000' }, undefined, { system, orphanSweepMs: 20 })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('are deleted, file and row, once the grace period passes; a file a message links to stays; the quota is freed', async () => {
    const ana = await register(server)
    const [kept] = (await post(server, ana, file(300, 'kept.txt'))).body.files ?? []
    const [orphan] = (await post(server, ana, file(600, 'orphan.txt'))).body.files ?? []
    expect((await post(server, ana, file(200))).body.error?.code).toBe('quota_exceeded')

    const socket = await ChatClient.connect(server, { token: ana.token })
    await socket.next('welcome')
    socket.send({ type: 'join', room: 'sala-1' })
    await socket.next('joined')
    socket.send({ type: 'message', text: 'the one to keep', attachments: [kept!.url], ref: 'k' })
    await socket.next('ack', (frame) => frame.ref === 'k')

    offsetMs = 61_000
    const onDisk = (url: string) => existsSync(join(uploadDir(server), url.split('/').pop()!))
    await waitFor('the orphan swept', async () => (await statusOf(server, orphan!.url)) === 404 && !onDisk(orphan!.url))
    expect(await statusOf(server, kept!.url)).toBe(200)
    expect(onDisk(kept!.url)).toBe(true)
    expect(server.logLines.some((line) => line.includes('orphan uploads deleted'))).toBe(true)
    // The orphan's bytes count no more.
    expect((await post(server, ana, file(600))).status).toBe(201)

    // A link to a swept file is not an attachment.
    socket.send({ type: 'message', text: 'too late', attachments: [orphan!.url], ref: 'late' })
    expect(await socket.next('error', (frame) => frame.ref === 'late')).toMatchObject({ code: 'invalid_attachment' })
    socket.close()
  })

  it('stop with the server: no sweep runs on a closed database', async () => {
    const own = await startTestServer({ UPLOAD_ORPHAN_TTL: '60' }, undefined, { orphanSweepMs: 5 })
    await own.stop()
    await settle(100)
    expect(own.logLines.filter((line) => line.includes('orphan sweep failed')).length).toBe(0)
  })
})

describe('orphan uploads named only in refused messages', () => {
  let server: TestServer
  // The server's clock stands still unless the test moves it: the rate limit and the sweep see only its steps.
  const start = Date.now()
  let clock = start
  beforeAll(async () => {
    const system = { ...realSystem, now: () => clock }
    server = await startTestServer({ UPLOAD_ORPHAN_TTL: '60', MSG_RATE: '1', MSG_BURST: '1' }, undefined, { system, orphanSweepMs: 20 })
  })
  afterAll(async () => {
    await server.stop()
  })

  const served = async (url: string) => (await statusOf(server, url)) === 200
  const onDisk = (url: string) => existsSync(join(uploadDir(server), url.split('/').pop()!))
  const gone = async (url: string) => !(await served(url)) && !onDisk(url)

  // Whatever refuses the message (no room, a foreign link beside the file, the rate limit, a resend of a
  // clientId already used), naming a file is not linking to it: it is an orphan like one never named, kept
  // at most an hour past its grace period (the hold a lookup takes), and naming it again late does not
  // extend that.
  it('are swept: a refusal does not make a file attached, and a late lookup does not hold it again', async () => {
    const ana = await register(server)
    const bia = await register(server)
    const upload = async (name: string) => (await post(server, ana, file(10, name))).body.files![0]!.url
    const [beforeJoin, besideForeign, rateLimited, resent, kept, neverNamed] = [
      await upload('before-join'),
      await upload('beside-foreign'),
      await upload('rate-limited'),
      await upload('resent'),
      await upload('kept'),
      await upload('never-named'),
    ]
    const foreign = (await post(server, bia, file(10, 'bia.txt'))).body.files![0]!.url

    const socket = await ChatClient.connect(server, { token: ana.token })
    await socket.next('welcome')
    // One message a second (MSG_RATE=1, MSG_BURST=1): a message that meets the limit is sent again a
    // second later on the server's clock.
    const answer = async (command: { readonly ref: string } & Record<string, unknown>) => {
      for (;;) {
        socket.send(command)
        const isAnswer = (f: ServerFrame) => (f.type === 'ack' || f.type === 'error') && f.ref === command.ref
        await waitFor(`an answer to ${command.ref}`, () => socket.frames.some(isAnswer))
        const frame = socket.frames.splice(socket.frames.findIndex(isAnswer), 1)[0]!
        if (frame.type !== 'error' || frame.code !== 'rate_limited') return frame
        clock += 1000
      }
    }
    expect(await answer({ type: 'message', text: 'before joining', attachments: [beforeJoin], ref: 'no-room' })).toMatchObject({ code: 'not_in_room' })
    socket.send({ type: 'join', room: 'sala-1' })
    await socket.next('joined')
    expect(await answer({ type: 'message', text: 'not all mine', attachments: [besideForeign, foreign], ref: 'foreign' })).toMatchObject({
      code: 'invalid_attachment',
    })
    // Sent on the same instant as the message before it: its allowance has not come back.
    expect(await answer({ type: 'message', text: 'the one to keep', attachments: [kept], clientId: 'c1', ref: 'k' })).toMatchObject({ type: 'ack' })
    socket.send({ type: 'message', text: 'too fast', attachments: [rateLimited], ref: 'fast' })
    expect(await socket.next('error', (frame) => frame.ref === 'fast')).toMatchObject({ code: 'rate_limited' })
    expect(await answer({ type: 'message', text: 'again', attachments: [resent], clientId: 'c1', ref: 'resend' })).toMatchObject({ type: 'ack' })

    // Past the grace period: the file nobody named goes, the ones a lookup held stay for now.
    clock = start + 61_000
    await waitFor('the unnamed orphan swept', () => gone(neverNamed))
    for (const url of [beforeJoin, besideForeign, rateLimited, resent, kept]) expect(await served(url)).toBe(true)
    // Named again past the grace period: not found (it is an orphan), and not held again.
    expect(await answer({ type: 'message', text: 'late', attachments: [beforeJoin], ref: 'late' })).toMatchObject({ code: 'invalid_attachment' })

    // Past the hold of the first lookups (an hour), though within an hour of the late one.
    clock = start + 3_600_000 + 30_000
    for (const url of [beforeJoin, besideForeign, rateLimited, resent]) await waitFor(`${url} swept`, () => gone(url))
    expect(await served(kept)).toBe(true)
    expect(onDisk(kept)).toBe(true)
    socket.close()
  })
})
