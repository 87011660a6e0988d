import type { IncomingMessage } from 'node:http'
import type { ProxyTrust } from './proxy.js'

export interface OriginPolicy {
  readonly allowedOrigins: ReadonlyArray<string>
  /** Forwarded scheme and host are believed only from a trusted proxy. */
  readonly proxy: Pick<ProxyTrust, 'trustsPeer'>
}

/** How the request proved who it is; only an ambient credential (a cookie) can be abused cross-site. */
export type CredentialSource = 'cookie' | 'bearer' | 'none'

const first = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  (typeof value === 'string' ? value : value?.[0])?.split(',')[0]?.trim()

/** Scheme and host the request came to: the server's own origin as the browser sees it. */
export const ownOrigin = (req: IncomingMessage, policy: OriginPolicy): string | undefined => {
  const trusted = policy.proxy.trustsPeer(req)
  const forwardedProto = trusted ? first(req.headers['x-forwarded-proto']) : undefined
  const forwardedHost = trusted ? first(req.headers['x-forwarded-host']) : undefined
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted === true
  const scheme = forwardedProto ?? (encrypted ? 'https' : 'http')
  const host = forwardedHost ?? req.headers.host
  return host === undefined ? undefined : `${scheme}://${host}`.toLowerCase()
}

/**
 * Cross-site request forgery and WebSocket hijacking guard for requests that change state. A foreign
 * Origin is always refused; a missing one only when a cookie is what authenticates the request.
 */
export const originAllowed = (req: IncomingMessage, policy: OriginPolicy, credentials: CredentialSource): boolean => {
  if (credentials === 'bearer') return true
  const origin = req.headers.origin?.toLowerCase()
  if (origin === undefined) return credentials === 'none'
  return origin === ownOrigin(req, policy) || policy.allowedOrigins.some((allowed) => allowed.toLowerCase() === origin)
}
