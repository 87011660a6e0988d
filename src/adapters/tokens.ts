import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { createHash } from 'node:crypto'
import { SignJWT, jwtVerify, type JWTHeaderParameters } from 'jose'
import { SessionId, UserId } from '../core/brands.js'

/** What a valid session token says. Everything else about the session lives in the database. */
export interface SessionClaims {
  readonly userId: UserId
  readonly sessionId: SessionId
  readonly expiresAt: number
}

export interface TokenIssuer {
  readonly issue: (claims: SessionClaims, issuedAt: number) => Promise<string>
  /** Left for any token that is not one of ours, unexpired, with the expected shape. */
  readonly verify: (token: string, now: number) => TE.TaskEither<'invalid_token', SessionClaims>
}

const ISSUER = 'sala'
const AUDIENCE = 'sala'
// Pinned: a token naming any other algorithm (or `none`) is refused before its signature is looked at.
const ALGORITHM = 'HS256'

const Payload = t.type({ sub: UserId, sid: SessionId, exp: t.number })

/** A key's public name: a hash prefix, so a token says which secret signed it without revealing it. */
export const keyId = (secret: string): string => createHash('sha256').update(secret).digest('base64url').slice(0, 12)

/**
 * The key a token's `kid` names: one of ours or none. A token without `kid` predates key ids and can only
 * be the current secret's; an empty, unknown or inherited name (`__proto__`, `constructor`) selects
 * nothing, since a `Map` has no prototype keys and nothing here falls back to a default key.
 */
export const selectKey = (
  keys: ReadonlyMap<string, Uint8Array>,
  kid: string | undefined,
  currentId: string,
): Uint8Array | undefined => {
  if (kid === undefined) return keys.get(currentId)
  return typeof kid === 'string' && kid !== '' ? keys.get(kid) : undefined
}

class UnknownKeyError extends Error {
  constructor() {
    super('the token names a key that is not ours')
  }
}

/**
 * Signs with `current`; verifies with `current` or any of `previous`, chosen by the token's `kid`. To
 * rotate: move the old secret to `previous`, set a new current one, and drop the old one after a session
 * lifetime. Nobody is logged out.
 */
export const createTokenIssuer = (current: string, previous: ReadonlyArray<string> = []): TokenIssuer => {
  const encode = (secret: string) => new TextEncoder().encode(secret)
  const key = encode(current)
  const currentId = keyId(current)
  const keys = new Map([...previous, current].map((secret) => [keyId(secret), encode(secret)]))
  const verificationKey = (header: JWTHeaderParameters): Uint8Array => {
    const key = selectKey(keys, header.kid, currentId)
    // jose turns a throw here into a failed verification: the token is refused before any signature check.
    if (key === undefined) throw new UnknownKeyError()
    return key
  }
  return {
    issue: (claims, issuedAt) =>
      new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: currentId })
        .setSubject(claims.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(Math.floor(issuedAt / 1000))
        .setExpirationTime(Math.floor(claims.expiresAt / 1000))
        .sign(key),
    verify: (token, now) =>
      TE.tryCatch(
        async () => {
          const { payload } = await jwtVerify(token, verificationKey, {
            algorithms: [ALGORITHM],
            issuer: ISSUER,
            audience: AUDIENCE,
            currentDate: new Date(now),
            requiredClaims: ['sub', 'sid', 'exp'],
          })
          const decoded = Payload.decode(payload)
          if (E.isLeft(decoded)) throw new Error('unexpected claims')
          return { userId: decoded.right.sub, sessionId: decoded.right.sid, expiresAt: decoded.right.exp * 1000 }
        },
        () => 'invalid_token' as const,
      ),
  }
}
