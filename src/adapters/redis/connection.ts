import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { withDeadline } from '../deadline.js'
import type { LinkFailure, LinkLog } from '../cluster.js'

/** What every connection of ours needs to know; the defaults live in the openers. */
export interface ConnectionSettings {
  readonly url: string
  /** `CLIENT SETNAME`, so an operator can tell Sala's connections apart in `CLIENT LIST`. */
  readonly name: string
  /** A command unanswered this long is refused (`timeout`); the connection is kept. */
  readonly commandTimeoutMs: number
  /** A connection that answers nothing for this long (a PING unanswered, a connect that hangs) is dropped and redialled. */
  readonly silenceMs: number
  /** The longest wait between two reconnection attempts. */
  readonly retryCapMs: number
}

/**
 * One ioredis connection that never makes anything wait for Redis. While it is not ready a command is
 * refused at once instead of queued (`enableOfflineQueue: false`); a command in flight when the connection
 * breaks is refused at that moment (`maxRetriesPerRequest: 0`) and never resent after the reconnect
 * (`autoResendUnfulfilledCommands: false`: a PUBLISH whose answer was lost may have been delivered, and
 * at-most-once means not sending it twice). Subscriptions are renewed by the link itself, which must know
 * when the server has confirmed them (ioredis's `autoResubscribe` sends SUBSCRIBE after 'ready' and says
 * nothing when it is answered). It dials at once and redials for ever, with a capped backoff.
 */
export const openConnection = (settings: ConnectionSettings): Redis =>
  new Redis(settings.url, {
    lazyConnect: false,
    connectionName: settings.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    commandTimeout: settings.commandTimeoutMs,
    socketTimeout: settings.silenceMs,
    connectTimeout: settings.silenceMs,
    // CLIENT SETINFO: two more commands per connect that servers before Redis 7.2 refuse.
    disableClientInfo: true,
    retryStrategy: (attempt) => backoff(attempt, settings.retryCapMs),
  })

/** 50 ms doubling up to the cap, plus up to a fifth more at random so processes do not redial in step. */
export const backoff = (attempt: number, capMs: number): number => {
  const delay = Math.min(capMs, 50 * 2 ** Math.min(attempt - 1, 20))
  return Math.round(delay + Math.random() * delay * 0.2)
}

/**
 * A connection that went silent (no RST: a pulled cable, a frozen VM) shows only when something waits for
 * an answer: a PING every half `silenceMs` on each ready connection lets the socket timeout notice within
 * about `silenceMs` even when nothing else is sent. Returns the stop.
 */
export const heartbeat = (clients: ReadonlyArray<Redis>, silenceMs: number): (() => void) => {
  const timer = setInterval(() => {
    for (const client of clients) if (client.status === 'ready') client.ping().catch(() => undefined)
  }, Math.max(100, Math.floor(silenceMs / 2)))
  timer.unref()
  return () => clearInterval(timer)
}

/** QUIT when it can be answered (within a second), else the socket is simply closed. Never rejects. */
export const closeConnection = async (client: Redis): Promise<void> => {
  if (client.status === 'ready') {
    const quit = await withDeadline(client.quit().then(() => true, () => false), 1000)
    if (quit === true) return
  }
  client.disconnect(false)
}

/** A command's failure as the port says it: not connected, no answer in time, or refused by the server. */
export const linkFailure = (error: unknown): LinkFailure => {
  const message = error instanceof Error ? error.message : String(error)
  if (message.includes('Command timed out')) return { type: 'timeout', message }
  // A ReplyError is the server's own answer (WRONGTYPE, OOM, NOPERM, a script error).
  if (error instanceof Error && error.name === 'ReplyError') return { type: 'failed', message }
  return { type: 'unavailable', message }
}

export const NOT_CONNECTED: LinkFailure = { type: 'unavailable', message: 'not connected to Redis' }

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message || error.name : String(error))

/** A Lua script run by its SHA; `keys` are what it declares (KEYS), `args` the rest (ARGV). */
export type ScriptCall = (client: Redis, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) => Promise<unknown>

/**
 * EVALSHA, and EVAL once when the server has forgotten the script (a restart, SCRIPT FLUSH, a failover),
 * which loads it again for the next EVALSHA: the script's text crosses the wire once per server life.
 */
export const luaScript = (lua: string): ScriptCall => {
  const sha = createHash('sha1').update(lua).digest('hex')
  return async (client, keys, args) => {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!messageOf(error).startsWith('NOSCRIPT')) throw error
      return client.eval(lua, keys.length, ...keys, ...args)
    }
  }
}

/**
 * Logs a connection's changes once each, not its every retry: `<what> lost their Redis connection,
 * reconnecting` (with the last error), then `<what> connected again` (with how long it took). Nothing
 * once `closed()` says the owner closed it.
 */
export const logChanges = (client: Redis, log: LinkLog, what: string, fields: Readonly<Record<string, unknown>>, closed: () => boolean): void => {
  let lastError: string | undefined
  let lostSince: number | undefined
  client.on('error', (error: unknown) => {
    lastError = messageOf(error)
  })
  client.on('close', () => {
    if (lostSince !== undefined || closed()) return
    lostSince = Date.now()
    log('warn', `${what} lost their Redis connection, reconnecting`, { ...fields, error: lastError })
  })
  client.on('ready', () => {
    if (lostSince !== undefined) log('info', `${what} connected again`, { ...fields, afterMs: Date.now() - lostSince })
    lostSince = undefined
    lastError = undefined
  })
}
