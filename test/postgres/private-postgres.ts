import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** Where Debian's PostgreSQL 15 keeps `initdb` and `pg_ctl`. */
export const POSTGRES_BIN = process.env['SALA_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin'

/**
 * Whether `initdb` and `pg_ctl` are here, for `describe.skipIf(!privatePostgresAvailable(...))`. Missing, the
 * reason is printed and the tests skip; under `CI=true` or `SALA_REQUIRE_POSTGRES=1` it throws instead.
 */
export const privatePostgresAvailable = (what: string, env: NodeJS.ProcessEnv = process.env): boolean => {
  if (existsSync(join(POSTGRES_BIN, 'pg_ctl')) && existsSync(join(POSTGRES_BIN, 'initdb'))) return true
  const line = `${POSTGRES_BIN} has no initdb and pg_ctl (set SALA_POSTGRES_BIN to PostgreSQL's bin folder)`
  if (env['SALA_REQUIRE_POSTGRES'] === '1' || env['CI'] === 'true') throw new Error(`${what}: ${line}; required under CI=true or SALA_REQUIRE_POSTGRES=1`)
  console.log(`Skipping ${what}: ${line}.`)
  return false
}

/** A PostgreSQL cluster of a test's own, in a temp folder, on a free port of 127.0.0.1. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string
  readonly port: number
  /** The temp folder holding the cluster's data, socket and log. */
  readonly folder: string
  /**
   * Stops the server: `fast` (the default) rolls back open transactions and closes connections cleanly;
   * `immediate` is a crash as far as clients can tell (recovery runs at the next start).
   */
  readonly stop: (mode?: 'fast' | 'immediate') => Promise<void>
  /** Starts it again on the same port, with the same data; resolves once it accepts connections. */
  readonly start: () => Promise<void>
  /** Stops it if it runs and deletes the folder. Safe to call twice. */
  readonly remove: () => Promise<void>
}

/**
 * Runs `initdb` and `pg_ctl start` into a new temp folder on a free port, for tests that stop and start a
 * database (the machine's shared cluster is left alone). PostgreSQL refuses to run as root, so as root the
 * binaries run as the `postgres` OS user (`runuser`) and the folder is given to it. Rejects with the
 * tool's output when a step fails; resolves once the server accepts connections.
 */
export interface PrivatePostgresOptions {
  /**
   * A login role that must give its password (SCRAM) over TCP, with a database of its own by the same
   * name; every other role keeps trust authentication.
   */
  readonly passwordRole?: { readonly name: string; readonly password: string }
}

export const startPrivatePostgres = async ({ passwordRole }: PrivatePostgresOptions = {}): Promise<PrivatePostgres> => {
  const folder = await mkdtemp(join(tmpdir(), 'sala-pg-'))
  const data = join(folder, 'data')
  const log = join(folder, 'server.log')
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: group } = await run('id', ['-g', 'postgres'])
    await chown(folder, Number(stdout.trim()), Number(group.trim()))
  }
  const tool = (name: string, args: ReadonlyArray<string>) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, name), ...args]) : run(join(POSTGRES_BIN, name), [...args])
  const port = await freePort()
  // The socket goes in our folder too: two private clusters never meet in /var/run/postgresql.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${folder} -c max_connections=50`
  let running = false
  const start = async () => {
    await tool('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', log, '-o', options])
    running = true
  }
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (!running) return
    await tool('pg_ctl', ['stop', '-w', '-t', '60', '-D', data, '-m', mode])
    running = false
  }
  try {
    await tool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'])
    const role = passwordRole
    // pg_hba.conf is read top down: the role's line goes before the trust lines initdb wrote.
    if (role !== undefined) {
      const hba = join(data, 'pg_hba.conf')
      await writeFile(hba, `host all ${role.name} 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`)
    }
    await start()
    if (role !== undefined) await createPasswordRole(port, role)
  } catch (error) {
    // A step after the start failed: the server must not outlive its folder.
    await stop('immediate').catch(() => undefined)
    await rm(folder, { recursive: true, force: true })
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    folder,
    stop,
    start,
    remove: async () => {
      await stop('immediate').catch(() => undefined)
      await rm(folder, { recursive: true, force: true })
    },
  }
}

const createPasswordRole = async (port: number, role: { readonly name: string; readonly password: string }): Promise<void> => {
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` })
  await admin.connect()
  try {
    await admin.query(`CREATE ROLE ${role.name} LOGIN PASSWORD ${admin.escapeLiteral(role.password)}`)
    await admin.query(`CREATE DATABASE ${role.name} OWNER ${role.name}`)
  } finally {
    await admin.end()
  }
}

/** A port nothing listens on now (the kernel picks it; a race with another process is possible but rare). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
