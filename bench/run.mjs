// npm run bench [-- fanout]   Prints one JSON line per server and a table, Sala's figures also as ratios
// to the naive baseline and the coalescing "limit" server measured in the same run with the same generator.
// Servers run on core 1 and the generator on core 0 (taskset), so they do not fight over one core.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000)
const SENDERS = 10
const RATES = (process.env.BENCH_RATES ?? '20,50,100,200,400,800,1200,1600,2400').split(',').map(Number)
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 2000)
const pinned = (core, args) => (hasTaskset() ? ['taskset', ['-c', String(core), ...args]] : [args[0], args.slice(1)])
function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** utime + stime of a process, in seconds (clock ticks are 100 Hz on Linux). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const startServer = (name, dataDir, extraEnv = {}) =>
  new Promise((resolve, reject) => {
    const script = name === 'sala' ? 'dist/src/shell/main.js' : `bench/servers/${name}.mjs`
    const env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      // info: the orchestrator reads the port from the "sala listening" line (and keeps draining stdout).
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      UPLOAD_DIR: join(dataDir, 'uploads'),
      BCRYPT_COST: '4',
      // One sender stands for many users: per-user rate limits would cap the offered rate.
      MSG_RATE: '10000',
      MSG_BURST: '100000',
      MAX_CONNECTIONS_PER_USER: '10',
      ...extraEnv,
    }
    // BENCH_PROFILE=1 writes a V8 CPU profile of Sala to bench/profiles when it stops.
    const profile = name === 'sala' && process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : []
    const [command, args] = pinned(1, [process.execPath, ...profile, script])
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
    createInterface({ input: child.stdout }).on('line', (line) => {
      const port = JSON.parse(line).listening ?? (line.includes('sala listening') ? Number(/:(\d+)"/.exec(line)[1]) : undefined)
      if (port !== undefined) resolve({ child, port, pid: child.pid })
    })
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}`)))
  })

const registerAll = async (port, count) => {
  const tokens = []
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
        const name = `bench${i + j}`
        const body = JSON.stringify({ name, username: name, email: `${name}@example.com`, password: 'benchmark password' })
        const response = await fetch(`http://127.0.0.1:${port}/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
        return (await response.json()).token
      }),
    )
    tokens.push(...batch)
  }
  return tokens
}

const fanout = async (name) => {
  const dataDir = mkdtempSync(join(tmpdir(), `sala-bench-${name}-`))
  const server = await startServer(name, dataDir)
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    if (name === 'sala') writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, MEMBERS)))
    const path = name === 'sala' ? '/ws' : '/'
    const config = { url: `ws://127.0.0.1:${server.port}${path}`, members: MEMBERS, senders: SENDERS, rates: RATES, stepMs: STEP_MS, drainMs: 1000, sala: name === 'sala', tokensFile }
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
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Sustained messages into one room, every one acknowledged only after its commit: acked/s and ack latency. */
const persist = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-persist-'))
  const senders = 50
  const rooms = Array.from({ length: senders }, (_, i) => `r${i}=Room ${i}`).join(',')
  const server = await startServer('sala', dataDir, { ROOMS: rooms })
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, senders)))
    const rates = (process.env.BENCH_PERSIST_RATES ?? '2000,5000,10000,15000,20000,30000').split(',').map(Number)
    const config = { url: `ws://127.0.0.1:${server.port}/ws`, members: senders, senders, rates, stepMs: STEP_MS, drainMs: 1000, sala: true, tokensFile, mode: 'persist' }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const generator = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const steps = []
    for await (const line of createInterface({ input: generator.stdout })) {
      const event = JSON.parse(line)
      if (event.ackedPerSec !== undefined) steps.push(event)
    }
    return { scenario: 'persist', server: 'sala', senders, steps }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

