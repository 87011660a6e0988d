// One load-generator process of `node bench/run.mjs presence` (bench/presence.mjs starts as many as the
// descriptor limit needs): it opens the sockets of users `from` … `to - 1` of `total`, each signed in as its
// own account, speaking protocol version `protocol` (2: subprotocol sala.v2; 1: none), spread over several
// loopback source addresses (one address has ~28,000 ephemeral ports), and waits. On "go" (stdin) every
// socket joins `room` at once, and each keeps its view of the room's size:
//   - version 2: the `count` of its `joined`, then of each `presence` frame;
//   - version 1: the users its `joined` lists, plus each `user_joined`, minus each `user_left`.
// When every view here reaches `total` it says when. On "verify", the sampled sockets check their view by
// name: version 2, their first page + the pages after its cursor + every presence frame's joins and
// leaves (a reset frame replacing the list and the cursor); both versions, a fresh walk of `members` pages from the first. Then "stop" closes everything.
// Frames are scanned in place (bench/raw-client.mjs); only the sampled sockets parse theirs.
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import { openRaw } from './raw-client.mjs'

const config = JSON.parse(process.argv[2])
const { urls, from, to, total, protocol, room } = config
const tokens = JSON.parse(readFileSync(config.tokensFile, 'utf8'))
const sampled = new Set(config.sample.filter((i) => i >= from && i < to))
const size = to - from
const targets = urls.map((url) => new URL(url))

const now = () => performance.timeOrigin + performance.now()
const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)

const prefix = (type) => Buffer.from(`{"type":"${type}"`)
const TYPE = { welcome: prefix('welcome'), joined: prefix('joined'), presence: prefix('presence'), userJoined: prefix('user_joined'), userLeft: prefix('user_left'), members: prefix('members'), error: prefix('error') }
const COUNT = Buffer.from('"count":')
const USERNAME = Buffer.from('"username":"')
const startsWith = (buffer, start, end, wanted) => end - start >= wanted.length && buffer.compare(wanted, 0, wanted.length, start, start + wanted.length) === 0
const numberAt = (buffer, at, end) => {
  let value = 0
  for (let i = at; i < end; i++) {
    const digit = buffer[i] - 48
    if (digit < 0 || digit > 9) break
    value = value * 10 + digit
  }
  return value
}
const occurrences = (buffer, start, end, needle) => {
  let count = 0
  for (let at = buffer.indexOf(needle, start); at !== -1 && at < end; at = buffer.indexOf(needle, at + needle.length)) count++
  return count
}

// Per socket (index i - from): its view of the room's size, and what it received after "go".
const views = new Int32Array(size)
const frames = new Int32Array(size)
const bytes = new Float64Array(size)
const complete = new Uint8Array(size)
// When each socket's `joined` came, ms after "go": how long the server took to answer the joins themselves.
const joinedAfter = new Float64Array(size).fill(Number.NaN)
let completed = 0
let closed = 0
let startedAt = 0
let completedAt = 0
let errors = 0
let firstError
let onComplete = () => undefined

/** What a sampled socket saw, by name, and its outstanding `members` request. */
const samples = new Map()

const onJoinedOrPresence = (k, buffer, start, end) => {
  if (protocol === 2) {
    // `count` is the last field of a presence frame and follows `users` in a joined one.
    const isPresence = startsWith(buffer, start, end, TYPE.presence)
    const at = isPresence ? buffer.lastIndexOf(COUNT, end - 1) : buffer.indexOf(COUNT, start)
    if (at < start || at >= end) return false
    views[k] = numberAt(buffer, at + COUNT.length, end)
    return true
  }
  // Version 1 lists everyone in `joined`, before its `count`; usernames are the listed users'.
  const countAt = buffer.indexOf(COUNT, start)
  views[k] = occurrences(buffer, start, countAt === -1 || countAt > end ? end : countAt, USERNAME)
  return true
}

const onText = (i, buffer, start, end) => {
  const k = i - from
  frames[k]++
  bytes[k] += end - start
  const sample = samples.get(i)
  if (sample !== undefined) onSampleFrame(sample, JSON.parse(buffer.toString('utf8', start, end)))
  const isJoined = startsWith(buffer, start, end, TYPE.joined)
  if (isJoined && Number.isNaN(joinedAfter[k])) joinedAfter[k] = now() - startedAt
  if (isJoined || startsWith(buffer, start, end, TYPE.presence)) {
    if (!onJoinedOrPresence(k, buffer, start, end)) return
  } else if (startsWith(buffer, start, end, TYPE.userJoined)) views[k]++
  else if (startsWith(buffer, start, end, TYPE.userLeft)) views[k]--
  else if (startsWith(buffer, start, end, TYPE.error)) {
    errors++
    firstError ??= buffer.toString('utf8', start, Math.min(end, start + 300))
    return
  } else return
  if (complete[k] === 0 && views[k] >= total) {
    complete[k] = 1
    if (++completed === size) {
      completedAt = now()
      onComplete()
    }
  }
}

const onSampleFrame = (sample, frame) => {
  switch (frame.type) {
    case 'joined':
      for (const user of frame.users) sample.seen.add(user.username)
      sample.cursor = frame.cursor
      break
    case 'presence':
      // A window of more changes than a page: the room's first page again, paged on from its cursor.
      if (frame.reset === true) {
        sample.seen = new Set(frame.joins.map((user) => user.username))
        sample.cursor = frame.cursor
        break
      }
      for (const user of frame.joins) sample.seen.add(user.username)
      for (const { user } of frame.leaves) sample.seen.delete(user.username)
      break
    case 'user_joined':
      sample.seen.add(frame.user.username)
      break
    case 'user_left':
      sample.seen.delete(frame.user.username)
      break
    case 'members':
    case 'error':
      sample.answer?.(frame)
      break
  }
}

