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

/**
 * Bytes of a file's start that content detection reads: file-type's `reasonableDetectionSizeInBytes`,
 * enough for formats whose signature is not at the very start (MP4/MOV/HEIC brands, TAR, ZIP entries).
 */
export const SNIFF_BYTES = 4100

/** Types shown in the page itself; everything else is downloaded. None of them can run script. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|text\/plain|application\/pdf|audio\/[\w.+-]+|video\/[\w.+-]+)$/

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/

/**
 * The type to store and serve, from what the content detector found in the file's first bytes
 * (`detected`, e.g. file-type's answer, or undefined) and what the client claimed. Detected content wins.
 * A claim the bytes do not back is believed only for types that are downloaded anyway (or plain text, which
 * nosniff keeps inert), so a client cannot get arbitrary bytes served inline as an image. Whether a type is
 * shown inline is our own allow-list (`isInline`), whatever the detector knows.
 */
export const mediaTypeOf = (detected: string | undefined, claimed: string | undefined): string => {
  if (detected !== undefined && MEDIA_TYPE.test(detected)) return detected
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
 * A single `bytes=` range of a file of `size` bytes, by RFC 9110 14.1-14.2: the range, 'unsatisfiable' (416),
 * or undefined to send the whole file. The whole file for no header, a unit we do not serve, several ranges
 * (all allowed), and an invalid range (`first-last` with last < first: the header is ignored, not refused).
 * Unsatisfiable only when the range asks for nothing the file has: a first byte at or past its end, or the
 * last 0 bytes. A suffix longer than the file is the whole file; an empty file is always sent whole, since
 * no range can name a byte of it.
 */
export const parseRange = (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined => {
  if (header === undefined) return undefined
  // Range units are case-insensitive; the positions are plain decimal digits.
  const match = /^bytes=(\d*)-(\d*)$/i.exec(header.trim())
  if (match === null) return undefined
  const [, from = '', to = ''] = match
  if (from === '' && to === '') return undefined
  if (from === '') return suffixRange(Number(to), size)
  const first = Number(from)
  const last = to === '' ? undefined : Number(to)
  if (last !== undefined && last < first) return undefined
  if (first >= size) return 'unsatisfiable'
  return { start: first, end: last === undefined ? size - 1 : Math.min(last, size - 1) }
}

const suffixRange = (length: number, size: number): ByteRange | 'unsatisfiable' | undefined => {
  if (length === 0) return 'unsatisfiable'
  if (size === 0) return undefined
  return { start: Math.max(0, size - length), end: size - 1 }
}
