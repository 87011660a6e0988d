import { describe, expect, it } from 'vitest'
import { sniffMediaType } from '../../src/adapters/media-types.js'
import { isInline, mediaTypeOf } from '../../src/core/uploads.js'

/** An ISO base media file's start: an `ftyp` box with this major brand (what HEIC, AVIF, M4A, MOV, MP4 share). */
const ftyp = (brand: string, compatible = brand) => {
  const body = Buffer.concat([Buffer.from(brand, 'latin1'), Buffer.from([0, 0, 0, 0]), Buffer.from(compatible, 'latin1')])
  const size = Buffer.alloc(4)
  size.writeUInt32BE(8 + body.length)
  return new Uint8Array(Buffer.concat([size, Buffer.from('ftyp', 'latin1'), body, Buffer.alloc(64)]))
}

describe('content detection (file-type)', () => {
  it('tells apart the ISO media formats that all used to be called video/mp4', async () => {
    expect(await sniffMediaType(ftyp('heic'))).toBe('image/heic')
    expect(await sniffMediaType(ftyp('avif'))).toBe('image/avif')
    expect(await sniffMediaType(ftyp('M4A '))).toMatch(/^audio\/(x-m4a|mp4)$/)
    expect(await sniffMediaType(ftyp('qt  '))).toBe('video/quicktime')
    expect(await sniffMediaType(ftyp('isom'))).toBe('video/mp4')
  })

  it('knows the common images and documents, and says nothing of text or empty files', async () => {
    expect(await sniffMediaType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]))).toBe('image/png')
    expect(await sniffMediaType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]))).toBe('image/jpeg')
    expect(await sniffMediaType(new TextEncoder().encode('%PDF-1.7\n%âãÏÓ\n'))).toBe('application/pdf')
    expect(await sniffMediaType(new TextEncoder().encode('just some words'))).toBeUndefined()
    expect(await sniffMediaType(new TextEncoder().encode('<html><script>alert(1)</script>'))).toBeUndefined()
    expect(await sniffMediaType(new Uint8Array())).toBeUndefined()
  })

  it('keeps our own allow-list for what is shown inline', async () => {
    expect(isInline(mediaTypeOf(await sniffMediaType(ftyp('heic')), 'image/png'))).toBe(false)
    expect(isInline(mediaTypeOf(await sniffMediaType(ftyp('qt  ')), undefined))).toBe(true)
    // An HTML page claimed to be an image is neither detected nor believed.
    expect(mediaTypeOf(await sniffMediaType(new TextEncoder().encode('<html>')), 'image/png')).toBe('application/octet-stream')
  })
})
