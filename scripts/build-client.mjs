// Bundles the web client into dist/client: content-hashed assets (cached for ever) and an index.html
// that names them (revalidated on every load). No inline script or style, so the page's CSP can be strict.
import { build } from 'esbuild'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'

const out = 'dist/client'
await rm(out, { recursive: true, force: true })
const result = await build({
  entryPoints: { app: 'src/client/main.ts', style: 'src/client/style.css' },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outdir: `${out}/assets`,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
})
const outputs = Object.keys(result.metafile.outputs).filter((file) => !file.endsWith('.map'))
const js = outputs.find((file) => file.endsWith('.js'))
const css = outputs.find((file) => file.endsWith('.css'))
if (js === undefined || css === undefined) throw new Error(`unexpected esbuild outputs: ${outputs.join(', ')}`)
const template = await readFile('src/client/index.html', 'utf8')
await mkdir(out, { recursive: true })
await writeFile(`${out}/index.html`, template.replace('{{js}}', `/assets/${basename(js)}`).replace('{{css}}', `/assets/${basename(css)}`))
console.log(`client: ${basename(js)}, ${basename(css)}`)
