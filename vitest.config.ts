import { execFileSync } from 'node:child_process'
import { defineConfig } from 'vitest/config'

// The integration and abuse suites run a second time with every test server on PostgreSQL (each on a
// database of its own) when one answers on 127.0.0.1:5432, or when it is required (CI), so both engines
// serve the whole chat. Files that break SQLite on purpose (a locked or deleted file, a full disk under
// DATA_DIR) are SQLite's own; the contract suite and test/postgres cover PostgreSQL's faults.
const postgresRequired = process.env['SALA_REQUIRE_POSTGRES'] === '1' || process.env['CI'] === 'true'
const postgresAnswers = (): boolean => {
  try {
    execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432'], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}
const onPostgres = postgresRequired || postgresAnswers()
if (!onPostgres) console.log('Skipping the integration suite on PostgreSQL: nothing answers on 127.0.0.1:5432 (set SALA_REQUIRE_POSTGRES=1 to require it).')
const SQLITE_ONLY = [
  'test/integration/storage-failures.test.ts',
  'test/integration/failed-writes.test.ts',
  'test/integration/readiness.test.ts',
  'test/integration/startup.test.ts',
  'test/integration/start-script.test.ts',
  'test/integration/runtime-stage.test.ts',
]

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
      ...(onPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'sala-postgres',
                include: ['test/integration/**/*.test.ts', 'test/abuse/**/*.test.ts'],
                exclude: SQLITE_ONLY,
                env: { SALA_TEST_ENGINE: 'postgres' },
              },
            },
          ]
        : []),
      {
        // A later group: starts once every file of the first has finished, so it sees all their traffic.
        extends: true,
        test: { name: 'published-contract', include: ['test/captured-traffic.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
})
