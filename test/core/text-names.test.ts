import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { MessageText, PersonName } from '../../src/core/brands.js'
import { checkName, cleanName, MAX_NONSPACING_MARKS, type TextProblem } from '../../src/core/text.js'
import { sanitizeFileName } from '../../src/core/uploads.js'

// The name rules an attack got past (each was accepted as a room name): a lone combining accent, Zalgo
// (one letter under 79 accents), a variation selector that selects nothing, private use, noncharacters;
// plus the rest of their kind (unassigned code points, ideographic selectors). The oracle below restates
// each rule independently of src/core/text.ts, from the whole string rather than code point by code point.

const WIDE = { max: 10_000 }
const problemOf = (raw: string): TextProblem | undefined => {
  const result = checkName(raw, WIDE)
  return E.isLeft(result) ? result.left : undefined
}

const MARKS = ['\u0301', '\u0300', '\u0323', '\u0308', '\u0310', '\u0327', '\u05b8', '\u05bc', '\u0e48', '\u0f71', '\u093e', '\u094d', '\u20e3', '\u20dd']
const SELECTORS = ['\ufe0e', '\ufe0f', '\ufe00', '\ufe0d', '\u{e0100}', '\u{e01ef}']
const ODD = ['\ue000', '\uf8ff', '\u{f0000}', '\u{10fffd}', '\uffff', '\ufffe', '\ufdd0', '\ufdef', '\u{1fffe}', '\u{10ffff}', '\u0378', '\u{e0080}', '\u{40000}']
const BASES = ['a', 'e', 'Z', 'ö', 'ǖ', 'ש', 'ก', 'क', 'ཀ', '葛', '≩', '1', '#', '❤', '🏳', '🎉', '👍', '🏽', ' ', '\u00a0', '\u200d', '\u200b', '.']
const EMOJI = ['🏳️‍🌈', '👩🏽‍💻', '❤️‍🔥', '👁️‍🗨️', '1️⃣', '🇧🇷', '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}', '👨‍👩‍👧']

const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BASES) },
  { weight: 4, arbitrary: fc.constantFrom(...MARKS) },
  { weight: 2, arbitrary: fc.constantFrom(...SELECTORS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD) },
  { weight: 1, arbitrary: fc.constantFrom(...EMOJI) },
  // Any code point at all, every plane and category.
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) },
)
const anyText = fc.array(piece, { maxLength: 14 }).map((parts) => parts.join(''))
const runs = { numRuns: 2000 }

const isNonspacing = (ch: string) => /[\p{Mn}\p{Me}]/u.test(ch)
const isMark = (ch: string) => /\p{M}/u.test(ch)
const isBase = (ch: string | undefined) =>
  ch !== undefined && !/[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cc}\p{M}\u2800]/u.test(ch)

/** Every class the attack found, restated; a list of the rules `name` breaks (empty: none). */
const brokenRules = (name: string): string[] => {
  const broken: string[] = []
  const points = [...name]
  if (/\p{Co}/u.test(name)) broken.push('private use')
  // Noncharacters spelled out rather than by property: U+FDD0-FDEF and U+xFFFE/U+xFFFF in all 17 planes.
  if (points.some((ch) => { const cp = ch.codePointAt(0) ?? 0; return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe })) broken.push('noncharacter')
  if (/\p{Cn}/u.test(name)) broken.push('unassigned')
  points.forEach((ch, i) => {
    const before = points[i - 1]
    if (/[\ufe0e\ufe0f]/u.test(ch) && !/\p{Emoji}/u.test(before ?? '')) broken.push('presentation selector without emoji')
    if (/[\u{e0100}-\u{e01ef}]/u.test(ch) && !/\p{Unified_Ideograph}/u.test(before ?? '')) broken.push('ideographic selector without ideograph')
    if (/[\ufe00-\ufe0d]/u.test(ch) && !isBase(before)) broken.push('variation selector without base')
  })
  // Split into a base and the marks on it, in NFD as UTS #39 counts them.
  const clusters: string[][] = []
  for (const ch of name.normalize('NFD')) {
    if (isMark(ch)) {
      const last = clusters[clusters.length - 1]
      if (last === undefined) broken.push('mark at the start')
      else last.push(ch)
    } else clusters.push([ch])
  }
  for (const [base, ...marks] of clusters) {
    if (marks.length > 0 && !isBase(base)) broken.push('mark without a visible base')
    const nonspacing = marks.filter(isNonspacing)
    if (nonspacing.length > MAX_NONSPACING_MARKS) broken.push('too many marks')
    if (marks.some((m, i) => i > 0 && isNonspacing(m) && m === marks[i - 1])) broken.push('same mark twice')
  }
  return broken
}

