import type { IncomingMessage } from 'node:http'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { HttpError } from 'http-errors'
import type { Readable } from 'node:stream'
import type { Headers } from './respond.js'

/** What a handler answers: JSON, text, nothing, or a stream opened only if the body is really sent (not HEAD). */
export interface Reply {
  readonly status: number
  readonly body?: unknown
  /** Sent as it is, with the Content-Type in `headers`. */
  readonly text?: string
  readonly stream?: () => Readable
  readonly headers?: Headers
}

export type PathParams = Readonly<Record<string, string>>
export type Handler = (req: IncomingMessage, params: PathParams) => TE.TaskEither<HttpError, Reply>
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
/** Keys are paths as OpenAPI writes them, `{name}` matching one segment. */
export type RouteTable = Readonly<Record<string, Partial<Record<Method, Handler>>>>