const open = (i) =>
  new Promise((resolve, reject) => {
    const target = targets[i % targets.length]
    const headers = { Authorization: `Bearer ${tokens[i]}`, ...(protocol === 2 ? { 'Sec-WebSocket-Protocol': 'sala.v2' } : {}) }
    let welcomed = false
    const socket = openRaw({
      host: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      headers,
      localAddress: `127.0.0.${1 + (i % config.addresses)}`,
      onText: (buffer, start, end) => {
        if (welcomed) return onText(i, buffer, start, end)
        if (!startsWith(buffer, start, end, TYPE.welcome)) return
        welcomed = true
        // A build from before protocol versions says none: it speaks version 1.
        const spoken = JSON.parse(buffer.toString('utf8', start, end)).protocol ?? 1
        if (spoken !== protocol) return reject(new Error(`user ${i}: the server speaks protocol ${spoken}, not ${protocol}`))
        socket.then(resolve)
      },
      onClose: () => closed++,
    })
    socket.catch(reject)
  })

for (const i of sampled) samples.set(i, { seen: new Set(), cursor: undefined, answer: undefined })

const openStarted = now()
const sockets = []
// A hundred at a time: each waits for its `welcome`, so the server is never asked for thousands of
// sign-ins at once.
for (let i = from; i < to; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, to - i) }, (_, j) => open(i + j)))))
emit({ ready: sockets.length, openMs: Math.round(now() - openStarted) })

const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const nextCommand = async () => (await commands.next()).value?.trim()

if ((await nextCommand()) !== 'go') process.exit(1)
const done = new Promise((resolve) => (onComplete = resolve))
startedAt = now()
const join = JSON.stringify({ type: 'join', room })
for (const socket of sockets) socket.sendText(join)
const timeout = new Promise((resolve) => setTimeout(resolve, config.timeoutMs).unref())
await Promise.race([done, timeout])
const sum = (array) => array.reduce((a, b) => a + b, 0)
const extreme = (array, pick) => array.reduce((a, b) => pick(a, b), array[0] ?? 0)
emit({
  done: completed === size,
  startedAt,
  completedAt: completed === size ? completedAt : null,
  completed,
  size,
  frames: sum(frames),
  framesMax: extreme(frames, Math.max),
  framesMin: extreme(frames, Math.min),
  bytes: sum(bytes),
  // The joins' answers, ms after "go": sorted, so the orchestrator can merge the processes' quantiles.
  joinedAfter: [...joinedAfter].filter((ms) => !Number.isNaN(ms)).sort((a, b) => a - b).map(Math.round),
  // Views that never reached `total`: the smallest and largest of them, to tell a stall from a miscount.
  incompleteViews: completed === size ? undefined : [extreme(views.filter((_, k) => complete[k] === 0), Math.min), extreme(views.filter((_, k) => complete[k] === 0), Math.max)],
  closed,
  errors,
  firstError,
})

// Verification, on the orchestrator's word (after it has measured memory while everything is idle).
const ask = (i, sample, command) =>
  new Promise((resolve) => {
    sample.answer = (frame) => {
      sample.answer = undefined
      resolve(frame)
    }
    sockets[i - from].sendText(JSON.stringify(command))
  })
/** Every page of `members` from `cursor` on (from the first page without one): the names, and the counts said. */
const walk = async (i, sample, cursor) => {
  const names = []
  const counts = new Set()
  let pages = 0
  for (;;) {
    const frame = await ask(i, sample, { type: 'members', room, ...(cursor === undefined ? {} : { cursor }), ref: `page${pages}` })
    if (frame.type === 'error') {
      if (frame.code !== 'rate_limited') return { error: frame }
      await new Promise((resolve) => setTimeout(resolve, frame.retryAfterMs ?? 100))
      continue
    }
    pages++
    counts.add(frame.count)
    for (const user of frame.users) names.push(user.username)
    if (frame.cursor === undefined) return { names, counts: [...counts], pages }
    cursor = frame.cursor
  }
}
/** `names` are exactly bench0 … bench<total - 1>, each once. */
const everyone = (names) => {
  const distinct = new Set(names)
  return distinct.size === total && [...distinct].every((name) => /^bench\d+$/.test(name) && Number(name.slice(5)) < total)
}

if ((await nextCommand()) === 'verify') {
  const results = await Promise.all(
    [...samples].map(async ([i, sample]) => {
      // The socket's own view: what it was told, and the pages after its first one (as a client would walk them).
      const own = new Set(sample.seen)
      let ownPages = 0
      if (protocol === 2 && sample.cursor !== undefined) {
        const rest = await walk(i, sample, sample.cursor)
        if (rest.error !== undefined) return { user: i, error: rest.error }
        for (const name of rest.names) own.add(name)
        ownPages = rest.pages
      }
      const fresh = await walk(i, sample, undefined)
      // A build from before protocol versions has no `members` command: only the view can be checked.
      if (fresh.error?.code === 'bad_request' && protocol === 1) return { user: i, ownView: own.size, ownViewIsEveryone: everyone([...own]), membersCommand: 'unknown to this server' }
      if (fresh.error !== undefined) return { user: i, error: fresh.error }
      return {
        user: i,
        ownView: own.size,
        ownViewIsEveryone: everyone([...own]),
        ownPages,
        freshPages: fresh.pages,
        freshListed: fresh.names.length,
        freshIsEveryone: fresh.names.length === total && everyone(fresh.names),
        freshCounts: fresh.counts,
      }
    }),
  )
  emit({ verified: results })
  await nextCommand()
}
for (const socket of sockets) socket.terminate()
process.exit(0)
