import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Integration tests start real servers with bcrypt workers; two cores are all CI has.
    maxWorkers: 2,
    // Memory tests collect garbage before measuring what is retained.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'sala',
          include: ['test/**/*.test.ts'],
          exclude: ['test/captured-traffic.test.ts'],
          // Records what the test servers send (test/capture), into a folder made for this run.
          globalSetup: ['test/capture/global-setup.ts'],
          setupFiles: ['test/capture/setup.ts'],
        },
      },
      {
        // A later group: starts once every file of the first has finished, so it sees all their traffic.
        extends: true,
        test: { name: 'published-contract', include: ['test/captured-traffic.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
})