// Problems about the whole name rather than a character in it.
const WHOLE_NAME: ReadonlyArray<TextProblem> = ['too_short', 'too_long', 'no_visible_content', 'surrounding_space']

describe('names: the classes the attack found', () => {
  it('refuses a combining mark with nothing to sit on: alone, first, after a space or an invisible character', () => {
    for (const raw of ['\u0301', '\u0301abc', '\u20dd', 'a \u0301b', 'a\u00a0\u0308', '\u0e48ก']) expect(problemOf(raw), JSON.stringify(raw)).toBe('mark_without_base')
    // Still refused once it is the mark that makes the whole name invisible-looking.
    expect(E.isLeft(PersonName.decode('\u0301'))).toBe(true)
    expect(PersonName.decode('\u0301Ana')).toMatchObject({ _tag: 'Left', left: [{ message: expect.stringMatching(/combining mark/) }] })
  })

  it('refuses Zalgo: more than 4 nonspacing marks on one letter (counted in NFD), or the same mark twice', () => {
    expect(problemOf(`a${'\u0301'.repeat(79)}`)).toBe('too_many_marks')
    expect(problemOf('Z\u0351\u0356\u0337\u0320\u0359\u036bal\u0338go')).toBe('too_many_marks')
    expect(problemOf('a\u0300\u0301\u0302\u0303')).toBeUndefined() // four: the most
    expect(problemOf('a\u0300\u0301\u0302\u0303\u0304')).toBe('too_many_marks')
    // "ǖ" is u + diaeresis + macron in NFD: two more make four, three more make five.
    expect(problemOf('ǖ\u0301\u0302')).toBeUndefined()
    expect(problemOf('ǖ\u0301\u0302\u0303')).toBe('too_many_marks')
    expect(problemOf('a\u0301\u0301')).toBe('too_many_marks')
    expect(problemOf('ก\u0e48\u0e48')).toBe('too_many_marks') // a doubled Thai tone mark
    expect(PersonName.decode(`a${'\u0301'.repeat(79)}`)).toMatchObject({ _tag: 'Left', left: [{ message: expect.stringMatching(/more than 4/) }] })
  })

  it('allows an emoji or text presentation selector only after a character that has one', () => {
    for (const raw of ['a\ufe0f', 'Ana\ufe0e', 'ß\ufe0f', '\ufe0f❤', '❤\ufe0f\ufe0f', 'ä\ufe0f']) expect(problemOf(raw), JSON.stringify(raw)).toBe('invisible_character')
    for (const raw of ['❤\ufe0f', '❤\ufe0e', '1\ufe0f\u20e3', '#\ufe0f\u20e3', '©\ufe0f', '☺\ufe0e']) expect(problemOf(raw), JSON.stringify(raw)).toBeUndefined()
  })

  it('allows an ideographic variation selector only after an ideograph, and the others only after a base', () => {
    expect(problemOf('葛\u{e0100}城')).toBeUndefined()
    expect(problemOf('a\u{e0100}')).toBe('invisible_character')
    expect(problemOf('❤\u{e0100}')).toBe('invisible_character')
    expect(problemOf('≩\ufe00')).toBeUndefined()
    expect(problemOf('a\u0301\u0323\ufe00')).toBe('invisible_character') // after a mark
    expect(problemOf(' \ufe00')).toBe('invisible_character')
  })

  it('refuses private use, noncharacters in every plane, and unassigned code points', () => {
    for (const raw of ['\ue000', 'Sala\uf8ff', 'x\u{f0000}', 'x\u{10fffd}']) expect(problemOf(raw), JSON.stringify(raw)).toBe('private_use')
    for (let plane = 0; plane <= 0x10; plane++) {
      for (const low of [0xfffe, 0xffff]) expect(problemOf(`x${String.fromCodePoint(plane * 0x10000 + low)}`)).toBe('noncharacter')
    }
    for (let cp = 0xfdd0; cp <= 0xfdef; cp++) expect(problemOf(`x${String.fromCodePoint(cp)}`)).toBe('noncharacter')
    for (const raw of ['x\u0378', 'x\u{e0080}', 'x\u{40000}']) expect(problemOf(raw), JSON.stringify(raw)).toBe('unassigned')
    expect(PersonName.decode('Sala\ue000')).toMatchObject({ _tag: 'Left', left: [{ message: expect.stringMatching(/private-use/) }] })
  })

  it('keeps real names: many scripts, accents typed either way, emoji with skin tones, joiners, flags and keycaps', () => {
    const names = [
      'Ana 🏳️‍🌈', 'Zoë', 'José', 'Jose\u0301', 'Nguyễn Thị Ệ', 'Ẹ́bùn Ọláolúwa', 'Łukasz Żółć', 'Ørjan Åse', 'İsmail Ağaoğlu',
      'Σωκράτης', 'Ἀριστοτέλης', 'Анна Щукина', 'Ёлка', 'שָׁלוֹם', 'בְּרֵאשִׁית', 'العَرَبِيَّة', 'محمّد', 'فارسی',
      'बिक्रम सिंह', 'ক্ষত্রিয়', 'தமிழ்', 'ಕನ್ನಡ', 'മലയാളം', 'ภาษาไทย', 'ພາສາລາວ', 'ཧཱུྃ', 'བསྒྲུབས', 'မြန်မာ', 'ខ្មែរ',
      '한국어', '日本語', 'ひらがな', '中文', '葛\u{e0100}城', 'ᐃᓄᒃᑎᑐᑦ', 'ⴰⵎⴰⵣⵉⵖ', 'Ελληνικά 1️⃣', '👩🏽‍💻 Dev', '👨‍👩‍👧',
      '❤️‍🔥', '👁️‍🗨️', '🇧🇷 Brasil', '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}', '#️⃣ room', 'a\u20dd',
    ]
    for (const raw of names) {
      const result = checkName(raw, WIDE)
      expect(result, JSON.stringify(raw)).toEqual(E.right(raw.normalize('NFC')))
      expect(cleanName(raw)).toBe(raw.normalize('NFC'))
    }
  })

  it('messages keep their looser rule: private use, a leading accent and stacked marks are what people type', () => {
    for (const raw of ['\uf8ff', 'icon \ue000', '\u0301 lol', `h${'\u0301'.repeat(10)}i`, 'x\u{e0080}']) {
      expect(E.isRight(MessageText.decode(raw)), JSON.stringify(raw)).toBe(true)
    }
  })
})

