// Preloaded into a server by `bench/run.mjs connections` (with --expose-gc): on SIGUSR2 it collects
// garbage and writes the process's memory figures to BENCH_HEAP_FILE, so the benchmark reports what the
// connections retain rather than the heap's high-water mark. With BENCH_HEAP_SNAPSHOT=1 it also writes a
// heap snapshot beside that file (for `node bench/heap-diff.mjs`). Benchmark instrumentation, not Sala.
const { writeFileSync } = require('node:fs')
const v8 = require('node:v8')

let taken = 0
process.on('SIGUSR2', () => {
  globalThis.gc()
  globalThis.gc()
  if (process.env.BENCH_HEAP_SNAPSHOT === '1') v8.writeHeapSnapshot(`${process.env.BENCH_HEAP_FILE}.${taken++}.heapsnapshot`)
  writeFileSync(process.env.BENCH_HEAP_FILE, JSON.stringify(process.memoryUsage()))
})
