import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { postJson, register, startTestServer, upgradeStatus } from './helpers.js'

const OLD = 'the-old-session-secret-0123456789abcdef'
const NEW = 'the-new-session-secret-fedcba9876543210'

describe('rotating SESSION_SECRET', () => {
  it('keeps old sessions valid while the old secret is listed in SESSION_PREVIOUS_SECRETS, and signs new ones with the new key', async () => {
    const first = await startTestServer({ SESSION_SECRET: OLD })
    const user = await register(first)
    const oldKid = decodeProtectedHeader(user.token).kid
    expect(oldKid).toMatch(/^[A-Za-z0-9_-]{12}$/)
    const me = (url: string, token: string) => fetch(`${url}/auth/me`, { headers: { Authorization: `Bearer ${token}` } })

    await first.server.close()

    // Step 1: the new secret signs, the old one still verifies.
    const rotated = await startTestServer({ SESSION_SECRET: NEW, SESSION_PREVIOUS_SECRETS: OLD }, first.dataDir)
    expect((await me(rotated.url, user.token)).status).toBe(200)
    const login = await postJson(`${rotated.url}/auth/login`, { username: user.username, password: user.password })
    const fresh = ((await login.json()) as { token: string }).token
    expect(decodeProtectedHeader(fresh).kid).not.toBe(oldKid)
    expect((await me(rotated.url, fresh)).status).toBe(200)
    await rotated.server.close()

    // Step 2, a session lifetime later: the old secret is dropped, and with it the sessions it signed.
    const done = await startTestServer({ SESSION_SECRET: NEW }, first.dataDir)
    try {
      expect((await me(done.url, user.token)).status).toBe(401)
      expect((await me(done.url, fresh)).status).toBe(200)
    } finally {
      await done.stop()
    }
  })
})

describe('a token whose kid names none of our keys', () => {
  it('is refused by HTTP routes and by the WebSocket upgrade, whatever key signed it', async () => {
    const server = await startTestServer({ SESSION_SECRET: NEW })
    try {
      const user = await register(server)
      const claims = decodeJwt(user.token)
      const forge = (kid: string, secret: string) =>
        new SignJWT({ sid: claims['sid'] })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
          .setSubject(String(claims.sub))
          .setIssuer('sala')
          .setAudience('sala')
          .setIssuedAt()
          .setExpirationTime(Number(claims.exp))
          .sign(new TextEncoder().encode(secret))
      for (const kid of ['x', '__proto__', 'constructor', '']) {
        const forged = await forge(kid, 'no such key')
        const me = await fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${forged}` } })
        expect(me.status, `kid ${JSON.stringify(kid)}`).toBe(401)
        expect(await upgradeStatus(server.wsUrl, forged)).toBe(401)
      }
      // The same claims under our own key id are accepted: the refusal is about the key, not the claims.
      expect((await fetch(`${server.url}/auth/me`, { headers: { Authorization: `Bearer ${user.token}` } })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })
})

