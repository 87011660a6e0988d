import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { ClientMessageId, CommandRef, Email, MessageText, PersonName, storedMessageText, storedPersonName, Username } from '../../src/core/brands.js'
import { emailKey, LoginRequest, RegisterRequest } from '../../src/core/accounts.js'
import { rooms } from '../../src/core/config.js'
import { decodeClientFrame } from '../../src/core/protocol/client-commands.js'
import { sanitizeFileName } from '../../src/core/uploads.js'
import { checkName, cleanName, hasVisibleContent, isWellFormed } from '../../src/core/text.js'
import { trusted } from '../../src/core/codecs.js'

// The one rule for text people give us (src/core/text.ts), checked over arbitrary strings built from the
// pieces that break naive rules: lone surrogates, bidi controls, zero-width and other invisible
// characters, combining sequences that NFC changes, emoji made with joiners, controls and odd spaces.

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d']
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c']
const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\ufeff', '\u180e', '\u00ad', '\u034f', '\u3164', '\u2800', '\ufe0f', '\ufe0e', '\u{e0100}', '\u{e0041}', '\u{e007f}']
// Each of these is changed by NFC: decomposed accents, singletons (Ångström, Ohm, Kelvin), reordered marks, Hangul jamo.
const NFC_CHANGES = ['e\u0301', 'A\u030a', '\u212b', '\u2126', '\u212a', 'a\u0323\u0302', 'a\u0302\u0323', 's\u0323\u0307', '\u1100\u1161', '\u1100\u1161\u11a8', 'C\u0327', '\u2000']
const EMOJI = ['👨‍👩‍👧', '🏳️‍🌈', '👩🏽‍💻', '❤️', '❤️‍🔥', '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}', '1️⃣', '🎉']
const SPACES_AND_CONTROLS = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028', '\u2029', '\u0000', '\u001b', '\u007f', '\u0085']
const PLAIN = ['a', 'Z', 'é', 'ß', 'İ', 'Σ', 'ана', 'عربي', 'עברית', '中文', '.', '@', '-', '0']

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PLAIN) },
  { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
  { weight: 1, arbitrary: fc.constantFrom(...BIDI) },
  { weight: 1, arbitrary: fc.constantFrom(...INVISIBLE) },
  { weight: 2, arbitrary: fc.constantFrom(...NFC_CHANGES) },
  { weight: 1, arbitrary: fc.constantFrom(...EMOJI) },
  { weight: 2, arbitrary: fc.constantFrom(...SPACES_AND_CONTROLS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
)
/** Strings as hostile as a client can make them (JSON's `\ud800` escape included). */
const anyText = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''))
const runs = { numRuns: 1000 }

const decoded = <A>(codec: { decode: (u: unknown) => E.Either<unknown, A> }, input: unknown): A | undefined => {
  const result = codec.decode(input)
  return E.isRight(result) ? result.right : undefined
}

const hasBidi = (s: string) => /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(s)
const utf8RoundTrip = (s: string) => Buffer.from(s, 'utf8').toString('utf8')

