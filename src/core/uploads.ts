import * as t from 'io-ts'
import { cleanName } from './text.js'

/** A stored file's name: 128 random bits, base64url. Never derived from anything the client sent. */
export interface UploadNameBrand {
  readonly UploadName: unique symbol
}
export const UploadName = t.brand(
  t.string,
  (s): s is t.Branded<string, UploadNameBrand> => /^[A-Za-z0-9_-]{22}$/.test(s),
  'UploadName',
)
export type UploadName = t.TypeOf<typeof UploadName>

export const STATIC_PREFIX = '/static/'
export const uploadUrl = (name: UploadName): string => `${STATIC_PREFIX}${name}`

/** The upload a `/static/<name>` link points at; anything else (another host, a path trick) is not ours. */
export const uploadNameFromUrl = (url: string): UploadName | undefined => {
  if (!url.startsWith(STATIC_PREFIX)) return undefined
  const name = url.slice(STATIC_PREFIX.length)
  return UploadName.is(name) ? name : undefined
}

/** What a message carries about each attached file. */
export const Attachment = t.type({ url: t.string, name: t.string, type: t.string, size: t.number }, 'Attachment')
export type Attachment = t.TypeOf<typeof Attachment>

/** A registered upload, as the shell looks it up for the core. */
export interface Upload {
  readonly name: UploadName
  readonly owner: string
  readonly originalName: string
  readonly type: string
  readonly size: number
}

export const toAttachment = (upload: Upload): Attachment => ({
  url: uploadUrl(upload.name),
  name: upload.originalName,
  type: upload.type,
  size: upload.size,
})

const ORIGINAL_NAME_MAX = 200

/**
 * The client's file name, made safe to show and to put in a header: the last path segment only, then the
 * name rule of text.ts applied by removal (NFC; no control, bidi or invisible characters, which could
 * disguise `gpj.exe` as `exe.jpg`), no leading dots, at most 200 characters, never empty.
 */
export const sanitizeFileName = (raw: string | undefined): string => {
  let name = (raw ?? '').split(/[\\/]/).pop() ?? ''
  // Each step only removes, and removing can undo what an earlier step allowed (cutting at 200 can leave
  // a joiner with nothing after it), so repeat until the name stays as it is.
  for (;;) {
    const cleaned = cleanName(name).trim().replace(/^\.+/, '')
    const limited = [...cleaned].slice(0, ORIGINAL_NAME_MAX).join('').trim()
    if (limited === name) break
    name = limited
  }
  return name === '' ? 'file' : name
}

interface Signature {
  readonly type: string
  readonly matches: (head: Uint8Array) => boolean
}

const startsWith = (head: Uint8Array, bytes: ReadonlyArray<number>, offset = 0): boolean =>
  bytes.every((byte, i) => head[offset + i] === byte)
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0))

const SIGNATURES: ReadonlyArray<Signature> = [
  { type: 'image/png', matches: (h) => startsWith(h, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', matches: (h) => startsWith(h, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', matches: (h) => startsWith(h, ascii('GIF87a')) || startsWith(h, ascii('GIF89a')) },
  { type: 'image/webp', matches: (h) => startsWith(h, ascii('RIFF')) && startsWith(h, ascii('WEBP'), 8) },
  { type: 'audio/wav', matches: (h) => startsWith(h, ascii('RIFF')) && startsWith(h, ascii('WAVE'), 8) },
  { type: 'application/pdf', matches: (h) => startsWith(h, ascii('%PDF-')) },
  { type: 'audio/ogg', matches: (h) => startsWith(h, ascii('OggS')) },
  { type: 'audio/mpeg', matches: (h) => startsWith(h, ascii('ID3')) || (h[0] === 0xff && ((h[1] ?? 0) & 0xe0) === 0xe0) },
  { type: 'audio/flac', matches: (h) => startsWith(h, ascii('fLaC')) },
  { type: 'video/webm', matches: (h) => startsWith(h, [0x1a, 0x45, 0xdf, 0xa3]) },
  { type: 'video/mp4', matches: (h) => startsWith(h, ascii('ftyp'), 4) },
  { type: 'application/zip', matches: (h) => startsWith(h, [0x50, 0x4b, 0x03, 0x04]) },
]

/** Bytes a file must start with before the server believes it is one of the inline-safe kinds. */
export const SNIFF_BYTES = 16

/** Types shown in the page itself; everything else is downloaded. None of them can run script. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|text\/plain|application\/pdf|audio\/[\w.+-]+|video\/[\w.+-]+)$/

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/

/**
 * The type to store and serve. Magic bytes win when they decide it. A claim the bytes do not back is
 * believed only for types that are downloaded anyway (or plain text, which nosniff keeps inert), so a
 * client cannot get arbitrary bytes served inline as an image.
 */
export const detectMediaType = (head: Uint8Array, claimed: string | undefined): string => {
  const detected = SIGNATURES.find((signature) => signature.matches(head))?.type
  if (detected !== undefined) return detected
  const normalized = (claimed ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (!MEDIA_TYPE.test(normalized)) return 'application/octet-stream'
  if (normalized === 'text/plain') return normalized
  return isInline(normalized) ? 'application/octet-stream' : normalized
}

export const isInline = (type: string): boolean => INLINE.test(type)

/** RFC 6266 / 8187: an ASCII fallback for old clients and the exact name in UTF-8. */
export const contentDisposition = (type: string, originalName: string): string => {
  const kind = isInline(type) ? 'inline' : 'attachment'
  const fallback = originalName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(originalName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

export type ByteRange = { readonly start: number; readonly end: number }

/**
 * A single `bytes=` range of a file of `size` bytes: the range, 'unsatisfiable', or undefined to send the
 * whole file (no header, several ranges, or a unit we do not serve — all allowed by RFC 9110).
 */
export const parseRange = (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined => {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return undefined
  const [, from = '', to = ''] = match
  if (from === '' && to === '') return undefined
  if (from === '') {
    const suffix = Number(to)
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(from)
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}
