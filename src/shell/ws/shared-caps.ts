import * as E from 'fp-ts/lib/Either.js'
import type { SharedTallies } from '../../adapters/cluster.js'
import type { Logger } from '../../adapters/logger.js'
import { createSharedStanding, type SharedStanding } from '../http/shared-fallback.js'

/**
 * What the cluster said about one more connection: whether this process's share took it (`held`), and how
 * many the other processes hold (`others`; undefined when Redis could not answer: the caller decides alone).
 */
export interface CapAnswer {
  readonly held: boolean
  readonly others: number | undefined
}

/**
 * A connection cap counted with the other processes (MAX_CONNECTIONS_PER_USER, _PER_ADDRESS): one in the
 * tally `connections:<name>:<key>` for each connection this process keeps open. The caller makes the count
 * match what it admits: `add` what it admitted without the cluster's hold (Redis could not answer, or its
 * own rule decided so), `release` what it holds but refused, and each admitted one when it closes. So the
 * count converges on the connections really open, also after an outage.
 */
export interface SharedCap {
  /** Never rejects: a failure of Redis is `others: undefined`, logged once per change, not per connection. */
  readonly hold: (key: string) => Promise<CapAnswer>
  readonly add: (key: string) => void
  readonly release: (key: string) => void
}

/**
 * The two caps of a server: connections per user (`connections:user:<id>`) and per client address
 * (`connections:address:<address>`). They share one Redis connection, so they fail and recover together:
 * one log line for both when that starts, one when it ends.
 */
export const createSharedCaps = (
  tallies: SharedTallies,
  max: { readonly perUser: number; readonly perAddress: number },
  log: Logger,
): { readonly user: SharedCap; readonly address: SharedCap } => {
  const standing = createSharedStanding(log, 'connections per user and per address')
  return { user: sharedCap(tallies, 'user', max.perUser, standing), address: sharedCap(tallies, 'address', max.perAddress, standing) }
}

const sharedCap = (tallies: SharedTallies, name: string, max: number, standing: SharedStanding): SharedCap => {
  const tally = (key: string) => `connections:${name}:${key}`
  return {
    hold: async (key) => {
      const answer = await tallies.hold(tally(key), 1, max)
      if (E.isLeft(answer)) {
        standing.failed(answer.left)
        return { held: false, others: undefined }
      }
      standing.answered()
      return answer.right
    },
    add: (key) => tallies.add(tally(key), 1),
    release: (key) => tallies.release(tally(key), 1),
  }
}
