import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLogger } from '../../src/adapters/logger.js'
import { connectionCeiling } from '../../src/adapters/descriptors.js'
import { guardConnections } from '../../src/shell/connection-guard.js'
import { createRefusalLog } from '../../src/shell/refusal-log.js'
import { waitFor } from './helpers.js'

type Line = Record<string, unknown>

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})


const collector = () => {
  const lines: Line[] = []
  return { lines, log: jsonLogger('debug', (line) => lines.push(JSON.parse(line) as Line)) }
}

/** Refusals of `kind` the lines account for: each first line counts itself and the ones it says it skipped. */
const accountedFor = (lines: ReadonlyArray<Line>, kind: string): number =>
  lines
    .filter((line) => line['kind'] === kind)
    .reduce((sum, line) => sum + (line['msg'] === 'connection refused' ? 1 : 0) + Number(line['suppressed'] ?? 0), 0)

const refusalLines = (lines: ReadonlyArray<Line>, kind: string) =>
  lines.filter((line) => line['kind'] === kind && (line['msg'] === 'connection refused' || line['msg'] === 'connections refused'))

/** Idle raw connections; counts the ones the server closes. */
const openIdle = async (port: number, count: number) => {
  let closed = 0
  const sockets: Socket[] = []
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => resolve())
          socket.on('error', () => resolve())
          socket.on('close', () => closed++)
          sockets.push(socket)
        }),
    ),
  )
  cleanups.push(() => sockets.forEach((socket) => socket.destroy()))
  return { closed: () => closed, sockets }
}

describe('the refusal log', () => {
  it('writes the first refusal of a kind at once, then one summary counting the rest of the burst', async () => {
    const { lines, log } = collector()
    const refusals = createRefusalLog(log, Date.now, 100)
    for (let i = 0; i < 1000; i++) refusals.refused('websocket_unauthenticated', { status: 401 })
    refusals.refused('too_many_connections')
    expect(lines).toMatchObject([
      { level: 'warn', msg: 'connection refused', kind: 'websocket_unauthenticated', status: 401, suppressed: 0 },
      { level: 'warn', msg: 'connection refused', kind: 'too_many_connections', suppressed: 0 },
    ])
    const summary = await waitFor(() => lines.find((line) => line['msg'] === 'connections refused'), 'the summary')
    expect(summary).toMatchObject({ kind: 'websocket_unauthenticated', suppressed: 999, intervalMs: 100 })
    expect(lines).toHaveLength(3)
  })

  it('writes at once again after a quiet interval, and flushes what is pending when asked', async () => {
    const { lines, log } = collector()
    let now = 0
    const refusals = createRefusalLog(log, () => now, 1000)
    refusals.refused('too_many_connections')
    now = 1500
    refusals.refused('too_many_connections')
    refusals.refused('too_many_connections')
    refusals.refused('too_many_connections')
    refusals.flush()
    expect(lines.map((line) => [line['msg'], line['suppressed']])).toEqual([
      ['connection refused', 0],
      ['connection refused', 0],
      ['connections refused', 2],
    ])
  })
})

describe('connections past the ceiling', () => {
  const serve = async (ceiling: number) => {
    const { lines, log } = collector()
    const refusals = createRefusalLog(log, Date.now, 200)
    const server: Server = createServer((_req, res) => res.end('ok'))
    guardConnections(server, { ceiling, refusals, log })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => server.close(resolve)))
    cleanups.push(() => server.closeAllConnections())
    return { server, lines, port: (server.address() as { port: number }).port }
  }

  it('are closed at once and logged at a bounded rate, every one counted', async () => {
    const { lines, port } = await serve(5)
    const idle = await openIdle(port, 45)
    await waitFor(() => (idle.closed() === 40 ? true : undefined), '40 connections closed by the server')
    await waitFor(() => (accountedFor(lines, 'too_many_connections') === 40 ? true : undefined), 'all 40 refusals in the log')
    expect(refusalLines(lines, 'too_many_connections').length).toBeLessThanOrEqual(3)
    expect(lines[0]).toMatchObject({ msg: 'connection refused', kind: 'too_many_connections', maxConnections: 5, remoteAddress: '127.0.0.1' })
  })

  it('log descriptor exhaustion reported by the server as a refusal, and other server errors as errors', async () => {
    const { server, lines } = await serve(5)
    for (let i = 0; i < 50; i++) server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }))
    server.emit('error', Object.assign(new Error('something else'), { code: 'EINVAL' }))
    expect(refusalLines(lines, 'descriptors_exhausted')).toMatchObject([{ msg: 'connection refused', code: 'EMFILE', syscall: 'accept' }])
    expect(lines.find((line) => line['msg'] === 'http server error')).toMatchObject({ level: 'error' })
    await waitFor(() => (accountedFor(lines, 'descriptors_exhausted') === 50 ? true : undefined), 'all 50 in the log')
  })

  it('keeps a reserve of descriptors for the database and files', () => {
    expect(connectionCeiling(1024)).toBe(768)
    expect(connectionCeiling(65536)).toBe(65280)
    expect(connectionCeiling(256)).toBe(192)
    expect(connectionCeiling(128)).toBe(96)
  })
})

describe('a server short of descriptors (ulimit -n 256)', () => {
  it('refuses the connections past its ceiling instead of running out, logs them at a bounded rate, and serves once they go', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sala-fds-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    let stdout = ''
    const child: ChildProcess = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, 'dist/src/shell/main.js'], {
      env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dir, UPLOAD_DIR: join(dir, 'uploads'), PORT: '0', HOST: '127.0.0.1', BCRYPT_COST: '4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    cleanups.push(async () => {
      child.kill('SIGTERM')
      await exited
    })
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const lines = (): Line[] => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Line)
    const listening = await waitFor(() => lines().find((line) => line['msg'] === 'sala listening'), 'the server to listen')
    expect(listening['maxConnections']).toBe(192)
    const url = String(listening['url'])
    const port = Number(new URL(url).port)

    const idle = await openIdle(port, 230)
    await waitFor(() => (idle.closed() === 38 ? true : undefined), '38 connections refused')
    await waitFor(() => (accountedFor(lines(), 'too_many_connections') === 38 ? true : undefined), 'all 38 refusals in the log')
    expect(refusalLines(lines(), 'too_many_connections').length).toBeLessThanOrEqual(3)

    for (const socket of idle.sockets) socket.destroy()
    // The server frees the slots as it sees the closes: retry until one is free.
    let health = 0
    for (let i = 0; i < 100 && health !== 200; i++) {
      health = await fetch(`${url}/health`).then((response) => response.status, () => 0)
      if (health !== 200) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(health).toBe(200)
    expect((await fetch(`${url}/ready`)).status).toBe(200)
  })
})
