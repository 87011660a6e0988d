// What dist/ was built from: a hash of every file the build reads. `npm run build` writes it (postbuild);
// `npm start` compares it to skip a build when nothing changed. Run directly, it writes the stamp.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// Exactly what the build reads: docs/ holds the guide and screenshots too, which tests rewrite, so only the
// docs template is named. (src/client/api-types.ts is written by the build before the stamp is taken.)
const BUILD_INPUTS = ['src', 'docs/redoc.hbs', 'scripts', 'openapi.yaml', 'asyncapi.yaml', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.client.json']
const STAMP = join(root, 'dist', '.build-inputs')
export const ENTRY = join(root, 'dist', 'src', 'shell', 'main.js')

const filesUnder = (path) => {
  if (!existsSync(path)) return []
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => filesUnder(join(path, entry.name)))
}

/** A hash of every build input's path and content: cheap (well under a second) and blind to mtimes. */
export const inputsHash = () => {
  const hash = createHash('sha256')
  for (const file of BUILD_INPUTS.flatMap((input) => filesUnder(join(root, input)))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0')
  }
  return hash.digest('hex')
}

/** Whether dist/ holds a build of exactly the sources there are now. */
export const isFresh = () => existsSync(ENTRY) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === inputsHash()

export const writeStamp = () => writeFileSync(STAMP, inputsHash())

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) writeStamp()
