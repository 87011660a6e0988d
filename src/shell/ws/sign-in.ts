import type { Duplex } from 'node:stream'
import * as E from 'fp-ts/lib/Either.js'
import type { RawData } from 'ws'
import { firstFrameVerdict } from '../../core/protocol/sign-in.js'
import type { Logger } from '../../adapters/logger.js'
import type { Accounts, Authenticated } from '../accounts.js'
import type { RefusalLog } from '../refusal-log.js'
import type { AddressSlots } from './address-slots.js'
import type { ChatSocket, SocketPeer } from './chat-socket.js'
import { rawText } from './frame.js'
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_POLICY_VIOLATION, CLOSE_SESSION_ENDED } from '../../core/protocol/close-codes.js'

/** How long a connection opened without credentials has to send its `auth` frame. */
export const SIGN_IN_TIMEOUT_MS = 5000
/** Frames a client may send behind its `auth` before the check answers; they are handled after it, in order. */
export const MAX_FRAMES_BEHIND_AUTH = 32


export interface SignInDependencies {
  readonly accounts: Pick<Accounts, 'authenticate'>
  readonly addresses: AddressSlots
  /** Failed sign-ins are logged at a bounded rate, like refused upgrades: a flood of them is one. */
  readonly refusals: RefusalLog
  readonly log: Logger
  /** The signed-in socket, now the connection's, as for an upgrade that came with credentials. */
  readonly onOpen: (socket: ChatSocket, signedIn: Authenticated, raw: Duplex, address: string) => void
  /** False once the server is shutting down. */
  readonly accepting: () => boolean
  readonly timeoutMs?: number
}

export interface SignIn {
  /** Takes an open socket that came without credentials; it holds its address's slot. */
  readonly start: (socket: ChatSocket, raw: Duplex, address: string) => void
  /** Closes every socket still signing in (at shutdown), with `code`. */
  readonly closeAll: (code: number, reason: string) => void
}

/**
 * Sign-in over the socket, for clients that cannot set headers or should not rely on cookies (a page on
 * another origin): the connection's first frame must be `{"type":"auth","token":"…"}` within the timeout.
 * Until the token is checked nothing reaches the chat, and the socket is not the runtime's (no heartbeat,
 * no broadcast). The token is never logged.
 */
export const createSignIn = (deps: SignInDependencies): SignIn => {
  const waiting = new Set<PendingSignIn>()
  const timeoutMs = deps.timeoutMs ?? SIGN_IN_TIMEOUT_MS
  return {
    start: (socket, raw, address) => {
      const pending = new PendingSignIn(deps, waiting, socket, raw, address, timeoutMs)
      socket.peer = pending
      waiting.add(pending)
    },
    closeAll: (code, reason) => {
      for (const pending of [...waiting]) pending.close(code, reason)
    },
  }
}

type Stage = 'awaiting_auth' | 'checking' | 'done'

/** One socket between its upgrade and its sign-in; it stands in as the socket's peer until then. */
class PendingSignIn implements SocketPeer {
  private stage: Stage = 'awaiting_auth'
  /** Frames that came behind the `auth` frame while its token was checked. */
  private readonly held: Array<{ readonly data: RawData; readonly isBinary: boolean }> = []
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly deps: SignInDependencies,
    private readonly waiting: Set<PendingSignIn>,
    private readonly socket: ChatSocket,
    private readonly raw: Duplex,
    private readonly address: string,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.refuse('timeout', `sign in within ${timeoutMs / 1000} s: send {"type":"auth","token":"…"} first`), timeoutMs)
    // The socket, not this timer, is what keeps a server running.
    this.timer.unref()
  }

  frame(data: RawData, isBinary: boolean): void {
    if (this.stage === 'checking') {
      if (this.held.length >= MAX_FRAMES_BEHIND_AUTH) return this.close(CLOSE_POLICY_VIOLATION, 'too many frames before sign-in completed')
      this.held.push({ data, isBinary })
      return
    }
    if (this.stage !== 'awaiting_auth') return
    clearTimeout(this.timer)
    const verdict = firstFrameVerdict(isBinary ? undefined : rawText(data))
    if (verdict.type === 'refuse') return this.refuse('refused', verdict.reason)
    this.stage = 'checking'
    void this.deps.accounts.authenticate(verdict.token)().then((result) => this.checked(result))
  }

  closed(): void {
    clearTimeout(this.timer)
    if (this.stage === 'done') return
    this.finish()
    this.deps.addresses.release(this.address)
  }

  failed(error: Error): void {
    this.deps.log.debug('socket error before sign-in', { err: error, address: this.address })
  }

  close(code: number, reason: string): void {
    clearTimeout(this.timer)
    // The slot goes back when the close completes ('close' reaches `closed`).
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(code, reason)
  }

  private checked(result: E.Either<unknown, Authenticated>): void {
    // Closed meanwhile (by the client, or by shutdown): its slot is already back.
    if (this.stage === 'done' || this.socket.readyState !== this.socket.OPEN) return
    if (E.isLeft(result)) {
      if (result.left instanceof Error) {
        this.deps.log.error('authentication failed', { err: result.left })
        return this.close(CLOSE_INTERNAL_ERROR, 'something went wrong on our side; reconnect')
      }
      return this.refuse('unauthenticated', 'the session is not valid (expired, revoked or unknown)')
    }
    if (!this.deps.accepting()) return this.close(CLOSE_GOING_AWAY, 'server shutting down')
    this.finish()
    // From here the connection owns the socket and its slot; what came behind `auth` goes to it in order.
    this.deps.onOpen(this.socket, result.right, this.raw, this.address)
    for (const { data, isBinary } of this.held.splice(0)) this.socket.peer?.frame(data, isBinary)
  }

  private refuse(kind: 'timeout' | 'refused' | 'unauthenticated', reason: string): void {
    this.deps.refusals.refused(`websocket_sign_in_${kind}`, { code: CLOSE_SESSION_ENDED, address: this.address })
    this.close(CLOSE_SESSION_ENDED, reason)
  }

  private finish(): void {
    this.stage = 'done'
    this.waiting.delete(this)
  }
}
