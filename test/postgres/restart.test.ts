import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, register, startTestServer, waitFor, type TestServer } from '../integration/helpers.js'
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './private-postgres.js'

// The fault: PostgreSQL restarting under traffic. A cluster of the test's own (the machine's shared
// one is left alone), stopped as a crash would stop it and started again, under a real server.
const binaries = privatePostgresAvailable('the PostgreSQL restart test')

const readyStatus = async (server: TestServer): Promise<number> => (await fetch(`${server.url}/ready`)).status

describe.skipIf(!binaries)('a server whose PostgreSQL restarts under traffic', () => {
  let database: PrivatePostgres
  let server: TestServer
  beforeAll(async () => {
    database = await startPrivatePostgres()
    server = await startTestServer({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '3', DATABASE_STATEMENT_TIMEOUT_MS: '3000', MSG_RATE: '10000', MSG_BURST: '10000' })
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    await database?.remove()
  })

  it('answers the messages it cannot store with `error`, is not ready while down, then stores again and has lost nothing it acknowledged', { timeout: 120_000 }, async () => {
    const ana = await register(server)
    const client = await ChatClient.connect(server, { token: ana.token })
    client.send({ type: 'join', room: 'sala-1', ref: 'j' })
    await client.next('joined', (f) => f.ref === 'j')
    const acked: string[] = []
    const send = (n: string) => client.send({ type: 'message', text: `message ${n}`, clientId: `c-${n}`, ref: n })
    for (const n of ['1', '2', '3']) {
      send(n)
      acked.push((await client.next('ack', (f) => f.ref === n)).id)
    }
    expect(await readyStatus(server)).toBe(200)

    await database.stop('immediate')
    await waitFor(async () => ((await readyStatus(server)) === 503 ? true : undefined), '/ready to answer 503')
    // Idle pooled connections that died with the server are said in the log, not only in /ready.
    await waitFor(() => (server.logLines.some((line) => line.includes('database connection lost')) ? true : undefined), 'the lost connection in the log')
    send('down')
    const failed = await client.next('error', (f) => f.ref === 'down', 15_000)
    expect(failed).toMatchObject({ code: 'internal_error', room: 'sala-1' })

    await database.start()
    await waitFor(async () => ((await readyStatus(server)) === 200 ? true : undefined), '/ready to answer 200 again', 30_000)
    // The failed one, resent with its clientId, is stored now; later ones too.
    for (const n of ['down', '4', '5']) {
      send(n)
      acked.push((await client.next('ack', (f) => f.ref === n, 10_000)).id)
    }

    client.send({ type: 'history', limit: 100, ref: 'h' })
    const history = await client.next('history', (f) => f.ref === 'h')
    expect(history.messages.map((m) => m.id)).toEqual(acked)
    expect(history.messages.map((m) => ('text' in m ? m.text : ''))).toEqual(['1', '2', '3', 'down', '4', '5'].map((n) => `message ${n}`))
    expect(client.closed).toBeUndefined()
    expect(client.invalid).toEqual([])
    client.close()

    // Stored in PostgreSQL, not in a SQLite file beside it.
    const direct = new pg.Client({ connectionString: database.url })
    await direct.connect()
    const { rows } = await direct.query<{ count: string }>('SELECT count(*) AS count FROM messages')
    await direct.end()
    expect(Number(rows[0]?.count)).toBe(acked.length)
    expect(existsSync(join(server.dataDir, 'sala.db'))).toBe(false)
  })

  it('answers every message of a burst cut by a crash with an ack or an error, and keeps every one it acknowledged', { timeout: 120_000 }, async () => {
    const bia = await register(server)
    const client = await ChatClient.connect(server, { token: bia.token })
    client.send({ type: 'join', room: 'sala-2', ref: 'j' })
    await client.next('joined', (f) => f.ref === 'j')
    const refs = Array.from({ length: 300 }, (_, i) => `b${i}`)
    for (const ref of refs.slice(0, 150)) client.send({ type: 'message', text: `burst ${ref}`, clientId: ref, ref })
    const answers = new Map<string, 'ack' | 'error'>()
    // The crash comes once the first batch has committed, with the rest of the first half in flight; the
    // second half is sent to a server whose database is down.
    await client.next('ack', (f) => f.ref === 'b0', 10_000)
    answers.set('b0', 'ack')
    await database.stop('immediate')
    for (const ref of refs.slice(150)) client.send({ type: 'message', text: `burst ${ref}`, clientId: ref, ref })

    await waitFor(
      () => {
        for (const frame of client.pending('ack', 'error')) {
          if ('ref' in frame && typeof frame.ref === 'string' && refs.includes(frame.ref)) answers.set(frame.ref, frame.type === 'ack' ? 'ack' : 'error')
        }
        return answers.size === refs.length ? true : undefined
      },
      'an ack or an error for every message of the burst',
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${answers.size} of ${refs.length} answered, unanswered ${refs.filter((r) => !answers.has(r)).slice(0, 5).join(' ')}`)
    })
    const ackedRefs = refs.filter((ref) => answers.get(ref) === 'ack')
    expect(refs.filter((ref) => answers.get(ref) === 'error').length).toBeGreaterThan(0)

    await database.start()
    await waitFor(async () => ((await readyStatus(server)) === 200 ? true : undefined), '/ready to answer 200 again', 30_000)
    client.send({ type: 'history', limit: 100, ref: 'h1' })
    const stored: string[] = []
    let page = await client.next('history', (f) => f.ref === 'h1')
    while (page.messages.length > 0) {
      stored.unshift(...page.messages.map((m) => ('text' in m ? m.text.replace('burst ', '') : '')))
      const before = page.messages[0]?.id
      client.send({ type: 'history', limit: 100, before, ref: `h-${before}` })
      page = await client.next('history', (f) => f.ref === `h-${before}`)
    }
    for (const ref of ackedRefs) expect(stored).toContain(ref)
    expect(client.closed).toBeUndefined()
    client.close()
  })
})
