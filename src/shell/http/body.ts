import type { IncomingMessage } from 'node:http'
import type { HttpError } from 'http-errors'
import * as E from 'fp-ts/lib/Either.js'
import { httpError } from './respond.js'

export const JSON_BODY_LIMIT = 16 * 1024

/** `undefined` when the request has no body at all. */
export type JsonBody = unknown

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0

const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)

/**
 * Reads a small JSON body. The size is checked before and while reading, so a large body is refused
 * without being buffered.
 */
export const readJsonBody = async (req: IncomingMessage, limit = JSON_BODY_LIMIT): Promise<E.Either<HttpError, JsonBody>> => {
  if (!hasBody(req)) return E.right(undefined)
  if (!isJson(req.headers['content-type'])) {
    return E.left(httpError(415, 'unsupported_media_type', 'send the body as application/json'))
  }
  const tooLarge = httpError(413, 'payload_too_large', `the body must be at most ${limit} bytes`)
  if (Number(req.headers['content-length'] ?? 0) > limit) return E.left(tooLarge)
  const chunks: Buffer[] = []
  let size = 0
  // Leaving the loop early must not destroy the request: the refusal is still to be written on its socket.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > limit) return E.left(tooLarge)
    chunks.push(buffer)
  }
  try {
    return E.right(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown)
  } catch {
    return E.left(httpError(400, 'malformed_json', 'the body is not valid JSON'))
  }
}
