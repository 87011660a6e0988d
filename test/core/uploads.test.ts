import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { contentDisposition, isInline, mediaTypeOf, parseRange, sanitizeFileName, uploadNameFromUrl } from '../../src/core/uploads.js'


describe('mediaTypeOf', () => {
  it('believes what the content detector found over the claim', () => {
    expect(mediaTypeOf('image/png', 'text/html')).toBe('image/png')
    expect(mediaTypeOf('image/heic', 'video/mp4')).toBe('image/heic')
    expect(mediaTypeOf('application/pdf', undefined)).toBe('application/pdf')
  })

  it('never serves unbacked bytes inline as a kind that needs its bytes checked', () => {
    expect(mediaTypeOf(undefined, 'image/png')).toBe('application/octet-stream')
    expect(mediaTypeOf(undefined, 'video/mp4')).toBe('application/octet-stream')
    expect(mediaTypeOf(undefined, 'application/pdf')).toBe('application/octet-stream')
  })

  it('keeps other claims (downloaded anyway), plain text, and refuses malformed ones', () => {
    expect(mediaTypeOf(undefined, 'image/svg+xml')).toBe('image/svg+xml')
    expect(mediaTypeOf(undefined, 'TEXT/HTML; charset=utf-8')).toBe('text/html')
    expect(mediaTypeOf(undefined, 'text/plain')).toBe('text/plain')
    expect(mediaTypeOf(undefined, 'not a type')).toBe('application/octet-stream')
    expect(mediaTypeOf(undefined, undefined)).toBe('application/octet-stream')
    expect(mediaTypeOf('not a type', 'text/plain')).toBe('text/plain')
  })

  it('shows inline only what the allow-list names, whatever was detected', () => {
    expect(isInline(mediaTypeOf('image/heic', undefined))).toBe(false)
    expect(isInline(mediaTypeOf('image/avif', undefined))).toBe(false)
    expect(isInline(mediaTypeOf('image/svg+xml', undefined))).toBe(false)
    expect(isInline(mediaTypeOf('image/png', undefined))).toBe(true)
  })
})

describe('sanitizeFileName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\ana\\foto.jpg', 'foto.jpg'],
    ['a\u0000b.txt', 'ab.txt'],
    ['photo\u202Egpj.exe', 'photogpj.exe'],
    ['.htaccess', 'htaccess'],
    ['   ', 'file'],
    ['', 'file'],
    ['x'.repeat(300), 'x'.repeat(200)],
  ])('%j -> %j', (raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected)
  })

  it('always yields a short, single-segment, printable name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (raw) => {
        const name = sanitizeFileName(raw)
        expect(name.length).toBeGreaterThan(0)
        expect([...name].length).toBeLessThanOrEqual(200)
        expect(name).not.toMatch(/[\\/\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/)
        expect(name.startsWith('.')).toBe(false)
      }),
    )
  })
})

describe('contentDisposition', () => {
  it('puts an ASCII fallback and the exact UTF-8 name in the header', () => {
    expect(contentDisposition('text/html', 'relatório "final".html')).toBe(
      `attachment; filename="relat_rio _final_.html"; filename*=UTF-8''relat%C3%B3rio%20%22final%22.html`,
    )
    expect(contentDisposition('image/png', 'a.png')).toBe(`inline; filename="a.png"; filename*=UTF-8''a.png`)
  })
})

describe('parseRange', () => {
  it('reads the single-range forms', () => {
    expect(parseRange('bytes=0-3', 10)).toEqual({ start: 0, end: 3 })
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 })
    expect(parseRange('bytes=-4', 10)).toEqual({ start: 6, end: 9 })
    expect(parseRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 })
    expect(parseRange('Bytes=0-0', 10)).toEqual({ start: 0, end: 0 })
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=5-2', 10)).toBeUndefined()
    expect(parseRange('bytes=50-2', 10)).toBeUndefined()
    expect(parseRange('bytes=0-1,4-5', 10)).toBeUndefined()
    expect(parseRange('items=0-1', 10)).toBeUndefined()
    expect(parseRange(undefined, 10)).toBeUndefined()
  })

  // RFC 9110 14.1.1-14.1.2: first-last with last < first is invalid, and an invalid range is ignored (the
  // whole file); a valid one is unsatisfiable (416) only if its first byte is past the end, or it asks for
  // the last 0 bytes; otherwise the bytes asked for, cut at the end of the file.
  const position = fc.oneof(fc.nat({ max: 2000 }), fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER, 1e21))
  const digits = (n: number) => BigInt(n).toString()

  it('first-last: ignored when last < first, else 416 exactly when first is past the end, else cut at the end', () => {
    fc.assert(
      fc.property(position, position, fc.nat({ max: 1000 }), (first, last, size) => {
        const range = parseRange(`bytes=${digits(first)}-${digits(last)}`, size)
        if (last < first) expect(range).toBeUndefined()
        else if (first >= size) expect(range).toBe('unsatisfiable')
        else expect(range).toEqual({ start: first, end: Math.min(last, size - 1) })
      }),
      { numRuns: 500 },
    )
  })

  it('first-: 416 exactly when first is past the end, else to the end', () => {
    fc.assert(
      fc.property(position, fc.nat({ max: 1000 }), (first, size) => {
        const range = parseRange(`bytes=${digits(first)}-`, size)
        expect(range).toEqual(first >= size ? 'unsatisfiable' : { start: first, end: size - 1 })
      }),
      { numRuns: 300 },
    )
  })

  it('-suffix: 416 for the last 0 bytes, else the last bytes (the whole file if it is shorter; an empty file is sent whole)', () => {
    fc.assert(
      fc.property(position, fc.nat({ max: 1000 }), (suffix, size) => {
        const range = parseRange(`bytes=-${digits(suffix)}`, size)
        if (suffix === 0) expect(range).toBe('unsatisfiable')
        else if (size === 0) expect(range).toBeUndefined()
        else expect(range).toEqual({ start: Math.max(0, size - suffix), end: size - 1 })
      }),
      { numRuns: 300 },
    )
  })

  it('never answers a range outside the file, whatever the header', () => {
    const noise = fc.oneof(fc.string(), fc.stringMatching(/^ ?[bB]ytes= ?-?\d{0,3}-?\d{0,3}[, ]?$/))
    fc.assert(
      fc.property(noise, fc.nat({ max: 1000 }), (header, size) => {
        for (const candidate of [header, `bytes=${header}`]) {
          const range = parseRange(candidate, size)
          if (range === undefined || range === 'unsatisfiable') continue
          expect(range.start).toBeGreaterThanOrEqual(0)
          expect(range.end).toBeLessThan(size)
          expect(range.start).toBeLessThanOrEqual(range.end)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('uploadNameFromUrl', () => {
  it('accepts only our own relative links', () => {
    expect(uploadNameFromUrl('/static/AAAAAAAAAAAAAAAAAAAAAA')).toBe('AAAAAAAAAAAAAAAAAAAAAA')
    expect(uploadNameFromUrl('https://evil.example/static/AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined()
    expect(uploadNameFromUrl('/static/../AAAAAAAAAAAAAAAAAAAA')).toBeUndefined()
    expect(uploadNameFromUrl('/static/AAAAAAAAAAAAAAAAAAAAAA/x')).toBeUndefined()
  })
})
