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
 * Signs with `current`; verifies with `current` or any of `previous`, chosen by the token's `kid`. To
 * rotate: move the old secret to `previous`, set a new current one, and drop the old one after a session
 * lifetime. Nobody is logged out.
 */
export const createTokenIssuer = (current: string, previous: ReadonlyArray<string> = []): TokenIssuer => {
  const encode = (secret: string) => new TextEncoder().encode(secret)
  const key = encode(current)
  const currentId = keyId(current)
  const keys = new Map([...previous, current].map((secret) => [keyId(secret), encode(secret)]))
  // Tokens from before key ids carry none: they can only be the current secret's.
  const verificationKey = (header: JWTHeaderParameters) => keys.get(header.kid ?? currentId) ?? encode('no such key')
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
