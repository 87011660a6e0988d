import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { SignJWT, jwtVerify } from 'jose'
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

export const createTokenIssuer = (secret: string): TokenIssuer => {
  const key = new TextEncoder().encode(secret)
  return {
    issue: (claims, issuedAt) =>
      new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(claims.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(Math.floor(issuedAt / 1000))
        .setExpirationTime(Math.floor(claims.expiresAt / 1000))
        .sign(key),
    verify: (token, now) =>
      TE.tryCatch(
        async () => {
          const { payload } = await jwtVerify(token, key, {
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
