import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { threadId } from 'node:worker_threads'

// Real traffic of the test servers, recorded so that a last check can hold it against the published
// specs: what the integration tests receive is what outside clients will receive.

/** The folder this run records into; set by the global setup, absent when only some files run. */
export const TRAFFIC_DIR_VARIABLE = 'SALA_TRAFFIC_DIR'

/** One HTTP exchange: the request line, the status, and the body when it is JSON. */
export interface HttpRecord {
  readonly kind: 'http'
  readonly method: string
  /** Path and query, e.g. `/static/abc?x=1`. */
  readonly path: string
  readonly status: number
  /** The `Content-Type` header as sent, or null. */
  readonly contentType: string | null
  /** The body's bytes, when the body is empty or its type is JSON; undefined otherwise (files, pages). */
  readonly body?: string
  /** The test file that made the request, to say where a mismatch comes from. */
  readonly test: string
}

/** One frame a client socket received from a test server's `/ws`. */
export interface WsRecord {
  readonly kind: 'ws'
  readonly path: string
  readonly binary: boolean
  /** The frame as text (UTF-8). */
  readonly data: string
  readonly test: string
}

export type TrafficRecord = HttpRecord | WsRecord

const fileOf = (dir: string): string => join(dir, `${process.pid}-${threadId}.jsonl`)

/**
 * Appends one record to this process's file (JSON lines), synchronously so that nothing is lost when a
 * worker ends. Does nothing when the run records nothing.
 */
export const record = (entry: TrafficRecord): void => {
  const dir = process.env[TRAFFIC_DIR_VARIABLE]
  if (dir === undefined || dir === '') return
  appendFileSync(fileOf(dir), `${JSON.stringify(entry)}\n`)
}

// The origins of the Sala servers this process runs (startTestServer registers them). Tests also run
// servers with routes of their own, and fake peers; their answers are not Sala's to check. Kept on the
// global object: setup files and test files of successive test files may hold different module instances.
const SERVERS = Symbol.for('sala.traffic.servers')
const servers = (): Set<string> => ((globalThis as { [SERVERS]?: Set<string> })[SERVERS] ??= new Set<string>())

/** From now on, what `url`'s origin answers is recorded. */
export const registerSalaServer = (url: string): void => void servers().add(new URL(url).origin)
/** The server stopped; its port may serve something else next. */
export const forgetSalaServer = (url: string): void => void servers().delete(new URL(url).origin)
/** A request to a Sala server of this process (`ws:` URLs count by their host and port). */
export const isSalaServer = (url: URL): boolean => servers().has(`http://${url.host}`)

/** JSON bodies are recorded whole; others (files, HTML, scripts) only by status and type. */
export const isJson = (contentType: string | null): boolean => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType ?? '')