describe('names: properties', () => {
  it('whatever checkName accepts breaks none of the rules, is NFC, and cleans to itself', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const result = checkName(raw, WIDE)
        if (E.isLeft(result)) return
        expect(brokenRules(result.right)).toEqual([])
        expect(result.right.normalize('NFC')).toBe(result.right)
        expect(cleanName(result.right)).toBe(result.right)
        expect(checkName(result.right, WIDE)).toEqual(result)
      }),
      runs,
    )
  })

  it('whatever the oracle finds broken, checkName refuses', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        fc.pre(!/\p{Cs}/u.test(raw))
        const name = raw.normalize('NFC')
        if (brokenRules(name).length > 0) expect(E.isLeft(checkName(raw, WIDE))).toBe(true)
      }),
      runs,
    )
  })

  it('cleanName keeps only what passes every per-character rule, in NFC, and cleaning again changes nothing', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const cleaned = cleanName(raw)
        expect(cleaned.normalize('NFC')).toBe(cleaned)
        expect(cleanName(cleaned)).toBe(cleaned)
        expect(brokenRules(cleaned)).toEqual([])
        const problem = problemOf(cleaned)
        if (problem !== undefined) expect(WHOLE_NAME).toContain(problem)
        // Trimming what is left (as callers do) cannot strand a mark or a selector: none sits on a space.
        const trimmed = cleaned.trim()
        const trimmedProblem = problemOf(trimmed)
        if (trimmedProblem !== undefined) expect(['too_short', 'no_visible_content']).toContain(trimmedProblem)
      }),
      runs,
    )
  })

  it('decides the same however the accents were typed (NFC first)', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        fc.pre(!/\p{Cs}/u.test(raw))
        expect(checkName(raw.normalize('NFD'), WIDE)).toEqual(checkName(raw, WIDE))
        expect(cleanName(raw.normalize('NFD'))).toBe(cleanName(raw))
      }),
      runs,
    )
  })

  it('a file name of a hundred thousand stacked accents is cleaned at once, not in its length squared', () => {
    const started = performance.now()
    // Alternating accents are not "the same twice"; the first four stay (one composed into "á").
    expect(sanitizeFileName(`a${'\u0301\u0300'.repeat(50_000)}.png`)).toBe('a\u0301\u0300\u0301\u0300.png'.normalize('NFC'))
    // Nothing to sit on: all go, then the leading dot.
    expect(sanitizeFileName(`${'\u0301'.repeat(100_000)}.png`)).toBe('png')
    // Generous for a loaded machine; quadratic work here takes minutes.
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
