// What the benchmark scenarios share: starting a server pinned to a core, a PostgreSQL database of the
// benchmark's own, accounts, and reading a process's CPU time and memory from /proc.
import { spawn, execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

let tasksetWorks
export const hasTaskset = () => {
  if (tasksetWorks !== undefined) return tasksetWorks
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    tasksetWorks = true
  } catch {
    tasksetWorks = false
  }
  return tasksetWorks
}

/** [command, args] running `args` pinned to `core` (a list like '0,1' too) where taskset exists. */
export const pinned = (core, args) => (hasTaskset() ? ['taskset', ['-c', String(core), ...args]] : [args[0], args.slice(1)])

/**
 * [command, args] running `command, args` with the soft limit on open files raised to the hard one first
 * (`ulimit -n`): a process holding tens of thousands of sockets needs it where the soft limit is lower.
 * The shell execs, so the process id stays the one spawned.
 */
export const withFileLimit = ([command, args]) => ['sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', command, ...args]]

/** The hard limit on open files this process (and what it spawns) can raise its soft limit to. */
export const hardFileLimit = () => {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return hard === 'unlimited' ? Infinity : Number(hard)
}

/**
 * Keeps the event loop (the main thread, whose id is the process id) alone on core 1 and moves every other
 * thread of the process (bcrypt workers, libuv's pool, V8's helpers) to core 0, beside the generator: what
 * a production machine's other cores do for the event loop.
 */
export const pinEventLoopApart = (pid) => {
  if (!hasTaskset()) return
  for (const tid of readdirSync(`/proc/${pid}/task`)) execFileSync('taskset', ['-p', '-c', Number(tid) === pid ? '1' : '0', tid], { stdio: 'ignore' })
}

/** utime + stime of a process, in seconds (clock ticks are 100 Hz on Linux). */
export const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

/**
 * Starts a server (`sala`: the build in dist/; otherwise bench/servers/<name>.mjs) on core `cores`, and
 * resolves with its child, port and pid once it listens; for Sala also `maxConnections`, the ceiling it
 * derived from its descriptor limit. `options.raiseFileLimit` raises its soft limit on open files to the
 * hard one. `options.logFile` sends its stdout (the log) to that file instead of a pipe to this process:
 * the log is written synchronously, and a pipe whose reader waits for a busy machine's scheduler blocks
 * the server in write() (a fill of 2,000 users spent 30% of its busy time there).
 */
export const startServer = (name, dataDir, extraEnv = {}, nodeFlags = [], cores = '1', options = {}) =>
  new Promise((resolve, reject) => {
    // BENCH_SALA_ROOT: another checkout's build (e.g. an earlier commit's, for a before/after comparison).
    const script = name === 'sala' ? join(process.env.BENCH_SALA_ROOT ?? '.', 'dist/src/shell/main.js') : `bench/servers/${name}.mjs`
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
      // Every simulated user signs up and connects from this one address.
      REGISTER_RATE: '1000000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      ...extraEnv,
    }
    // BENCH_PROFILE=1 writes a V8 CPU profile of Sala to bench/profiles when it stops.
    const profile = name === 'sala' && process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : []
    const pinnedCommand = pinned(cores, [process.execPath, ...nodeFlags, ...profile, script])
    const [command, args] = options.raiseFileLimit ? withFileLimit(pinnedCommand) : pinnedCommand
    const log = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'w')
    const child = spawn(command, args, { env, stdio: ['ignore', log, 'inherit'] })
    if (typeof log === 'number') closeSync(log)
    let listening = false
    const onLine = (line) => {
      if (listening) return
      if (!line.startsWith('{')) return void console.error(`${name}: ${line}`)
      const parsed = JSON.parse(line)
      const port = parsed.listening ?? (line.includes('sala listening') ? Number(/:(\d+)"/.exec(line)[1]) : undefined)
      if (port === undefined) return
      listening = true
      resolve({ child, port, pid: child.pid, maxConnections: parsed.maxConnections })
    }
    if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', onLine)
    else {
      const poll = setInterval(() => {
        for (const line of readFileSync(options.logFile, 'utf8').split('\n')) if (line.includes('listening')) onLine(line)
        if (listening || child.exitCode !== null) clearInterval(poll)
      }, 50)
    }
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}`)))
  })

/** SIGTERM, and wait until it is gone. */
export const stopServer = async (server) => {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  await new Promise((resolve) => server.child.once('exit', resolve))
}

/**
 * Signs up `count` users bench<from> … through the HTTP API and returns their session tokens, in order.
 * `concurrency` at a time: the server's queue of sign-ups waiting for a bcrypt worker is bounded (8 per
 * worker), and past it a sign-up is answered 503 busy (retried here).
 */
export const registerAll = async (port, count, { from = 0, concurrency = 8 } = {}) => {
  const tokens = []
  const register = async (name) => {
    const body = JSON.stringify({ name, username: name, email: `${name}@example.com`, password: 'benchmark password' })
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${port}/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
      if (response.status === 503) {
        await response.arrayBuffer()
        await new Promise((resolve) => setTimeout(resolve, 20))
        continue
      }
      const answer = await response.json()
      if (answer.token === undefined) throw new Error(`sign-up of ${name}: ${response.status} ${JSON.stringify(answer)}`)
      return answer.token
    }
  }
  for (let i = 0; i < count; i += concurrency) {
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => register(`bench${from + i + j}`)))))
  }
  return tokens
}

/**
 * A PostgreSQL database of the benchmark's own on BENCH_POSTGRES_URL's server (default: the machine's,
 * as user postgres), dropped afterwards; undefined when psql cannot reach it.
 */
export const benchDatabase = () => {
  const admin = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `sala_bench_${process.pid}_${Date.now()}`
  try {
    execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  const url = new URL(admin)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore' }) }
}

/** Heap figures after a full collection, from bench/heap-probe.cjs inside the server. */
export const heapAfterGc = async (pid, file) => {
  rmSync(file, { force: true })
  process.kill(pid, 'SIGUSR2')
  for (let i = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    try {
      return JSON.parse(readFileSync(file, 'utf8'))
    } catch {}
  }
  throw new Error('the heap probe did not answer')
}
