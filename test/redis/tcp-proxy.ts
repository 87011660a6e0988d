import { connect, createServer, type Socket } from 'node:net'

/** A TCP proxy in front of a Redis, for the network's misbehaviours that a stopped server cannot play. */
export interface TcpProxy {
  /** `redis://127.0.0.1:<port>`, through the proxy. */
  readonly url: string
  /**
   * The connections open now stop carrying anything, either way, and stay open: a pulled cable or a frozen
   * machine, where no reset ever comes. Connections made afterwards work.
   */
  readonly freeze: () => void
  /** How many connections it has carried, closed ones included. */
  readonly accepted: () => number
  readonly close: () => Promise<void>
}

/** Listens on a free port of 127.0.0.1 and forwards to `targetPort`, each chunk `delayMs` late (in order). */
export const startTcpProxy = async (targetPort: number, delayMs = 0): Promise<TcpProxy> => {
  const pairs = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>()
  let accepted = 0
  const server = createServer((client) => {
    accepted += 1
    const upstream = connect(targetPort, '127.0.0.1')
    const pair = { client, upstream, frozen: false }
    pairs.add(pair)
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (pair.frozen) return
      if (delayMs === 0) to.write(chunk)
      else setTimeout(() => pair.frozen || to.destroyed || to.write(chunk), delayMs)
    }
    client.on('data', forward(upstream))
    upstream.on('data', forward(client))
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => {
      for (const pair of pairs) pair.frozen = true
    },
    accepted: () => accepted,
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
