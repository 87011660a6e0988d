import type { IncomingMessage } from 'node:http'
import proxyaddr from 'proxy-addr'
import type { TrustProxy } from '../../core/config.js'

/**
 * Who the client is when proxies stand in front, with the standard semantics of `proxy-addr` (Express's
 * `trust proxy`): walk `X-Forwarded-For` from the right, past every hop a trusted proxy vouches for; the
 * first address no trusted proxy vouches for is the client. The leftmost entry is whatever the client
 * chose to send (nginx's `$proxy_add_x_forwarded_for` appends to it), so it is never believed on its own.
 */
export interface ProxyTrust {
  /** The client's address (IPv4, IPv6, or `unknown` for a socket already gone); used for limits, caps and logs. */
  readonly clientAddress: (req: IncomingMessage) => string
  /** Whether the peer that connected is a trusted proxy, so that its `X-Forwarded-Proto`/`-Host` may be believed. */
  readonly trustsPeer: (req: IncomingMessage) => boolean
}

type Trust = (address: string, hop: number) => boolean

const trustFunction = (trust: TrustProxy): Trust => {
  switch (trust.type) {
    case 'none':
      return () => false
    case 'hops':
      return (_address, hop) => hop < trust.count
    case 'addresses':
      return proxyaddr.compile([...trust.addresses])
  }
}

export const createProxyTrust = (trust: TrustProxy): ProxyTrust => {
  const trusts = trustFunction(trust)
  return {
    // A request whose socket has already closed has no address left to start the walk from.
    clientAddress: (req) => (req.socket.remoteAddress === undefined ? 'unknown' : proxyaddr(req, trusts)),
    trustsPeer: (req) => req.socket.remoteAddress !== undefined && trusts(req.socket.remoteAddress, 0),
  }
}
