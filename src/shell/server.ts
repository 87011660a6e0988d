import { readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { WebSocketServer } from 'ws'
import type { UploadName } from '../core/uploads.js'
import { chatSettingsFrom, initialChatState } from '../core/chat/state.js'
import type { Config } from '../core/config.js'
import { jsonLogger, type Logger } from '../adapters/logger.js'
import { createPasswordHasher } from '../adapters/password-hasher.js'
import type { DatabasePort } from '../adapters/database.js'
import { prepareFolder } from '../adapters/folders.js'
import { describeLocation, openStores, type StoreLocation } from '../adapters/open-store.js'
import { realSystem, type System } from '../adapters/system.js'
import { createTokenIssuer } from '../adapters/tokens.js'
import { createAccounts } from './accounts.js'
import { createChatRuntime, type ChatRuntime } from './chat-runtime.js'
import { loadCatalog } from './room-catalog.js'
import { openCluster } from './cluster.js'
import { createHttpHandlers } from './http/handle-request.js'
import { createGuards } from './http/guards.js'
import { createLoginGuard } from './http/login-guard.js'
import { createProxyTrust } from './http/proxy.js'
import { createInviteGuard, createSignUpGuard } from './http/rate-guard.js'
import { createRoomRoutes } from './http/room-routes.js'
import { openSharedHttpLimits } from './http/shared-limits.js'
import { orphanCutoff } from '../core/upload-budget.js'
import { createRoutes } from './http/routes.js'
import { removeAll, type OpenUploadFile } from './uploads/receive.js'
import { createUploadRoutes } from './uploads/routes.js'
import { createUploadBudget } from './uploads/budget.js'
import { startOrphanSweep } from './uploads/orphan-sweep.js'
import { readinessCheck } from './readiness.js'
import { createRefusalLog } from './refusal-log.js'
import { guardConnections } from './connection-guard.js'
import { connectionCeiling, openFilesLimit } from '../adapters/descriptors.js'
import { describeStartupError, listen, must, secretIn, startupErrorOf, type StartupError } from './startup.js'
import { createDocsRoutes } from './docs/routes.js'
import { createClientRoutes } from './client-routes.js'
import { attachConnection } from './ws/connection.js'
import { ChatSocket } from './ws/chat-socket.js'
import { startHeartbeat } from './ws/heartbeat.js'
import { createUpgradeHandler } from './ws/upgrade.js'
import { createAddressSlots } from './ws/address-slots.js'
import { createSharedCaps } from './ws/shared-caps.js'
import { createSharedRates } from './ws/shared-rates.js'
import { createMembershipReads } from './ws/membership-reads.js'
import { createSignIn } from './ws/sign-in.js'
import { chooseSubprotocol } from '../core/protocol/version.js'
import { CLOSE_GOING_AWAY } from '../core/protocol/close-codes.js'

export interface SalaServer {
  readonly url: string
  readonly port: number
  readonly runtime: ChatRuntime
  /** Stops accepting, closes every socket (1001), stores what was accepted, closes the database. */
  readonly close: () => Promise<void>
}

export interface StartOptions {
  readonly log?: Logger
  readonly system?: System
  /** Tests: where upload bytes are written (to fill the disk), and how often orphans are swept. */
  readonly openUploadFile?: OpenUploadFile
  readonly orphanSweepMs?: number
  /** Tests: how long a connection opened without credentials has to send its `auth` frame. */
  readonly signInTimeoutMs?: number
}

/**
 * Starts the server, or says in one value why it cannot (see `StartupError`): a folder that takes no
 * write, a database that is corrupt, locked or on a full disk, an address that is taken or not ours.
 * Whatever was opened before the failure is closed again.
 */
export const tryStartSala = async (config: Config, options: StartOptions = {}): Promise<E.Either<StartupError, SalaServer>> => {
  const opened: Array<() => unknown> = []
  try {
    return E.right(await startSteps(config, options, opened))
  } catch (error) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined)
    return E.left(startupErrorOf(error))
  }
}

/** `tryStartSala` for tests and tools: a start-up failure rejects with its one-line description. */
export const startSala = async (config: Config, options: StartOptions = {}): Promise<SalaServer> => {
  const started = await tryStartSala(config, options)
  if (E.isLeft(started)) throw new Error(describeStartupError(started.left))
  return started.right
}

