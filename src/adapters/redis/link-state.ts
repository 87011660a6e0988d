import type { LinkState } from '../cluster.js'

/** One of the link's two connections: up (for the subscriber: subscribed), or lost since `since`. */
export type Leg =
  | { readonly type: 'up' }
  | { readonly type: 'lost'; readonly since: number; readonly attempt: number; readonly error?: string }

export const up: Leg = { type: 'up' }

export const lost = (since: number, error?: string): Leg =>
  error === undefined ? { type: 'lost', since, attempt: 0 } : { type: 'lost', since, attempt: 0, error }

/** A failed try on a lost leg: one more attempt, and the latest reason. An `up` leg stays up. */
export const failedTry = (leg: Leg, error: string | undefined): Leg =>
  leg.type === 'up' ? leg : { ...leg, attempt: leg.attempt + 1, ...(error === undefined ? {} : { error }) }

/** The latest reason a lost leg knows, kept across the 'close' that follows an 'error'. */
export const withError = (leg: Leg, error: string): Leg => (leg.type === 'up' ? leg : { ...leg, error })

/**
 * The link's state from its legs: connected only when every leg is up (we hear the others and they hear
 * us); otherwise reconnecting, which turns down once it has lasted `downAfterMs`. `since` moves only when
 * the kind of state changes, so the caller reports a change by comparing kinds.
 */
export const linkState = (previous: LinkState, legs: ReadonlyArray<Leg>, at: number, downAfterMs: number): LinkState => {
  const lostLegs = legs.flatMap((leg) => (leg.type === 'lost' ? [leg] : []))
  if (lostLegs.length === 0) return previous.state === 'connected' ? previous : { state: 'connected', since: at }
  const attempt = Math.max(...lostLegs.map((leg) => leg.attempt))
  const error = lostLegs.map((leg) => leg.error).find((reason) => reason !== undefined)
  switch (previous.state) {
    case 'connected':
      return reconnecting(at, attempt, error)
    case 'reconnecting':
      return at - previous.since >= downAfterMs
        ? { state: 'down', since: at, error: error ?? 'not connected' }
        : reconnecting(previous.since, attempt, error)
    case 'down':
      return error === undefined || error === previous.error ? previous : { ...previous, error }
  }
}

const reconnecting = (since: number, attempt: number, error: string | undefined): LinkState =>
  error === undefined ? { state: 'reconnecting', since, attempt } : { state: 'reconnecting', since, attempt, error }
