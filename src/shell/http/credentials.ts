import type { IncomingMessage } from 'node:http'
import { readCookie, SESSION_COOKIE } from './cookies.js'

export interface Credentials {
  readonly token: string
  readonly source: 'cookie' | 'bearer'
}

/** A Bearer header wins over the cookie: a client that sends one means it. */
export const readCredentials = (req: IncomingMessage): Credentials | undefined => {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1]
  if (bearer !== undefined) return { token: bearer, source: 'bearer' }
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE)
  return cookie === undefined || cookie === '' ? undefined : { token: cookie, source: 'cookie' }
}
