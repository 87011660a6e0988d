import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLogger } from '../../src/adapters/logger.js'
import { createHttpHandlers } from '../../src/shell/http/handle-request.js'
import type { RouteTable } from '../../src/shell/http/reply.js'
import { createProxyTrust } from '../../src/shell/http/proxy.js'
import type { TrustProxy } from '../../src/core/config.js'
import { register, startTestServer, waitFor } from './helpers.js'

/**
 * The access log over real sockets, with the request handler on a bare HTTP server whose timeouts are
 * short: every request leaves exactly one line, whether it finished, the client went away, it timed out,
 * it was malformed, or the server failed after the status went out.
 */

type Line = Record<string, unknown>

interface Harness {
  readonly port: number
  readonly lines: Line[]
  readonly access: () => Line[]
}

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

const readBody = (req: Readable): Promise<void> =>
  new Promise((resolve, reject) => {
    req.on('data', () => undefined)
    req.on('end', resolve)
    req.on('error', reject)
    req.on('close', resolve)
  })

const routes: RouteTable = {
  '/ok': { GET: () => TE.right({ status: 200, body: { ok: true } }) },
  // Reads the whole body before answering, as the JSON and upload routes do.
  '/echo': { POST: (req) => TE.rightTask(() => readBody(req).then(() => ({ status: 200, body: { read: true } }))) },
  // A download that never ends until the client leaves.
  '/endless': { GET: () => TE.right({ status: 200, stream: () => Readable.from(endless()), headers: { 'Content-Type': 'application/octet-stream' } }) },
  // A download whose file fails after the status and a first chunk went out.
  '/broken': { GET: () => TE.right({ status: 200, stream: () => Readable.from(broken()), headers: { 'Content-Type': 'application/octet-stream' } }) },
}

async function* endless() {
  for (;;) {
    yield Buffer.alloc(64 * 1024)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function* broken() {
  yield Buffer.from('the first bytes')
  await new Promise((resolve) => setTimeout(resolve, 20))
  throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })
}

const start = async (timeouts: { requestTimeout?: number; headersTimeout?: number } = {}, trust: TrustProxy = { type: 'none' }): Promise<Harness> => {
  const lines: Line[] = []
  const log = jsonLogger('debug', (line) => lines.push(JSON.parse(line) as Line))
  const handlers = createHttpHandlers(routes, log, createProxyTrust(trust))
  const server = createServer({ ...timeouts, connectionsCheckingInterval: 25 }, handlers.request)
  server.on('clientError', handlers.clientError)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { port, lines, access: () => lines.filter((line) => line['msg'] === 'http request') }
}

/** A raw connection that has written `text`; collects what comes back. */
const raw = (port: number, text: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> =>
  new Promise((resolve) => {
    let received = ''
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(text)
      resolve({ socket, received: () => received, closed })
    })
    const closed = new Promise<void>((done) => socket.on('close', () => done()))
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('error', () => undefined)
    sockets.push(socket)
  })


