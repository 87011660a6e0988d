import { createWriteStream } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import busboy from 'busboy'
import * as E from 'fp-ts/lib/Either.js'
import type { HttpError } from 'http-errors'
import { detectMediaType, sanitizeFileName, SNIFF_BYTES, type UploadName } from '../../core/uploads.js'
import { httpError } from '../http/respond.js'

export interface UploadLimits {
  readonly maxFileBytes: number
  readonly maxFiles: number
}

/** A file that is complete on disk under its final name, not yet registered. */
export interface ReceivedFile {
  readonly name: UploadName
  readonly originalName: string
  readonly type: string
  readonly size: number
}

// Non-file parts are accepted (forms send them) but kept small and few.
const MAX_FIELDS = 20
const MAX_FIELD_BYTES = 1024

interface Written {
  readonly name: UploadName
  readonly temp: string
  readonly head: Uint8Array
  readonly size: number
  readonly filename: string | undefined
  readonly mimeType: string | undefined
}

/**
 * Streams every file part of a multipart request to disk: under a temporary name, renamed into place only
 * when the whole request succeeded. Memory holds one chunk at a time per file, whatever the file size.
 * On any failure (a limit, a malformed body, a client that goes away, a disk error) every file of the
 * request is removed and nothing is returned.
 */
export const receiveFiles = async (
  req: IncomingMessage,
  dir: string,
  limits: UploadLimits,
  newName: () => UploadName,
): Promise<E.Either<HttpError, ReadonlyArray<ReceivedFile>>> => {
  if (!/^multipart\/form-data\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    return E.left(httpError(415, 'unsupported_media_type', 'send the files as multipart/form-data'))
  }
  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: {
        // One byte of headroom: busboy flags a file that merely reaches its limit, we refuse only one that passes it.
        fileSize: limits.maxFileBytes + 1,
        files: limits.maxFiles,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: limits.maxFiles + MAX_FIELDS,
        headerPairs: 20,
      },
    })
  } catch {
    return E.left(httpError(400, 'malformed_multipart', 'the multipart body has no boundary'))
  }

  let refusal: HttpError | undefined
  const refuse = (error: HttpError) => {
    refusal ??= error
  }
  const temps: string[] = []
  const writes: Array<Promise<Written>> = []
  // Set only by the disk side: a pipeline also fails when the parser or the client breaks the source.
  let diskFailed = false

  parser.on('file', (_field, stream, info) => {
    if (refusal !== undefined) {
      stream.resume()
      return
    }
    const name = newName()
    const temp = join(dir, `.${name}.part`)
    temps.push(temp)
    const tap = measure(SNIFF_BYTES)
    // Larger writes than the 16 KiB default: fewer syscalls per megabyte, same bounded memory.
    const sink = createWriteStream(temp, { flags: 'wx', highWaterMark: 1024 * 1024 })
    sink.on('error', () => {
      diskFailed = true
    })
    const written = pipeline(stream, tap.stream, sink).then(
      (): Written => ({ name, temp, head: tap.head(), size: tap.size(), filename: info.filename, mimeType: info.mimeType }),
      (error: unknown) => {
        // A failed write must stop the parser too, or it would wait for ever for this stream to drain.
        parser.destroy(error instanceof Error ? error : new Error(String(error)))
        throw error
      },
    )
    writes.push(written)
  })
  parser.on('field', (_name, _value, info) => {
    if (info.nameTruncated || info.valueTruncated) refuse(httpError(413, 'payload_too_large', `form fields are limited to ${MAX_FIELD_BYTES} bytes`))
  })
  parser.on('filesLimit', () => refuse(httpError(413, 'payload_too_large', `at most ${limits.maxFiles} files per request`)))
  parser.on('fieldsLimit', () => refuse(httpError(413, 'payload_too_large', `at most ${MAX_FIELDS} form fields per request`)))
  parser.on('partsLimit', () => refuse(httpError(413, 'payload_too_large', 'too many parts in one request')))

  let aborted = false
  const onClose = () => {
    if (req.complete) return
    aborted = true
    parser.destroy(new Error('the client went away mid-upload'))
  }
  req.on('close', onClose)
  req.pipe(parser)
  const parsed = await finished(parser).then(
    () => undefined,
    (error: unknown) => error,
  )
  req.off('close', onClose)
  const outcomes = await Promise.allSettled(writes)

  const failure =
    refusal ??
    (aborted ? httpError(400, 'upload_aborted', 'the upload did not finish') : undefined) ??
    (diskFailed ? httpError(500, 'storage_failed', 'the file could not be stored') : undefined) ??
    (parsed !== undefined || outcomes.some((o) => o.status === 'rejected')
      ? httpError(400, 'malformed_multipart', 'the multipart body is malformed')
      : undefined)
  const written = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
  const problem = failure ?? checkFiles(written, limits)
  if (problem !== undefined) {
    await removeAll(temps)
    return E.left(problem)
  }
  return commit(dir, written, temps)
}

const tooLarge = (limits: UploadLimits) => httpError(413, 'payload_too_large', `files are limited to ${limits.maxFileBytes} bytes each`)

const checkFiles = (written: ReadonlyArray<Written>, limits: UploadLimits): HttpError | undefined => {
  if (written.length === 0) return httpError(400, 'no_files', 'send at least one file part (field "files")')
  if (written.some((w) => w.size > limits.maxFileBytes)) return tooLarge(limits)
  if (written.some((w) => w.size === 0)) return httpError(400, 'empty_file', 'files must not be empty')
  return undefined
}

/** Renames every file into place; if one rename fails, none of them stays. */
const commit = async (
  dir: string,
  written: ReadonlyArray<Written>,
  temps: ReadonlyArray<string>,
): Promise<E.Either<HttpError, ReadonlyArray<ReceivedFile>>> => {
  const finals: string[] = []
  try {
    for (const file of written) {
      const final = join(dir, file.name)
      await rename(file.temp, final)
      finals.push(final)
    }
  } catch {
    await removeAll([...temps, ...finals])
    return E.left(httpError(500, 'storage_failed', 'the file could not be stored'))
  }
  return E.right(
    written.map((file) => ({
      name: file.name,
      originalName: sanitizeFileName(file.filename),
      type: detectMediaType(file.head, file.mimeType),
      size: file.size,
    })),
  )
}

export const removeAll = async (paths: ReadonlyArray<string>): Promise<void> => {
  await Promise.all(paths.map((path) => unlink(path).catch(() => undefined)))
}

/** A pass-through that counts bytes and keeps the first `keep` of them, for magic-byte detection. */
const measure = (keep: number) => {
  let size = 0
  const head: Buffer[] = []
  let kept = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (kept < keep) {
        // Copied: a view would pin the whole chunk for as long as the upload runs.
        const part = Buffer.from(chunk.subarray(0, keep - kept))
        head.push(part)
        kept += part.length
      }
      done(null, chunk)
    },
  })
  return { stream, size: () => size, head: () => new Uint8Array(Buffer.concat(head)) }
}
