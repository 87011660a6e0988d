// The load generator: its own process, speaking the real protocol over real sockets. It opens `members`
// connections (spread over several loopback source addresses), joins them to one room, then offers
// messages at each rate in turn from `senders` of them. Every message's text is its send time, so the
// receiving side measures end-to-end latency on the same clock. One JSON line per step on stdout.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { openRaw } from './raw-client.mjs'

const config = JSON.parse(process.argv[2])
const { url, members, senders, rates, stepMs, drainMs, sala } = config
const tokens = sala ? JSON.parse(readFileSync(config.tokensFile, 'utf8')) : []

const now = () => performance.timeOrigin + performance.now()
const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0

let received = 0
let closed = 0
let latencies = new Float64Array(1 << 22)
let recorded = 0
let acked = 0
const MESSAGE = Buffer.from('{"type":"message"')
const ACK = Buffer.from('{"type":"ack"')
const startsWith = (buffer, start, end, prefix) => end - start >= prefix.length && buffer.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0
/** The number after `key` (a JSON string field holding a timestamp), read in place. */
const stampAfter = (buffer, start, end, key) => {
  const at = buffer.indexOf(key, start, 'latin1')
  if (at === -1 || at >= end) return Number.NaN
  const from = at + key.length
  return Number.parseFloat(buffer.toString('latin1', from, Math.min(end, from + 24)))
}
// Scanned in place, not parsed: the generator must not be the bottleneck.
const onFrame = (buffer, start, end) => {
  if (config.mode === 'persist') {
    if (!startsWith(buffer, start, end, ACK)) return
    acked++
    if (recorded < latencies.length) latencies[recorded++] = now() - stampAfter(buffer, start, end, '"ref":"')
    return
  }
  if (!startsWith(buffer, start, end, MESSAGE)) return
  const sent = stampAfter(buffer, start, end, '"text":"')
  received++
  if (recorded < latencies.length) latencies[recorded++] = now() - sent
}

// `urls` (several processes sharing one chat): member i connects to urls[i % urls.length].
const targets = (config.urls ?? [url]).map((u) => new URL(u))
const open = (i) =>
  new Promise((resolve, reject) => {
    let joined = false
    // Persist mode: each sender in a room of its own, so nothing but storage is measured.
    const room =
      config.mode === 'persist' ? `r${i}` : config.mode === 'connections' ? `sala-${1 + (i % config.rooms)}` : config.mode === 'mixed' ? `r${i % config.rooms}` : 'sala-1'
    const onText = (buffer, start, end) => {
      if (!sala || joined) return onFrame(buffer, start, end)
      const text = buffer.toString('utf8', start, end)
      if (text.startsWith('{"type":"welcome"')) return opened.then((socket) => socket.sendText(JSON.stringify({ type: 'join', room })))
      if (text.startsWith('{"type":"joined"')) {
        joined = true
        opened.then(resolve)
      }
    }
    const headers = sala ? { Authorization: `Bearer ${tokens[i]}` } : {}
    const target = targets[i % targets.length]
    const opened = openRaw({ host: target.hostname, port: Number(target.port), path: target.pathname, headers, localAddress: `127.0.0.${1 + (i % 4)}`, onText, onClose: () => closed++ })
    opened.catch(reject)
    if (!sala) opened.then(resolve)
  })

const sockets = []
for (let i = 0; i < members; i += 100) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, members - i) }, (_, j) => open(i + j)))))
}
const talkers = sockets.slice(0, senders)
emit({ ready: sockets.length, openMs: Math.round(performance.now()) })
if (config.mode === 'mixed') {
  // Every user sends one message a second (typing first), in phases the orchestrator can watch.
  const phase = async (name) => {
    received = 0
    recorded = 0
    emit({ phase: name })
    const start = now()
    let sent = 0
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const due = Math.floor(((now() - start) / 1000) * sockets.length)
        while (sent < due) {
          const socket = sockets[sent % sockets.length]
          socket.sendText('{"type":"typing_start"}')
          socket.sendText(`{"type":"message","text":"${now()}"}`)
          sent++
        }
        if (now() - start >= stepMs) {
          clearInterval(timer)
          resolve()
        }
      }, 2)
    })
    await new Promise((resolve) => setTimeout(resolve, drainMs))
    const sorted = latencies.subarray(0, recorded).sort()
    const expected = sent * (config.roomSize - 1)
    emit({ result: name, messagesPerSec: Math.round((sent / stepMs) * 1000), delivered: received / expected, p50: Number(percentile(sorted, 0.5).toFixed(1)), p99: Number(percentile(sorted, 0.99).toFixed(1)), max: Number((sorted[sorted.length - 1] ?? 0).toFixed(1)) })
  }
  await phase('quiet')
  await phase('logins')
  process.exit(0)
}
if (config.mode === 'connections') {
  // Idle: hold the sockets (answering pings) until the orchestrator has measured and stops us.
  await new Promise((resolve) => process.stdin.once('data', resolve))
  process.exit(0)
}


for (const rate of rates) {
  received = 0
  recorded = 0
  acked = 0
  let sent = 0
  emit({ stepStart: rate })
  const start = now()
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((now() - start) / 1000) * rate)
      while (sent < due) {
        const stamp = now()
        talkers[sent % talkers.length].sendText(
          config.mode === 'persist' ? `{"type":"message","text":"persist","ref":"${stamp}"}` : `{"type":"message","text":"${stamp}"}`,
        )
        sent++
      }
      if (now() - start >= stepMs) {
        clearInterval(timer)
        resolve()
      }
    }, 2)
  })
  emit({ stepSent: rate })
  await new Promise((resolve) => setTimeout(resolve, drainMs))
  const sorted = latencies.subarray(0, recorded).sort()
  if (config.mode === 'persist') {
    const p99 = percentile(sorted, 0.99)
    emit({ rate, seconds: stepMs / 1000, offered: sent, ackedPerSec: Math.round((acked / stepMs) * 1000), acked: acked / sent, p50: Number(percentile(sorted, 0.5).toFixed(1)), p99: Number(p99.toFixed(1)), max: Number((sorted[sorted.length - 1] ?? 0).toFixed(1)), closed })
    if (acked < sent || closed > 0) break
    continue
  }
  const expected = sent * (members - 1)
  emit({
    rate,
    seconds: stepMs / 1000,
    offeredDeliveriesPerSec: Math.round((expected / stepMs) * 1000),
    deliveredPerSec: Math.round((received / stepMs) * 1000),
    delivered: received / expected,
    p50: Number(percentile(sorted, 0.5).toFixed(1)),
    p99: Number(percentile(sorted, 0.99).toFixed(1)),
    max: Number((sorted[sorted.length - 1] ?? 0).toFixed(1)),
    closed,
  })
  if (received < expected || percentile(sorted, 0.99) > 100 || closed > 0) break
}
for (const socket of sockets) socket.terminate()
process.exit(0)
