// `npm start`: read `.env` (the real environment wins), check the settings before anything else, build
// only when something the build reads has changed since the last build, then run the server in this
// process (so signals reach it directly).
//
// Why not `prestart: npm run build`: that rebuilt for 17-34 s on every start, and a typo in a setting was
// reported only after the build. The settings decoder is the server's own (src/core/config.ts), bundled on
// the fly by esbuild, so the check is the same whether or not dist/ is up to date.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { ENTRY, isFresh, root } from './build-stamp.mjs'

/** `.env` in the folder npm start runs in, if there is one; variables already set are kept. */
const loadEnvFile = () => {
  if (existsSync('.env')) process.loadEnvFile('.env')
}

/** The problems the server would refuse to start with, one sentence each, or none. */
const settingsProblems = async () => {
  const bundled = await build({
    entryPoints: [join(root, 'src', 'core', 'config.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'error',
  })
  const dir = join(root, 'node_modules', '.cache', 'sala')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'config-check.mjs')
  writeFileSync(file, bundled.outputFiles[0].contents)
  const { decodeConfig } = await import(pathToFileURL(file).href)
  const decoded = decodeConfig(process.env)
  return decoded._tag === 'Left' ? decoded.left : []
}

loadEnvFile()
const problems = await settingsProblems()
if (problems.length > 0) {
  process.stderr.write(`Sala cannot start; fix these settings:\n${problems.map((problem) => `  - ${problem}\n`).join('')}`)
  process.exit(1)
}
if (!isFresh()) {
  // The build's postbuild step stamps dist/ with what it was built from.
  process.stderr.write('Building (the sources changed since the last build)...\n')
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  if (built.status !== 0) process.exit(built.status ?? 1)
}
await import(pathToFileURL(ENTRY).href)
