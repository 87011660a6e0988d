// npm run bench [-- fanout]   Prints one JSON line per server and a table, Sala's figures also as ratios
// to the naive baseline and the coalescing "limit" server measured in the same run with the same generator.
// Servers run on core 1 and the generator on core 0 (taskset), so they do not fight over one core.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { benchDatabase, cpuSeconds, heapAfterGc, pinEventLoopApart, pinned, registerAll, rssKiB, startServer } from './harness.mjs'

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000)
const SENDERS = 10
const RATES = (process.env.BENCH_RATES ?? '20,30,40,50,60,80,100,150,200,300,400,600,800,1000,1200,1400,1600,2000,2400').split(',').map(Number)
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 2000)

// `sala-postgres` is the same server with its data in PostgreSQL (a database of the benchmark's own).
const fanout = async (name) => {
  const dataDir = mkdtempSync(join(tmpdir(), `sala-bench-${name}-`))
  const isSala = name === 'sala' || name === 'sala-postgres'
  const database = name === 'sala-postgres' ? benchDatabase() : undefined
  if (name === 'sala-postgres' && database === undefined) throw new Error('sala-postgres: psql cannot reach BENCH_POSTGRES_URL')
  const server = await startServer(isSala ? 'sala' : name, dataDir, database === undefined ? {} : { DATABASE_URL: database.url }).catch((error) => {
    database?.drop()
    throw error
  })
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    if (isSala) writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, MEMBERS)))
    const path = isSala ? '/ws' : '/'
    const config = { url: `ws://127.0.0.1:${server.port}${path}`, members: MEMBERS, senders: SENDERS, rates: RATES, stepMs: STEP_MS, drainMs: 1000, sala: isSala, tokensFile }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const generator = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const steps = []
    let cpuAtStart = 0
    for await (const line of createInterface({ input: generator.stdout })) {
      const event = JSON.parse(line)
      if (event.stepStart !== undefined) cpuAtStart = cpuSeconds(server.pid)
      if (event.stepSent !== undefined) steps.push({ cpu: cpuSeconds(server.pid) - cpuAtStart })
      if (event.rate !== undefined) {
        const step = steps.at(-1)
        Object.assign(step, event, { cpuMicrosPerDelivery: Number(((step.cpu * 1e6) / Math.max(1, event.delivered * event.offeredDeliveriesPerSec * event.seconds)).toFixed(3)) })
      }
    }
    const good = steps.filter((s) => s.delivered >= 1 && s.p99 <= 100 && s.closed === 0)
    const saturation = good.at(-1)
    return { server: name, members: MEMBERS, saturationDeliveriesPerSec: saturation?.deliveredPerSec ?? 0, saturationRate: saturation?.rate ?? 0, steps }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    database?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Sustained messages into one room, every one acknowledged only after its commit: acked/s and ack latency. */
const persist = async (engine = 'sqlite') => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-persist-'))
  const senders = 50
  const rooms = Array.from({ length: senders }, (_, i) => `r${i}=Room ${i}`).join(',')
  const database = engine === 'postgres' ? benchDatabase() : undefined
  if (engine === 'postgres' && database === undefined) throw new Error('persist on postgres: psql cannot reach BENCH_POSTGRES_URL')
  const server = await startServer('sala', dataDir, { ROOMS: rooms, ...(database === undefined ? {} : { DATABASE_URL: database.url }) }).catch((error) => {
    database?.drop()
    throw error
  })
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, senders)))
    // The first step (5,000/s, shown as "warm-up") grows the write-ahead log file from nothing; the file
    // system's block allocation stalls those commits. SQLite reuses the log's blocks from then on (until
    // the server stops and removes it), so the sustained figures are the steps after it.
    const rates = [5000, ...(process.env.BENCH_PERSIST_RATES ?? '2000,5000,10000,15000,20000,30000').split(',').map(Number)]
    const config = { url: `ws://127.0.0.1:${server.port}/ws`, members: senders, senders, rates, stepMs: STEP_MS, drainMs: 1000, sala: true, tokensFile, mode: 'persist' }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const generator = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const steps = []
    for await (const line of createInterface({ input: generator.stdout })) {
      const event = JSON.parse(line)
      if (event.ackedPerSec !== undefined) steps.push(event)
    }
    return { scenario: 'persist', server: 'sala', engine, senders, steps }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    database?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * N idle sockets (one user each for Sala, joined to rooms, heartbeats on): server RSS and heap per
 * connection. BENCH_CONNECTION_ROOMS spreads them over that many rooms (Sala). The default, one room per
 * 100 sockets, keeps presence linear: filling one room of n people announces each arrival to everyone
 * there, O(n²) frames, so with the three stock rooms 15,000 sockets do not finish opening in minutes.
 */