/** N idle sockets (one user each for Sala, joined to rooms, heartbeats on): server RSS per connection. */
const connections = async (name, count) => {
  const dataDir = mkdtempSync(join(tmpdir(), `sala-bench-conn-${name}-`))
  const server = await startServer(name, dataDir, { HEARTBEAT_MS: '5000', LOG_LEVEL: 'info' })
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    if (name === 'sala') writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, count)))
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const before = rssKiB(server.pid)
    const path = name === 'sala' ? '/ws' : '/'
    const config = { url: `ws://127.0.0.1:${server.port}${path}`, members: count, senders: 0, rates: [], stepMs: 0, drainMs: 0, sala: name === 'sala', tokensFile, mode: 'connections' }
    const [command, args] = pinned(0, [process.execPath, 'bench/generator.mjs', JSON.stringify(config)])
    const started = Date.now()
    const generator = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: generator.stdout })[Symbol.asyncIterator]()
    const ready = JSON.parse((await lines.next()).value)
    const openSeconds = (Date.now() - started) / 1000
    // Two heartbeat rounds, so the pings' cost is in the figure.
    await new Promise((resolve) => setTimeout(resolve, 11_000))
    const after = rssKiB(server.pid)
    generator.stdin.write('stop\n')
    await new Promise((resolve) => generator.once('exit', resolve))
    return { scenario: 'connections', server: name, connections: ready.ready, openSeconds, rssBeforeMiB: Math.round(before / 1024), rssAfterMiB: Math.round(after / 1024), kibPerConnection: Number(((after - before) / ready.ready).toFixed(2)) }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'connections') {
  const count = Number(process.env.BENCH_CONNECTIONS ?? 15000)
  for (const name of (process.env.BENCH_SERVERS ?? 'baseline,sala').split(',')) {
    const result = await connections(name, count)
    console.log(JSON.stringify(result))
    console.log(`${name}: ${result.connections} idle connections opened in ${result.openSeconds.toFixed(1)} s; RSS ${result.rssBeforeMiB} -> ${result.rssAfterMiB} MiB, ${result.kibPerConnection} KiB per connection`)
  }
  process.exit(0)
}

/** 1 and 10 concurrent 200 MiB uploads: throughput and the server's peak RSS growth. */
const uploads = async () => {
  const bytes = 200 * 1024 * 1024
  const dataDir = mkdtempSync(join(tmpdir(), 'sala-bench-upload-'))
  const server = await startServer('sala', dataDir, { MAX_FILE_BYTES: String(bytes) })
  try {
    const [token] = await registerAll(server.port, 1)
    const results = []
    for (const concurrency of [1, 10]) {
      const before = rssKiB(server.pid)
      let peak = before
      const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.pid))), 50)
      const config = { url: `http://127.0.0.1:${server.port}`, token, bytes, concurrency }
      const [command, args] = pinned(0, [process.execPath, 'bench/uploader.mjs', JSON.stringify(config)])
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      let line = ''
      for await (const chunk of child.stdout) line += chunk
      clearInterval(sampler)
      results.push({ ...JSON.parse(line), rssGrowthMiB: Number(((peak - before) / 1024).toFixed(1)) })
      rmSync(join(dataDir, 'uploads'), { recursive: true, force: true })
      execFileSync('mkdir', ['-p', join(dataDir, 'uploads')])
    }
    return { scenario: 'upload', server: 'sala', megabytesEach: 209.7, results }
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
  const server = await startServer('sala', dataDir, { ROOMS: roomList, BCRYPT_COST: '10', MSG_RATE: '10', MSG_BURST: '20' })
  try {
    const tokensFile = join(dataDir, 'tokens.json')
    writeFileSync(tokensFile, JSON.stringify(await registerAll(server.port, users)))
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
  for (const r of result.results) console.log(`upload x${r.concurrency} (200 MiB each): ${r.megabytesPerSecond} MB/s, ${r.seconds} s, server RSS peak growth ${r.rssGrowthMiB} MiB`)
  process.exit(0)
}

if (process.argv[2] === 'persist') {
  const result = await persist()
  console.log(JSON.stringify(result))
  console.log(`\npersist (${result.senders} senders, each in its own room, every message committed before its ack)`)
  console.log('  offered/s  acked/s  acked  p50ms  p99ms  maxms')
  for (const s of result.steps) {
    console.log(`  ${String(s.rate).padStart(9)} ${String(s.ackedPerSec).padStart(8)} ${(s.acked * 100).toFixed(1).padStart(5)}% ${String(s.p50).padStart(6)} ${String(s.p99).padStart(6)} ${String(s.max).padStart(6)}`)
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

const results = {}
const SERVERS = (process.env.BENCH_SERVERS ?? 'baseline,limit,sala').split(',')
for (const name of SERVERS) {
  results[name] = await fanout(name)
  console.log(JSON.stringify({ scenario: 'fanout', ...results[name] }))
}
for (const result of Object.values(results)) table(result)
if (results.sala === undefined || results.baseline === undefined || results.limit === undefined) process.exit(0)
const sala = results.sala.saturationDeliveriesPerSec
console.log(
  `\nSala vs baseline: ${(sala / Math.max(1, results.baseline.saturationDeliveriesPerSec)).toFixed(1)}x; ` +
    `Sala vs limit: ${((100 * sala) / Math.max(1, results.limit.saturationDeliveriesPerSec)).toFixed(0)}% (targets: >= 10x, >= 70%)`,
)