// `opened` collects what must be closed again if a later step fails.
const startSteps = async (config: Config, options: StartOptions, opened: Array<() => unknown>): Promise<SalaServer> => {
  const log = options.log ?? jsonLogger(config.logLevel)
  const system = options.system ?? realSystem
  const dataDir = resolve(config.dataDir)
  await must(prepareFolder(dataDir), (fault) => ({ kind: 'folder_unusable', setting: 'DATA_DIR', fault }))
  // Both folders are checked before the database is touched: a start that fails leaves nothing behind.
  const uploadDir = await prepareUploadDir(config, system.now())
  const replacedSecret = (path: string) => log.warn(`replaced an unusable session secret at ${path}: earlier sessions end`, { path })
  const secret = config.sessionSecret ?? (await must(secretIn(dataDir, replacedSecret), (error) => error))
  const location = storeLocation(config, dataDir)
  const databasePath = describeLocation(location)
  const connectionLost = (error: Error) => log.warn('database connection lost; the pool opens another', { err: error, database: databasePath })
  // Without a cluster link each process answers history from what it stored: one process per database.
  const soleProcess = config.cluster.type === 'single'
  const database = await must(openStores(location, { onConnectionError: connectionLost, soleProcess }), (fault) => ({ kind: 'database_unusable', path: databasePath, fault }))
  opened.push(database.port.close)
  // A new file where one was expected is how a wiped or unmounted volume shows: say so loudly.
  if (database.created) log.warn(`created a new database at ${databasePath}`, { path: databasePath })
  const { messages } = database.stores

  // Other processes share this chat through Redis: the link connects in the background meanwhile.
  const cluster = config.cluster.type === 'redis' ? openCluster(config.cluster, log, system.now) : undefined
  if (cluster !== undefined) opened.push(cluster.close)
  // Sign-ups and login throttling count with the other processes; per process while Redis cannot answer.
  const sharedLimits = config.cluster.type === 'redis' && cluster !== undefined ? openSharedHttpLimits(config.cluster, cluster.processId, log) : undefined
  if (sharedLimits !== undefined) opened.push(sharedLimits.close)
  const settings = { ...chatSettingsFrom(config), cluster: cluster?.settings ?? null }
  const catalog = await loadCatalog(database.stores, config.rooms, log)
  const initial = initialChatState(catalog.rooms, catalog.history, settings)
  const memberships = createMembershipReads(database.stores.rooms)
  const runtime = createChatRuntime({
    initial,
    messages,
    rooms: database.stores.rooms,
    now: system.now,
    log,
    maxBufferedBytes: config.maxBufferedBytes,
    ...(cluster === undefined ? {} : { announce: cluster.announce }),
    observe: memberships.observe,
  })
  opened.push(runtime.stop)
  cluster?.start(runtime.dispatch)
  const hasher = createPasswordHasher(config.bcryptCost)
  opened.push(hasher.close)
  const accounts = createAccounts({
    users: database.stores.users,
    sessions: database.stores.sessions,
    hasher,
    tokens: createTokenIssuer(secret, config.previousSessionSecrets),
    system,
    sessionTtlSeconds: config.sessionTtlSeconds,
  })

  const uploads = database.stores.uploads
  const proxy = createProxyTrust(config.trustProxy)
  const origins = { allowedOrigins: config.allowedOrigins, proxy }
  const guards = createGuards(accounts, origins)
  const routes = {
    ...createRoutes({
      accounts,
      guards,
      loginGuard: createLoginGuard(system.now, sharedLimits),
      signUpGuard: createSignUpGuard(config.registerRate, system.now, sharedLimits),
      proxy,
      runtime,
      config,
      now: system.now,
      readiness: readinessCheck({ database: database.port, uploadDir, log, ...(cluster === undefined ? {} : { cluster: cluster.state }) }),
    }),
    ...createRoomRoutes({
      guards,
      rooms: database.stores.rooms,
      users: database.stores.users,
      runtime,
      system,
      configured: config.rooms.map((room) => room.id),
      limits: { roomsPerDay: config.roomCreatePerDay, maxMembers: config.roomMaxMembers },
      invitations: createInviteGuard(config.inviteRate, system.now, sharedLimits),
    }),
    ...createUploadRoutes({
      guards,
      uploads,
      budget: createUploadBudget(
        { quotaBytes: config.uploadQuotaBytes, maxConcurrent: config.maxConcurrentUploads, perMinute: config.uploadRate },
        uploads.storedBytes,
        system.now,
        sharedLimits,
      ),
      ...(options.openUploadFile === undefined ? {} : { openFile: options.openUploadFile }),
      dir: uploadDir,
      limits: { maxFileBytes: config.maxFileBytes, maxFiles: config.maxFiles },
      newName: system.newUploadName,
      now: system.now,
      log,
    }),
  }
  const root = packageRoot()
  const [docs, client] = await Promise.all([createDocsRoutes(root, log), createClientRoutes(root, log)])
  const http = createHttpHandlers({ ...routes, ...docs, ...client }, log, proxy)
  const server = createServer(http.request)
  // Refused connections (descriptors, caps, upgrades) are logged through this, at most a line a second per kind.
  const refusals = createRefusalLog(log, system.now)
  // Frames are small JSON commands; the 64 KiB default leaves room for a 4000-character message in any script.
  // The runtime keeps the open sockets; ws's own client set would be a second copy, with a listener each.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    WebSocket: ChatSocket,
    // Echoes the latest of `sala.v2`/`sala.v1` offered; an offer of neither was refused before the upgrade (upgrade.ts).
    handleProtocols: (offered) => {
      const choice = chooseSubprotocol([...offered])
      return choice.type === 'chosen' ? choice.protocol : false
    },
  })
  wss.on('error', (error) => log.error('websocket server error', { err: error }))
  const heartbeat = startHeartbeat(runtime.sockets, config.heartbeatMs)
  opened.push(heartbeat.stop)
  // Held as they are looked up for a message, so the orphan sweep cannot take a file before the message that
  // links to it is stored (which attaches it); an upload already due for the sweep is not found.
  const findUploads = (names: ReadonlyArray<UploadName>) => {
    const at = system.now()
    return uploads.hold(names, at, orphanCutoff(at, config.uploadOrphanTtlSeconds))()
  }
  const orphans = startOrphanSweep({
    uploads,
    dir: uploadDir,
    ttlSeconds: config.uploadOrphanTtlSeconds,
    now: system.now,
    log,
    ...(options.orphanSweepMs === undefined ? {} : { everyMs: options.orphanSweepMs }),
  })
  opened.push(orphans.stop)
  // Open connections per user and per address count with the other processes; per process while Redis cannot answer.
  const caps =
    sharedLimits === undefined
      ? undefined
      : createSharedCaps(sharedLimits.tallies, { perUser: config.maxConnectionsPerUser, perAddress: config.maxConnectionsPerAddress }, log)
  const addresses = createAddressSlots(config.maxConnectionsPerAddress, caps?.address)
  // Message, typing and history allowances count with the other processes; per process while Redis cannot answer.
  const sharedRates = sharedLimits === undefined ? undefined : createSharedRates(sharedLimits.limits, settings.rates, log)
  const onOpen = attachConnection({
    runtime,
    system,
    log,
    findUploads,
    addresses,
    memberships,
    ...(sharedRates === undefined ? {} : { sharedRates }),
    ...(caps === undefined ? {} : { userCap: caps.user }),
  })
  let accepting = true
  const signIn = createSignIn({
    accounts,
    addresses,
    refusals,
    log,
    onOpen,
    accepting: () => accepting,
    ...(options.signInTimeoutMs === undefined ? {} : { timeoutMs: options.signInTimeoutMs }),
  })
  const upgrade = createUpgradeHandler({ wss, accounts, origins, proxy, addresses, refusals, log, onOpen, signIn, accepting: () => accepting })
  server.on('upgrade', upgrade)
  // Malformed or timed-out HTTP from a client: answered and logged there, never let it reach 'error'.
  server.on('clientError', http.clientError)

  await must(listen(server, config.port, config.host), (error) => error)
  const limit = await openFilesLimit()
  const maxConnections = limit === undefined ? undefined : connectionCeiling(limit)
  guardConnections(server, { ceiling: maxConnections, refusals, log })
  const port = (server.address() as AddressInfo).port
  const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`
  log.info('sala listening', { url, dataDir, uploadDir, maxConnections, rooms: config.rooms.map((room) => room.id) })

  let closing: Promise<void> | undefined
  const close = () => {
    accepting = false
    heartbeat.stop()
    // Sockets still signing in are not the runtime's, so shutdown would not reach them.
    signIn.closeAll(CLOSE_GOING_AWAY, 'server shutting down')
    // The link closes last: the departures of this process's users go out over it as the sockets close.
    return (closing ??= orphans
      .stop()
      .then(() => shutdown({ server, runtime, database: database.port, closeHasher: hasher.close, log, timeoutMs: config.shutdownTimeoutMs }))
      .finally(() => cluster?.close())
      .finally(() => sharedLimits?.close())
      .finally(refusals.flush))
  }
  return { url, port, runtime, close }
}

/** The database this server uses: PostgreSQL when `DATABASE_URL` names one, otherwise SQLite in `DATA_DIR`. */
const storeLocation = ({ database }: Config, dataDir: string): StoreLocation =>
  database.type === 'postgres'
    ? { engine: 'postgres', url: database.url, poolSize: database.poolSize, statementTimeoutMs: database.statementTimeoutMs }
    : { engine: 'sqlite', file: join(dataDir, 'sala.db') }

/**
 * A `.part` file untouched this long is no upload in progress (a request idle for 5 minutes is cut), on
 * this process or on another one sharing the folder (several processes, one UPLOAD_DIR).
 */
const LEFTOVER_AGE_MS = 10 * 60_000

/**
 * The upload folder, created if needed and proved writable (a read-only one would otherwise start
 * silently and fail every upload). Old `.part` files are uploads a crash interrupted: never registered,
 * never served, so they are removed; recent ones may be another process's uploads under way.
 */
const prepareUploadDir = async (config: Config, now: number): Promise<string> => {
  const dir = resolve(config.uploadDir ?? join(tmpdir(), 'sala-uploads'))
  await must(prepareFolder(dir), (fault) => ({ kind: 'folder_unusable', setting: 'UPLOAD_DIR', fault }))
  const parts = (await readdir(dir)).filter((file) => file.startsWith('.') && file.endsWith('.part')).map((file) => join(dir, file))
  const ages = await Promise.all(parts.map(async (path) => now - ((await stat(path).catch(() => undefined))?.mtimeMs ?? now)))
  await removeAll(parts.filter((_, i) => (ages[i] ?? 0) > LEFTOVER_AGE_MS))
  return dir
}

/** The folder with package.json, the specs and dist/: found from this file, in src/ (tests) or dist/. */
const packageRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the package root (package.json)')
    dir = parent
  }
  return dir
}

interface Running {
  readonly server: Server
  readonly runtime: ChatRuntime
  readonly database: DatabasePort
  readonly closeHasher: () => Promise<void>
  readonly log: Logger
  readonly timeoutMs: number
}

/**
 * Stops in the order that loses nothing: no new connections; every socket told 1001; requests and
 * uploads already under way may finish until the timeout; then everything accepted is stored (and
 * acknowledged where the socket still listens) before the database closes.
 */
/** Resolves once the core holds no connection (every socket's close has reached it), or after `timeoutMs`. */
const untilNoConnections = async (runtime: ChatRuntime, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (runtime.state().connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
}

const shutdown = async ({ server, runtime, database, closeHasher, log, timeoutMs }: Running): Promise<void> => {
  const stopped = new Promise<void>((done) => server.close(() => done()))
  for (const socket of runtime.sockets()) socket.close(CLOSE_GOING_AWAY, 'server shutting down')
  server.closeIdleConnections()
  const cut = setTimeout(() => {
    log.warn('shutdown timeout: cutting the connections still open')
    for (const socket of runtime.sockets()) socket.terminate()
    server.closeAllConnections()
  }, timeoutMs)
  await stopped
  // server.close() waits for HTTP connections only: upgraded sockets close on their own time, and each
  // closing connection writes (its user's read markers) as the core lets it go. Drained before that, those
  // writes would find the store closed.
  await untilNoConnections(runtime, timeoutMs)
  clearTimeout(cut)
  await runtime.drain()
  runtime.stop()
  await closeHasher()
  await database.close()
  log.info('sala stopped')
}
