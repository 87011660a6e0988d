import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { isIP } from 'node:net'
import { checkRoomName, RoomId } from './brands.js'
import type { RoomDefinition } from './chat/state.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/**
 * Which peers may tell us who the client is (`X-Forwarded-For`, `-Proto`, `-Host`), in the terms of
 * Express's `trust proxy` and the `proxy-addr` package: nobody; the nearest `count` hops; or peers whose
 * address is in `addresses` (IPs, CIDRs, or the names `loopback`, `linklocal`, `uniquelocal`).
 */
export type TrustProxy =
  | { readonly type: 'none' }
  | { readonly type: 'hops'; readonly count: number }
  | { readonly type: 'addresses'; readonly addresses: ReadonlyArray<string> }

/**
 * Where everything stored lives: SQLite in `dataDir` (the default, nothing to run), or a PostgreSQL server
 * that several Sala processes share, reached through a pool of `poolSize` connections whose every statement
 * is cancelled after `statementTimeoutMs`.
 */
export type DatabaseConfig =
  | { readonly type: 'sqlite' }
  | { readonly type: 'postgres'; readonly url: string; readonly poolSize: number; readonly statementTimeoutMs: number }

/**
 * Whether this process serves the chat alone, or shares it with other Sala processes through Redis at `url`:
 * every key and channel there starts with `prefix`, and a process that stops renewing its presence is
 * counted gone after `presenceTtlSeconds`.
 */
export type ClusterConfig =
  | { readonly type: 'single' }
  | { readonly type: 'redis'; readonly url: string; readonly prefix: string; readonly presenceTtlSeconds: number }

/** How many processes serve this machine's port: a count, or `auto` (one per core, which only the shell can know). */
export type Workers = number | 'auto'

/** The most workers one machine runs: beyond the cores they only compete, each with its own pool and link. */
export const MAX_WORKERS = 64

/** Every setting, decoded once at start-up and passed down; nothing else reads the environment. */
export interface Config {
  readonly production: boolean
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly database: DatabaseConfig
  readonly cluster: ClusterConfig
  readonly workers: Workers
  /** Undefined outside production: the shell then keeps a generated secret in `dataDir`. */
  readonly sessionSecret: string | undefined
  /** Secrets of earlier keys, still accepted for verification while their sessions may live. */
  readonly previousSessionSecrets: ReadonlyArray<string>
  readonly sessionTtlSeconds: number
  readonly bcryptCost: number
  readonly typingTimeoutMs: number
  readonly rooms: ReadonlyArray<RoomDefinition>
  readonly allowedOrigins: ReadonlyArray<string>
  readonly cookieSecure: boolean
  readonly trustProxy: TrustProxy
  readonly logLevel: LogLevel
  /** Undefined: a `sala-uploads` folder in the system's temp dir, chosen by the shell. */
  readonly uploadDir: string | undefined
  readonly maxFileBytes: number
  readonly maxFiles: number
  readonly maxFrameBytes: number
  readonly heartbeatMs: number
  readonly maxBufferedBytes: number
  readonly messageRate: number
  readonly messageBurst: number
  readonly typingRate: number
  readonly historyRate: number
  readonly maxConnectionsPerUser: number
  /** Most members a `joined` or `members` frame lists to a version-2 client (MEMBER_PAGE, 10-1000). */
  readonly memberPage: number
  /** Open WebSockets per client address, so fresh accounts cannot multiply the per-user cap. */
  readonly maxConnectionsPerAddress: number
  /** Sign-ups per client address per hour. */
  readonly registerRate: number
  /** Bytes of uploads one user may keep stored. */
  readonly uploadQuotaBytes: number
  /** Upload requests one user may have under way at once. */
  readonly maxConcurrentUploads: number
  /** Upload requests per user per minute. */
  readonly uploadRate: number
  /** An upload no message links to is deleted, file and row, this long after it was made. */
  readonly uploadOrphanTtlSeconds: number
  /** Rooms one user may make per day (counted from the store, across the cluster). */
  readonly roomCreatePerDay: number
  /** Members a private room may have, its owner included. */
  readonly roomMaxMembers: number
  /** Members one user may add to rooms per minute. */
  readonly inviteRate: number
  readonly shutdownTimeoutMs: number
}

