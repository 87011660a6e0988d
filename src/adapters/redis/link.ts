import type { Redis } from 'ioredis'
import { withoutPassword } from '../../core/config.js'
import type { ClusterLink, LinkCounts, LinkLog, LinkState } from '../cluster.js'
import { closeConnection, heartbeat, messageOf, openConnection, type ConnectionSettings } from './connection.js'
import { envelope, openEnvelope, originPrefix, validOrigin } from './envelope.js'
import { failedTry, linkState, lost, up, withError, type Leg } from './link-state.js'

export interface RedisLinkOptions {
  /** `redis://` or `rediss://`. */
  readonly url: string
  /** Starts the channel's name (`<prefix>events`): processes with another prefix never meet. */
  readonly prefix: string
  /** Unique per process start; printable ASCII without spaces, at most 100 characters. */
  readonly processId: string
  readonly log?: LinkLog
  /** How long the link may be reconnecting before it is `down` (default 5 s). */
  readonly downAfterMs?: number
  /** A connection that answers nothing (not even a PING) this long is redialled (default 5 s). */
  readonly silenceMs?: number
  /** A PUBLISH unanswered this long counts as unconfirmed (default 1 s). */
  readonly commandTimeoutMs?: number
  /** The longest wait between reconnection attempts (default 1 s: Redis back, the link back within about a second). */
  readonly retryCapMs?: number
  readonly now?: () => number
}

const DEFAULTS = { downAfterMs: 5000, silenceMs: 5000, commandTimeoutMs: 1000, retryCapMs: 1000, now: Date.now, log: (() => undefined) as LinkLog }

/**
 * The cluster link over Redis pub/sub: one channel, two connections (a subscriber, which Redis allows no
 * other command, and a publisher). Returns at once, `reconnecting` with attempt 0, and connects in the
 * background; watch `onState` for `connected`. Throws only for a bad `processId` (a programming error).
 */
