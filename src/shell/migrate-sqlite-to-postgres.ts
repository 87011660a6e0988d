// `node dist/src/shell/migrate-sqlite-to-postgres.js --from /data/sala.db [--to postgres://…] [--replace]`:
// the copy from SQLite into PostgreSQL where only the build is installed, as in the container image
// (`docker compose run --rm sala node dist/src/shell/migrate-sqlite-to-postgres.js --from /data/sala.db`).
// In a checkout, `npm run migrate:sqlite-to-postgres` runs the same command from the sources.
import { existsSync } from 'node:fs'
import { runMigration } from './migrate-cli.js'

// Like `npm start`: a `.env` in the working folder, if any, under the variables already set.
if (existsSync('.env')) process.loadEnvFile('.env')

process.exitCode = await runMigration(process.argv.slice(2), {
  command: 'node dist/src/shell/migrate-sqlite-to-postgres.js',
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