const connections = async (name, count) => {
  const dataDir = mkdtempSync(join(tmpdir(), `sala-bench-conn-${name}-`))
  const roomCount = Number(process.env.BENCH_CONNECTION_ROOMS ?? Math.ceil(count / 100))
  const rooms = Array.from({ length: roomCount }, (_, i) => `sala-${i + 1}=Sala ${i + 1}`).join(',')
  const heapFile = join(dataDir, 'heap.json')
  const probe = ['--expose-gc', '--require', join(process.cwd(), 'bench/heap-probe.cjs')]
  const server = await startServer(name, dataDir, { HEARTBEAT_MS: '5000', LOG_LEVEL: 'info', ROOMS: rooms, BENCH_HEAP_FILE: heapFile }, probe)
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    if (name === 'sala') writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, count)))
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const heapBefore = await heapAfterGc(server.pid, heapFile)
    const before = rssKiB(server.pid)
    const path = name === 'sala' ? '/ws' : '/'
    const config = { url: `ws://127.0.0.1:${server.port}${path}`, members: count, senders: 0, rates: [], stepMs: 0, drainMs: 0, sala: name === 'sala', tokensFile, mode: 'connections', rooms: roomCount }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const started = Date.now()
    const generator = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: generator.stdout })[Symbol.asyncIterator]()
    const ready = JSON.parse((await lines.next()).value)
    const openSeconds = (Date.now() - started) / 1000
    // Two heartbeat rounds, so the pings' cost is in the figure.
    await new Promise((resolve) => setTimeout(resolve, 11_000))
    const after = rssKiB(server.pid)
    const heapAfter = await heapAfterGc(server.pid, heapFile)
    const rssAfterGc = rssKiB(server.pid)
    generator.stdin.write('stop\n')
    await new Promise((resolve) => generator.once('exit', resolve))
    const perConnection = (bytesBefore, bytesAfter) => Number(((bytesAfter - bytesBefore) / 1024 / ready.ready).toFixed(2))
    return {
      scenario: 'connections',
      server: name,
      connections: ready.ready,
      rooms: name === 'sala' ? roomCount : 0,
      openSeconds,
      rssBeforeMiB: Math.round(before / 1024),
      rssAfterMiB: Math.round(after / 1024),
      kibPerConnection: perConnection(before * 1024, after * 1024),
      kibPerConnectionAfterGc: perConnection(before * 1024, rssAfterGc * 1024),
      heapKibPerConnection: perConnection(heapBefore.heapUsed, heapAfter.heapUsed),
      externalKibPerConnection: perConnection(heapBefore.external + heapBefore.arrayBuffers, heapAfter.external + heapAfter.arrayBuffers),
    }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    if (process.env.BENCH_HEAP_SNAPSHOT === '1') console.error(`heap snapshots kept in ${dataDir}`)
    else rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'connections') {
  const count = Number(process.env.BENCH_CONNECTIONS ?? 15000)
  for (const name of (process.env.BENCH_SERVERS ?? 'baseline,sala').split(',')) {
    const result = await connections(name, count)
    console.log(JSON.stringify(result))
    console.log(
      `${name}: ${result.connections} idle connections${result.rooms ? ` in ${result.rooms} rooms` : ''} opened in ${result.openSeconds.toFixed(1)} s; ` +
        `RSS ${result.rssBeforeMiB} -> ${result.rssAfterMiB} MiB, ${result.kibPerConnection} KiB per connection (${result.kibPerConnectionAfterGc} after a collection); ` +
        `heap ${result.heapKibPerConnection} KiB, external ${result.externalKibPerConnection} KiB per connection`,
    )
  }
  process.exit(0)
}

