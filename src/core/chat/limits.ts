import type { ConnectionId, RoomId, UserId } from '../brands.js'
import type { ChatCommandType } from '../protocol/client-commands.js'
import { findSender, sendTo } from './audience.js'
import type { Effect } from './effects.js'
import { aboutRoom, errorFrame } from './frames.js'
import { abuseThreshold, calmMeter, fullBucket, recordRefusal, take, type AbuseMeter, type Bucket, type Rate } from './rate-limit.js'
import { dueNoLaterThan, type ChatSettings, type ChatState } from './state.js'
import { CLOSE_POLICY_VIOLATION } from '../protocol/close-codes.js'

export type LimitKind = 'message' | 'typing' | 'history' | 'presence'

export interface Limits {
  /** A kind not drawn on yet has no bucket: it is full. */
  readonly buckets: Readonly<Record<LimitKind, Bucket | undefined>>
  readonly abuse: AbuseMeter
}


// All four keys from the start, so every user's buckets share one compact object layout; adding keys
// one by one, under computed names, cost a few hundred bytes per user in V8.
const NO_BUCKETS: Limits['buckets'] = { message: undefined, typing: undefined, history: undefined, presence: undefined }

export const freshLimits = (at: number): Limits => ({ buckets: NO_BUCKETS, abuse: calmMeter(at) })

/**
 * Which allowance a command draws on. Frames that could not be decoded draw on the message allowance.
 * `ping` shares join/leave's: both are rare control commands (a heartbeat is one every several seconds),
 * so the allowance never troubles a real client, and a ping flood is refused and closed like any other
 * without one more bucket per user. `read` too: a client sends one as it catches up on a room, and its
 * write is batched; kept per process like join's, it costs no round trip to Redis.
 */
export const limitKindOf = (type: ChatCommandType | 'rejected_frame'): LimitKind => {
  switch (type) {
    case 'message':
    case 'rejected_frame':
      return 'message'
    case 'typing_start':
    case 'typing_stop':
      return 'typing'
    case 'history':
      return 'history'
    case 'join':
    case 'leave':
    case 'ping':
    case 'read':
    case 'members':
      return 'presence'
  }
}

/**
 * The cluster-wide allowance's answer for one command (`SharedLimits.take` with the same `Rate`): admitted,
 * or refused with the wait until a token is back, in ms.
 */
export type SharedAdmission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number }

/**
 * The kinds whose allowance the cluster shares. Join, leave and ping are left to each process: they are
 * rare by nature (a heartbeat every several seconds), and asking Redis for every ping would cost more than
 * what it protects.
 */
export const SHARED_KINDS: ReadonlySet<LimitKind> = new Set(['message', 'typing', 'history'])

/** `effects` come before the command's own (if it was admitted, they are rarely any). */
export interface Admission {
  readonly admitted: boolean
  readonly state: ChatState
  readonly effects: ReadonlyArray<Effect>
}

const NOTHING: ReadonlyArray<Effect> = []

/**
 * Charges the sender's allowance for one command. Every command costs a token, refused or not, so a
 * flood of bad commands is limited like any other. Refusals fill the abuse meter; a full meter closes
 * the connection (1008). `room` is the room a refused `message` was for, said in its `error`.
 *
 * With several processes, `shared` is the cluster's answer for the same allowance (one token bucket per
 * user and kind that every process spends, asked by the shell before the command arrives here): a command
 * is admitted only when both this process's bucket and the cluster's admit it. Absent (one process, or the
 * cluster could not answer), this process's bucket decides alone: limited per process, never unlimited.
 *
 * A user with no entry has every allowance full (an entry is dropped only once it says exactly that), so
 * the entry made here is asked to be forgotten once it has rested again: idle users, most of them, keep
 * none.
 */
