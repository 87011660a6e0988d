import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import * as E from 'fp-ts/lib/Either.js'
import type { HttpError } from 'http-errors'
import type { Logger } from '../../adapters/logger.js'
import { pipeline } from 'node:stream/promises'
import type { Handler, Method, PathParams, Reply, RouteTable } from './reply.js'
import { createAccessLog, type AccessLog, type Tracked } from './access-log.js'
import { closeAfterResponse } from './linger.js'
import type { ProxyTrust } from './proxy.js'
import { httpError, sendEmpty, sendError, sendHead, sendJson } from './respond.js'

const METHODS: ReadonlySet<string> = new Set<Method>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const isMethod = (method: string | undefined): method is Method => method !== undefined && METHODS.has(method)

export interface HttpHandlers {
  /** The server's 'request' listener. */
  readonly request: (req: IncomingMessage, res: ServerResponse) => void
  /** The server's 'clientError' listener: timeouts and malformed requests, answered and logged. */
  readonly clientError: (error: Error & { readonly code?: string }, socket: Duplex) => void
}

/**
 * Every request gets one access log line, the ones that never finish included (a client that goes away,
 * a timeout, a malformed body), naming the client as `proxy` works it out: see `createAccessLog`.
 */
export const createHttpHandlers = (routes: RouteTable, log: Logger, proxy: Pick<ProxyTrust, 'clientAddress'>): HttpHandlers => {
  const access = createAccessLog(log, proxy)
  return { request: createRequestHandler(routes, log, access), clientError: access.clientError }
}

/**
 * Routes one request and writes one response, whatever happens: a handler's error value becomes its JSON
 * error, a bug becomes a 500 that is logged, and every request gets one access log line.
 */
export const createRequestHandler =
  (routes: RouteTable, log: Logger, access: AccessLog) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = randomUUID()
    const path = pathOf(req.url)
    res.setHeader('X-Request-Id', requestId)
    const tracked = access.track(req, res, { requestId, path })
    void route(routes, req, path)
      .then((outcome) => {
        if (E.isRight(outcome)) return reply(req, res, outcome.right, log, tracked)
        if (isFailure(outcome.left)) log.error('request failed', { requestId, err: outcome.left })
        // The rest of a refused body is not read: close the connection (gently) instead of draining it.
        const headers = req.complete ? {} : { Connection: 'close' }
        if (!req.complete) closeAfterResponse(req, res)
        sendError(res, outcome.left, headers)
      })
      .catch((error: unknown) => {
        log.error('request handler crashed', { requestId, err: error })
        if (!res.headersSent) return sendError(res, httpError(500, 'internal_error', 'unexpected error'))
        tracked.endedBy('server_error')
        res.destroy()
      })
  }

/**
 * Whether an error answer is a failure worth an error line (with its stack and cause) beside the access
 * line. A 503 the server chose and that stands on its own (not ready, hashing queue full) is an answer:
 * load balancers poll `/ready` all day and clients retry, and what changed is logged where it is known,
 * once (readiness logs its state changes). A 503 with a cause (a store that was busy) is a failed write.
 */
const isFailure = (error: HttpError): boolean => error.status >= 500 && !(error.status === 503 && error.cause === undefined)

const route = async (routes: RouteTable, req: IncomingMessage, path: string): Promise<E.Either<HttpError, Reply>> => {
  const match = matchRoute(routes, path)
  if (match === undefined) return E.left(httpError(404, 'not_found', `no route ${path}`))
  const method = req.method === 'HEAD' ? 'GET' : req.method
  const handler: Handler | undefined = isMethod(method) ? match.methods[method] : undefined
  if (handler === undefined) {
    const allowed = Object.keys(match.methods).join(', ')
    return E.left(httpError(405, 'method_not_allowed', `${match.template} accepts ${allowed}`, undefined, { Allow: allowed }))
  }
  const params = decodeParams(match.params)
  if (params === undefined) return E.left(httpError(400, 'malformed_path', 'the path has a malformed percent-escape'))
  return handler(req, params)()
}

/**
 * The path parameters percent-decoded, once, here: a handler sees `/dms/b%C3%AD%C3%A1`'s username as `bíá`.
 * undefined when one is not valid percent-encoded UTF-8 (`%E0%A4%A`, `%ZZ`). A decoded segment may hold a
 * `/` or `..`: handlers take parameters as names to look up (checked against their codecs), never as paths.
 */
const decodeParams = (params: PathParams): PathParams | undefined => {
  const decoded: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    try {
      decoded[name] = decodeURIComponent(value)
    } catch {
      return undefined
    }
  }
  return decoded
}

interface RouteMatch {
  readonly template: string
  readonly methods: RouteTable[string]
  readonly params: PathParams
}

/** Exact paths first, then templates whose `{name}` segments take one non-empty segment each. */
const matchRoute = (routes: RouteTable, path: string): RouteMatch | undefined => {
  if (Object.hasOwn(routes, path)) return { template: path, methods: routes[path] ?? {}, params: {} }
  const segments = path.split('/')
  for (const [template, methods] of Object.entries(routes)) {
    const parts = template.split('/')
    if (parts.length !== segments.length || !template.includes('{')) continue
    const params: Record<string, string> = {}
    const fits = parts.every((part, i) => {
      const segment = segments[i] ?? ''
      const name = /^\{(\w+)\}$/.exec(part)?.[1]
      if (name === undefined) return part === segment
      params[name] = segment
      return segment !== ''
    })
    if (fits) return { template, methods, params }
  }
  return undefined
}

const reply = (req: IncomingMessage, res: ServerResponse, { status, body, text, stream, headers = {} }: Reply, log: Logger, tracked: Tracked): void => {
  if (text !== undefined) {
    const payload = Buffer.from(text)
    sendHead(res, status, { ...headers, 'Content-Length': String(payload.length) })
    res.end(payload)
    return
  }
  if (stream === undefined) {
    if (body === undefined) sendEmpty(res, status, headers)
    else sendJson(res, status, body, headers)
    return
  }
  sendHead(res, status, headers)
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  // A client that goes away mid-download ends the pipeline with an error: nothing to answer, only to free.
  // The source failing by itself is our side failing, which the access line must not blame on the client;
  // it is told from the source's own error, which comes before the pipeline closes the response.
  const source = stream()
  source.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') tracked.endedBy('server_error')
  })
  pipeline(source, res).catch((error: unknown) => {
    log.debug('download ended early', { err: error })
    res.destroy()
  })
}

const pathOf = (url: string | undefined): string => {
  const path = (url ?? '/').split('?')[0] ?? '/'
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}