export type Environment = Readonly<Record<string, string | undefined>>

/** One sentence per bad variable, naming it. */
export type ConfigProblem = string

/** An io-ts decoder from one environment string, whose failure message is the sentence given by `parse`. */
const fromEnv = <A>(name: string, parse: (raw: string) => E.Either<string, A>): t.Decoder<string, A> =>
  new t.Type<A, string, string>(
    name,
    (_: unknown): _ is A => false,
    (raw, context) => {
      const parsed = parse(raw)
      return E.isRight(parsed) ? t.success(parsed.right) : t.failure(raw, context, parsed.left)
    },
    () => {
      throw new TypeError(`${name} is decode-only`)
    },
  )

const integer = (min: number, max: number) => (raw: string): E.Either<string, number> => {
  const n = Number(raw)
  return /^-?\d+$/.test(raw.trim()) && n >= min && n <= max
    ? E.right(n)
    : E.left(`must be a whole number from ${min} to ${max}`)
}

const boolean = (raw: string): E.Either<string, boolean> => {
  const value = raw.trim().toLowerCase()
  if (['true', '1', 'yes'].includes(value)) return E.right(true)
  if (['false', '0', 'no'].includes(value)) return E.right(false)
  return E.left('must be true or false')
}

const nonEmpty = (raw: string): E.Either<string, string> =>
  raw.trim() === '' ? E.left('must not be empty') : E.right(raw.trim())

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }
/** Seconds, or a number with a unit: `3600`, `90m`, `12h`, `30d`. */
export const duration = (min: number, max: number) => (raw: string): E.Either<string, number> => {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim())
  const seconds = match === null ? NaN : Number(match[1]) * (UNITS[match[2] || 's'] ?? NaN)
  return seconds >= min && seconds <= max
    ? E.right(seconds)
    : E.left(`must be a duration from ${min}s to ${max}s, in seconds or with a unit (90m, 12h, 30d)`)
}

/** The standard address classes of `proxy-addr`, and what `true` means: proxies on this machine or a private network. */
const ADDRESS_CLASSES = ['loopback', 'linklocal', 'uniquelocal']

