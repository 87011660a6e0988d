// node bench/tick.mjs [users]: what one clock tick of the pure core costs with that many users present
// (one connection each, rooms of 100), in the situations that make the runtime tick. A tick blocks the
// event loop for as long as it runs, and typing alone can cause several a second. Needs a build.
import { DEFAULT_SETTINGS, initialChatState } from '../dist/src/core/chat/state.js'
import { step } from '../dist/src/core/chat/step.js'

const users = Number(process.argv[2] ?? 20000)
const rooms = Array.from({ length: Math.ceil(users / 100) }, (_, i) => ({ id: `r${i}`, name: `Room ${i}` }))
const start = 1_700_000_000_000
const connectionOf = (i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`

let state = initialChatState(rooms, () => ({ lastSeq: 0, recent: [] }), DEFAULT_SETTINGS)
const at = (ms) => start + ms
for (let i = 0; i < users; i++) {
  const user = { id: `${String(i).padStart(8, '0')}-1111-4000-8000-000000000000`, username: `user${i}`, name: `User ${i}` }
  ;[state] = step(state, { type: 'ConnectionOpened', connection: connectionOf(i), user, session: `session-${i}`, sessionExpiresAt: at(86_400_000), at: at(0) })
  ;[state] = step(state, { type: 'CommandReceived', connection: connectionOf(i), command: { type: 'join', room: rooms[i % rooms.length].id }, at: at(0) })
}

/** Median of repeated ticks on the same state (a tick is pure, so each run does the same work). */
const timeTick = (label, tickAt) => {
  const times = []
  const until = performance.now() + 1000
  while (performance.now() < until || times.length < 5) {
    const t = performance.now()
    step(state, { type: 'ClockTicked', at: tickAt })
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.log(`${label.padEnd(58)} ${median.toFixed(3).padStart(9)} ms (${times.length} ticks)`)
  return median
}

console.log(`${users} users in ${rooms.length} rooms, one connection each`)
const results = {}
results.limitsDue = timeTick('every user just joined: the rate-limit sweep is due', at(20_000))
;[state] = step(state, { type: 'ClockTicked', at: at(20_000) })
results.nothingDue = timeTick('nothing due (a tick for a deadline that moved)', at(20_001))
const typists = Math.min(100, users)
for (let i = 0; i < typists; i++) [state] = step(state, { type: 'CommandReceived', connection: connectionOf(i), command: { type: 'typing_start' }, at: at(21_000 + i) })
results.typingDue = timeTick(`one of ${typists} typists' typing runs out`, at(21_000 + DEFAULT_SETTINGS.typingTimeoutMs))
console.log(JSON.stringify({ scenario: 'tick', users, millisecondsPerTick: results }))
