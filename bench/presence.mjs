// node bench/run.mjs presence: one room filled at once (issue 17, docs/big-rooms.md "Benchmarks"). For each
// size in BENCH_PRESENCE_USERS, each protocol version in BENCH_PRESENCE_PROTOCOLS and each process count in
// BENCH_PRESENCE_PROCESSES (1, or the users split evenly over 2 Sala processes sharing PostgreSQL and Redis):
//   - that many accounts (written into a fresh database, bench/accounts.mjs), each one socket, connected
//     from 127.0.0.1-8 by bench/presence-client.mjs (several processes when one cannot hold the sockets);
//   - all join one room at once; the figure is the time until every socket's view of the room's size is
//     the number of users (version 2: the `count` of `joined` and `presence`; version 1: the list in
//     `joined` plus each `user_joined`), with the frames and bytes each socket received meanwhile and the
//     servers' CPU time;
//   - then idle, and the servers' RSS and heap per connection (bench/heap-probe.cjs), against their figures
//     before any socket opened;
//   - then a sample of sockets checks its view by name and walks the `members` pages;
//   - over two processes, the Redis commands per user, from INFO commandstats of a Redis of the run's own.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { seedAccounts } from './accounts.mjs'
import { benchDatabase, cpuSeconds, hardFileLimit, heapAfterGc, pinned, rssKiB, startServer, stopServer, withFileLimit } from './harness.mjs'

const list = (raw) => raw.split(',').map((entry) => Number(entry.trim()))
const SETTINGS = {
  sizes: list(process.env.BENCH_PRESENCE_USERS ?? '1000,2000,4000'),
  protocols: list(process.env.BENCH_PRESENCE_PROTOCOLS ?? '2'),
  processes: list(process.env.BENCH_PRESENCE_PROCESSES ?? '1,2'),
  repeats: Number(process.env.BENCH_REPEATS ?? 1),
  // Loopback source addresses 127.0.0.1 … 127.0.0.<n>: one address has ~28,000 ephemeral ports.
  addresses: Number(process.env.BENCH_PRESENCE_ADDRESSES ?? 8),
  // Sockets per generator process; more users take more generators (all on core 0).
  perGenerator: Number(process.env.BENCH_PRESENCE_PER_GENERATOR ?? 10_000),
  idleMs: Number(process.env.BENCH_PRESENCE_IDLE_MS ?? 10_000),
  timeoutMs: Number(process.env.BENCH_PRESENCE_TIMEOUT_MS ?? 300_000),
  sample: Number(process.env.BENCH_PRESENCE_SAMPLE ?? 8),
}
const SESSION_SECRET = 'a benchmark secret of at least 32 characters'
const ROOM = 'sala-1'

/** Descriptors a Sala process keeps for what is not a connection (src/adapters/descriptors.ts). */
const connectionCeiling = (limit) => limit - Math.min(256, Math.floor(limit / 4))

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/**
 * A Redis of this run's own, so that INFO commandstats counts the Sala processes' commands and nobody
 * else's (the machine's Redis serves other people's tests too). BENCH_REDIS_URL uses that one instead.
 */
