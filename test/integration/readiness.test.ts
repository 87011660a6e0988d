import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'sqlite'
import sqlite3 from 'sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { fillDisk, makeReadOnly, mountTmpfs } from './disks.js'
import { startTestServer, type TestServer } from './helpers.js'

interface Readiness {
  readonly status: number
  readonly details: ReadonlyArray<{ path: string; message: string }>
  readonly ms: number
}

const ready = async (server: TestServer): Promise<Readiness> => {
  const started = Date.now()
  const response = await fetch(`${server.url}/ready`)
  const body = (await response.json()) as { status?: string; error?: { code: string; details?: Readiness['details'] } }
  if (response.status === 503) expect(body.error?.code).toBe('not_ready')
  return { status: response.status, details: body.error?.details ?? [], ms: Date.now() - started }
}

const parts = (answer: Readiness) => answer.details.map((problem) => problem.path).sort()

/** Fails the test if any readiness probe file is left in `dir`. */
const expectNoProbeFiles = async (dir: string) => {
  const left = (await readdir(dir).catch(() => [])).filter((name) => name.startsWith('.') && name.endsWith('.part'))
  expect(left).toEqual([])
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A server whose upload folder is `uploadDir` (default: inside its data folder). */
const serve = async (uploadDir?: string): Promise<TestServer> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sala-ready-'))
  const server = await startTestServer(uploadDir === undefined ? {} : { UPLOAD_DIR: uploadDir }, dataDir)
  cleanups.push(() => server.stop())
  return server
}

describe('/ready proves that the server can write', () => {
  it('answers 200 when the database commits and the upload folder takes a file, and leaves no probe file', async () => {
    const server = await serve()
    const answers = await Promise.all(Array.from({ length: 20 }, () => ready(server)))
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
    expect((await ready(server)).status).toBe(200)
    await expectNoProbeFiles(join(server.dataDir, 'uploads'))
  })

  it('answers 503 (database) within about a second while another connection holds the write lock, and 200 once it lets go', async () => {
    const server = await serve()
    const other = await open({ filename: join(server.dataDir, 'sala.db'), driver: sqlite3.Database })
    cleanups.push(() => other.close())
    await other.exec('BEGIN IMMEDIATE')
    const locked = await ready(server)
    expect(locked.status).toBe(503)
    expect(parts(locked)).toEqual(['database'])
    expect(locked.details[0]?.message).toMatch(/locked by another writer/)
    // The probe waits 1 s for the lock (2 s deadline), never the stores' 5 s.
    expect(locked.ms).toBeLessThan(4500)
    await other.exec('ROLLBACK')
    expect((await ready(server)).status).toBe(200)
    expect(server.logLines.some((line) => line.includes('"msg":"not ready"'))).toBe(true)
    expect(server.logLines.some((line) => line.includes('"msg":"ready again"'))).toBe(true)
  })

  it('answers 503 (database) once DATA_DIR is deleted under it', async () => {
    const uploads = await mkdtemp(join(tmpdir(), 'sala-ready-up-'))
    cleanups.push(() => rm(uploads, { recursive: true, force: true }))
    const server = await serve(uploads)
    expect((await ready(server)).status).toBe(200)
    await rm(server.dataDir, { recursive: true, force: true })
    const gone = await ready(server)
    expect(gone.status).toBe(503)
    expect(parts(gone)).toEqual(['database'])
    expect(gone.details[0]?.message).toMatch(/gone/)
  })

  it('answers 503 (database) when the database file is replaced by another', async () => {
    const server = await serve()
    const path = join(server.dataDir, 'sala.db')
    await rm(path)
    await writeFile(path, '')
    const replaced = await ready(server)
    expect(replaced.status).toBe(503)
    expect(replaced.details[0]?.message).toMatch(/replaced/)
  })

  it('answers 503 (uploads) once the upload folder is deleted', async () => {
    const server = await serve()
    await rm(join(server.dataDir, 'uploads'), { recursive: true, force: true })
    const gone = await ready(server)
    expect(gone.status).toBe(503)
    expect(parts(gone)).toEqual(['uploads'])
    expect(gone.details[0]?.message).toMatch(/does not exist/)
  })

  it('answers 503 (uploads) when the upload folder is read-only', async (context) => {
    const uploads = await mkdtemp(join(tmpdir(), 'sala-ready-ro-'))
    cleanups.push(() => rm(uploads, { recursive: true, force: true }))
    const server = await serve(uploads)
    const restore = await makeReadOnly(uploads)
    if (restore === undefined) return context.skip('cannot make a read-only folder here (root without mount)')
    cleanups.push(restore)
    const refused = await ready(server)
    expect(refused.status).toBe(503)
    expect(parts(refused)).toEqual(['uploads'])
    expect(refused.details[0]?.message).toMatch(/read-only|not writable/)
  })

  it('answers 503 (uploads) on a full upload disk, and leaves no probe file however often it is asked', async (context) => {
    const base = await mkdtemp(join(tmpdir(), 'sala-ready-full-'))
    cleanups.push(() => rm(base, { recursive: true, force: true }))
    const disk = await mountTmpfs(join(base, 'uploads'), 256)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    const server = await serve(disk.dir)
    await fillDisk(disk.dir)
    for (let i = 0; i < 5; i++) {
      const full = await ready(server)
      expect(full.status).toBe(503)
      expect(parts(full)).toEqual(['uploads'])
      expect(full.details[0]?.message).toMatch(/full disk/)
      expect(full.details[0]?.message).not.toContain(disk.dir)
    }
    await Promise.all(Array.from({ length: 10 }, () => ready(server)))
    await expectNoProbeFiles(disk.dir)
  })

  it('answers 503 (database) when the database disk is full', async (context) => {
    const base = await mkdtemp(join(tmpdir(), 'sala-ready-dbfull-'))
    cleanups.push(() => rm(base, { recursive: true, force: true }))
    const disk = await mountTmpfs(join(base, 'data'), 1024)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    const uploads = join(base, 'uploads')
    const server = await startTestServer({ UPLOAD_DIR: uploads }, disk.dir)
    cleanups.push(() => server.server.close())
    expect((await ready(server)).status).toBe(200)
    await fillDisk(disk.dir)
    // The WAL may still have room for a frame or two; a disk that takes no write is found within a few.
    let answer = await ready(server)
    for (let i = 0; i < 50 && answer.status === 200; i++) answer = await ready(server)
    expect(answer.status).toBe(503)
    expect(parts(answer)).toEqual(['database'])
    expect(answer.details[0]?.message).toMatch(/disk is full/)
  })
})