/** 1 and 10 concurrent 200 MiB uploads: throughput and the server's peak RSS growth. */
const uploads = async () => {
  const mebibytes = Number(process.env.BENCH_UPLOAD_MIB ?? 200)
  const bytes = mebibytes * 1024 * 1024
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-upload-'))
  // One user makes every upload: its per-user budget (quota, uploads at once, rate) must not be what is measured.
  const server = await startServer('sala', dataDir, { MAX_FILE_BYTES: String(bytes), UPLOAD_QUOTA_BYTES: String(2 ** 50), MAX_CONCURRENT_UPLOADS: '1000', UPLOAD_RATE: '1000000' })
  try {
    const [token] = await registerAll(server.port, 1)
    const results = []
    for (const [content, concurrency] of [['binary', 1], ['binary', 10], ['text', 1]]) {
      const before = rssKiB(server.pid)
      let peak = before
      const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.pid))), 50)
      const config = { url: `http://127.0.0.1:${server.port}`, token, bytes, concurrency, content }
      const [command, args] = pinned(0, [process.execPath, 'bench/uploader.mjs', JSON.stringify(config)])
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      let line = ''
      for await (const chunk of child.stdout) line += chunk
      clearInterval(sampler)
      results.push({ ...JSON.parse(line), rssGrowthMiB: Number(((peak - before) / 1024).toFixed(1)) })
      rmSync(join(dataDir, 'uploads'), { recursive: true, force: true })
      execFileSync('mkdir', ['-p', join(dataDir, 'uploads')])
    }
    return { scenario: 'upload', server: 'sala', mebibytesEach: mebibytes, results }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Many small rooms, typing, 1 message/s per user; p99 with and without 10 logins/s at a production bcrypt cost. */
