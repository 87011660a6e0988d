import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { parse } from 'yaml'
import type { Logger } from '../../adapters/logger.js'
import type { Handler, Reply, RouteTable } from '../http/reply.js'
import { httpError } from '../http/respond.js'
import { PAGE_STYLE, renderAsyncApiPage } from './asyncapi-page.js'

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** Inline scripts and styles are allowed by their hashes only: nothing injected could run. */
const inlineHashes = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))].map((match) => sha256(match[1] ?? ''))

const htmlReply = (html: string, csp: string): Reply => ({
  status: 200,
  text: html,
  headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp, 'Cache-Control': 'no-cache' },
})

/**
 * `/docs` (Redoc, built by `npm run build` into dist/docs with Redocly CLI, see scripts/build-docs.mjs),
 * `/docs/asyncapi` (rendered here from the spec), and both raw specs. Read once at start-up; the files
 * never change while the server runs.
 */
export const createDocsRoutes = async (root: string, log: Logger): Promise<RouteTable> => {
  const [openapi, asyncapi] = await Promise.all([readFile(join(root, 'openapi.yaml'), 'utf8'), readFile(join(root, 'asyncapi.yaml'), 'utf8')])
  const redoc = await readFile(join(root, 'dist', 'docs', 'openapi.html'), 'utf8').catch(() => {
    log.warn('dist/docs/openapi.html is missing: run `npm run build` to build the HTTP API docs')
    return undefined
  })
  const asyncapiPage = renderAsyncApiPage(parse(asyncapi) as Parameters<typeof renderAsyncApiPage>[0])

  const redocCsp =
    redoc === undefined
      ? ''
      : [
          "default-src 'none'",
          `script-src ${inlineHashes(redoc, 'script').join(' ')}`,
          // Redoc's styled-components writes style elements at run time, so styles cannot be hash-pinned.
          "style-src 'unsafe-inline'",
          "img-src 'self' data:",
          "font-src 'self' data:",
          "connect-src 'self'",
          // No worker-src: Redoc's search first tries to build a worker from a string, which script-src
          // refuses (one reported violation), and then indexes in the page.
          "frame-ancestors 'none'",
        ].join('; ')
  const asyncapiCsp = `default-src 'none'; style-src ${sha256(PAGE_STYLE)}; frame-ancestors 'none'`

  const redocPage: Handler = () =>
    redoc === undefined
      ? TE.left(httpError(503, 'docs_not_built', 'the HTTP API docs are not built: run `npm run build`'))
      : TE.right(htmlReply(redoc, redocCsp))
  const yamlFile = (text: string): Handler => () =>
    TE.right({ status: 200, text, headers: { 'Content-Type': 'application/yaml; charset=utf-8', 'Cache-Control': 'no-cache' } })

  return {
    '/docs': { GET: redocPage },
    '/docs/asyncapi': { GET: () => TE.right(htmlReply(asyncapiPage, asyncapiCsp)) },
    '/openapi.yaml': { GET: yamlFile(openapi) },
    '/asyncapi.yaml': { GET: yamlFile(asyncapi) },
  }
}