describe('every request leaves one access line', () => {
  it('a finished request: its status, no aborted flag', async () => {
    const harness = await start()
    expect((await fetch(`http://127.0.0.1:${harness.port}/ok`)).status).toBe(200)
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/ok', status: 200, requestId: expect.any(String) })
    expect(line).not.toHaveProperty('aborted')
  })

  it('a client that goes away mid-upload: 499, aborted, connection_closed', async () => {
    const harness = await start()
    const client = await raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"half":')
    await waitFor(() => (client.socket.bytesWritten > 0 ? true : undefined), 'the bytes to go out')
    client.socket.destroy()
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ method: 'POST', path: '/echo', status: 499, aborted: true, reason: 'connection_closed' })
  })

  it('a client that goes away mid-download: the status sent, aborted, connection_closed', async () => {
    const harness = await start()
    const client = await raw(harness.port, 'GET /endless HTTP/1.1\r\nHost: x\r\n\r\n')
    await waitFor(() => (client.received().startsWith('HTTP/1.1 200') ? true : undefined), 'the status line')
    client.socket.destroy()
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ path: '/endless', status: 200, aborted: true, reason: 'connection_closed' })
  })

  it('a download that fails on our side after the status: server_error, not the client', async () => {
    const harness = await start()
    const client = await raw(harness.port, 'GET /broken HTTP/1.1\r\nHost: x\r\n\r\n')
    await client.closed
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ path: '/broken', status: 200, aborted: true, reason: 'server_error' })
  })

  it('a request whose body never arrives in time: answered 408 and logged 408, timed_out', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    const client = await raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"slow":')
    await client.closed
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ method: 'POST', path: '/echo', status: 408, aborted: true, reason: 'timed_out' })
  })

  it('headers that never finish: answered 408 and logged, though no route saw the request', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    const client = await raw(harness.port, 'GET /ok HTTP/1.1\r\nHost: x\r\n')
    await client.closed
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
    const line = await waitFor(() => harness.access()[0], 'the access line')
    expect(line).toMatchObject({ status: 408, aborted: true, reason: 'timed_out', requestId: expect.any(String) })
  })

  it('a connection that never sends a byte is not a request: closed with no access line', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    const client = await raw(harness.port, '')
    await client.closed
    await waitFor(() => harness.lines.find((line) => line['msg'] === 'client error'), 'the debug line')
    expect(harness.access()).toEqual([])
  })

  it('a keep-alive connection that idles out after its request leaves only that request’s line', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    const client = await raw(harness.port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
    await waitFor(() => harness.access()[0], 'the access line')
    client.socket.end()
    await client.closed
    expect(harness.access()).toHaveLength(1)
  })

  it('malformed requests: answered 400 (431 for huge headers) and logged as malformed', async () => {
    const harness = await start()
    const garbage = await raw(harness.port, 'NOT HTTP AT ALL\r\n\r\n')
    await garbage.closed
    expect(garbage.received()).toMatch(/^HTTP\/1\.1 400 /)
    const huge = await raw(harness.port, `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    await huge.closed
    expect(huge.received()).toMatch(/^HTTP\/1\.1 431 /)
    const badChunk = await raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
    await badChunk.closed
    expect(badChunk.received()).toMatch(/^HTTP\/1\.1 400 /)
    const lines = await waitFor(() => (harness.access().length >= 3 ? harness.access() : undefined), 'three access lines')
    expect(lines.map((line) => [line['status'], line['reason']]).sort()).toEqual([
      [400, 'malformed'],
      [400, 'malformed'],
      [431, 'malformed'],
    ])
    expect(lines.find((line) => line['path'] === '/echo')).toMatchObject({ method: 'POST', aborted: true })
  })

  it('one line per request, never two, across a mix of all of the above', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    const requests = [
      raw(harness.port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab'),
      raw(harness.port, 'GET /ok HTTP/1.1\r\nHost: x\r\n'),
      raw(harness.port, 'BAD\r\n\r\n'),
      raw(harness.port, 'GET /broken HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]
    const clients = await Promise.all(requests)
    await Promise.all(clients.map((client) => client.closed))
    const lines = await waitFor(() => (harness.access().length >= 5 ? harness.access() : undefined), 'five access lines')
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines).toHaveLength(5)
    expect(new Set(lines.map((line) => line['requestId'])).size).toBe(5)
  })
})

describe('every access line names the client', () => {
  it('finished, aborted, timed-out and malformed requests all carry the client address', async () => {
    const harness = await start({ requestTimeout: 300, headersTimeout: 200 })
    expect((await fetch(`http://127.0.0.1:${harness.port}/ok`)).status).toBe(200)
    const gone = await raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"half":')
    await waitFor(() => (gone.socket.bytesWritten > 0 ? true : undefined), 'the bytes to go out')
    gone.socket.destroy()
    const slow = await raw(harness.port, 'GET /ok HTTP/1.1\r\nHost: x\r\n')
    const garbage = await raw(harness.port, 'NOT HTTP AT ALL\r\n\r\n')
    await Promise.all([slow.closed, garbage.closed])
    const lines = await waitFor(() => (harness.access().length >= 4 ? harness.access() : undefined), 'four access lines')
    expect(lines.map((line) => line['reason'] ?? 'finished').sort()).toEqual(['connection_closed', 'finished', 'malformed', 'timed_out'])
    for (const line of lines) expect(line).toMatchObject({ address: '127.0.0.1' })
  })

  it('behind a trusted proxy (TRUST_PROXY=1): the address the proxy saw, for finished and aborted requests alike', async () => {
    const harness = await start({}, { type: 'hops', count: 1 })
    const forwarded = { 'X-Forwarded-For': '198.51.100.9, 203.0.113.7' }
    expect((await fetch(`http://127.0.0.1:${harness.port}/ok`, { headers: forwarded })).status).toBe(200)
    const gone = await raw(harness.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.8\r\nContent-Length: 100000\r\n\r\n{"half":')
    await waitFor(() => (gone.socket.bytesWritten > 0 ? true : undefined), 'the bytes to go out')
    gone.socket.destroy()
    const lines = await waitFor(() => (harness.access().length >= 2 ? harness.access() : undefined), 'two access lines')
    expect(lines.find((line) => line['path'] === '/ok')).toMatchObject({ address: '203.0.113.7' })
    expect(lines.find((line) => line['path'] === '/echo')).toMatchObject({ address: '203.0.113.8', aborted: true })
  })

  it('not trusting proxies (the default), a forwarded address is not believed', async () => {
    const harness = await start()
    await fetch(`http://127.0.0.1:${harness.port}/ok`, { headers: { 'X-Forwarded-For': '203.0.113.7' } })
    expect(await waitFor(() => harness.access()[0], 'the access line')).toMatchObject({ address: '127.0.0.1' })
  })

  it('the server wires its TRUST_PROXY setting into the access log', async () => {
    const server = await startTestServer({ TRUST_PROXY: '1' })
    try {
      const user = await register(server)
      await fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${user.token}`, 'X-Forwarded-For': '192.0.2.44' } })
      const line = await waitFor(
        () => server.logLines.map((text) => JSON.parse(text) as Line).find((entry) => entry['msg'] === 'http request' && entry['path'] === '/auth/me'),
        'the access line of /auth/me',
      )
      expect(line).toMatchObject({ status: 200, address: '192.0.2.44' })
    } finally {
      await server.stop()
    }
  })
})

