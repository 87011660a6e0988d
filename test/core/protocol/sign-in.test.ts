import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { firstFrameVerdict } from '../../../src/core/protocol/sign-in.js'

const token = fc.stringMatching(/^[A-Za-z0-9_-]{8,40}\.[A-Za-z0-9_-]{8,40}\.[A-Za-z0-9_-]{8,40}$/)

describe('the first frame of a connection opened without credentials', () => {
  it('signs in with a well-formed auth frame', () => {
    fc.assert(
      fc.property(token, (t) => {
        expect(firstFrameVerdict(JSON.stringify({ type: 'auth', token: t }))).toEqual({ type: 'authenticate', token: t })
      }),
    )
  })

  it.each([
    ['a binary frame', undefined],
    ['text that is not JSON', 'hello'],
    ['a valid command other than auth', '{"type":"join","room":"sala-1"}'],
    ['a ping', '{"type":"ping","ref":"p"}'],
  ])('refuses %s, asking for an auth frame', (_label, text) => {
    expect(firstFrameVerdict(text)).toEqual({ type: 'refuse', reason: 'the first frame must be {"type":"auth","token":"…"}' })
  })

  it.each([
    ['auth without a token', '{"type":"auth"}'],
    ['auth with an empty token', '{"type":"auth","token":""}'],
    ['auth with a token past 4096 characters', JSON.stringify({ type: 'auth', token: 'x'.repeat(4097) })],
    ['auth with a ref', '{"type":"auth","token":"a.b.c","ref":"r"}'],
    ['auth with an unknown field', '{"type":"auth","token":"a.b.c","user":"ana"}'],
  ])('refuses %s, saying what an auth frame must be', (_label, text) => {
    expect(firstFrameVerdict(text)).toEqual({ type: 'refuse', reason: 'the auth frame must be exactly {"type":"auth","token":"…"} with the token from sign-in' })
  })

  it('never repeats what the client sent in its reason (a token in a malformed frame stays unsaid)', () => {
    fc.assert(
      fc.property(token, fc.constantFrom('ref', 'jwt', 'Token', 'user'), (t, extra) => {
        const verdict = firstFrameVerdict(JSON.stringify({ type: 'auth', token: t, [extra]: t }))
        expect(verdict.type).toBe('refuse')
        expect(JSON.stringify(verdict)).not.toContain(t)
      }),
    )
  })

  it('gives a close reason that fits a close frame (123 bytes)', () => {
    const verdict = firstFrameVerdict('{}')
    expect(verdict.type === 'refuse' && Buffer.byteLength(verdict.reason)).toBeLessThanOrEqual(123)
  })
})
