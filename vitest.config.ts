import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers with bcrypt workers; two cores are all CI has.
    maxWorkers: 2,
    // Memory tests collect garbage before measuring what is retained.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
