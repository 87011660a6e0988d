// Generates src/client/api-types.ts from openapi.yaml with openapi-typescript, so the web client's HTTP
// calls are typed by the very spec we publish: a route or schema the spec gets wrong breaks the client's
// type check. The file is committed (a fresh clone type-checks before any build, and a spec change shows
// up in review as a type change); `npm run build` regenerates it, and `--check` (run by the tests) fails
// when it no longer matches openapi.yaml.
//
//   node scripts/build-api-types.mjs           write src/client/api-types.ts
//   node scripts/build-api-types.mjs --check   exit 1 if it is out of date
import openapiTS, { astToString } from 'openapi-typescript'
import { readFile, writeFile } from 'node:fs/promises'

const spec = new URL('../openapi.yaml', import.meta.url)
const target = new URL('../src/client/api-types.ts', import.meta.url)
const header = `// Generated from openapi.yaml by scripts/build-api-types.mjs (openapi-typescript). Do not edit:
// change openapi.yaml and run \`npm run build:api-types\`.
`

// Not `immutable`: openapi-fetch 0.17 turns readonly arrays into array-like objects without methods
// (openapi-ts/openapi-typescript#2615); api.ts hands out readonly results anyway.
const generated = header + astToString(await openapiTS(spec, { silent: true }))
const current = await readFile(target, 'utf8').catch(() => '')

if (process.argv.includes('--check')) {
  if (current !== generated) {
    console.error('src/client/api-types.ts is out of date with openapi.yaml: run `npm run build:api-types` and commit it.')
    process.exit(1)
  }
} else if (current !== generated) {
  await writeFile(target, generated)
  console.log('api types: src/client/api-types.ts regenerated from openapi.yaml')
}
