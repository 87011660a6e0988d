// `npm run migrate:sqlite-to-postgres -- --from ./data/sala.db [--to postgres://…] [--replace]`: copies
// users, sessions, messages, upload records, rooms people made and memberships (with their read markers)
// from a SQLite file into an empty PostgreSQL database (its schema is created), in one transaction, and
// checks the row counts. `--to` defaults to DATABASE_URL (from the environment or `.env`). A database that
// already holds data is refused unless --replace. Uploaded files are not copied: keep UPLOAD_DIR (mount the
// same folder) when the server moves.
//
// The command is the server's own TypeScript (src/shell/migrate-cli.ts, around the adapter's
// copy-from-sqlite.ts), bundled on the fly by esbuild as scripts/start.mjs does for the settings check, so
// no build is needed first. Where esbuild is not installed (a production install, `npm ci --omit=dev`) the
// build's copy in dist/ runs instead; the container image runs that directly:
// `node dist/src/shell/migrate-sqlite-to-postgres.js --from /data/sala.db`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { root } from './build-stamp.mjs'

const COMMAND = 'npm run migrate:sqlite-to-postgres --'
const SOURCE = join(root, 'src', 'shell', 'migrate-cli.ts')
const BUILT = join(root, 'dist', 'src', 'shell', 'migrate-cli.js')

/** esbuild, or undefined when only the production dependencies are installed. */
const esbuildIfInstalled = async () => {
  try {
    return await import('esbuild')
  } catch {
    return undefined
  }
}

/** The command's module: bundled from the sources, or the build's when esbuild is missing. */
const loadCommand = async () => {
  const esbuild = await esbuildIfInstalled()
  if (esbuild === undefined) {
    if (existsSync(BUILT)) return import(pathToFileURL(BUILT).href)
    console.error('neither esbuild (npm install) nor a build (npm run build) is here to run the copy from')
    process.exit(1)
  }
  const bundled = await esbuild.build({
    entryPoints: [SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    logLevel: 'error',
  })
  const dir = join(root, 'node_modules', '.cache', 'sala')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'migrate-cli.mjs')
  writeFileSync(file, bundled.outputFiles[0].contents)
  return import(pathToFileURL(file).href)
}

if (existsSync('.env')) process.loadEnvFile('.env')
const { runMigration } = await loadCommand()
process.exitCode = await runMigration(process.argv.slice(2), {
  command: COMMAND,
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
