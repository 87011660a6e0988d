// Preloaded (node --import) into the linters that test/spec-lint.test.ts runs: any attempt to reach the
// network (telemetry, update checks, remote $refs) is written to SALA_NETWORK_LOG and refused, so the
// test can prove the linters ran offline. Local sockets (IPC pipes) stay allowed.
import { appendFileSync } from 'node:fs'
import dns from 'node:dns'
import net from 'node:net'

const log = process.env.SALA_NETWORK_LOG

const refuse = (what) => {
  if (log) appendFileSync(log, `${what}\n`)
  return new Error(`network refused in an offline lint run: ${what}`)
}

const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  // net.connect hands over its normalized arguments as one array; a direct call passes them as they are.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }
  if (typeof options.path === 'string') return connect.apply(this, args)
  const error = refuse(`connect ${options.host ?? 'localhost'}:${options.port}`)
  process.nextTick(() => this.destroy(error))
  return this
}

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6']) {
  const original = dns[name]
  dns[name] = function (hostname, ...rest) {
    const callback = rest.at(-1)
    const error = refuse(`dns ${name} ${hostname}`)
    if (typeof callback === 'function') process.nextTick(() => callback(error))
    else return original.call(this, hostname, ...rest)
  }
}
