import { CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER } from '../core/protocol/close-codes.js'
import { CONNECT_TIMEOUT_MS, due, heard, PING_REF_PREFIX, pinged } from './heartbeat.js'
import { noMembers } from './members.js'
import type { Cmd, Model, Step } from './model.js'
import { connectionLost } from './outbox.js'
import { join, notice, send } from './steps.js'

// The page's link to the server over time: connecting, the heartbeat, losing the link and coming back,
// and the one timer that wakes the page for whichever deadline is next.

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 30 s, each scaled by 50-100 %. */
export const reconnectDelay = (attempt: number, random: number): number =>
  Math.round(Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random / 2))

/** A socket is asked for; it is given up if it has not opened by CONNECT_TIMEOUT_MS. */
export const connecting = (model: Model, attempt: number, at: number): Step => {
  const giveUpAt = at + CONNECT_TIMEOUT_MS
  return [{ ...model, connection: { state: 'connecting', attempt, giveUpAt } }, [{ type: 'connect' }, { type: 'wakeAt', at: giveUpAt }]]
}

/** Any frame shows the link is alive: the next ping is due a full idle period from now. */
export const alive = (model: Model, at: number): Model => {
  const connection = model.connection
  if (connection.state !== 'open' && connection.state !== 'online') return model
  return { ...model, connection: { ...connection, liveness: heard(at) } }
}

/** The one timer went off: the connect timeout, the landing wait or the heartbeat may be due. */
export const tick = (model: Model, at: number, random: number): Step => {
  const connection = model.connection
  if (connection.state === 'connecting') {
    if (at < connection.giveUpAt) return [model, [{ type: 'wakeAt', at: connection.giveUpAt }]]
    return linkLost(model, random, 'the server did not answer')
  }
  if (connection.state !== 'open' && connection.state !== 'online') return [model, []]
  const [landed, joins] = landingDue(model, at)
  const [next, commands] = heartbeat(landed, at, random)
  return [next, [...joins, ...commands]]
}

/** The wait after an older server's `welcome` is over and no `joined` came: the page joins the default room. */
const landingDue = (model: Model, at: number): Step => {
  if (model.landing.state !== 'waiting' || at < model.landing.until) return [model, []]
  const landed: Model = { ...model, landing: { state: 'landed' } }
  const room = model.shown ?? model.rooms[0]?.id
  return room === undefined || model.room !== null || model.joining !== null ? [landed, []] : join(landed, room)
}

/** The one timer wakes the page for the heartbeat's next deadline or the end of the landing wait, whichever is first. */
const wakeAt = (model: Model, at: number): Cmd => ({
  type: 'wakeAt',
  at: model.landing.state === 'waiting' ? Math.min(at, model.landing.until) : at,
})

const heartbeat = (model: Model, at: number, random: number): Step => {
  const connection = model.connection
  if (connection.state !== 'open' && connection.state !== 'online') return [model, []]
  const next = due(connection.liveness, at)
  switch (next.type) {
    case 'wait':
      return [model, [wakeAt(model, next.until)]]
    case 'ping': {
      const ref = `${PING_REF_PREFIX}${model.nextRef}`
      const liveness = pinged(ref, at)
      return [
        { ...model, nextRef: model.nextRef + 1, connection: { ...connection, liveness } },
        [send({ type: 'ping', ref }), wakeAt(model, liveness.deadAt)],
      ]
    }
    case 'dead':
      return linkLost(model, random, 'no answer to ping')
  }
}

/** The page gives up on its socket (the browser may take minutes to notice a dead one) and reconnects. */
const linkLost = (model: Model, random: number, reason: string): Step => {
  const [next, commands] = reconnect(model, random)
  return [next, [{ type: 'disconnect', reason }, ...commands]]
}

/** The socket closed (not for an ended session, which signs the page out): the page reconnects, after a backoff. */
export const socketClosed = (model: Model, code: number, reason: string, random: number): Step => {
  if (model.connection.state === 'offline' || model.connection.state === 'reconnecting') return [model, []]
  const why = reason === '' ? '' : ` (${reason})`
  const told = code === CLOSE_POLICY_VIOLATION || code === CLOSE_TRY_AGAIN_LATER ? notice(model, `The server closed the connection${why}.`) : model
  return reconnect(told, random)
}

/**
 * Leaves the lost connection's state behind and schedules the next attempt. Only a welcomed connection
 * starts the backoff over: a server that accepts and closes at once is not hammered.
 */
const reconnect = (model: Model, random: number): Step => {
  const connection = model.connection
  const attempt = connection.state === 'connecting' || connection.state === 'open' ? connection.attempt + 1 : 0
  const delayMs = reconnectDelay(attempt, random)
  const lost: Model = {
    ...model,
    room: null,
    joining: null,
    members: noMembers,
    typing: [],
    ownTyping: { state: 'idle' },
    loadingOlder: false,
    landing: { state: 'landed' },
    outbox: connectionLost(model.outbox),
    connection: { state: 'reconnecting', attempt, delayMs },
  }
  return [lost, [{ type: 'retryAfter', ms: delayMs }]]
}
