import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { mkdir, mkdtemp, open as openFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/adapters/sqlite/database.js'
import { fillDisk, makeReadOnly, mountTmpfs } from './disks.js'

// The built entry point, as `npm start` runs it (npm test builds first).
const MAIN = 'dist/src/shell/main.js'

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runMain = (env: Record<string, string>, whileRunning?: (stdout: () => string) => Promise<void>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
    if (whileRunning !== undefined) {
      whileRunning(() => stdout)
        .catch(reject)
        .finally(() => child.kill('SIGTERM'))
    }
  })

const listeningUrl = async (stdout: () => string): Promise<string> => {
  for (let i = 0; i < 200; i++) {
    const match = /"url":"([^"]+)"[^\n]*"msg":"sala listening"/.exec(stdout())
    if (match?.[1] !== undefined) return match[1]
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start: ${stdout()}`)
}

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const tempDir = async (prefix = 'sala-start-'): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Settings for a start that works unless the test breaks one of them. */
const baseEnv = (dir: string): Record<string, string> => ({
  DATA_DIR: join(dir, 'data'),
  UPLOAD_DIR: join(dir, 'uploads'),
  PORT: '0',
  HOST: '127.0.0.1',
  BCRYPT_COST: '4',
})

/** Starts with these settings and expects the refusal: exit code 1 and one line on stderr, no stack. */
const expectRefusal = async (env: Record<string, string>, line: RegExp): Promise<void> => {
  const run = await runMain(env)
  expect(run.code, `stdout: ${run.stdout}`).toBe(1)
  expect(run.stderr).toMatch(/^Sala cannot start: [^\n]+\n$/)
  expect(run.stderr).toMatch(line)
  for (const output of [run.stderr, run.stdout]) {
    expect(output).not.toMatch(/\n\s+at /)
    expect(output).not.toMatch(/uncaught|unhandled/i)
  }
}

/** A database file with a few pages of real rows, as a used server leaves it. */
const usedDatabase = async (dir: string): Promise<string> => {
  await mkdir(dir, { recursive: true })
  const path = join(dir, 'sala.db')
  const db = await openDatabase(path)
  await db.exec('BEGIN')
  for (let i = 0; i < 300; i++) {
    await db.run('INSERT INTO users (id, name, username, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, 0)', [
      `id-${i}`,
      `Name ${i} ${'x'.repeat(200)}`,
      `user${i}`,
      `user${i}@example.com`,
      `user${i}@example.com`,
      'hash',
    ])
  }
  await db.exec('COMMIT')
  // Everything into the main file, so that damaging it is damaging the database.
  await db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  await db.close()
  return path
}

const busyPort = (): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => resolve(server))
  })

describe('starting the server', () => {
  it('refuses to start in production without SESSION_SECRET, with a clear message and exit code 1', async () => {
    const run = await runMain({ NODE_ENV: 'production' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('SESSION_SECRET is required when NODE_ENV=production')
  })

  it('refuses a bad setting, naming it', async () => {
    const run = await runMain({ PORT: 'eighty', TYPING_TIMEOUT_MS: '-5' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('PORT="eighty": must be a whole number from 0 to 65535')
    expect(run.stderr).toContain('TYPING_TIMEOUT_MS="-5"')
  })

  it('starts on the embedded defaults, keeps a generated secret readable by its owner only, and stops on SIGTERM', async () => {
    const dataDir = await tempDir()
    const run = await runMain({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', BCRYPT_COST: '4' }, async (stdout) => {
      const url = await listeningUrl(stdout)
      expect((await fetch(`${url}/health`)).status).toBe(200)
    })
    expect(run.code).toBe(0)
    const secret = await stat(join(dataDir, 'session-secret'))
    expect(secret.mode & 0o777).toBe(0o600)
    expect((await stat(join(dataDir, 'sala.db'))).isFile()).toBe(true)
  })

  it('warns with its path when it creates a new database, and only then', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    const path = join(env['DATA_DIR'] ?? '', 'sala.db')
    const first = await runMain(env, async (stdout) => void (await listeningUrl(stdout)))
    const warning = first.stdout.split('\n').find((line) => line.includes('created a new database'))
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 'warn', msg: `created a new database at ${path}`, path })
    const second = await runMain(env, async (stdout) => void (await listeningUrl(stdout)))
    expect(second.code).toBe(0)
    expect(second.stdout).not.toContain('created a new database')
  })
})

describe('a start-up failure is one line on stderr and exit code 1, never a stack', () => {
  it('when the port is in use', async () => {
    const dir = await tempDir()
    const taken = await busyPort()
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)))
    const port = (taken.address() as { port: number }).port
    await expectRefusal({ ...baseEnv(dir), PORT: String(port) }, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
  })

  it('when HOST does not resolve', async () => {
    const dir = await tempDir()
    await expectRefusal({ ...baseEnv(dir), HOST: 'no-such-host.invalid' }, /HOST="no-such-host\.invalid" does not resolve to an address/)
  })

  it('when HOST is not an address of this machine', async () => {
    const dir = await tempDir()
    // TEST-NET-1: reserved for documentation, never assigned to an interface.
    await expectRefusal({ ...baseEnv(dir), HOST: '192.0.2.1' }, /HOST="192\.0\.2\.1" is not an address of this machine/)
  })

  it('when DATA_DIR or UPLOAD_DIR is a file, or lies under one', async () => {
    const dir = await tempDir()
    const file = join(dir, 'a-file')
    await writeFile(file, 'not a folder')
    await expectRefusal({ ...baseEnv(dir), DATA_DIR: file }, /DATA_DIR: .*a-file is not a folder/)
    await expectRefusal({ ...baseEnv(dir), UPLOAD_DIR: file }, /UPLOAD_DIR: .*a-file is not a folder/)
    await expectRefusal({ ...baseEnv(dir), UPLOAD_DIR: join(file, 'uploads') }, /UPLOAD_DIR: .*a-file\/uploads is not a folder/)
  })

  it('when DATA_DIR or UPLOAD_DIR does not take a write (read-only)', async (context) => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    for (const setting of ['DATA_DIR', 'UPLOAD_DIR'] as const) {
      const folder = env[setting] ?? ''
      const restore = await makeReadOnly(folder)
      if (restore === undefined) return context.skip('cannot make a read-only folder here (root without mount)')
      try {
        await expectRefusal(env, new RegExp(`${setting}: .* (is on a read-only file system|is not writable)`))
      } finally {
        await restore()
      }
    }
  })

  it('when the disk is full', async (context) => {
    const dir = await tempDir()
    const disk = await mountTmpfs(join(dir, 'disk'), 256)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    await mkdir(join(disk.dir, 'data'))
    await fillDisk(disk.dir)
    await expectRefusal({ ...baseEnv(dir), DATA_DIR: join(disk.dir, 'data') }, /DATA_DIR: .* is on a full disk/)
    await expectRefusal({ ...baseEnv(dir), UPLOAD_DIR: disk.dir }, /UPLOAD_DIR: .* is on a full disk/)
  })

  it('when the disk has room for the folder probe but not for the database to write (SQLite says I/O error)', async (context) => {
    const dir = await tempDir()
    const disk = await mountTmpfs(join(dir, 'disk'), 1024)
    if (disk === undefined) return context.skip('cannot mount a small disk here (needs root)')
    cleanups.push(disk.unmount)
    const data = join(disk.dir, 'data')
    await usedDatabase(data)
    // One block free: enough for the few bytes of the folder probe, not for the WAL and its index.
    await fillDisk(disk.dir, 4096)
    await expectRefusal({ ...baseEnv(dir), DATA_DIR: data }, /the database .*sala\.db: the disk is full; free some space/)
  })

  it('when the database file is garbage', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    await mkdir(env['DATA_DIR'] ?? '', { recursive: true })
    await writeFile(join(env['DATA_DIR'] ?? '', 'sala.db'), Buffer.alloc(50_000, 0x5a))
    await expectRefusal(env, /the database .*sala\.db: the file is not a database/)
  })

  it('when the database file is truncated', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    const path = await usedDatabase(env['DATA_DIR'] ?? '')
    await truncate(path, Math.floor((await stat(path)).size / 2))
    await expectRefusal(env, /the database .*sala\.db: the file is corrupt/)
  })

  it('when pages of the database file are damaged', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    const path = await usedDatabase(env['DATA_DIR'] ?? '')
    const file = await openFile(path, 'r+')
    await file.write(Buffer.alloc(4096, 0xab), 0, 4096, 4096 * 4)
    await file.close()
    await expectRefusal(env, /the database .*sala\.db: the file is corrupt/)
  })

  it('when the database cannot be opened (a folder where the file should be)', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    await mkdir(join(env['DATA_DIR'] ?? '', 'sala.db'), { recursive: true })
    await expectRefusal(env, /the database .*sala\.db: cannot be opened/)
  })

  it('when the database was written by a newer version', async () => {
    const dir = await tempDir()
    const env = baseEnv(dir)
    const path = await usedDatabase(env['DATA_DIR'] ?? '')
    const db = await openDatabase(path)
    await db.exec('PRAGMA user_version = 999')
    await db.close()
    await expectRefusal(env, /its schema \(version 999\) is newer than this server knows/)
  })
})
