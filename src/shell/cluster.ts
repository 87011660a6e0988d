import { randomBytes } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import type { ClusterLink, LinkState } from '../adapters/cluster.js'
import type { Logger } from '../adapters/logger.js'
import { openRedisLink } from '../adapters/redis/link.js'
import { ClusterFact } from '../core/cluster/facts.js'
import type { ChatEvent } from '../core/chat/events.js'
import type { ClusterSettings } from '../core/chat/state.js'
import type { ClusterConfig } from '../core/config.js'

// The cluster interpreter (issue 15): what the core announces goes out over the link as JSON, one publish
// per fact; what other processes announce comes back in as `PeerAnnounced` events, decoded here at the
// edge. The link's coming up (again) is the core's cue to resync; the heartbeat is infrastructure.

/** How long a room waits for a missing message to be announced before it reads the store (ms). */
const GAP_WAIT_MS = 150

export interface ClusterWiring {
  readonly processId: string
  /** The core's settings for sharing the chat. */
  readonly settings: ClusterSettings
  /** The runtime's `announce` dependency. */
  readonly announce: (fact: ClusterFact) => void
  /** Starts feeding the runtime: payloads of other processes, link restorations, heartbeats. */
  readonly start: (dispatch: (event: ChatEvent) => void) => void
  readonly state: () => LinkState
  readonly close: () => Promise<void>
}

/**
 * Opens the link of a Redis cluster config (returns at once; it connects in the background). A payload
 * that is not a fact is logged once per process that sent it and skipped: one bad peer (another version,
 * another program on the channel) must not flood the log or stop the chat.
 */
export const openCluster = (config: Extract<ClusterConfig, { type: 'redis' }>, log: Logger, now: () => number): ClusterWiring => {
  const processId = `${randomBytes(6).toString('hex')}-${process.pid}`
  const link: ClusterLink = openRedisLink({
    url: config.url,
    prefix: config.prefix,
    processId,
    now,
    log: (level, message, fields) => log[level](message, { ...fields, process: processId }),
  })
  const presenceTtlMs = config.presenceTtlSeconds * 1000
  const complained = new Set<string>()
  let heartbeat: NodeJS.Timeout | undefined

  const publish = (fact: ClusterFact): void => link.publish(JSON.stringify(fact))

  const decode = (payload: string, origin: string): ClusterFact | undefined => {
    let json: unknown
    try {
      json = JSON.parse(payload)
    } catch {
      json = undefined
    }
    const fact = ClusterFact.decode(json)
    if (E.isRight(fact)) return fact.right
    if (!complained.has(origin)) {
      complained.add(origin)
      log.warn('skipping what another process announced: not a fact this version knows', { origin, bytes: payload.length })
    }
    return undefined
  }

  return {
    processId,
    settings: { gapWaitMs: GAP_WAIT_MS, presenceTtlMs, processId },
    announce: publish,
    start: (dispatch) => {
      link.onPayload((payload, origin) => {
        const fact = decode(payload, origin)
        if (fact !== undefined) dispatch({ type: 'PeerAnnounced', origin, fact, at: now() })
      })
      link.onState((state) => {
        if (state.state === 'connected') dispatch({ type: 'ClusterLinkRestored', at: now() })
      })
      if (link.state().state === 'connected') dispatch({ type: 'ClusterLinkRestored', at: now() })
      // A few heartbeats per TTL, so one lost or late one does not make this process look gone.
      heartbeat = setInterval(() => publish({ type: 'heartbeat' }), Math.max(250, Math.floor(presenceTtlMs / 3)))
      heartbeat.unref()
    },
    state: link.state,
    close: async () => {
      if (heartbeat !== undefined) clearInterval(heartbeat)
      // The others drop this process at once instead of warning of it after PRESENCE_TTL. The publish goes
      // out before the link's QUIT on the same connection.
      publish({ type: 'process_stopping' })
      await link.close()
    },
  }
}
