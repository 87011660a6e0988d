import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register, type Registered } from '../integration/helpers.js'
import { BOUNDARY, multipartOf, partFiles, partHead, tail, UploadStream, type Answer } from '../integration/upload-client.js'
import { postgresForTests } from '../postgres/test-database.js'
import { freePort } from '../redis/private-redis.js'
import { inspector, redisForTests, waitFor } from '../redis/test-redis.js'
import { logRecords, startSalaProcess, type SalaProcess } from './sala-process.js'
import { sharedChat, type SharedChat } from './shared-chat.js'

// Issue 15: the upload budget (UPLOAD_RATE, MAX_CONCURRENT_UPLOADS, UPLOAD_QUOTA_BYTES) is per user across
// the cluster. Two Sala processes of their own (node dist/src/shell/main.js) on one PostgreSQL database,
// one Redis prefix and one upload folder, as production runs them: uploads through both meet the limits
// one process would set; with Redis unreachable, a process still limits on its own and says so once.
const postgres = await postgresForTests()
const redis = await redisForTests()

const KiB = 1024
const QUOTA = 1024 * KiB

const post = async (sala: SalaProcess, user: Registered, bytes: number): Promise<Omit<Answer, 'sentBeforeAnswer'>> => {
  const response = await fetch(`${sala.url}/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipartOf([{ filename: 'f.bin', data: Buffer.alloc(bytes, 1) }]),
  })
  return { status: response.status, headers: Object.fromEntries(response.headers), body: (await response.json()) as Answer['body'] }
}

const logged = (sala: SalaProcess, msg: string) => logRecords(sala).filter((record) => record.msg === msg)

/**
 * Two Sala processes sharing one chat and one upload folder with `budget` as their upload settings, started
 * before the tests of the `describe` that calls it, once the budget's counters answer on both (they connect
 * in the background and decide per process until then). `start` adds another process (more env on top).
 */
const useCluster = (budget: Record<string, string>) => {
  const cluster = { uploadDir: '', processes: [] as SalaProcess[], chat: undefined as SharedChat | undefined }
  const start = async (more: Record<string, string> = {}) => {
    const sala = await startSalaProcess({ ...cluster.chat!.env, UPLOAD_DIR: cluster.uploadDir, ...budget, ...more })
    cluster.processes.push(sala)
    return sala
  }
  beforeAll(async () => {
    cluster.chat = await sharedChat()
    cluster.uploadDir = await mkdtemp(join(tmpdir(), 'sala-shared-uploads-'))
    const both = await Promise.all([start(), start()])
    const client = inspector()
    try {
      for (const sala of both) {
        const id = await waitFor(() => logged(sala, 'cluster link connected')[0]?.['process'] as string | undefined, 'the cluster link', 20_000)
        await waitFor(async () => ((await client.exists(`${cluster.chat!.prefix}alive:${id}`)) === 1 ? true : undefined), 'the shared tallies', 20_000)
        await waitFor(async () => ((await client.client('LIST')) as string).includes(`name=sala-limits-${id}`) || undefined, 'the shared limits', 20_000)
      }
    } finally {
      client.disconnect()
    }
  }, 60_000)
  afterAll(async () => {
    await Promise.all(cluster.processes.splice(0).map((sala) => sala.stop()))
    await cluster.chat?.stop()
    if (cluster.uploadDir !== '') await rm(cluster.uploadDir, { recursive: true, force: true })
  })
  const storedBytes = async () => {
    const names = (await readdir(cluster.uploadDir)).filter((name) => !name.startsWith('.'))
    const sizes = await Promise.all(names.map(async (name) => (await stat(join(cluster.uploadDir, name))).size))
    return sizes.reduce((sum, size) => sum + size, 0)
  }
  const underWay = async (count: number) => ((await partFiles(cluster.uploadDir)).length === count ? true : undefined)
  return { cluster, start, storedBytes, underWay, pair: () => cluster.processes as [SalaProcess, SalaProcess] }
}

describe.skipIf(!postgres.available || !redis.available)('uploads per minute and at once, shared by two processes', () => {
  const { start, underWay, pair } = useCluster({ UPLOAD_RATE: '2', MAX_CONCURRENT_UPLOADS: '1' })

  it('UPLOAD_RATE=2: one upload through each process, and the third is refused through either with 429 and Retry-After', { timeout: 30_000 }, async () => {
    const [one, two] = pair()
    const ana = await register(one)
    expect((await post(one, ana, KiB)).status).toBe(201)
    expect((await post(two, ana, KiB)).status).toBe(201)
    for (const sala of [one, two]) {
      const refused = await post(sala, ana, KiB)
      expect(refused.status).toBe(429)
      expect(refused.body.error?.code).toBe('rate_limited')
      // A token is back every 30 s.
      const retryAfter = Number(refused.headers['retry-after'])
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(30)
    }
    // Another user has an allowance of their own.
    expect((await post(two, await register(two), KiB)).status).toBe(201)
  })

  it('MAX_CONCURRENT_UPLOADS=1: an upload under way through one process refuses another through the other', { timeout: 30_000 }, async () => {
    const [one, two] = pair()
    const bia = await register(one)
    const slow = new UploadStream(one.url, { Authorization: `Bearer ${bia.token}` }, undefined)
    await slow.write(Buffer.concat([partHead('slow.bin'), Buffer.alloc(KiB, 3)]))
    await waitFor(() => underWay(1), 'the upload under way')
    const refused = await post(two, bia, KiB)
    expect(refused.status).toBe(429)
    expect(refused.body.error?.code).toBe('too_many_uploads')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    slow.end(tail)
    expect((await slow.answer).status).toBe(201)
  })

  it('with Redis unreachable, a process limits uploads on its own, and says so once per counter', { timeout: 30_000 }, async () => {
    const alone = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, MAX_CONCURRENT_UPLOADS: '4' })
    const eva = await register(alone)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await post(alone, eva, KiB)).status)
    expect(statuses).toEqual([201, 201, 429, 429])
    // Sign-up's own counter says the same of itself; only the upload budget's lines are this test's.
    const said = logRecords(alone).filter((record) => String(record.msg).startsWith('cluster-wide limit') && String(record['limit']).startsWith('uploads'))
    expect(said.map((record) => `${String(record.msg)} (${String(record['limit'])})`)).toEqual([
      'cluster-wide limit cannot be checked: limiting per process meanwhile (uploads per minute)',
      'cluster-wide limit cannot be checked: limiting per process meanwhile (uploads at once and bytes arriving)',
    ])
  })
})

describe.skipIf(!postgres.available || !redis.available)('the storage quota, shared by two processes', () => {
  const { storedBytes, underWay, pair } = useCluster({ UPLOAD_QUOTA_BYTES: String(QUOTA), MAX_CONCURRENT_UPLOADS: '2' })

  it('UPLOAD_QUOTA_BYTES: uploads under way through both processes cannot together pass the quota', { timeout: 30_000 }, async () => {
    const [one, two] = pair()
    const dora = await register(two)
    const before = await storedBytes()
    // 700 KiB each, within the quota alone: two processes counting apart would store both.
    const size = 700 * KiB
    const uploads = [one, two].map((sala) => new UploadStream(sala.url, { Authorization: `Bearer ${dora.token}` }, undefined))
    for (const upload of uploads) await upload.write(Buffer.concat([partHead('half.bin'), Buffer.alloc(size / 2, 2)]))
    // Both are under way, each with half its file counted, before either sends the rest.
    await waitFor(() => underWay(2), 'both uploads under way')
    for (const upload of uploads) upload.end(Buffer.concat([Buffer.alloc(size / 2, 2), tail]))
    const answers = await Promise.all(uploads.map((upload) => upload.answer))
    const statuses = answers.map((answer) => answer.status)
    // One is refused as it passes the quota (both, if each was refused while the other still held its bytes).
    expect(statuses.filter((status) => status === 201).length).toBeLessThanOrEqual(1)
    expect(answers.filter((answer) => answer.status !== 201).every((answer) => answer.status === 413 && answer.body.error?.code === 'quota_exceeded')).toBe(true)
    await waitFor(() => underWay(0), 'the refused upload removed')
    expect((await storedBytes()) - before).toBe(statuses.includes(201) ? size : 0)
  })
})
