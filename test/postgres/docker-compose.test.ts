import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { decodeConfig } from '../../src/core/config.js'

// No Docker engine runs on the development or CI machines, so these read the compose files as Compose
// would and check what running them depends on. (The same files were run end to end under Docker once,
// by hand: docs/deploy.md, "PostgreSQL in Docker Compose".)

interface Service {
  readonly image?: string
  readonly profiles?: ReadonlyArray<string>
  readonly ports?: ReadonlyArray<string>
  readonly environment?: Readonly<Record<string, string>>
  readonly volumes?: ReadonlyArray<string>
  readonly depends_on?: Readonly<Record<string, { readonly condition?: string }>>
  readonly healthcheck?: { readonly test?: ReadonlyArray<string> }
}
interface ComposeFile {
  readonly services: Readonly<Record<string, Service>>
  readonly volumes?: Readonly<Record<string, unknown>>
}

const compose = (file: string): ComposeFile => parse(readFileSync(file, 'utf8')) as ComposeFile
const base = compose('docker-compose.yml')
const override = compose('docker-compose.postgres.yml')

/** Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?message}`: the value, or the message as a Left. */
const interpolate = (value: string, env: Readonly<Record<string, string>>): E.Either<string, string> => {
  let missing: string | undefined
  const result = value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_whole, name: string, op?: string, arg?: string) => {
    const set = env[name] !== undefined && env[name] !== ''
    if (set) return env[name] ?? ''
    if (op === '?') missing = arg ?? name
    return op === '-' ? (arg ?? '') : ''
  })
  return missing === undefined ? E.right(result) : E.left(missing)
}

describe('docker-compose.yml: SQLite by default, PostgreSQL behind the postgres profile', () => {
  const postgres = base.services['postgres']
  const sala = base.services['sala']

  it('leaves PostgreSQL off, and sala on SQLite, unless the profile and the override are turned on', () => {
    expect(postgres?.profiles).toEqual(['postgres'])
    expect(sala?.profiles).toBeUndefined()
    // A dependency on a service whose profile is off makes `docker compose up` refuse to start at all.
    expect(sala?.depends_on).toBeUndefined()
    expect(sala?.environment?.['DATABASE_URL']).toBeUndefined()
    // Interpolation covers the whole file, profiles on or not: nothing may demand the PostgreSQL password.
    for (const value of Object.values(postgres?.environment ?? {})) expect(E.isRight(interpolate(value, {}))).toBe(true)
  })

  it('runs PostgreSQL 15 or 16 on a named volume, unpublished, with a healthcheck over TCP', () => {
    expect(postgres?.image).toMatch(/^postgres:1[56]([.-]|$)/)
    expect(postgres?.ports).toBeUndefined()
    const [volume, mountPoint] = (postgres?.volumes?.[0] ?? '').split(':')
    expect(mountPoint).toBe('/var/lib/postgresql/data')
    expect(Object.keys(base.volumes ?? {})).toContain(volume)
    // Over TCP: the image's first-start server listens on the Unix socket only, and is not the real one.
    expect(postgres?.healthcheck?.test).toEqual(expect.arrayContaining(['CMD', 'pg_isready', '-h', '127.0.0.1']))
    expect(postgres?.environment?.['POSTGRES_PASSWORD']).toBe('${POSTGRES_PASSWORD:-}')
  })

  it('the override points sala at that database once it is healthy, with the password from .env', () => {
    const wired = override.services['sala']
    expect(Object.keys(override.services)).toEqual(['sala'])
    expect(wired?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    const env = { POSTGRES_PASSWORD: 'a/b+c=d' }
    const url = interpolate(wired?.environment?.['DATABASE_URL'] ?? '', env)
    expect(url).toEqual(E.right(`postgres://${postgres?.environment?.['POSTGRES_USER']}@postgres:5432/${postgres?.environment?.['POSTGRES_DB']}`))
    expect(interpolate(wired?.environment?.['PGPASSWORD'] ?? '', env)).toEqual(E.right('a/b+c=d'))
    expect(interpolate(wired?.environment?.['PGPASSWORD'] ?? '', {})).toEqual(E.left(expect.stringContaining('set POSTGRES_PASSWORD in .env')))
    // The server takes the URL as it comes: a bad one would stop it before the database is even tried.
    const config = decodeConfig({ DATABASE_URL: E.isRight(url) ? url.right : '' })
    expect(E.isRight(config) && config.right.database.type).toBe('postgres')
  })

  it('.env.example turns both on with the lines the compose files name', () => {
    const example = readFileSync('.env.example', 'utf8')
    expect(example).toMatch(/^# ?COMPOSE_PROFILES=postgres$/m)
    expect(example).toMatch(/^# ?COMPOSE_FILE=docker-compose\.yml:docker-compose\.postgres\.yml$/m)
    expect(example).toMatch(/^# ?POSTGRES_PASSWORD=/m)
  })
})

describe('the image holds the migration command', () => {
  it('the runtime stage copies the build, where npm run build compiles the command; the guide runs it from there', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8')
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'))
    expect(runtime).toContain('COPY --from=build --chown=node:node /app/dist ./dist')
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[]; exclude: string[] }
    expect(build.include).toContain('src')
    expect(build.exclude.some((excluded) => 'src/shell/migrate-sqlite-to-postgres.ts'.startsWith(excluded))).toBe(false)
    const guide = readFileSync('docs/deploy.md', 'utf8')
    expect(guide).toContain('docker compose run --rm sala node dist/src/shell/migrate-sqlite-to-postgres.js --from /data/sala.db')
  })
})
