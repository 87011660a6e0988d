import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as TE from 'fp-ts/lib/TaskEither.js'
import createHttpError from 'http-errors'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonLogger } from '../../src/adapters/logger.js'
import { createHttpHandlers } from '../../src/shell/http/handle-request.js'
import type { RouteTable } from '../../src/shell/http/reply.js'
import { createProxyTrust } from '../../src/shell/http/proxy.js'
import { httpError } from '../../src/shell/http/respond.js'
import { storeHttpError } from '../../src/shell/http/store-error.js'

// Which error answers are failures worth an error line (with the error and its cause), and which are the
// server's deliberate answers, recorded by the access line alone: a 503 the server chose (not ready, busy)
// is polled by load balancers and retried by clients, and must not write a stack each time.

const lines: Array<Record<string, unknown>> = []
let server: Server
let url: string

const withCode = (code: string) => Object.assign(new Error(`${code}: at /srv/sala/sala.db`), { code })

const routes: RouteTable = {
  '/not-ready': { GET: () => TE.left(httpError(503, 'not_ready', 'the server cannot serve requests right now')) },
  '/busy': { GET: () => TE.left(httpError(503, 'busy', 'too many sign-ins waiting', undefined, { 'Retry-After': '1' })) },
  '/storage-busy': { GET: () => TE.left(storeHttpError(withCode('SQLITE_BUSY'))) },
  '/storage-full': { GET: () => TE.left(storeHttpError(withCode('SQLITE_FULL'))) },
  '/bug': { GET: () => TE.left(createHttpError(500, 'boom', { code: 'internal_error' })) },
}

beforeAll(async () => {
  const log = jsonLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>))
  const http = createHttpHandlers(routes, log, createProxyTrust({ type: 'none' }))
  server = createServer(http.request)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

const get = async (path: string) => {
  const from = lines.length
  const response = await fetch(`${url}${path}`)
  await response.arrayBuffer()
  // The access line is written when the response finishes, so it is there once the body has arrived.
  const access = lines.slice(from).find((line) => line['msg'] === 'http request')
  return { status: response.status, logged: lines.slice(from).filter((line) => line['level'] === 'error'), access }
}

describe('error answers in the log', () => {
  it('a 503 the server chose has its access line and no error line, however often it is asked', async () => {
    for (const path of ['/not-ready', '/busy']) {
      for (let i = 0; i < 5; i++) {
        const answer = await get(path)
        expect(answer.status).toBe(503)
        expect(answer.logged).toEqual([])
        expect(answer.access).toMatchObject({ path, status: 503 })
      }
    }
  })

  it('a store failure and a bug are logged as errors, with the store’s code', async () => {
    for (const [path, status, code] of [['/storage-busy', 503, 'SQLITE_BUSY'], ['/storage-full', 507, 'SQLITE_FULL'], ['/bug', 500, undefined]] as const) {
      const answer = await get(path)
      expect(answer.status).toBe(status)
      expect(answer.logged).toHaveLength(1)
      if (code !== undefined) expect(JSON.stringify(answer.logged[0])).toContain(`"code":"${code}"`)
    }
  })
})
