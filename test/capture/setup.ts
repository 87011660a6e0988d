import { relative } from 'node:path'
import { expect } from 'vitest'
import WebSocket from 'ws'
import { isJson, isSalaServer, record } from './traffic.js'

// Setup file of every test file: records what Sala test servers answer, for test/captured-traffic.test.ts.
// Both hooks wrap without changing behaviour: the test gets the same response and the same events.
// Setup files run once per test file in a worker that may run several, hence the markers.

const INSTALLED = Symbol.for('sala.traffic.installed')
type Marked = { [INSTALLED]?: true }

const currentTest = (): string => {
  const path = expect.getState().testPath
  return path === undefined ? 'unknown' : relative(process.cwd(), path)
}

const requestMethod = (input: Parameters<typeof fetch>[0], init: Parameters<typeof fetch>[1]): string =>
  (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase()

const requestUrl = (input: Parameters<typeof fetch>[0]): URL | undefined => {
  try {
    return new URL(input instanceof Request ? input.url : String(input))
  } catch {
    return undefined
  }
}

/** Reads a copy of a JSON body after the fact; the test's own copy is untouched. */
const recordResponse = async (method: string, url: URL, response: Response, test: string): Promise<void> => {
  const contentType = response.headers.get('content-type')
  const readable = method !== 'HEAD' && (isJson(contentType) || response.headers.get('content-length') === '0')
  const body = readable ? await response.clone().text().catch(() => undefined) : undefined
  record({ kind: 'http', method, path: url.pathname + url.search, status: response.status, contentType, ...(body === undefined ? {} : { body }), test })
}

const installFetchHook = (): void => {
  const original = globalThis.fetch as typeof fetch & Marked
  if (original[INSTALLED]) return
  const recording = Object.assign(
    async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
      const response = await original(input, init)
      const url = requestUrl(input)
      if (url !== undefined && isSalaServer(url)) void recordResponse(requestMethod(input, init), url, response, currentTest())
      return response
    },
    { [INSTALLED]: true as const },
  )
  globalThis.fetch = recording
}

/** Frames as ws hands them to 'message' listeners: a Buffer, an ArrayBuffer, or fragments. */
const frameText = (data: unknown): string => {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8')
  return String(data)
}

// ws emits 'message' from its receiver on the socket; client sockets (not the server's own, which live
// in the same process) connected to a Sala test server are recorded.
const installWebSocketHook = (): void => {
  const prototype = WebSocket.prototype as WebSocket & Marked & { _isServer?: boolean }
  if (prototype[INSTALLED]) return
  const emit = prototype.emit
  prototype.emit = function (this: WebSocket & { _isServer?: boolean }, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && this._isServer === false) {
      const url = new URL(this.url)
      if (isSalaServer(url)) record({ kind: 'ws', path: url.pathname, binary: args[1] === true, data: frameText(args[0]), test: currentTest() })
    }
    return emit.call(this, event, ...args)
  }
  prototype[INSTALLED] = true
}

installFetchHook()
installWebSocketHook()
