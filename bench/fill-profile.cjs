// Preloaded into a server by `bench/run.mjs presence` when BENCH_PROFILE=fill: a V8 CPU profile of the fill
// alone (start on the first SIGWINCH, written on the second to BENCH_PROFILE_FILE), where --cpu-prof would
// profile the whole life of the process (start-up, accounts, sockets opening). Benchmark instrumentation,
// not Sala. Read it with `node bench/profile-top.mjs <file>`.
const { Session } = require('node:inspector')
const { writeFileSync } = require('node:fs')

const session = new Session()
session.connect()
let running = false
process.on('SIGWINCH', () => {
  if (!running) {
    running = true
    // The orchestrator waits for this file before the fill starts: the profiler starts asynchronously.
    session.post('Profiler.enable', () => session.post('Profiler.start', () => writeFileSync(`${process.env.BENCH_PROFILE_FILE}.started`, '')))
    return
  }
  running = false
  session.post('Profiler.stop', (error, result) => {
    if (error === null) writeFileSync(process.env.BENCH_PROFILE_FILE, JSON.stringify(result.profile))
  })
})
