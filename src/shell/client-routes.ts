import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { Logger } from '../adapters/logger.js'
import type { Handler, RouteTable } from './http/reply.js'
import { httpError } from './http/respond.js'

// The page runs only the bundled script from this origin: no inline script, no other host, so user text
// that slipped into the DOM as HTML still could not run.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/** `/` and `/assets/{name}`: the web client built by `npm run build` into dist/client, read once at start-up. */
export const createClientRoutes = async (root: string, log: Logger): Promise<RouteTable> => {
  const dir = join(root, 'dist', 'client')
  const page = await readFile(join(dir, 'index.html'), 'utf8').catch(() => undefined)
  if (page === undefined) log.warn('dist/client is missing: run `npm run build` to build the web client')
  const assets = new Map<string, { readonly text: string; readonly type: string }>()
  for (const name of await readdir(join(dir, 'assets')).catch(() => [])) {
    const type = TYPES[extname(name)]
    if (type !== undefined) assets.set(name, { text: await readFile(join(dir, 'assets', name), 'utf8'), type })
  }

  const index: Handler = () =>
    page === undefined
      ? TE.left(httpError(503, 'client_not_built', 'the web client is not built: run `npm run build`'))
      : TE.right({
          status: 200,
          text: page,
          // Revalidated on every load, so a deploy's new asset names are picked up at once.
          headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-cache' },
        })

  const asset: Handler = (_req, params) => {
    const found = assets.get(params['name'] ?? '')
    if (found === undefined) return TE.left(httpError(404, 'not_found', 'no such asset'))
    // Asset names carry a hash of their content, so they can be cached for ever.
    return TE.right({ status: 200, text: found.text, headers: { 'Content-Type': found.type, 'Cache-Control': 'public, max-age=31536000, immutable' } })
  }

  return { '/': { GET: index }, '/assets/{name}': { GET: asset } }
}