export const openRedisLink = (options: RedisLinkOptions): ClusterLink => {
  const { url, prefix, processId, downAfterMs, silenceMs, commandTimeoutMs, retryCapMs, now, log } = { ...DEFAULTS, ...options }
  if (!validOrigin(processId)) throw new TypeError(`processId must be 1 to 100 printable characters without spaces, not ${JSON.stringify(processId)}`)
  const channel = `${prefix}events`
  const own = originPrefix(processId)
  const settings = (role: string): ConnectionSettings => ({ url, name: `sala-${role}-${processId}`, commandTimeoutMs, silenceMs, retryCapMs })
  const subscriber = openConnection(settings('sub'))
  const publisher = openConnection(settings('pub'))

  const openedAt = now()
  let subscriberLeg: Leg = lost(openedAt)
  let publisherLeg: Leg = lost(openedAt)
  let current: LinkState = { state: 'reconnecting', since: openedAt, attempt: 0 }
  // When the link last left `connected`: what a reconnection's log line counts from.
  let lostAt = openedAt
  let closed = false
  let everConnected = false
  const counts = { published: 0, dropped: 0, unconfirmed: 0, received: 0, ignored: 0 }
  let droppedWhenLost = 0
  const payloadHandlers = new Set<(payload: string, origin: string) => void>()
  const stateHandlers = new Set<(state: LinkState) => void>()
  const fields = { redis: withoutPassword(url), channel, processId }

  const changeTo = (next: LinkState) => {
    const previous = current
    current = next
    if (next.state === previous.state) return
    logChange(previous, next)
    if (next.state !== 'connected') armDownTimer(next)
    else disarmDownTimer()
    tell(next)
  }
  const tell = (state: LinkState) => {
    for (const handler of [...stateHandlers]) guarded('state handler', () => handler(state))
  }
  const evaluate = () => {
    if (!closed) changeTo(linkState(current, [subscriberLeg, publisherLeg], now(), downAfterMs))
  }
  const logChange = (previous: LinkState, next: LinkState) => {
    if (previous.state === 'connected') lostAt = next.since
    switch (next.state) {
      case 'connected':
        // A reconnect says what the outage cost: how long, and how many payloads were dropped meanwhile.
        // Counted from the loss, not from `down` (which comes a grace period after it).
        if (everConnected) log('info', 'cluster link connected again', { ...fields, afterMs: next.since - lostAt, dropped: counts.dropped - droppedWhenLost })
        else log('info', 'cluster link connected', { ...fields, afterMs: next.since - openedAt })
        everConnected = true
        return
      case 'reconnecting':
        droppedWhenLost = counts.dropped
        log('warn', 'cluster link lost, reconnecting', { ...fields, error: next.error })
        return
      case 'down':
        log('warn', 'cluster link down', { ...fields, error: next.error, since: new Date(previous.since).toISOString() })
        return
    }
  }

  // `down` is a matter of time passing while nothing happens, so a timer looks again when it is due.
  let downTimer: NodeJS.Timeout | undefined
  const armDownTimer = (state: LinkState) => {
    disarmDownTimer()
    if (state.state !== 'reconnecting') return
    downTimer = setTimeout(evaluate, Math.max(0, state.since + downAfterMs - now()))
    downTimer.unref()
  }
  const disarmDownTimer = () => {
    if (downTimer !== undefined) clearTimeout(downTimer)
    downTimer = undefined
  }
  armDownTimer(current)

  // A handler is the chat's code: its bug must not stop the connection's reader, and is reported.
  const guarded = (what: string, work: () => void) => {
    try {
      work()
    } catch (error) {
      log('error', `cluster link ${what} threw`, { ...fields, err: error })
    }
  }

  watch(subscriber, {
    ready: (isCurrent) => {
      // Connected is not subscribed: only after the server confirms SUBSCRIBE does a publish reach us.
      subscriber.subscribe(channel).then(
        () => {
          if (!isCurrent()) return
          subscriberLeg = up
          evaluate()
        },
        (error: unknown) => {
          if (!isCurrent()) return
          subscriberLeg = withError(subscriberLeg, `SUBSCRIBE refused: ${messageOf(error)}`)
          log('warn', 'cluster link cannot subscribe', { ...fields, error: messageOf(error) })
          subscriber.disconnect(true)
        },
      )
    },
    lost: (error) => {
      if (subscriberLeg.type === 'up') subscriberLeg = lost(now(), error)
      evaluate()
    },
    failedTry: (error) => {
      subscriberLeg = failedTry(subscriberLeg, error)
      evaluate()
    },
  })
  watch(publisher, {
    ready: () => {
      publisherLeg = up
      evaluate()
    },
    lost: (error) => {
      if (publisherLeg.type === 'up') publisherLeg = lost(now(), error)
      evaluate()
    },
    failedTry: (error) => {
      publisherLeg = failedTry(publisherLeg, error)
      evaluate()
    },
  })

  subscriber.on('message', (from: string, message: string) => {
    if (closed || from !== channel || message.startsWith(own)) return
    const opened = openEnvelope(message)
    if (opened === undefined) {
      counts.ignored += 1
      return
    }
    counts.received += 1
    for (const handler of payloadHandlers) guarded('payload handler', () => handler(opened.payload, opened.origin))
  })

  const stopHeartbeat = heartbeat([subscriber, publisher], silenceMs)

  const onPublished = () => {
    counts.published += 1
  }
  const onUnconfirmed = () => {
    counts.unconfirmed += 1
  }

  return {
    processId,
    publish: (payload) => {
      if (closed || publisher.status !== 'ready') {
        counts.dropped += 1
        return
      }
      publisher.publish(channel, envelope(processId, payload)).then(onPublished, onUnconfirmed)
    },
    onPayload: (handler) => {
      payloadHandlers.add(handler)
      return () => payloadHandlers.delete(handler)
    },
    onState: (handler) => {
      stateHandlers.add(handler)
      return () => stateHandlers.delete(handler)
    },
    state: () => current,
    counts: (): LinkCounts => ({ ...counts }),
    close: async () => {
      if (closed) return
      closed = true
      disarmDownTimer()
      stopHeartbeat()
      const wasDown = current.state === 'down'
      current = { state: 'down', since: now(), error: 'closed' }
      if (!wasDown) tell(current)
      log('info', 'cluster link closed', { ...fields, ...counts })
      await Promise.all([closeConnection(subscriber), closeConnection(publisher)])
    },
  }
}

interface ConnectionEvents {
  /** The connection is ready; `isCurrent()` turns false once it closes (an answer to it is then stale). */
  readonly ready: (isCurrent: () => boolean) => void
  /** It closed, with the error that closed it if one came first; ioredis will redial unless we closed it. */
  readonly lost: (error: string | undefined) => void
  /** A dial failed, with the last error heard (ECONNREFUSED, a timeout, NOAUTH...). */
  readonly failedTry: (error: string | undefined) => void
}

/**
 * ioredis's events, reduced to what the state needs. An 'error' comes before the 'close' it causes and is
 * kept for the next failed try; listening to 'error' at all is what keeps it from being thrown.
 */
const watch = (client: Redis, on: ConnectionEvents): void => {
  let lastError: string | undefined
  let epoch = 0
  client.on('error', (error: unknown) => {
    lastError = messageOf(error)
  })
  client.on('ready', () => {
    lastError = undefined
    const mine = epoch
    on.ready(() => epoch === mine)
  })
  client.on('close', () => {
    epoch += 1
    on.lost(lastError)
  })
  client.on('reconnecting', () => {
    on.failedTry(lastError)
  })
}
