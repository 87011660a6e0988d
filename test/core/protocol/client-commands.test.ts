import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodeClientFrame } from '../../../src/core/protocol/client-commands.js'

const rejection = (text: string) => {
  const decoded = decodeClientFrame(text)
  if (E.isRight(decoded)) throw new Error(`expected ${text} to be rejected`)
  return decoded.left
}

describe('decodeClientFrame', () => {
  it('decodes every command, trimming message text', () => {
    expect(decodeClientFrame('{"type":"join","room":"sala-2","since":"000000000007","ref":"r1"}')).toEqual(
      E.right({ type: 'join', room: 'sala-2', since: '000000000007', ref: 'r1' }),
    )
    expect(decodeClientFrame('{"type":"message","text":"  hi  ","clientId":"c-1"}')).toEqual(
      E.right({ type: 'message', text: 'hi', clientId: 'c-1' }),
    )
    expect(decodeClientFrame('{"type":"history","before":"000000000010","limit":20}')).toEqual(
      E.right({ type: 'history', before: '000000000010', limit: 20 }),
    )
    for (const type of ['leave', 'typing_start', 'typing_stop', 'ping']) {
      expect(decodeClientFrame(JSON.stringify({ type }))).toEqual(E.right({ type }))
    }
    expect(decodeClientFrame('{"type":"ping","ref":"p1"}')).toEqual(E.right({ type: 'ping', ref: 'p1' }))
    expect(decodeClientFrame('{"type":"auth","token":"eyJ.a.b"}')).toEqual(E.right({ type: 'auth', token: 'eyJ.a.b' }))
  })

  it('refuses an auth frame without a usable token, without repeating it', () => {
    expect(rejection('{"type":"auth"}').details).toEqual([{ path: 'token', message: 'is required' }])
    expect(rejection('{"type":"auth","token":""}').details).toEqual([{ path: 'token', message: 'must be the token from POST /auth/login or /auth/register' }])
    expect(rejection('{"type":"auth","token":7}').details[0]?.path).toBe('token')
    expect(rejection(JSON.stringify({ type: 'auth', token: 'x'.repeat(4097) })).details[0]?.path).toBe('token')
    // Nothing answers an auth frame but welcome or the close, so it has no ref to echo.
    const withRef = rejection('{"type":"auth","token":"secret-token","ref":"a1"}')
    expect(withRef.details).toEqual([{ path: 'ref', message: 'is not a known field' }])
    expect(JSON.stringify(withRef)).not.toContain('secret-token')
  })

  it('keeps the ref of a malformed ping', () => {
    const rejected = rejection('{"type":"ping","ref":"p2","at":1}')
    expect(rejected).toMatchObject({ ref: 'p2', details: [{ path: 'at', message: 'is not a known field' }] })
  })

  it.each([
    ['not json', 'frame is not valid JSON'],
    ['null', 'frame must be a JSON object with a "type"'],
    ['[1,2]', 'frame must be a JSON object with a "type"'],
    ['"join"', 'frame must be a JSON object with a "type"'],
    ['{"type":"shout"}', 'unknown command type "shout"'],
    ['{"room":"sala-1"}', 'frame must be a JSON object with a "type"'],
    ['{"type":"constructor"}', 'unknown command type "constructor"'],
  ])('rejects %s', (text, message) => {
    expect(rejection(text).message).toBe(message)
  })

  it('refuses a room id longer than any room can have, in every command that names one, saying which field', () => {
    const long = 'r'.repeat(129)
    for (const frame of [{ type: 'join', room: long }, { type: 'read', room: long }, { type: 'message', text: 'hi', room: long }]) {
      expect(rejection(JSON.stringify(frame)).details).toContainEqual({ path: 'room', message: 'must be a room id string of at most 128 characters' })
    }
    expect(E.isRight(decodeClientFrame(JSON.stringify({ type: 'join', room: 'r'.repeat(128) })))).toBe(true)
  })

  it('names each wrong field and echoes a usable ref', () => {
    const rejected = rejection('{"type":"message","text":"   ","clientId":7,"colour":"red","ref":"r9"}')
    expect(rejected.ref).toBe('r9')
    expect(rejected.details).toEqual(
      expect.arrayContaining([
        { path: 'text', message: 'must be a string of 1-4000 characters after trimming' },
        { path: 'clientId', message: 'must be 1-64 characters of well-formed Unicode, without control characters' },
        { path: 'colour', message: 'is not a known field' },
      ]),
    )
  })

  it('refuses text over 4000 characters, counting code points', () => {
    expect(E.isRight(decodeClientFrame(JSON.stringify({ type: 'message', text: '🎉'.repeat(4000) })))).toBe(true)
    expect(rejection(JSON.stringify({ type: 'message', text: 'a'.repeat(4001) })).details[0]?.path).toBe('text')
  })

  it('rejects prototype keys without polluting anything', () => {
    const rejected = rejection('{"type":"leave","__proto__":{"polluted":true}}')
    expect(rejected.details).toEqual([{ path: '__proto__', message: 'is not a known field' }])
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('rejects null and wrong types in optional fields', () => {
    expect(rejection('{"type":"join","room":null}').details[0]?.path).toBe('room')
    expect(rejection('{"type":"history","limit":0}').details[0]?.path).toBe('limit')
    expect(rejection('{"type":"history","limit":2.5}').details[0]?.path).toBe('limit')
    expect(rejection('{"type":"history","before":"yesterday"}').details[0]?.path).toBe('before')
    expect(rejection('{"type":"join","ref":""}').details[0]?.path).toBe('ref')
  })

  it('is total: any text yields a command or a rejection', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          // Random bytes, as ws would hand them over after UTF-8 decoding.
          fc.uint8Array({ maxLength: 200 }).map((bytes) => new TextDecoder().decode(bytes)),
          fc.dictionary(fc.constantFrom('type', 'room', 'text', 'ref', '__proto__', 'constructor', 'since', 'limit'), fc.jsonValue()).map((o) => JSON.stringify(o)),
        ),
        (text) => {
        const decoded = decodeClientFrame(text)
        expect(E.isLeft(decoded) || E.isRight(decoded)).toBe(true)
      },
      ),
      { numRuns: 2000 },
    )
  })
})
