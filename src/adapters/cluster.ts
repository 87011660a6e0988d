import type * as E from 'fp-ts/lib/Either.js'
import type { Rate } from '../core/chat/rate-limit.js'

export type { Rate } from '../core/chat/rate-limit.js'

/**
 * How the link to the other processes stands, with when it entered that state (ms since the epoch).
 * - `connected`: we hear the others and they hear us. Entered again after every reconnect, once the
 *   subscription is back: whatever was published meanwhile is lost, so this is the cue to resync presence
 *   and fill gaps from the database.
 * - `reconnecting`: not (yet) connected, retrying; `attempt` counts the redials so far (0 before the first).
 * - `down`: not connected for longer than the adapter's grace period (still retrying), or closed.
 */
export type LinkState =
  | { readonly state: 'connected'; readonly since: number }
  | { readonly state: 'reconnecting'; readonly since: number; readonly attempt: number; readonly error?: string }
  | { readonly state: 'down'; readonly since: number; readonly error: string }

/** What the link did since it was opened, for logs and benchmarks. */
export interface LinkCounts {
  /** Published and confirmed by the server. */
  readonly published: number
  /** Never sent: the link was not connected. */
  readonly dropped: number
  /** Sent but not confirmed (the connection broke under it): maybe delivered, maybe not. */
  readonly unconfirmed: number
  /** Payloads of other processes handed to the handlers. */
  readonly received: number
  /** Messages on the channel that were not a Sala envelope (another program publishing there). */
  readonly ignored: number
}

/**
 * One channel shared by every process of the cluster. Delivery is at most once: a payload published while
 * the link is down, or lost in a reconnect, is gone, never queued or repeated. Receivers detect the loss by
 * sequence numbers (a message's `seq` in its room) and fill gaps from the database; everything else that
 * crosses (presence, typing) is state that is resent after `connected`.
 */
export interface ClusterLink {
  /** Unique per process start (random), carried on every payload so a process can skip its own. */
  readonly processId: string
  /** One publish per call, in call order. Never throws; while not connected the payload is dropped and counted. */
  readonly publish: (payload: string) => void
  /** Payloads of other processes, in the order each published them; our own never come back. Returns an unsubscribe. */
  readonly onPayload: (handler: (payload: string, origin: string) => void) => () => void
  /** Every change of `state` (not every retry). Returns an unsubscribe. */
  readonly onState: (handler: (state: LinkState) => void) => () => void
  readonly state: () => LinkState
  readonly counts: () => LinkCounts
  /** Stops retrying and closes the connections; the state becomes `down` (`closed`). Safe to call twice. */
  readonly close: () => Promise<void>
}

/**
 * Why a shared counter could not answer. `unavailable`: not connected (answered at once, nothing sent),
 * or the connection broke before the answer; `timeout`: sent, no answer in time; `failed`: the server
 * refused the command. After the last two (and a break), the call may or may not have counted.
 */
export interface LinkFailure {
  readonly type: 'unavailable' | 'timeout' | 'failed'
  readonly message: string
}

export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number }

/**
 * Limits every process of the cluster counts together (per user, per address). Time is the shared
 * server's, so processes on machines whose clocks differ agree. Errors are values: the caller decides
 * whether a limit it cannot check admits (keep chatting while the link is down) or refuses.
 */
export interface SharedLimits {
  /**
   * A token bucket per `key`: `rate.burst` tokens, refilled at `rate.perSecond` (the core's `Rate`, so one
   * rule serves the local and the shared limit). Spends `cost` tokens (0 < cost <= burst) or none; refused
   * with the wait until `cost` tokens are back. An impossible rule throws a RangeError (a programming error).
   */
  readonly take: (key: string, rate: Rate, cost?: number) => Promise<E.Either<LinkFailure, Admission>>
  /**
   * At most `limit` calls per `key` in each fixed window of `windowMs` that starts with the first call (sign-ups
   * per address per hour); refused with the wait until that window ends. `windowMs` and `limit` are whole
   * numbers of at least 1, or it throws a RangeError.
   */
  readonly count: (key: string, windowMs: number, limit: number) => Promise<E.Either<LinkFailure, Admission>>
  /** Closes the connection; later calls answer `unavailable`. Safe to call twice. */
  readonly close: () => Promise<void>
}

/** Where an adapter reports its state changes and surprises; the shell maps it onto its logger. */
export type LinkLog = (level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => void

/**
 * What `hold` found: whether `amount` was added to this process's share, and what the other processes
 * still alive hold for the key (before this call), so the caller can decide with the cluster's count.
 */
export interface TallyHold {
  readonly held: boolean
  readonly others: number
}

/**
 * Counts every process of the cluster holds together (open connections per user and per address, uploads
 * under way, bytes in flight), each process's share kept apart: a process that dies stops counting within
 * its presence TTL, without anyone having to release what it held. Amounts are whole numbers of at least 1
 * (a connection, an upload, a byte); a bad amount or limit throws a RangeError (a programming error), never
 * a failure of Redis.
 *
 * This process's share is known here first: every change is made to it, then told to Redis, which keeps
 * what it was last told; a change that cannot be told (the link is down, an answer was lost) is told again
 * once the link is back, and every share is told again after each reconnect (Redis may have restarted
 * empty), so the cluster's counts converge on what the processes really hold.
 */
export interface SharedTallies {
  /**
   * Adds `amount` to this process's share of `key` unless the shares of every live process would then pass
   * `limit` (the shares of processes found dead are dropped first). Errors are values: while Redis cannot
   * answer nothing is added (after a `timeout`, Redis may have counted it: it is corrected by the next
   * change of the key), and the caller decides alone; what it then admits it should `add`.
   */
  readonly hold: (key: string, amount: number, limit: number) => Promise<E.Either<LinkFailure, TallyHold>>
  /** Adds `amount` to this process's share with no limit: what the caller admitted without the cluster. Never waits. */
  readonly add: (key: string, amount: number) => void
  /** Takes `amount` back from this process's share (never below 0). Never waits; told later if Redis cannot hear it now. */
  readonly release: (key: string, amount: number) => void
  /** Stops counting: this process's shares are dropped by the others at once. Later holds answer `unavailable`. Safe to call twice. */
  readonly close: () => Promise<void>
}
