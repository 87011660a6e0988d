import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import * as E from 'fp-ts/lib/Either.js'
import type { Server as WebSocketServer } from 'ws'
import type { ChatSocket } from './chat-socket.js'
import type { Logger } from '../../adapters/logger.js'
import type { Accounts, Authenticated } from '../accounts.js'
import { readCredentials } from '../http/credentials.js'
import { originAllowed, type OriginPolicy } from '../http/origin.js'
import type { ProxyTrust } from '../http/proxy.js'
import type { AddressSlots } from './address-slots.js'
import type { RefusalLog } from '../refusal-log.js'
import { chooseSubprotocol, offeredSubprotocols, SUBPROTOCOLS } from '../../core/protocol/version.js'
import type { SignIn } from './sign-in.js'
import { handshakeProblem } from './handshake.js'
import { SECURITY_HEADERS } from '../http/respond.js'
import { storeHttpError } from '../http/store-error.js'

interface Dependencies {
  readonly wss: WebSocketServer<typeof ChatSocket>
  readonly accounts: Accounts
  readonly origins: OriginPolicy
  readonly proxy: ProxyTrust
  readonly addresses: AddressSlots
  /** Refused upgrades are logged at a bounded rate: a flood of them must not flood the log. */
  readonly refusals: RefusalLog
  readonly log: Logger
  /** The open socket, now the connection's, with the client address whose slot it holds. */
  readonly onOpen: (socket: ChatSocket, signedIn: Authenticated, raw: Duplex, address: string) => void
  /** Takes a socket that came without credentials and must sign in with its first frame. */
  readonly signIn: SignIn
  /** False once the server is shutting down. */
  readonly accepting: () => boolean
}

/**
 * Authenticates before upgrading when the request carries credentials: with a bad one the client gets a
 * plain HTTP answer and no WebSocket is ever opened. A request with none (no Authorization header, no
 * session cookie) is upgraded and must sign in with its first frame (`sign-in.ts`): a page on another
 * origin cannot set headers on a WebSocket. The client address's slot is taken before either, so upgrades
 * under way and sockets not yet signed in count against `MAX_CONNECTIONS_PER_ADDRESS` too.
 */
export const createUpgradeHandler =
  ({ wss, accounts, origins, proxy, addresses, refusals, log, onOpen, signIn, accepting }: Dependencies) =>
  (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Until ws owns the socket, a reset by the client must not become an unhandled 'error'.
    const onEarlyError = logEarlyError(log)
    socket.on('error', onEarlyError)
    const address = proxy.clientAddress(req)
    const refuse = (status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): void =>
      refuseUpgrade(socket, refusals, address, status, code, message, headers)
    if (!accepting()) return refuse(503, 'shutting_down', 'the server is shutting down; reconnect shortly')
    if ((req.url ?? '').split('?')[0] !== '/ws') return refuse(404, 'not_found', 'WebSocket connections go to /ws')
    const badHandshake = handshakeProblem(req)
    if (badHandshake !== undefined) return refuse(400, 'bad_handshake', badHandshake)
    // A client that offers subprotocols fails the connection unless one is echoed: say why over HTTP instead.
    if (chooseSubprotocol(offeredSubprotocols(req.headers['sec-websocket-protocol'])).type === 'unsupported') {
      return refuse(400, 'unsupported_protocol', `this server speaks the WebSocket subprotocols ${SUBPROTOCOLS[2]} and ${SUBPROTOCOLS[1]} (or none)`)
    }
    const credentials = readCredentials(req)
    // Without credentials there is no ambient one (cookie) for another site to abuse, so any Origin may
    // connect: the token comes in the first frame, which only a script that holds it can send.
    if (credentials !== undefined && !originAllowed(req, origins, credentials.source)) {
      return refuse(403, 'forbidden_origin', 'cookie-authenticated connections must come from the chat’s own site')
    }
    const crowded = () => refuse(429, 'too_many_connections', 'too many connections from this address; close some first')
    const slot = addresses.take(address)
    if (slot === false) return crowded()
    const withSlot = (): void => {
      // Until the socket is the connection's, its slot goes back when it closes, whoever ends it (a refusal
      // below, ws rejecting the handshake, or the client leaving while it is authenticated).
      const releaseSlot = releaseOnClose(addresses, address)
      socket.once('close', releaseSlot)
      if (credentials === undefined) {
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onEarlyError)
          socket.off('close', releaseSlot)
          signIn.start(ws, socket, address)
        })
        return
      }
      void accounts.authenticate(credentials.token)().then((result) => {
        if (socket.destroyed) return
        if (E.isLeft(result)) {
          if (result.left instanceof Error) {
            log.error('authentication failed', { err: result.left })
            // A store that failed answers here as on every HTTP route (a busy or unreachable database is 503
            // storage_busy with Retry-After), so a client or a load balancer retries instead of seeing a bug.
            const failed = storeRefusal(result.left)
            return refuse(failed.status, failed.code, failed.message, failed.headers)
          }
          return refuse(401, 'unauthenticated', 'the session is not valid (expired, revoked or unknown)')
        }
        if (!accepting()) return refuse(503, 'shutting_down', 'the server is shutting down; reconnect shortly')
        const signedIn = result.right
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onEarlyError)
          socket.off('close', releaseSlot)
          onOpen(ws, signedIn, socket, address)
        })
      })
    }
    if (slot === true) return withSlot()
    // In a cluster the other processes' sockets count too, and Redis is asked (within its command timeout).
    void slot.then((taken) => {
      // The client left, or shutdown began, while the cluster was asked: a slot taken goes back at once.
      if (socket.destroyed || !accepting()) {
        if (taken) addresses.release(address)
        return socket.destroyed ? undefined : refuse(503, 'shutting_down', 'the server is shutting down; reconnect shortly')
      }
      return taken ? withSlot() : crowded()
    })
  }

const releaseOnClose = (addresses: AddressSlots, address: string) => (): void => addresses.release(address)

// Made outside the handler on purpose: a closure made inside would share the handler's scope and keep
// the whole upgrade request (headers, token) alive for as long as the socket lives.
const logEarlyError =
  (log: Logger) =>
  (error: Error): void =>
    log.debug('socket error before upgrade', { err: error })

/** What a route would answer for this store failure (`sendError`'s rule: a 503 or an exposed error says why). */
const storeRefusal = (error: Error): { status: number; code: string; message: string; headers: Readonly<Record<string, string>> } => {
  const failed = storeHttpError(error)
  const exposed = failed.expose || failed.status === 503
  const code: unknown = failed['code']
  return {
    status: failed.status,
    code: exposed && typeof code === 'string' ? code : 'internal_error',
    message: exposed ? failed.message : 'something went wrong on our side',
    headers: (failed.headers as Readonly<Record<string, string>> | undefined) ?? {},
  }
}

const refuseUpgrade = (
  socket: Duplex,
  refusals: RefusalLog,
  address: string,
  status: number,
  code: string,
  message: string,
  extraHeaders: Readonly<Record<string, string>>,
): void => {
  refusals.refused(`websocket_${code}`, { status, address })
  const body = JSON.stringify({ error: { code, message } })
  // The same headers as every HTTP answer of ours: a refused upgrade is an ordinary HTTP response.
  const headers = {
    ...SECURITY_HEADERS,
    ...extraHeaders,
    'X-Request-Id': randomUUID(),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  }
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`)
}
