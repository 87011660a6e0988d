import type { ServerResponse } from 'node:http'
import createHttpError, { type HttpError } from 'http-errors'
import type { FieldProblem } from '../../core/codecs.js'

// Sent with every response: JSON is never sniffed into HTML, and no page of ours may be framed.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
}

export type Headers = Readonly<Record<string, string | string[]>>

export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void => {
  const payload = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': payload.length,
  })
  res.end(payload)
}

export const sendEmpty = (res: ServerResponse, status: number, headers: Headers = {}): void => {
  sendHead(res, status, headers)
  res.end()
}

/** Status and headers only; the caller writes the body. */
export const sendHead = (res: ServerResponse, status: number, headers: Headers = {}): void => {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers })
}

/** An HTTP error as data: status, a stable machine `code`, a sentence, and per-field details. */
export const httpError = (
  status: number,
  code: string,
  message: string,
  details?: ReadonlyArray<FieldProblem>,
  headers?: Headers,
): HttpError =>
  createHttpError(status, message, { code, ...(details === undefined ? {} : { details }), ...(headers === undefined ? {} : { headers }) })

/** The one place an error becomes a response body: `{ "error": { code, message, details? } }`. */
/** The error's own headers (`Allow`, `Retry-After`) go with it. */
export const sendError = (res: ServerResponse, error: HttpError, extraHeaders: Headers = {}): void => {
  const headers = { ...(error.headers as Headers | undefined), ...extraHeaders }
  // 503 is operational, not a bug: its reason helps whoever runs the server.
  const exposed = error.expose || error.status === 503
  const code = typeof error['code'] === 'string' ? error['code'] : 'internal_error'
  const details = error['details']
  sendJson(
    res,
    error.status,
    {
      error: {
        code: exposed ? code : 'internal_error',
        message: exposed ? error.message : 'something went wrong on our side',
        ...(exposed && Array.isArray(details) ? { details } : {}),
      },
    },
    headers,
  )
}