describe('names (display names, e-mail, room names, file names)', () => {
  it('a decoded name is well-formed, NFC, free of bidi controls and stray invisible characters, visible, and decodes to itself', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const name = decoded(PersonName, raw)
        if (name === undefined) return
        expect(isWellFormed(name)).toBe(true)
        expect(name.normalize('NFC')).toBe(name)
        expect(hasBidi(name)).toBe(false)
        expect(cleanName(name)).toBe(name)
        expect(hasVisibleContent(name)).toBe(true)
        expect(name.trim()).toBe(name)
        expect(PersonName.is(name)).toBe(true)
        expect(decoded(PersonName, name)).toBe(name)
        expect(utf8RoundTrip(name)).toBe(name)
      }),
      runs,
    )
  })

  it('refuses lone surrogates, bidi controls and invisible characters wherever they are', () => {
    fc.assert(
      fc.property(anyText, anyText, fc.constantFrom(...LONE_SURROGATES, ...BIDI, '\u200b', '\u2060', '\ufeff', '\u180e', '\u00ad', '\u2064'), (before, after, bad) => {
        // A lone high surrogate right before a low one would make a pair; keep them apart.
        const raw = `${before}x${bad}x${after}`
        expect(decoded(PersonName, raw)).toBeUndefined()
        expect(E.isLeft(checkName(raw, { max: 1000 }))).toBe(true)
      }),
      runs,
    )
  })

  it('decides the same for every way of typing the same characters (NFC before anything else)', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        fc.pre(isWellFormed(raw))
        expect(decoded(PersonName, raw.normalize('NFD'))).toBe(decoded(PersonName, raw))
        expect(decoded(Email, `${raw.normalize('NFD')}@example.com`)).toBe(decoded(Email, `${raw}@example.com`))
      }),
      runs,
    )
  })

  it('keeps emoji, joiners and all, but not a joiner or selector on its own', () => {
    for (const emoji of EMOJI) expect(decoded(PersonName, `Ana ${emoji}`)).toBe(`Ana ${emoji}`)
    for (const stray of ['Ana\u200d', '\u200dAna', 'A\u200dna', 'Ana \ufe0f', '\ufe0fAna', 'Ana\u{e0067}\u{e007f}', 'Ana\u200c']) {
      expect(decoded(PersonName, stray), JSON.stringify(stray)).toBeUndefined()
    }
  })

  it('the examples: "\\u202Enimda" (shown as "admin") and a zero-width "ad\\u200Bmin" are refused as names', () => {
    expect(PersonName.decode('\u202enimda')).toMatchObject({ _tag: 'Left' })
    expect(PersonName.decode('ad\u200bmin')).toMatchObject({ _tag: 'Left' })
    const register = RegisterRequest.decode({ name: '\u202enimda', username: 'mallory', email: 'm@example.com', password: 'long enough' })
    expect(E.isLeft(register)).toBe(true)
  })

  it('says which rule a name broke', () => {
    const problem = (raw: string) => {
      const result = PersonName.decode(raw)
      return E.isLeft(result) ? result.left[0]?.message : undefined
    }
    expect(problem('\ud800')).toMatch(/well-formed/)
    expect(problem('\u202enimda')).toMatch(/bidirectional/)
    expect(problem('ad\u200bmin')).toMatch(/invisible/)
    expect(problem('\u200b')).toMatch(/invisible/)
    expect(problem('a\nb')).toMatch(/control/)
    expect(problem(' Ana')).toMatch(/space/)
    expect(problem('x'.repeat(101))).toMatch(/1-100/)
  })

  it('stores names in NFC, and compares e-mail addresses after NFC and case folding', () => {
    expect(decoded(PersonName, 'Jose\u0301')).toBe('José')
    expect(decoded(Email, 'Jose\u0301@Example.com')).toBe('José@Example.com')
    expect(emailKey('JOSE\u0301@EXAMPLE.COM')).toBe(emailKey('josé@example.com'))
    expect(decoded(Email, 'ana\u200b@example.com')).toBeUndefined()
    expect(decoded(Email, '\u202eana@example.com')).toBeUndefined()
    expect(decoded(Username, 'ana\ud800')).toBeUndefined()
  })

  it('refuses lone surrogates in the login and the password', () => {
    expect(E.isLeft(LoginRequest.decode({ username: 'ana\ud800', password: 'secret-enough' }))).toBe(true)
    expect(E.isLeft(LoginRequest.decode({ username: 'ana', password: 'secret\udc00enough' }))).toBe(true)
    expect(E.isLeft(RegisterRequest.decode({ name: 'Ana', username: 'ana', email: 'a@example.com', password: 'secret\udc00enough' }))).toBe(true)
  })

  it('room names from ROOMS follow the name rule and are kept in NFC', () => {
    expect(rooms('lobby=Cafe\u0301')).toEqual(E.right([{ id: 'lobby', name: 'Café' }]))
    expect(E.isLeft(rooms('lobby=\u202eybbol'))).toBe(true)
    expect(E.isLeft(rooms('lobby=Lob\u200bby'))).toBe(true)
    expect(E.isLeft(rooms(`lobby=${'x'.repeat(65)}`))).toBe(true)
  })

  it('a file name is cleaned into a valid name of at most 200 characters that cleans to itself', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({ unit: 'binary', maxLength: 400 })), (raw) => {
        const name = sanitizeFileName(raw)
        expect(E.isRight(checkName(name, { max: 200 })), JSON.stringify(name)).toBe(true)
        expect(checkName(name, { max: 200 })).toEqual(E.right(name))
        expect(sanitizeFileName(name)).toBe(name)
        expect(name).not.toMatch(/[\\/]/)
        expect(name.startsWith('.')).toBe(false)
      }),
      runs,
    )
    expect(sanitizeFileName('photo\u202egpj.exe')).toBe('photogpj.exe')
    expect(sanitizeFileName('re\u0301sume\u0301\u200b.pdf')).toBe('résumé.pdf')
    expect(sanitizeFileName('🏳️‍🌈.png')).toBe('🏳️‍🌈.png')
    expect(sanitizeFileName('\ud800.txt')).toBe('\ufffd.txt')
  })

  it('a name stored by an earlier, looser version is shown cleaned, or as the username', () => {
    const username = trusted(Username, 'mallory')
    expect(storedPersonName('Ana', username)).toBe('Ana')
    expect(storedPersonName('\u202enimda', username)).toBe('nimda')
    expect(storedPersonName('\u200b\u200b', username)).toBe('mallory')
    expect(storedPersonName('Jose\u0301', username)).toBe('José')
  })
})

