import { createHash } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import * as I from 'immutable'
import * as t from 'io-ts'
import type { RecordsStep, RecordWrite } from '../../adapters/shared-records.js'
import {
  ACCOUNT_WINDOW_MS,
  ADDRESS_WINDOW_MS,
  FAILURES_RESET_MS,
  KNOWN_ADDRESS_MS,
  networkOf,
  pairKey,
  type Attempts,
  type LoginThrottle,
  type ThrottleKey,
} from '../../core/login-throttle.js'

// The login throttle's state for one (account, address), kept as shared records so every process decides
// with the core's own functions on the same counters. Each of the core's maps holds at most one entry of
// interest for an attempt (its pair, its account, its network, whether the pair is known), so a throttle
// holding just those four is the whole truth for it: the core gives the same answer on it as on the full
// state, and what it changes is written back, each record expiring when the core would ignore it.

/** What the throttle decided and the state it leaves. */
export interface Decision<R> {
  readonly throttle: LoginThrottle
  readonly result: R
}

export interface ThrottleRecords {
  /** The network the address is counted by (what the caller serializes on, with the account). */
  readonly network: string
  /** Pair, account, network, known: the records one attempt reads. */
  readonly keys: ReadonlyArray<string>
  /** Turns a decision on the core's throttle into a step on the records. */
  readonly step: <R>(decide: (throttle: LoginThrottle, at: number) => Decision<R>) => (values: ReadonlyArray<string | undefined>, now: number) => RecordsStep<R>
}

export const throttleRecords = (account: ThrottleKey, address: string): ThrottleRecords => {
  const network = networkOf(address)
  const pair = pairKey(account, network)
  // A hash, not the name typed: an unknown name may be someone's e-mail address, or 10,000 characters.
  const whose = createHash('sha256').update(account).digest('base64url')
  const keys = [`login:pair:${network}:${whose}`, `login:account:${whose}`, `login:address:${network}`, `login:known:${network}:${whose}`]

  const throttleOf = (values: ReadonlyArray<string | undefined>): LoginThrottle => ({
    pairs: entry(pair, attemptsOf(values[0])),
    accounts: entry(account, attemptsOf(values[1])),
    addresses: entry(network, attemptsOf(values[2])),
    known: entry(pair, knownOf(values[3])),
  })

  return {
    network,
    keys,
    step: (decide) => (values, now) => {
      const before = throttleOf(values)
      const { throttle: after, result } = decide(before, now)
      const writes = [
        attemptsWrite(before.pairs.get(pair), after.pairs.get(pair), now, FAILURES_RESET_MS),
        attemptsWrite(before.accounts.get(account), after.accounts.get(account), now, ACCOUNT_WINDOW_MS),
        attemptsWrite(before.addresses.get(network), after.addresses.get(network), now, ADDRESS_WINDOW_MS),
        knownWrite(before.known.get(pair), after.known.get(pair), now),
      ]
      return { writes, result }
    },
  }
}

const AttemptsRecord = t.type({ failures: t.number, since: t.number, blockedUntil: t.number })

const entry = <K, V>(key: K, value: V | undefined): I.Map<K, V> => (value === undefined ? I.Map<K, V>() : I.Map<K, V>([[key, value]]))

// Records are written by Sala alone; one that does not decode (another version's) counts as none.
const attemptsOf = (value: string | undefined): Attempts | undefined => {
  if (value === undefined) return undefined
  const decoded = AttemptsRecord.decode(parsed(value))
  return E.isRight(decoded) ? decoded.right : undefined
}

const knownOf = (value: string | undefined): number | undefined => {
  const at = value === undefined ? NaN : Number(value)
  return Number.isFinite(at) ? at : undefined
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const KEEP: RecordWrite = { type: 'keep' }
const DELETE: RecordWrite = { type: 'delete' }

/** A counter is forgotten by the core once its window has passed and no wait stands: so it expires then. */
const attemptsWrite = (before: Attempts | undefined, after: Attempts | undefined, now: number, windowMs: number): RecordWrite => {
  if (after === undefined) return before === undefined ? KEEP : DELETE
  const same = before !== undefined && before.failures === after.failures && before.since === after.since && before.blockedUntil === after.blockedUntil
  if (same) return KEEP
  const value = JSON.stringify({ failures: after.failures, since: after.since, blockedUntil: after.blockedUntil })
  return { type: 'set', value, ttlMs: expiry(Math.max(after.since + windowMs, after.blockedUntil), now) }
}

const knownWrite = (before: number | undefined, after: number | undefined, now: number): RecordWrite => {
  if (after === undefined) return before === undefined ? KEEP : DELETE
  return before === after ? KEEP : { type: 'set', value: String(after), ttlMs: expiry(after + KNOWN_ADDRESS_MS, now) }
}

const expiry = (until: number, now: number): number => Math.max(1, Math.ceil(until - now))
