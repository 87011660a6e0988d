import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../../adapters/logger.js'
import type { ProxyTrust } from './proxy.js'

/** Why a response never finished. */
export type Ending =
  /** The connection closed first: the client went away, or the server cut it (shutdown). */
  | 'connection_closed'
  /** The request took longer than the server's request or header timeout. */
  | 'timed_out'
  /** The request broke HTTP's grammar partway (a bad chunk, headers too large). */
  | 'malformed'
  /** A bug or a failing stream on our side, after the status had gone out. */
  | 'server_error'

export interface Tracked {
  /** Records why the server is about to cut this response short (the first reason given wins). */
  readonly endedBy: (ending: Ending) => void
}

export interface AccessLog {
  /**
   * Starts the one access line of a request, written when the response finishes or, if it never does,
   * when it closes: then with `aborted: true`, the `reason` (an `Ending`) and the status sent, or the one
   * that stands for the ending if none was (499 connection closed, 408 timed out, 400 malformed, 500).
   */
  readonly track: (req: IncomingMessage, res: ServerResponse, fields: { readonly requestId: string; readonly path: string }) => Tracked
  /**
   * For the server's 'clientError' (which then owns the socket): answers a timeout 408 and a malformed
   * request 400 (431 for oversized headers) if no response has started, and makes sure the request, if
   * there was one, has its line. An idle connection that times out, or a reset between requests, is no
   * request: debug only.
   */
  readonly clientError: (error: Error & { readonly code?: string }, socket: Duplex) => void
}

interface Exchange {
  readonly res: ServerResponse
  ending: Ending | undefined
}

interface Answer {
  readonly status: number
  readonly ending: Ending
  readonly raw: string
}

/**
 * Every line names the client (`address`) as `proxy` says who it is, honouring TRUST_PROXY: worked out
 * when the request arrives, so a line written after the socket is gone still has it. A request the parser
 * could not read has no headers to believe: its line has the peer's address.
 */
export const createAccessLog = (log: Logger, proxy: Pick<ProxyTrust, 'clientAddress'>): AccessLog => {
  // The response under way on each socket, and how many bytes a socket had read when its last response
  // ended: more since then means a request had started when a client error arrived.
  const inFlight = new WeakMap<Duplex, Exchange>()
  const readAtLastEnd = new WeakMap<Duplex, number>()

  const track: AccessLog['track'] = (req, res, { requestId, path }) => {
    const started = process.hrtime.bigint()
    const socket = req.socket
    const address = proxy.clientAddress(req)
    const exchange: Exchange = { res, ending: undefined }
    inFlight.set(socket, exchange)
    let written = false
    const write = () => {
      if (written) return
      written = true
      if (inFlight.get(socket) === exchange) inFlight.delete(socket)
      readAtLastEnd.set(socket, socket.bytesRead)
      const ending = res.writableFinished ? undefined : (exchange.ending ?? 'connection_closed')
      log.info('http request', {
        requestId,
        method: req.method,
        path,
        address,
        status: ending === undefined || res.headersSent ? res.statusCode : STATUS_OF[ending],
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
        bytes: Number(res.getHeader('Content-Length') ?? 0),
        ...(ending === undefined ? {} : { aborted: true, reason: ending }),
      })
    }
    res.once('finish', write)
    res.once('close', write)
    return { endedBy: (ending) => void (exchange.ending ??= ending) }
  }

  const clientError: AccessLog['clientError'] = (error, socket) => {
    const answer = answerTo(error.code)
    const exchange = inFlight.get(socket)
    if (exchange !== undefined) exchange.ending ??= answer?.ending ?? 'connection_closed'
    else if (answer !== undefined && bytesRead(socket) > (readAtLastEnd.get(socket) ?? 0)) {
      const address = peerAddress(socket)
      log.info('http request', { requestId: randomUUID(), address, status: answer.status, bytes: 0, aborted: true, reason: answer.ending, code: error.code })
    } else log.debug('client error', { code: error.code, message: error.message })
    // Once any of a response has gone out, a second status line would corrupt it: cut the connection.
    const started = exchange?.res.headersSent ?? false
    if (answer !== undefined && socket.writable && !started) socket.end(answer.raw)
    else socket.destroy()
  }

  return { track, clientError }
}

/** A server's sockets are net.Sockets; the type Node gives 'clientError' is only a Duplex. */
const bytesRead = (socket: Duplex): number => (socket instanceof Socket ? socket.bytesRead : 0)

const peerAddress = (socket: Duplex): string => (socket instanceof Socket ? (socket.remoteAddress ?? 'unknown') : 'unknown')

const STATUS_OF: Readonly<Record<Ending, number>> = { connection_closed: 499, timed_out: 408, malformed: 400, server_error: 500 }

const answer = (status: number, text: string, ending: Ending): Answer => ({
  status,
  ending,
  raw: `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
})

const TIMED_OUT = answer(408, 'Request Timeout', 'timed_out')
const HEADERS_TOO_LARGE = answer(431, 'Request Header Fields Too Large', 'malformed')
const MALFORMED = answer(400, 'Bad Request', 'malformed')

/**
 * What to answer a client error with; undefined when it is the connection ending (a reset, or the client
 * closing its side before the request was complete, which the parser reports as an invalid EOF): then
 * there is no one to answer.
 */
const answerTo = (code: string | undefined): Answer | undefined => {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return TIMED_OUT
  if (code === 'HPE_HEADER_OVERFLOW') return HEADERS_TOO_LARGE
  if (code === 'HPE_INVALID_EOF_STATE') return undefined
  if (code?.startsWith('HPE_') === true) return MALFORMED
  return undefined
}