describe('message text', () => {
  it('a decoded text is well-formed, NFC, trimmed, visible, at most 4000 characters, and decodes to itself', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const text = decoded(MessageText, raw)
        if (text === undefined) return
        expect(isWellFormed(text)).toBe(true)
        expect(text.normalize('NFC')).toBe(text)
        expect(text.trim()).toBe(text)
        expect(hasVisibleContent(text)).toBe(true)
        expect([...text].length).toBeLessThanOrEqual(4000)
        expect(MessageText.is(text)).toBe(true)
        expect(decoded(MessageText, text)).toBe(text)
        // What is stored as UTF-8 and read back is the string sent live, byte for byte.
        expect(utf8RoundTrip(text)).toBe(text)
        expect(storedMessageText(text)).toBe(text)
      }),
      runs,
    )
  })

  it('refuses a lone surrogate anywhere, and text with nothing visible', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(...LONE_SURROGATES), (text, surrogate) => {
        expect(decoded(MessageText, `x${surrogate}x${text}`)).toBeUndefined()
      }),
      runs,
    )
    const blank = fc.array(fc.constantFrom(' ', '\t', '\n', '\u3000', '\u00a0', ...INVISIBLE, ...BIDI), { minLength: 1, maxLength: 20 }).map((parts) => parts.join(''))
    fc.assert(
      fc.property(blank, (text) => {
        expect(decoded(MessageText, text)).toBeUndefined()
      }),
      runs,
    )
  })

  it('is the same text however the accents were typed', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        fc.pre(isWellFormed(raw))
        expect(decoded(MessageText, raw.normalize('NFD'))).toBe(decoded(MessageText, raw))
      }),
      runs,
    )
  })

  it('keeps joiners inside emoji and bidi marks inside text; refuses only what shows nothing', () => {
    expect(decoded(MessageText, '  👨‍👩‍👧 família  ')).toBe('👨‍👩‍👧 família')
    expect(decoded(MessageText, 'שלום \u200fabc')).toBe('שלום \u200fabc')
    expect(decoded(MessageText, 'line one\nline two\ttab')).toBe('line one\nline two\ttab')
    // The example: spaces plus a zero-width space was acked.
    expect(decoded(MessageText, '   \u200b   ')).toBeUndefined()
    expect(decoded(MessageText, '\u200d\u2060\ufeff\u00ad')).toBeUndefined()
    expect(decoded(MessageText, 'bell\u0007')).toBeUndefined()
  })
})

describe('ids a client chose (ref, clientId, since, room)', () => {
  it('are echoed exactly as sent (never normalized), and refused when not well-formed', () => {
    expect(decoded(CommandRef, 'e\u0301')).toBe('e\u0301')
    expect(decoded(ClientMessageId, 'e\u0301')).toBe('e\u0301')
    expect(decoded(CommandRef, 'r\ud800')).toBeUndefined()
    expect(decoded(ClientMessageId, '\udc00')).toBeUndefined()
  })

  it('over the wire: JSON\'s \\ud800 escape is valid UTF-8 but yields a lone surrogate, refused as bad_request', () => {
    const frame = (fields: string) => decodeClientFrame(`{"type":"message",${fields}}`)
    const rejected = (fields: string) => {
      const result = frame(fields)
      if (E.isRight(result)) throw new Error(`expected ${fields} to be refused`)
      return result.left
    }
    expect(rejected('"text":"\\ud800","ref":"r1"')).toMatchObject({ ref: 'r1', details: [{ path: 'text' }] })
    expect(rejected('"text":"hi","clientId":"\\udc00x","ref":"r2"')).toMatchObject({ ref: 'r2', details: [{ path: 'clientId' }] })
    // A ref that is not well-formed is not echoed.
    expect(rejected('"text":"hi","ref":"\\ud800"').ref).toBeUndefined()
    expect(rejected('"text":"   \\u200b"').details).toEqual([{ path: 'text', message: 'must show something: not only spaces and invisible characters' }])
    const join = decodeClientFrame('{"type":"join","room":"sala\\ud800"}')
    expect(E.isLeft(join)).toBe(true)
    const since = decodeClientFrame('{"type":"join","since":"\\udfff"}')
    expect(E.isLeft(since)).toBe(true)
    expect(frame('"text":"Cafe\\u0301"')).toEqual(E.right({ type: 'message', text: 'Café' }))
  })

  it('any frame with a lone surrogate in any field is refused, never decoded', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('text', 'clientId', 'ref'),
        fc.constantFrom('\\ud800', '\\udfff', '\\ud83d'),
        fc.string({ maxLength: 5 }).filter((s) => /^[a-z]*$/.test(s)),
        (field, surrogate, around) => {
          const value = `${around}${surrogate}${around}`
          const fields = { text: '"hi"', clientId: '"c1"', ref: '"r1"', [field]: `"${value}"` }
          const result = decodeClientFrame(`{"type":"message","text":${fields.text},"clientId":${fields.clientId},"ref":${fields.ref}}`)
          expect(E.isLeft(result)).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })
})