const startRedis = async () => {
  if (process.env.BENCH_REDIS_URL !== undefined) return { url: process.env.BENCH_REDIS_URL, stop: async () => undefined }
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try {
      if (execFileSync('redis-cli', ['-u', url, 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG') break
    } catch {}
    if (i === 100) throw new Error('the benchmark Redis did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()))
    },
  }
}

const redisCalls = (url) => {
  const info = execFileSync('redis-cli', ['-u', url, 'info', 'commandstats'], { encoding: 'utf8' })
  const calls = {}
  for (const [, name, count] of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) calls[name] = Number(count)
  return calls
}
const callsBetween = (before, after) => Object.fromEntries(Object.entries(after).map(([name, calls]) => [name, calls - (before[name] ?? 0)]).filter(([, calls]) => calls > 0))
const totalOf = (calls) => Object.values(calls).reduce((sum, n) => sum + n, 0)

/**
 * How many memberships of the room the store holds: a first entry into a public room makes one, written
 * after the join is answered (logged, not retried, when the write fails). Undefined if the table moved.
 */
const storedMemberships = (url) => {
  try {
    return Number(execFileSync('psql', [url, '-Atc', `SELECT count(*) FROM room_members WHERE room_id = '${ROOM}'`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
  } catch {
    return undefined
  }
}

/** The warnings and errors in a server's log (pino, JSON lines), counted by message. */
const warningsIn = (logFile) => {
  const counts = {}
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"level":"warn"') && !line.includes('"level":"error"') && !line.includes('"level":"fatal"') && !/"level":[4-6]\d/.test(line)) continue
    const entry = JSON.parse(line)
    const message = `${entry.msg}${entry.err?.message === undefined ? '' : ` (${entry.err.message})`}`
    counts[message] = (counts[message] ?? 0) + 1
  }
  return counts
}

/** p50, p90 and the last of a list of times (ms). */
const quantiles = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null
  return { p50: at(0.5), p90: at(0.9), last: sorted.at(-1) ?? null }
}

/** Users spread evenly over the sample, the first and the last among them. */
const sampleOf = (users, count) => [...new Set(Array.from({ length: Math.min(count, users) }, (_, k) => Math.round((k * (users - 1)) / Math.max(1, count - 1))))]

const exited = (g) => (g.child.exitCode === null && g.child.signalCode === null ? new Promise((resolve) => g.child.once('exit', resolve)) : undefined)

/**
 * One generator process per `perGenerator` users (fewer where the descriptor limit is lower), each a
 * contiguous range; lines of JSON on stdout.
 */
const startGenerators = (users, base) => {
  const count = Math.ceil(users / Math.min(SETTINGS.perGenerator, hardFileLimit() - 200))
  return Array.from({ length: count }, (_, g) => {
    const from = Math.floor((g * users) / count)
    const to = Math.floor(((g + 1) * users) / count)
    const config = { ...base, from, to }
    // BENCH_PROFILE=generator: a CPU profile of each generator (its whole life), in bench/profiles.
    const profile = process.env.BENCH_PROFILE === 'generator' ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : []
    const [command, args] = withFileLimit(pinned(0, [process.execPath, ...profile, 'bench/presence-client.mjs', JSON.stringify(config)]))
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const next = async () => {
      const { value, done } = await lines.next()
      if (done) throw new Error(`generator ${g} (users ${from}-${to - 1}) ended early`)
      return JSON.parse(value)
    }
    return { child, next, say: (word) => child.stdin.write(`${word}\n`) }
  })
}

const round = async ({ users, protocol, processes }) => {
  const perProcess = Math.ceil(users / processes)
  const limit = hardFileLimit()
  if (perProcess > connectionCeiling(limit)) {
    return { skipped: `${perProcess} connections on one Sala process need an open-file limit of at least ${perProcess + 256} (ulimit -Hn is ${limit} here)` }
  }
  const database = benchDatabase()
  if (database === undefined) throw new Error('presence: psql cannot reach BENCH_POSTGRES_URL')
  const dirs = Array.from({ length: processes }, () => mkdtempSync(join(tmpdir(), 'sala-bench-presence-')))
  const redis = processes > 1 ? await startRedis() : undefined
  const servers = []
  let generators = []
  try {
    const env = {
      DATABASE_URL: database.url,
      SESSION_SECRET,
      // The `members` walk of the verification draws on the join/leave allowance (TYPING_RATE per second).
      TYPING_RATE: '10000',
      ...(process.env.BENCH_PRESENCE_HEARTBEAT_MS === undefined ? {} : { HEARTBEAT_MS: process.env.BENCH_PRESENCE_HEARTBEAT_MS }),
      ...(redis === undefined ? {} : { REDIS_URL: redis.url, REDIS_PREFIX: `sala-bench-${process.pid}-${Date.now()}:` }),
    }
    // BENCH_PROFILE=fill: a CPU profile of each server over the fill alone, kept in bench/profiles.
    const profileFill = process.env.BENCH_PROFILE === 'fill'
    const probe = ['--expose-gc', '--require', join(process.cwd(), 'bench/heap-probe.cjs'), ...(profileFill ? ['--require', join(process.cwd(), 'bench/fill-profile.cjs')] : [])]
    const profileFiles = dirs.map((_, k) => join(process.cwd(), 'bench/profiles', `fill-${users}-v${protocol}-${processes}p-${k}-${Date.now()}.cpuprofile`))
    if (profileFill) mkdirSync(join(process.cwd(), 'bench/profiles'), { recursive: true })
    // One after the other: migrations run once, and the second finds the schema.
    for (const dir of dirs) {
      const heapFile = join(dir, 'heap.json')
      const profileFile = profileFiles[servers.length]
      const logFile = join(dir, 'server.log')
      servers.push({ ...(await startServer('sala', dir, { ...env, BENCH_HEAP_FILE: heapFile, BENCH_PROFILE_FILE: profileFile }, probe, '1', { raiseFileLimit: true, logFile })), heapFile, logFile })
    }
    const tooFew = servers.find((server) => server.maxConnections !== undefined && server.maxConnections < perProcess)
    if (tooFew !== undefined) return { skipped: `a Sala process holds at most ${tooFew.maxConnections} connections, ${perProcess} needed` }
    const tokensFile = join(dirs[0], 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await seedAccounts({ databaseUrl: database.url, sessionSecret: SESSION_SECRET, count: users })))

    await new Promise((resolve) => setTimeout(resolve, 2000))
    const heapBefore = []
    for (const server of servers) heapBefore.push(await heapAfterGc(server.pid, server.heapFile))
    const rssBefore = servers.map((server) => rssKiB(server.pid))
    const callsAtStart = redis === undefined ? undefined : redisCalls(redis.url)

    const urls = servers.map((server) => `ws://127.0.0.1:${server.port}/ws`)
    const base = { urls, total: users, protocol, room: ROOM, tokensFile, addresses: SETTINGS.addresses, sample: sampleOf(users, SETTINGS.sample), timeoutMs: SETTINGS.timeoutMs }
    generators = startGenerators(users, base)
    const ready = await Promise.all(generators.map((g) => g.next()))
    const openMs = Math.max(...ready.map((r) => r.openMs))

    // Connected, not yet in the room: the heap then, and the longest stall of the loop from here on.
    const heapAtGo = []
    for (const server of servers) heapAtGo.push(await heapAfterGc(server.pid, server.heapFile))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const callsAtGo = redis === undefined ? undefined : redisCalls(redis.url)
    if (profileFill) {
      for (const server of servers) process.kill(server.pid, 'SIGWINCH')
      for (const file of profileFiles) while (!existsSync(`${file}.started`)) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const cpuAtGo = servers.map((server) => cpuSeconds(server.pid))
    const generatorCpuAtGo = generators.map((g) => cpuSeconds(g.child.pid))
    for (const g of generators) g.say('go')
    const fills = await Promise.all(generators.map((g) => g.next()))
    const cpuFill = servers.map((server, k) => cpuSeconds(server.pid) - cpuAtGo[k])
    const generatorCpuFill = generators.map((g, k) => cpuSeconds(g.child.pid) - generatorCpuAtGo[k])
    if (profileFill) for (const server of servers) process.kill(server.pid, 'SIGWINCH')
    const callsAtEnd = redis === undefined ? undefined : redisCalls(redis.url)

    const done = fills.every((f) => f.done)
    const fillMs = done ? Math.round(Math.max(...fills.map((f) => f.completedAt)) - Math.min(...fills.map((f) => f.startedAt))) : null
    const sumOf = (key) => fills.reduce((sum, f) => sum + f[key], 0)

    // Idle, then memory: RSS as it stands, and heap and RSS after a full collection.
    await new Promise((resolve) => setTimeout(resolve, SETTINGS.idleMs))
    const rssAfter = servers.map((server) => rssKiB(server.pid))
    const heapAfter = []
    for (const server of servers) heapAfter.push(await heapAfterGc(server.pid, server.heapFile))
    const rssAfterGc = servers.map((server) => rssKiB(server.pid))
    const perConnection = (before, after) => Number(((after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)) / 1024 / users).toFixed(2))

    const memberships = storedMemberships(database.url)
    for (const g of generators) g.say('verify')
    const verified = (await Promise.all(generators.map((g) => g.next()))).flatMap((v) => v.verified)
    for (const g of generators) g.say('stop')
    // They close their sockets and exit (writing their profiles, with BENCH_PROFILE=generator).
    await Promise.race([Promise.all(generators.map(exited)), new Promise((resolve) => setTimeout(resolve, 10_000))])

    const fill = redis === undefined ? undefined : callsBetween(callsAtGo, callsAtEnd)
    if (profileFill) {
      for (const file of profileFiles) rmSync(`${file}.started`, { force: true })
      console.error(`fill profiles: ${profileFiles.join(', ')}`)
    }
    const connect = redis === undefined ? undefined : callsBetween(callsAtStart, callsAtGo)
    return {
      fillMs,
      completed: sumOf('completed'),
      incompleteViews: fills.map((f) => f.incompleteViews).filter(Boolean),
      openMs,
      joinedMs: quantiles(fills.flatMap((f) => f.joinedAfter)),
      framesPerClient: Number((sumOf('frames') / users).toFixed(1)),
      framesMax: Math.max(...fills.map((f) => f.framesMax)),
      kibPerClient: Number((sumOf('bytes') / 1024 / users).toFixed(1)),
      closed: sumOf('closed'),
      errors: sumOf('errors'),
      firstError: fills.find((f) => f.firstError !== undefined)?.firstError,
      serverCpuMs: cpuFill.map((s) => Math.round(s * 1000)),
      generatorCpuMs: generatorCpuFill.map((s) => Math.round(s * 1000)),
      serverCpuMicrosPerJoin: Math.round((cpuFill.reduce((a, b) => a + b, 0) * 1e6) / users),
      rssKibPerConnection: perConnection(rssBefore.map((kib) => kib * 1024), rssAfter.map((kib) => kib * 1024)),
      rssKibPerConnectionAfterGc: perConnection(rssBefore.map((kib) => kib * 1024), rssAfterGc.map((kib) => kib * 1024)),
      heapKibPerConnection: perConnection(heapBefore.map((h) => h.heapUsed), heapAfter.map((h) => h.heapUsed)),
      // Of which, once connected (before joining): the rest is what being in the room costs.
      heapKibPerConnectionBeforeJoining: perConnection(heapBefore.map((h) => h.heapUsed), heapAtGo.map((h) => h.heapUsed)),
      // The longest the servers' event loops were held from "go" to the end of the idle pause (20 ms resolution).
      loopStallMs: heapAfter.map((h) => h.loopDelayMaxMs),
      serverWarnings: servers.map((server) => warningsIn(server.logFile)),
      memberships,
      externalKibPerConnection: perConnection(heapBefore.map((h) => h.external + h.arrayBuffers), heapAfter.map((h) => h.external + h.arrayBuffers)),
      rssMiB: servers.map((_, k) => `${Math.round(rssBefore[k] / 1024)} -> ${Math.round(rssAfter[k] / 1024)} (${Math.round(rssAfterGc[k] / 1024)} after GC)`),
      ...(redis === undefined
        ? {}
        : {
            redisPerUserConnect: Number((totalOf(connect) / users).toFixed(2)),
            redisPerJoin: Number((totalOf(fill) / users).toFixed(2)),
            redisConnect: connect,
            redisFill: fill,
          }),
      verified,
    }
  } finally {
    for (const g of generators) g.child.kill('SIGTERM')
    await Promise.all(generators.map(exited))
    for (const server of servers) await stopServer(server)
    await redis?.stop()
    database.drop()
    // BENCH_HEAP_SNAPSHOT=1: the probe wrote heap snapshots before the sockets (.0), before the joins (.1)
    // and after the fill (.2), for `node bench/heap-diff.mjs heap.json.0.heapsnapshot heap.json.2.heapsnapshot <users per process>`.
    if (process.env.BENCH_HEAP_SNAPSHOT === '1') console.error(`heap snapshots kept in ${dirs.join(', ')}`)
    else for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

const verdict = (verified) => {
  const bad = verified.filter((v) => v.error !== undefined || !v.ownViewIsEveryone || (v.membersCommand === undefined && !v.freshIsEveryone))
  const views = verified.some((v) => v.membersCommand !== undefined) ? ' (views only: no members command)' : ''
  return bad.length === 0 ? `ok (${verified.length} sampled)${views}` : `FAILED for users ${bad.map((v) => v.user).join(', ')}`
}

export const presence = async () => {
  const results = []
  for (let repeat = 0; repeat < SETTINGS.repeats; repeat++) {
    for (const users of SETTINGS.sizes) {
      for (const protocol of SETTINGS.protocols) {
        for (const processes of SETTINGS.processes) {
          const result = { users, protocol, processes, repeat, ...(await round({ users, protocol, processes })) }
          console.log(JSON.stringify({ scenario: 'presence', ...result }))
          results.push(result)
        }
      }
    }
  }
  console.log("\nOne room filled at once. fill: until every member's view holds everyone; joined: when the joins were answered;")
  console.log('per client: frames and KiB received over the fill; CPU over the fill (server per join, generators in all); server memory per')
  console.log('connection after the fill and an idle pause: RSS (after a GC) and heap (of which since the sockets joined); stall: the longest')
  console.log("the servers' event loop was held from the joins on; Redis commands per user: connecting + joining (two processes).")
  const columns = [
    ['users', 6, (r) => r.users],
    ['v', 2, (r) => r.protocol],
    ['proc', 4, (r) => r.processes],
    ['fill ms', 8, (r) => r.fillMs ?? `incomplete (${r.completed} of ${r.users})`],
    ['ms/1000', 7, (r) => (r.fillMs === null ? '-' : ((r.fillMs * 1000) / r.users).toFixed(0))],
    ['open s', 6, (r) => (r.openMs / 1000).toFixed(1)],
    ['joined p50/last s', 17, (r) => `${(r.joinedMs.p50 / 1000).toFixed(1)} / ${(r.joinedMs.last / 1000).toFixed(1)}`],
    ['frames (max)', 12, (r) => `${r.framesPerClient} (${r.framesMax})`],
    ['KiB/client', 10, (r) => r.kibPerClient],
    ['CPU µs/join', 11, (r) => r.serverCpuMicrosPerJoin],
    ['gen CPU ms', 10, (r) => r.generatorCpuMs.reduce((a, b) => a + b, 0)],
    ['RSS KiB/conn (GC)', 17, (r) => `${r.rssKibPerConnection} (${r.rssKibPerConnectionAfterGc})`],
    ['heap KiB/conn (joined)', 22, (r) => `${r.heapKibPerConnection} (${(r.heapKibPerConnection - r.heapKibPerConnectionBeforeJoining).toFixed(2)})`],
    ['stall ms', 8, (r) => Math.max(...r.loopStallMs)],
    ['Redis/user', 12, (r) => (r.redisPerJoin === undefined ? '-' : `${r.redisPerUserConnect} + ${r.redisPerJoin}`)],
  ]
  console.log([...columns.map(([title, width]) => title.padStart(width)), 'check'].join('  '))
  for (const r of results) {
    const lead = columns.slice(0, 3).map(([, width, value]) => String(value(r)).padStart(width))
    if (r.skipped !== undefined) {
      console.log([...lead, `skipped: ${r.skipped}`].join('  '))
      continue
    }
    // A process that reconnects to Redis says HELLO and subscribes again: its link dropped during the fill.
    const relinked = r.redisFill !== undefined && (r.redisFill.hello !== undefined || r.redisFill.subscribe !== undefined)
    const warnings = r.serverWarnings.flatMap((w) => Object.entries(w).filter(([message]) => !message.startsWith('created a new database')).map(([message, n]) => `${n}x ${message}`))
    const lost = r.memberships !== undefined && r.memberships < r.users ? `; memberships stored: ${r.memberships} of ${r.users}` : ''
    const notes = `${lost}${warnings.length > 0 ? `; server log: ${warnings.join(', ')}` : ''}${relinked ? '; the Redis link was re-established during the fill (see the servers\' logs)' : ''}${r.closed > 0 ? `; ${r.closed} sockets closed` : ''}${r.errors > 0 ? `; ${r.errors} error frames, first ${r.firstError}` : ''}`
    console.log([...columns.map(([, width, value]) => String(value(r)).padStart(width)), `${verdict(r.verified)}${notes}`].join('  '))
  }
}
