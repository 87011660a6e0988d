// Preloaded into a server by `bench/run.mjs connections` and `presence` (with --expose-gc): on SIGUSR2 it
// collects garbage and writes the process's memory figures to BENCH_HEAP_FILE, so the benchmark reports
// what the connections retain rather than the heap's high-water mark, with `loopDelayMaxMs`: the longest
// the event loop was held (ms, to 20 ms) since the previous SIGUSR2. With BENCH_HEAP_SNAPSHOT=1 it also
// writes a heap snapshot beside that file (for `node bench/heap-diff.mjs`). Benchmark instrumentation, not Sala.
const { writeFileSync } = require('node:fs')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const v8 = require('node:v8')

const delay = monitorEventLoopDelay({ resolution: 20 })
delay.enable()
let taken = 0
process.on('SIGUSR2', () => {
  const loopDelayMaxMs = Math.round(delay.max / 1e6)
  globalThis.gc()
  globalThis.gc()
  if (process.env.BENCH_HEAP_SNAPSHOT === '1') v8.writeHeapSnapshot(`${process.env.BENCH_HEAP_FILE}.${taken++}.heapsnapshot`)
  writeFileSync(process.env.BENCH_HEAP_FILE, JSON.stringify({ ...process.memoryUsage(), loopDelayMaxMs }))
  // Later, so that the pause this collection made is not counted in the next interval.
  setTimeout(() => delay.reset(), 200).unref()
})