export const admit = (
  state: ChatState,
  connection: ConnectionId,
  kind: LimitKind,
  ref: string | undefined,
  at: number,
  room?: RoomId,
  shared?: SharedAdmission,
): Admission => {
  const user = findSender(state, connection)?.presence.user.id
  if (user === undefined) return { admitted: true, state, effects: NOTHING }
  const known = state.limits.get(user)
  const limits = known ?? freshLimits(at)
  const rate = state.settings.rates[kind]
  const taken = take(limits.buckets[kind] ?? fullBucket(rate, at), rate, at)
  if (taken.allowed && shared?.admitted !== false) {
    const charged: Limits = { ...limits, buckets: { ...limits.buckets, [kind]: taken.bucket } }
    const next = withLimits(state, user, charged)
    if (known !== undefined) return { admitted: true, state: next, effects: NOTHING }
    const due = forgetAt(charged, state.settings)
    return { admitted: true, state: dueNoLaterThan(next, 'limits', due), effects: [{ type: 'wakeAt', at: due }] }
  }
  // Refused here, or by the cluster's allowance (spent on other processes): the same refusal either way,
  // and neither spends this process's token. The longer wait is the true one.
  const retryAfterMs = Math.max(taken.allowed ? 0 : taken.retryAfterMs, shared?.admitted === false ? shared.retryAfterMs : 0)
  const bucket = taken.allowed ? limits.buckets[kind] : taken.bucket
  const abuse = recordRefusal(limits.abuse, rate, at)
  const next = withLimits(state, user, { buckets: { ...limits.buckets, [kind]: bucket }, abuse })
  const refusal = sendTo(connection, {
    ...aboutRoom(errorFrame('rate_limited', `too many ${kind} commands; wait ${retryAfterMs} ms`, ref), room),
    retryAfterMs,
  })
  const fields = { userId: user, connectionId: connection, kind }
  if (abuse.level <= abuseThreshold(rate)) {
    return { admitted: false, state: next, effects: [refusal, { type: 'log', level: 'debug', message: 'rate limited', fields }] }
  }
  const close: Effect = { type: 'close', connection, code: CLOSE_POLICY_VIOLATION, reason: 'rate limit exceeded repeatedly' }
  return { admitted: false, state: next, effects: [refusal, close, { type: 'log', level: 'warn', message: 'closed for abuse', fields }] }
}

/**
 * Whether a user's abuse meter, drained to `at` at the slowest rate it drains at (as `fullyRestedAt`
 * reckons it), is still above half the level that closes a connection: such a user is refused new
 * connections (1008) until it has calmed down. A user closed at the threshold waits about 15 s at the
 * default rates.
 */
export const coolingDown = (limits: Limits | undefined, settings: ChatSettings, at: number): boolean => {
  if (limits === undefined || limits.abuse.level === 0) return false
  let slowest: Rate | undefined
  for (const kind of KINDS) {
    if (limits.buckets[kind] === undefined) continue
    const rate = settings.rates[kind]
    if (slowest === undefined || rate.perSecond < slowest.perSecond) slowest = rate
  }
  if (slowest === undefined) return false
  const drained = limits.abuse.level - (Math.max(0, at - limits.abuse.at) * slowest.perSecond) / 1000
  return drained > abuseThreshold(slowest) / 2
}

const withLimits = (state: ChatState, user: UserId, limits: Limits): ChatState => ({ ...state, limits: state.limits.set(user, limits) })

const KINDS: ReadonlyArray<LimitKind> = ['message', 'typing', 'history', 'presence']

/** When every bucket is full and the abuse meter empty: from then on the entry says nothing. */
export const fullyRestedAt = (limits: Limits, settings: ChatSettings): number => {
  // A sweep runs this for every entry, so it is a plain loop that allocates nothing.
  let rested = limits.abuse.at
  let slowest = Infinity
  for (const kind of KINDS) {
    const bucket = limits.buckets[kind]
    if (bucket === undefined) continue
    const rate = settings.rates[kind]
    rested = Math.max(rested, bucket.at + Math.ceil(((rate.burst - bucket.tokens) * 1000) / rate.perSecond))
    slowest = Math.min(slowest, rate.perSecond)
  }
  // Refusals need a bucket, so a meter above zero always has a kind to drain at.
  if (limits.abuse.level === 0) return rested
  return Math.max(rested, limits.abuse.at + Math.ceil((limits.abuse.level * 1000) / slowest))
}

// A sweep of the limits walks every entry, so rested entries are forgotten in batches, at most one sweep
// per this many milliseconds, rather than a tick per user.
export const FORGET_EVERY_MS = 10_000

/** The batch that forgets an entry rested at `restedAt`. */
export const forgetBatchAt = (restedAt: number): number => Math.ceil(restedAt / FORGET_EVERY_MS) * FORGET_EVERY_MS

/** When a rested entry is next dropped. */
export const forgetAt = (limits: Limits, settings: ChatSettings): number => forgetBatchAt(fullyRestedAt(limits, settings))
