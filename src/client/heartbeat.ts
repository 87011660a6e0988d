// The page's heartbeat, as a rule over deadlines. Browsers hide WebSocket pings from pages, so a quiet
// room and a dead link (a laptop that slept, a proxy or Wi-Fi that dropped the connection without closing
// it) look the same until the page asks. It asks with the protocol's `ping`, and any frame at all (the
// `pong`, a message, even an `error` from a server too old to know `ping`) shows the link is alive.

/** A link that has been quiet this long is asked with a `ping`. */
export const PING_IDLE_MS = 20_000
/** A link that answers nothing this long after a `ping` is dead: the page drops it and reconnects. */
export const PONG_TIMEOUT_MS = 10_000
/**
 * A socket that is not open this long after it was asked for is given up and retried (a connect to a host
 * that went away can otherwise hang for minutes). So a dead link is noticed at most
 * PING_IDLE_MS + PONG_TIMEOUT_MS = 30 s after its last frame, and a hung connect after 15 s, give or take
 * the lateness of timers in a background tab.
 */
export const CONNECT_TIMEOUT_MS = 15_000

/** Where an open link stands: `heard` until `pingAt`, then `pinged` until an answer or `deadAt`. */
export type Liveness =
  | { readonly state: 'heard'; readonly pingAt: number }
  | { readonly state: 'pinged'; readonly ref: string; readonly deadAt: number }

/** What is due at a moment: nothing before `until`, a ping, or the verdict that the link is dead. */
export type Due = { readonly type: 'wait'; readonly until: number } | { readonly type: 'ping' } | { readonly type: 'dead' }

/** A frame arrived at `at` (ms since the epoch). */
export const heard = (at: number): Extract<Liveness, { readonly state: 'heard' }> => ({ state: 'heard', pingAt: at + PING_IDLE_MS })

/** A ping with `ref` went out at `at`. */
export const pinged = (ref: string, at: number): Extract<Liveness, { readonly state: 'pinged' }> => ({ state: 'pinged', ref, deadAt: at + PONG_TIMEOUT_MS })

export const due = (liveness: Liveness, at: number): Due => {
  switch (liveness.state) {
    case 'heard':
      return at < liveness.pingAt ? { type: 'wait', until: liveness.pingAt } : { type: 'ping' }
    case 'pinged':
      return at < liveness.deadAt ? { type: 'wait', until: liveness.deadAt } : { type: 'dead' }
  }
}

/** Refs of the page's pings start with this, so an older server's refusal of one is not shown as a problem. */
export const PING_REF_PREFIX = 'ping-'