describe('/ready is a public answer, polled all day', () => {
  it('names what is wrong but no server path, and a poll of a 503 logs no error: the state change is logged once, with the paths', async () => {
    const server = await serve()
    const uploads = join(server.dataDir, 'uploads')
    await rm(server.dataDir, { recursive: true, force: true })
    const from = server.logLines.length
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${server.url}/ready`)
      const text = await response.text()
      expect(response.status).toBe(503)
      expect(text).not.toContain(server.dataDir)
      expect(text).not.toContain('sala.db')
      expect(text).not.toMatch(/\/(tmp|var|srv|home)\b/)
      const body = JSON.parse(text) as { error: { details: Array<{ path: string; message: string }> } }
      expect(body.error.details.map((problem) => problem.path).sort()).toEqual(['database', 'uploads'])
      expect(body.error.details.find((problem) => problem.path === 'uploads')?.message).toMatch(/the upload folder does not exist/)
    }
    const lines = server.logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(server.logLines.some((line) => line.includes('ready again'))).toBe(false)
    expect(lines.filter((line) => line['level'] === 'error')).toEqual([])
    expect(lines.filter((line) => line['msg'] === 'http request' && line['path'] === '/ready')).toHaveLength(10)
    const notReady = lines.filter((line) => line['msg'] === 'not ready')
    expect(notReady).toHaveLength(1)
    expect(JSON.stringify(notReady[0])).toContain(uploads)
    expect(JSON.stringify(notReady[0])).toContain(join(server.dataDir, 'sala.db'))
  })
})

