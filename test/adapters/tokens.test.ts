import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { trusted } from '../../src/core/codecs.js'
import { SessionId, UserId } from '../../src/core/brands.js'
import { createTokenIssuer, keyId } from '../../src/adapters/tokens.js'

const CURRENT = 'current-secret-0123456789abcdef0123456789'
const PREVIOUS = 'previous-secret-0123456789abcdef012345678'
const NOW = Date.UTC(2026, 0, 1)
const claims = { userId: trusted(UserId, 'u1'), sessionId: trusted(SessionId, 'session-0123456789ab'), expiresAt: NOW + 3_600_000 }

/** A token with these claims, signed by `secret` with the given header `kid` (absent when undefined). */
const forge = (secret: string, kid: unknown) =>
  new SignJWT({ sid: claims.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid: kid as string }) })
    .setSubject(claims.userId)
    .setIssuer('sala')
    .setAudience('sala')
    .setIssuedAt(Math.floor(NOW / 1000))
    .setExpirationTime(Math.floor(claims.expiresAt / 1000))
    .sign(new TextEncoder().encode(secret))

const issuer = createTokenIssuer(CURRENT, [PREVIOUS])
const accepted = async (token: string) => E.isRight(await issuer.verify(token, NOW)())

describe('token key selection', () => {
  it('accepts a token without kid only when the current secret signed it (tokens from before key ids)', async () => {
    expect(await accepted(await forge(CURRENT, undefined))).toBe(true)
    expect(await accepted(await forge(PREVIOUS, undefined))).toBe(false)
  })

  it('accepts the current and the previous keys under their own kid, and neither under the other’s', async () => {
    expect(await accepted(await forge(CURRENT, keyId(CURRENT)))).toBe(true)
    expect(await accepted(await forge(PREVIOUS, keyId(PREVIOUS)))).toBe(true)
    expect(await accepted(await forge(CURRENT, keyId(PREVIOUS)))).toBe(false)
    expect(await accepted(await forge(PREVIOUS, keyId(CURRENT)))).toBe(false)
  })

  it('refuses the issue’s forgery: kid "x" signed with the stand-in key "no such key"', async () => {
    for (const kid of ['x', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(await accepted(await forge('no such key', kid))).toBe(false)
    }
  })

  it('refuses a kid that is not a string', async () => {
    for (const kid of [0, 1, null, true, [], {}]) expect(await accepted(await forge('no such key', kid))).toBe(false)
  })

  it('refuses every unknown kid whatever key signed the token (property)', async () => {
    const ours = new Set([keyId(CURRENT), keyId(PREVIOUS)])
    await fc.assert(
      fc.asyncProperty(
        fc.string().filter((kid) => !ours.has(kid)),
        fc.constantFrom('no such key', CURRENT, PREVIOUS, 'x'),
        async (kid, secret) => {
          expect(await accepted(await forge(secret, kid))).toBe(false)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('round-trips its own tokens', async () => {
    const token = await issuer.issue(claims, NOW)
    const verified = await issuer.verify(token, NOW)()
    expect(verified).toEqual(E.right(claims))
  })
})