const mixed = async () => {
  const users = 400
  const rooms = 40
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-mixed-'))
  const roomList = Array.from({ length: rooms }, (_, i) => `r${i}=Room ${i}`).join(',')
  // Started on both cores so the worker pool is sized as in production (two workers), then split.
  const server = await startServer('sala', dataDir, { ROOMS: roomList, BCRYPT_COST: '10', MSG_RATE: '10', MSG_BURST: '20' }, [], '0,1')
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, users)))
    pinEventLoopApart(server.pid)
    const config = { url: `ws://127.0.0.1:${server.port}/ws`, members: users, senders: 0, rates: [], stepMs: 8000, drainMs: 1000, sala: true, tokensFile, mode: 'mixed', rooms, roomSize: users / rooms }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const generator = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const results = []
    let logins
    let loginsOk = 0
    let loginsTried = 0
    for await (const line of createInterface({ input: generator.stdout })) {
      const event = JSON.parse(line)
      if (event.phase === 'logins') {
        // 10 logins a second, each a real bcrypt comparison at cost 10, on the server's worker pool.
        logins = setInterval(() => {
          const name = `bench${Math.floor(Math.random() * users)}`
          loginsTried++
          void fetch(`http://127.0.0.1:${server.port}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: name, password: 'benchmark password' }) }).then((r) => {
            if (r.status === 200) loginsOk++
          })
        }, 100)
      }
      if (event.result !== undefined) results.push(event)
    }
    clearInterval(logins)
    return { scenario: 'mixed', server: 'sala', users, rooms, results, loginsTried, loginsOk }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * Sign-up floods against logins (the hardening issue, item 2): a login's time alone, then while 40 sign-ups
 * of fresh names and 40 of a taken name arrive at once, at the production bcrypt cost. The target: a
 * concurrent login moves by at most one hash time (it waits for the jobs already running, not the queue).
 */
const signups = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-signups-'))
  const cost = process.env.BENCH_BCRYPT_COST ?? '12'
  const server = await startServer('sala', dataDir, { BCRYPT_COST: cost }, [], '0,1')
  const post = (path, body) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const timed = async (request) => {
    const started = performance.now()
    const response = await request()
    await response.arrayBuffer()
    return { ms: performance.now() - started, status: response.status }
  }
  const login = () => timed(() => post('/auth/login', { username: 'victim', password: 'the victim password' }))
  let counter = 0
  const signUp = (username) => timed(() => post('/auth/register', { name: 'Flood', username, email: `${username}-${counter++}@example.com`, password: 'flood password' }))
  try {
    if ((await post('/auth/register', { name: 'Victim', username: 'victim', email: 'victim@example.com', password: 'the victim password' })).status !== 201) throw new Error('victim sign-up failed')
    const alone = []
    for (let i = 0; i < 7; i++) alone.push((await login()).ms)
    const floods = { fresh: () => `fresh${counter++}`, taken: () => 'victim' }
    const results = { aloneMs: alone.map((ms) => Math.round(ms)) }
    for (const [kind, name] of Object.entries(floods)) {
      const during = []
      const statuses = {}
      for (let round = 0; round < 5; round++) {
        const flood = Array.from({ length: 40 }, () => signUp(name()))
        // The login arrives just after the flood, behind it in every queue but the pool's.
        await new Promise((resolve) => setTimeout(resolve, 20))
        during.push((await login()).ms)
        for (const { status } of await Promise.all(flood)) statuses[status] = (statuses[status] ?? 0) + 1
      }
      results[kind] = { loginMs: during.map((ms) => Math.round(ms)), signUpStatuses: statuses }
    }
    return { scenario: 'signups', server: 'sala', bcryptCost: Number(cost), ...results }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'signups') {
  const result = await signups()
  console.log(JSON.stringify(result))
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const hash = median(result.aloneMs)
  console.log(`\nsign-up floods at bcrypt cost ${result.bcryptCost}: a login alone takes ${hash} ms (median; one hash time)`)
  for (const kind of ['fresh', 'taken']) {
    const during = median(result[kind].loginMs)
    console.log(`  40 ${kind} sign-ups at once: login ${during} ms median (rounds ${result[kind].loginMs.join(', ')}), +${during - hash} ms = ${((during - hash) / hash).toFixed(2)} hash times (target <= 1); sign-ups answered ${JSON.stringify(result[kind].signUpStatuses)}`)
  }
  process.exit(0)
}

if (process.argv[2] === 'mixed') {
  const result = await mixed()
  console.log(JSON.stringify(result))
  for (const r of result.results) console.log(`mixed (${result.users} users, ${result.rooms} rooms), ${r.result}: ${r.messagesPerSec} msg/s, reach ${(r.delivered * 100).toFixed(1)}%, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms`)
  console.log(`logins during the second phase: ${result.loginsOk} of ${result.loginsTried} answered 200`)
  process.exit(0)
}

if (process.argv[2] === 'upload') {
  const result = await uploads()
  console.log(JSON.stringify(result))
  for (const r of result.results) console.log(`upload ${r.content} x${r.concurrency} (${result.mebibytesEach} MiB each): ${r.megabytesPerSecond} MB/s, ${r.seconds} s, server RSS peak growth ${r.rssGrowthMiB} MiB`)
  process.exit(0)
}

// node bench/run.mjs cluster: the room's members split evenly over 2 Sala processes (PostgreSQL + Redis)
// beside 1 process on PostgreSQL, alternated for BENCH_REPEATS rounds, at fixed rates. CPU per delivery
// counts every Sala process and the Redis server; the target (issue 15): at most 1.3x one process's, and
// at most 10 ms more p99 at 20,000 deliveries/s. Redis is the machine's (BENCH_REDIS_URL), alone with us.
const redisPid = () => {
  try {
    const info = execFileSync('redis-cli', ['-u', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', 'info', 'server'], { encoding: 'utf8' })
    return Number(/process_id:(\d+)/.exec(info)?.[1])
  } catch {
    return undefined
  }
}
const clusterRound = async (processes) => {
  const database = benchDatabase()
  if (database === undefined) throw new Error('cluster: psql cannot reach BENCH_POSTGRES_URL')
  const dirs = Array.from({ length: processes }, () => mkdtempSync(join(tmpdir(), 'sala-bench-cluster-')))
  const env = {
    DATABASE_URL: database.url,
    SESSION_SECRET: 'a benchmark secret of at least 32 characters',
    ...(processes > 1 ? { REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: `sala-bench-${process.pid}-${Date.now()}:` } : {}),
  }
  const servers = []
  try {
    // Started one after the other: migrations run once, and the second finds the schema.
    for (const dir of dirs) servers.push(await startServer('sala', dir, env))
    const tokensFile = join(dirs[0], 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await registerAll(servers[0].port, MEMBERS)))
    const rates = (process.env.BENCH_CLUSTER_RATES ?? '20,50,100,200').split(',').map(Number)
    const urls = servers.map((server) => `ws://127.0.0.1:${server.port}/ws`)
    const config = { url: urls[0], urls, members: MEMBERS, senders: SENDERS, rates, stepMs: STEP_MS, drainMs: 1000, sala: true, tokensFile }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const generator = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const redis = processes > 1 ? redisPid() : undefined
    const cpu = () => servers.reduce((sum, server) => sum + cpuSeconds(server.pid), 0) + (redis === undefined ? 0 : cpuSeconds(redis))
    const steps = []
    let cpuAtStart = 0
    for await (const line of createInterface({ input: generator.stdout })) {
      const event = JSON.parse(line)
      if (event.stepStart !== undefined) cpuAtStart = cpu()
      if (event.stepSent !== undefined) steps.push({ cpu: cpu() - cpuAtStart })
      if (event.rate !== undefined) {
        const step = steps.at(-1)
        Object.assign(step, event, { cpuMicrosPerDelivery: Number(((step.cpu * 1e6) / Math.max(1, event.delivered * event.offeredDeliveriesPerSec * event.seconds)).toFixed(3)) })
      }
    }
    return { processes, steps }
  } finally {
    for (const server of servers) {
      server.child.kill('SIGTERM')
      await new Promise((resolve) => server.child.once('exit', resolve))
    }
    database.drop()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

// node bench/run.mjs presence: one room filled at once, on one process and over two (bench/presence.mjs).
if (process.argv[2] === 'presence') {
  await (await import('./presence.mjs')).presence()
  process.exit(0)
}

if (process.argv[2] === 'cluster') {
  const rounds = []
  for (let round = 0; round < Number(process.env.BENCH_REPEATS ?? 3); round++) {
    for (const processes of [1, 2]) {
      const result = await clusterRound(processes)
      console.log(JSON.stringify({ scenario: 'cluster', round, ...result }))
      rounds.push({ round, ...result })
    }
  }
  console.log('\nround  processes  msg/s  delivered/s  reach   p50ms  p99ms  cpu µs/delivery (Sala processes + Redis)')
  for (const { round, processes, steps } of rounds) {
    for (const s of steps) console.log(`${String(round).padStart(5)}  ${String(processes).padStart(9)}  ${String(s.rate).padStart(5)}  ${String(s.deliveredPerSec).padStart(11)}  ${(s.delivered * 100).toFixed(1).padStart(5)}%  ${String(s.p50).padStart(6)} ${String(s.p99).padStart(6)}  ${s.cpuMicrosPerDelivery}`)
  }
  const at = (processes, rate) => rounds.filter((r) => r.processes === processes).map((r) => r.steps.find((s) => s.rate === rate)).filter(Boolean)
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  for (const rate of [...new Set(rounds.flatMap((r) => r.steps.map((s) => s.rate)))]) {
    const [one, two] = [at(1, rate), at(2, rate)]
    if (one.length === 0 || two.length === 0) continue
    const cpuRatio = median(two.map((s) => s.cpuMicrosPerDelivery)) / median(one.map((s) => s.cpuMicrosPerDelivery))
    const addedP99 = median(two.map((s) => s.p99)) - median(one.map((s) => s.p99))
    console.log(`at ${rate} msg/s (${rate * (MEMBERS - 1)} deliveries/s): 2 processes cost ${cpuRatio.toFixed(2)}x the CPU per delivery of 1 (target <= 1.3), p99 ${addedP99 >= 0 ? '+' : ''}${addedP99.toFixed(1)} ms (target <= +10)`)
  }
  process.exit(0)
}

// node bench/run.mjs persist [sqlite,postgres]: the engines one after the other in one run, for comparison.
if (process.argv[2] === 'persist') {
  const engines = (process.argv[3] ?? process.env.BENCH_ENGINES ?? 'sqlite').split(',')
  const results = []
  for (const engine of engines) results.push(await persist(engine))
  for (const result of results) {
    console.log(JSON.stringify(result))
    console.log(`\npersist on ${result.engine} (${result.senders} senders, each in its own room, every message committed before its ack)`)
    console.log('  offered/s  acked/s  acked  p50ms  p99ms  maxms')
    for (const [i, s] of result.steps.entries()) {
      console.log(`  ${(i === 0 ? `warm-up ${s.rate}` : String(s.rate)).padStart(9)} ${String(s.ackedPerSec).padStart(8)} ${(s.acked * 100).toFixed(1).padStart(5)}% ${String(s.p50).padStart(6)} ${String(s.p99).padStart(6)} ${String(s.max).padStart(6)}`)
    }
  }
  process.exit(0)
}

const table = (result) => {
  console.log(`\n${result.server}: saturation ${result.saturationDeliveriesPerSec.toLocaleString()} deliveries/s (offered ${result.saturationRate} msg/s into ${result.members} members)`)
  console.log('  msg/s  offered/s   delivered/s  reach    p50ms  p99ms  maxms  cpu µs/delivery')
  for (const s of result.steps) {
    console.log(
      `  ${String(s.rate).padStart(5)}  ${String(s.offeredDeliveriesPerSec).padStart(9)}  ${String(s.deliveredPerSec).padStart(12)}  ${(s.delivered * 100).toFixed(1).padStart(5)}%  ${String(s.p50).padStart(6)} ${String(s.p99).padStart(6)} ${String(s.max).padStart(6)}  ${s.cpuMicrosPerDelivery}`,
    )
  }
}

// The machine's speed drifts by ±20% between runs, so the servers take turns (baseline, limit, Sala,
// baseline, ...) for BENCH_REPEATS rounds and the figures quoted are medians.
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const SERVERS = (process.env.BENCH_SERVERS ?? 'baseline,limit,sala').split(',')
const runs = Object.fromEntries(SERVERS.map((name) => [name, []]))
for (let round = 0; round < REPEATS; round++) {
  for (const name of SERVERS) {
    const result = await fanout(name)
    runs[name].push(result)
    console.log(JSON.stringify({ scenario: 'fanout', round, ...result }))
  }
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
const cpuAt20k = (result) => result.steps.find((s) => s.offeredDeliveriesPerSec >= 19_000 && s.offeredDeliveriesPerSec <= 21_000)?.cpuMicrosPerDelivery
const summary = Object.fromEntries(
  SERVERS.map((name) => {
    const saturations = runs[name].map((r) => r.saturationDeliveriesPerSec)
    const cpus = runs[name].map(cpuAt20k).filter((c) => c !== undefined)
    return [name, { saturations, medianSaturation: median(saturations), cpuAt20k: cpus, medianCpuAt20k: cpus.length > 0 ? median(cpus) : undefined }]
  }),
)
for (const name of SERVERS) for (const result of runs[name]) table(result)
console.log(JSON.stringify({ scenario: 'fanout-summary', repeats: REPEATS, summary }))
console.log('\nmedians over', REPEATS, 'alternated rounds:')
for (const name of SERVERS) {
  const { saturations, medianSaturation, medianCpuAt20k } = summary[name]
  console.log(`  ${name.padEnd(8)} saturation ${medianSaturation.toLocaleString()} deliveries/s (rounds: ${saturations.map((v) => v.toLocaleString()).join(', ')}); CPU at 20k/s ${medianCpuAt20k ?? '-'} µs per delivery`)
}
if (summary.sala && summary.baseline && summary.limit) {
  const sala = summary.sala.medianSaturation
  const vsBaseline = sala / Math.max(1, summary.baseline.medianSaturation)
  const vsLimit = (100 * sala) / Math.max(1, summary.limit.medianSaturation)
  const cpuRatio = summary.sala.medianCpuAt20k / summary.baseline.medianCpuAt20k
  console.log(
    `\nSala vs baseline: ${vsBaseline.toFixed(1)}x (target >= 10x); Sala vs limit: ${vsLimit.toFixed(0)}% (target >= 70%); ` +
      `CPU per delivery at 20k/s: ${(100 * cpuRatio).toFixed(0)}% of the baseline's (target <= 60%)`,
  )
}
if (summary.sala && summary['sala-postgres']) {
  // Issue 14: the fan-out on PostgreSQL stays within 10% of SQLite's, round by round and on the median.
  // A round where either found no saturation (its first step already missed) says nothing about the ratio.
  const rounds = summary.sala.saturations.map((sqlite, i) => {
    const postgres = summary['sala-postgres'].saturations[i]
    return sqlite === 0 || postgres === 0 ? 'n/a' : `${((100 * postgres) / sqlite).toFixed(0)}%`
  })
  const cpu = (summary['sala-postgres'].medianCpuAt20k / summary.sala.medianCpuAt20k).toFixed(2)
  const ratio = (100 * summary['sala-postgres'].medianSaturation) / Math.max(1, summary.sala.medianSaturation)
  console.log(`\nSala on PostgreSQL vs on SQLite: ${ratio.toFixed(0)}% of the saturation (target >= 90%; rounds: ${rounds.join(', ')}); CPU per delivery at 20k/s ${cpu}x`)
}