const isAddressOrRange = (entry: string): boolean => {
  if (ADDRESS_CLASSES.includes(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  // proxy-addr also takes an IPv4 netmask after the slash (10.0.0.0/255.0.0.0).
  if (family === 4 && isIP(prefix) === 4) return true
  return /^\d{1,3}$/.test(prefix) && bits >= 0 && bits <= (family === 4 ? 32 : 128)
}

/** `false`, `true` (loopback and private ranges), a hop count, or a comma-separated list of addresses and CIDRs. */
export const trustProxy = (raw: string): E.Either<string, TrustProxy> => {
  const value = raw.trim().toLowerCase()
  if (['false', '0', 'no'].includes(value)) return E.right({ type: 'none' })
  if (['true', 'yes'].includes(value)) return E.right({ type: 'addresses', addresses: ADDRESS_CLASSES })
  if (/^\d+$/.test(value)) {
    const count = Number(value)
    return count >= 1 && count <= 32 ? E.right({ type: 'hops', count }) : E.left('a hop count must be from 1 to 32')
  }
  const addresses = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const bad = addresses.find((entry) => !isAddressOrRange(entry))
  return addresses.length > 0 && bad === undefined
    ? E.right({ type: 'addresses', addresses })
    : E.left(`must be true, false, a hop count, or a list of addresses and CIDRs (${JSON.stringify(bad ?? raw)} is none of these)`)
}

const LOG_LEVELS: ReadonlyArray<LogLevel> = ['debug', 'info', 'warn', 'error', 'silent']
const logLevel = (raw: string): E.Either<string, LogLevel> => {
  const level = LOG_LEVELS.find((l) => l === raw.trim().toLowerCase())
  return level === undefined ? E.left(`must be one of ${LOG_LEVELS.join(', ')}`) : E.right(level)
}

/** `Sala 1,Sala 2` or `lobby=Lobby,dev=Dev`; an id is the name in lower case with dashes. The first is the default. */
export const rooms = (raw: string): E.Either<string, ReadonlyArray<RoomDefinition>> => {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) return E.left('must name at least one room')
  const definitions: RoomDefinition[] = []
  for (const entry of entries) {
    const [idPart, namePart] = entry.includes('=') ? entry.split('=', 2) : [slug(entry), entry]
    const id = (idPart ?? '').trim()
    const name = checkRoomName((namePart ?? '').trim())
    if (!RoomId.is(id)) return E.left(`room id ${JSON.stringify(id)} must be lower-case letters, digits and dashes`)
    if (E.isLeft(name)) return E.left(`room ${JSON.stringify(id)} ${name.left}`)
    if (definitions.some((d) => d.id === id)) return E.left(`room id ${JSON.stringify(id)} appears twice`)
    definitions.push({ id, name: name.right })
  }
  return E.right(definitions)
}

const slug = (name: string): string =>
  name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')

const origins = (raw: string): E.Either<string, ReadonlyArray<string>> => {
  const list = raw.split(',').map((o) => o.trim()).filter((o) => o !== '')
  const bad = list.find((o) => !/^https?:\/\/[^/\s]+$/.test(o))
  return bad === undefined ? E.right(list) : E.left(`${JSON.stringify(bad)} is not an origin like https://chat.example.com`)
}

/** A `postgres://` or `postgresql://` URL naming a host; anything else is a mistake, not a request for SQLite. */
const postgresUrl = (raw: string): E.Either<string, string> => {
  const url = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined
  return url !== undefined && (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== ''
    ? E.right(raw.trim())
    : E.left('must be a postgres:// or postgresql:// URL like postgres://sala:secret@db.internal:5432/sala (unset it for SQLite in DATA_DIR)')
}

/** A `redis://` or `rediss://` (TLS) URL naming a host. */
const redisUrl = (raw: string): E.Either<string, string> => {
  const url = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined
  return url !== undefined && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
    ? E.right(raw.trim())
    : E.left('must be a redis:// or rediss:// (TLS) URL like redis://:secret@cache.internal:6379/0 (unset it to run one process alone)')
}

/** Printable ASCII without spaces: it starts every Redis key and channel name, and shows in `redis-cli`. */
const redisPrefix = (raw: string): E.Either<string, string> =>
  /^[\x21-\x7e]{1,64}$/.test(raw.trim()) ? E.right(raw.trim()) : E.left('must be 1 to 64 printable characters without spaces, like sala: or sala-staging:')

/**
 * The URL as a log line may show it: everything between the user's `:` and the LAST `@` replaced. Read by
 * hand, not by the URL parser: a password holding an unencoded `/`, `#` or `?` ends the parser's host
 * early, so the parsed password is only part of it and the rest would show.
 */
export const withoutPassword = (raw: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? ''
  const rest = raw.slice(scheme.length)
  const at = rest.lastIndexOf('@')
  const colon = rest.indexOf(':')
  if (at === -1 || colon === -1 || colon > at) return raw
  return `${scheme}${rest.slice(0, colon)}:***@${rest.slice(at + 1)}`
}

const workers = (raw: string): E.Either<string, Workers> =>
  raw.trim().toLowerCase() === 'auto'
    ? E.right('auto')
    : E.mapLeft(() => `must be auto or a whole number from 1 to ${MAX_WORKERS}`)(integer(1, MAX_WORKERS)(raw))

const secret = (raw: string): E.Either<string, string> =>
  raw.length >= 32 ? E.right(raw) : E.left('must be at least 32 characters (e.g. `openssl rand -base64 48`)')

const secretList = (raw: string): E.Either<string, ReadonlyArray<string>> => {
  const secrets = raw.split(',').map((secret) => secret.trim()).filter((secret) => secret !== '')
  return secrets.every((secret) => secret.length >= 32) ? E.right(secrets) : E.left('must be comma-separated secrets of at least 32 characters each')
}

export const decodeConfig = (env: Environment): E.Either<ReadonlyArray<ConfigProblem>, Config> => {
  const problems: ConfigProblem[] = []
  const read = <A>(name: string, fallback: A, parse: (raw: string) => E.Either<string, A>, shown: (raw: string) => string = (raw) => raw): A => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const decoded = fromEnv(name, parse).decode(raw)
    if (E.isRight(decoded)) return decoded.right
    problems.push(`${name}=${JSON.stringify(shown(raw))}: ${decoded.left[0]?.message ?? 'is not valid'}`)
    return fallback
  }
  const production = env['NODE_ENV'] === 'production'
  const databaseUrl = read<string | undefined>('DATABASE_URL', undefined, postgresUrl, withoutPassword)
  // A pool of (2 x cores) + 1 connections is PostgreSQL's own rule of thumb; writes are batched, so a few suffice.
  const databasePoolSize = read('DATABASE_POOL_SIZE', 5, integer(1, 1000))
  const databaseStatementTimeoutMs = read('DATABASE_STATEMENT_TIMEOUT_MS', 10_000, integer(100, 600_000))
  const redisAt = read<string | undefined>('REDIS_URL', undefined, redisUrl, withoutPassword)
  const keyPrefix = read('REDIS_PREFIX', 'sala:', redisPrefix)
  // A process renews its presence a few times per TTL: below 3 s a busy event loop could miss a renewal;
  // above 5 minutes the users of a dead process would linger too long.
  const presenceTtlSeconds = read('PRESENCE_TTL', 15, duration(3, 300))
  const workerCount = read<Workers>('WORKERS', 1, workers)
  const config: Config = {
    production,
    port: read('PORT', 3000, integer(0, 65535)),
    host: read('HOST', '0.0.0.0', nonEmpty),
    dataDir: read('DATA_DIR', './data', nonEmpty),
    database:
      databaseUrl === undefined
        ? { type: 'sqlite' }
        : { type: 'postgres', url: databaseUrl, poolSize: databasePoolSize, statementTimeoutMs: databaseStatementTimeoutMs },
    cluster: redisAt === undefined ? { type: 'single' } : { type: 'redis', url: redisAt, prefix: keyPrefix, presenceTtlSeconds },
    workers: workerCount,
    sessionSecret: read<string | undefined>('SESSION_SECRET', undefined, secret),
    previousSessionSecrets: read('SESSION_PREVIOUS_SECRETS', [], secretList),
    sessionTtlSeconds: read('SESSION_TTL', 30 * 86_400, duration(60, 365 * 86_400)),
    bcryptCost: read('BCRYPT_COST', 12, integer(production ? 10 : 4, 15)),
    typingTimeoutMs: read('TYPING_TIMEOUT_MS', 5000, integer(500, 60_000)),
    rooms: read('ROOMS', defaultRooms, rooms),
    allowedOrigins: read('ALLOWED_ORIGINS', [], origins),
    cookieSecure: read('COOKIE_SECURE', false, boolean),
    trustProxy: read<TrustProxy>('TRUST_PROXY', { type: 'none' }, trustProxy),
    logLevel: read('LOG_LEVEL', 'info', logLevel),
    uploadDir: read<string | undefined>('UPLOAD_DIR', undefined, nonEmpty),
    maxFileBytes: read('MAX_FILE_BYTES', 25 * 1024 * 1024, integer(1, 4 * 1024 ** 3)),
    maxFiles: read('MAX_FILES', 10, integer(1, 100)),
    maxFrameBytes: read('MAX_FRAME_BYTES', 64 * 1024, integer(4096, 16 * 1024 * 1024)),
    heartbeatMs: read('HEARTBEAT_MS', 30_000, integer(100, 600_000)),
    maxBufferedBytes: read('MAX_BUFFERED_BYTES', 4 * 1024 * 1024, integer(16 * 1024, 1024 ** 3)),
    messageRate: read('MSG_RATE', 10, integer(1, 10_000)),
    messageBurst: read('MSG_BURST', 20, integer(1, 100_000)),
    typingRate: read('TYPING_RATE', 5, integer(1, 10_000)),
    historyRate: read('HISTORY_RATE', 5, integer(1, 10_000)),
    maxConnectionsPerUser: read('MAX_CONNECTIONS_PER_USER', 10, integer(1, 10_000)),
    memberPage: read('MEMBER_PAGE', 100, integer(10, 1000)),
    maxConnectionsPerAddress: read('MAX_CONNECTIONS_PER_ADDRESS', 200, integer(1, 1_000_000)),
    registerRate: read('REGISTER_RATE', 20, integer(1, 1_000_000)),
    uploadQuotaBytes: read('UPLOAD_QUOTA_BYTES', 1024 ** 3, integer(1, 2 ** 50)),
    maxConcurrentUploads: read('MAX_CONCURRENT_UPLOADS', 4, integer(1, 1000)),
    uploadRate: read('UPLOAD_RATE', 30, integer(1, 1_000_000)),
    uploadOrphanTtlSeconds: read('UPLOAD_ORPHAN_TTL', 86_400, duration(60, 365 * 86_400)),
    roomCreatePerDay: read('ROOM_CREATE_PER_DAY', 10, integer(1, 1_000_000)),
    roomMaxMembers: read('ROOM_MAX_MEMBERS', 1000, integer(2, 1_000_000)),
    inviteRate: read('INVITE_RATE', 30, integer(1, 1_000_000)),
    shutdownTimeoutMs: read('SHUTDOWN_TIMEOUT_MS', 10_000, integer(0, 600_000)),
  }
  if (config.cluster.type === 'redis' && (env['DATABASE_URL'] ?? '') === '') {
    // Processes sharing a chat fill gaps and catch clients up from one history; a SQLite file is one process's.
    problems.push('REDIS_URL needs DATABASE_URL: processes that share a chat through Redis must share its history in PostgreSQL')
  }
  if (workerCount !== 1 && (env['REDIS_URL'] ?? '') === '') {
    // Workers are processes of their own; without the link each would serve a chat of its own on one port,
    // and a user's tabs would land in different chats. (A REDIS_URL without DATABASE_URL is refused above.)
    problems.push(
      (env['DATABASE_URL'] ?? '') === ''
        ? `WORKERS=${workerCount} needs REDIS_URL and DATABASE_URL: workers are separate processes, which share one chat only through Redis and one history only in PostgreSQL (unset WORKERS to run one process on SQLite)`
        : `WORKERS=${workerCount} needs REDIS_URL: workers are separate processes, which share one chat only through Redis (unset WORKERS to run one process)`,
    )
  }
  const secretAlreadyBad = problems.some((problem) => problem.startsWith('SESSION_SECRET='))
  if (production && config.sessionSecret === undefined && !secretAlreadyBad) {
    // With a shared database the key cannot be a file on one machine: every process must sign with it.
    problems.push(
      config.database.type === 'postgres'
        ? 'SESSION_SECRET is required when NODE_ENV=production and DATABASE_URL is set: every process sharing the database signs with it (at least 32 characters)'
        : 'SESSION_SECRET is required when NODE_ENV=production (at least 32 characters)',
    )
  }
  return problems.length > 0 ? E.left(problems) : E.right(Object.freeze(config))
}

const defaultRooms: ReadonlyArray<RoomDefinition> = [
  { id: 'sala-1', name: 'Sala 1' },
  { id: 'sala-2', name: 'Sala 2' },
  { id: 'sala-3', name: 'Sala 3' },
].flatMap((room) => (RoomId.is(room.id) ? [{ id: room.id, name: room.name }] : []))
