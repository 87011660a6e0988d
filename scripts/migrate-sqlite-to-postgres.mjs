// `npm run migrate:sqlite-to-postgres -- --from ./data/sala.db [--to postgres://…] [--replace]`: copies
// users, sessions, messages and upload records from a SQLite file into an empty PostgreSQL database (its
// schema is created), in one transaction, and checks the row counts. `--to` defaults to DATABASE_URL (from
// the environment or `.env`). A database that already holds data is refused unless --replace. Uploaded
// files are not copied: keep UPLOAD_DIR (mount the same folder) when the server moves.
//
// The copier is the adapter's own TypeScript (src/adapters/postgres/copy-from-sqlite.ts), bundled on the
// fly by esbuild as scripts/start.mjs does for the settings check, so no build is needed first.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { root } from './build-stamp.mjs'

const usage = 'usage: npm run migrate:sqlite-to-postgres -- --from ./data/sala.db [--to postgres://user:pass@host:5432/sala] [--replace]'

const fail = (line) => {
  console.error(line)
  process.exit(1)
}

const { values } = (() => {
  try {
    return parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, replace: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
  } catch (error) {
    return fail(`${error.message}\n${usage}`)
  }
})()
if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (existsSync('.env')) process.loadEnvFile('.env')
const from = values.from ?? fail(`--from is required\n${usage}`)
if (!existsSync(from)) fail(`${from} does not exist`)
const to = values.to ?? process.env.DATABASE_URL ?? fail(`--to or DATABASE_URL is required\n${usage}`)
if (!/^postgres(ql)?:\/\//.test(to)) fail('--to (or DATABASE_URL) must be a postgres:// or postgresql:// URL')

const bundled = await build({
  entryPoints: [join(root, 'src', 'adapters', 'postgres', 'copy-from-sqlite.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  write: false,
  logLevel: 'error',
})
const dir = join(root, 'node_modules', '.cache', 'sala')
mkdirSync(dir, { recursive: true })
const file = join(dir, 'copy-from-sqlite.mjs')
writeFileSync(file, bundled.outputFiles[0].contents)
const { copySqliteToPostgres, countsLine, describeCopyProblem } = await import(pathToFileURL(file).href)

const shown = to.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
console.log(`copying ${from} into ${shown}${values.replace ? ' (replacing what is there)' : ''}`)
let lastLine = 0
const result = await copySqliteToPostgres(from, { url: to, poolSize: 2, statementTimeoutMs: 60_000 }, {
  replace: values.replace,
  progress: (table, copied) => {
    if (Date.now() - lastLine < 1000) return
    lastLine = Date.now()
    console.log(`  ${table}: ${copied}`)
  },
})
if (result._tag === 'Left') fail(`not copied: ${describeCopyProblem(result.left)}`)
console.log(`copied and checked: ${countsLine(result.right)}`)
