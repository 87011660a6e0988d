import { createWriteStream } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { Transform, type TransformCallback, type Writable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import busboy from 'busboy'
import * as E from 'fp-ts/lib/Either.js'
import type { HttpError } from 'http-errors'
import { mediaTypeOf, sanitizeFileName, SNIFF_BYTES, type UploadName } from '../../core/uploads.js'
import { sniffMediaType } from '../../adapters/media-types.js'
import { httpError } from '../http/respond.js'
import { storeHttpError } from '../http/store-error.js'

export interface UploadLimits {
  readonly maxFileBytes: number
  readonly maxFiles: number
}

/** Opens the file an upload's bytes go to (it must not exist yet). A seam: tests fill the disk through it. */
export type OpenUploadFile = (path: string) => Writable

// Larger writes than the 16 KiB default: fewer syscalls per megabyte, same bounded memory.
export const openUploadFile: OpenUploadFile = (path) => createWriteStream(path, { flags: 'wx', highWaterMark: 1024 * 1024 })

export interface ReceiveOptions {
  readonly dir: string
  readonly limits: UploadLimits
  readonly newName: () => UploadName
  /**
   * Counts file bytes against the user's quota as they arrive; false refuses them and the request. A
   * promise holds the chunk back until it answers (the cluster is asked).
   */
  readonly reserve: (bytes: number) => boolean | Promise<boolean>
  readonly quotaBytes: number
  readonly openFile: OpenUploadFile
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
 * A refusal (a limit, the quota) stops reading at once, so the client hears it without sending the rest.
 * On any failure (a refusal, a malformed body, a client that goes away, a disk error) every file of the
 * request is removed and nothing is returned. A full disk is 507 `storage_full`.
 */
export const receiveFiles = async (req: IncomingMessage, options: ReceiveOptions): Promise<E.Either<HttpError, ReadonlyArray<ReceivedFile>>> => {
  const { dir, limits } = options
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
  // The parser stops at the first refusal: nothing more of the body is read, the files under way are dropped.
  // Deferred: refusals come from inside busboy's own events, and busboy breaks if destroyed in one of them.
  const refuse = (error: HttpError) => {
    refusal ??= error
    process.nextTick(() => parser.destroy(new Error(error.message)))
  }
  const temps: string[] = []
  const writes: Array<Promise<Written>> = []
  // Only the disk's own errors: a pipeline also fails when the parser, the quota or the client break the source.
  let diskError: Error | undefined

  parser.on('file', (_field, stream, info) => {
    if (refusal !== undefined) {
      stream.resume()
      return
    }
    const name = options.newName()
    const temp = join(dir, `.${name}.part`)
    temps.push(temp)
    stream.on('limit', () => refuse(tooLarge(limits)))
    const tap = measure(SNIFF_BYTES, (bytes) => {
      const verdict = (fits: boolean) => {
        if (!fits) refuse(quotaExceeded(options.quotaBytes))
        return fits
      }
      const reserved = options.reserve(bytes)
      return typeof reserved === 'boolean' ? verdict(reserved) : reserved.then(verdict)
    })
    const sink = options.openFile(temp)
    sink.on('error', (error) => {
      if (isSystemError(error)) diskError ??= error
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
  // What the client still sends is not ours to read: the response says so and the connection ends.
  req.unpipe(parser)
  const outcomes = await Promise.allSettled(writes)

  const failure =
    refusal ??
    (aborted ? httpError(400, 'upload_aborted', 'the upload did not finish') : undefined) ??
    (diskError !== undefined ? storageFailure(diskError) : undefined) ??
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

const quotaExceeded = (quotaBytes: number) =>
  httpError(413, 'quota_exceeded', `this upload would pass your storage quota of ${quotaBytes} bytes`)

/**
 * A failed write of an upload as the client should hear it (`storeHttpError`): a full disk, file-system
 * quota or database is 507 `storage_full`, worth retrying later; a folder that takes no write is 500
 * `storage_failed`; another writer's lock is 503 `storage_busy`.
 */
export const storageFailure = (error: unknown): HttpError => storeHttpError(error, 'the file')

/** An error from the operating system (it names its syscall), not one a stream was destroyed with. */
const isSystemError = (error: Error): boolean => typeof (error as NodeJS.ErrnoException).syscall === 'string'

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
  } catch (error) {
    await removeAll([...temps, ...finals])
    return E.left(storageFailure(error))
  }
  const received = await Promise.all(
    written.map(async (file) => ({
      name: file.name,
      originalName: sanitizeFileName(file.filename),
      type: mediaTypeOf(await sniffMediaType(file.head), file.mimeType),
      size: file.size,
    })),
  )
  return E.right(received)
}

export const removeAll = async (paths: ReadonlyArray<string>): Promise<void> => {
  await Promise.all(paths.map((path) => unlink(path).catch(() => undefined)))
}

/**
 * A pass-through that counts bytes, asks `admit` before letting each chunk on (a refused chunk fails the
 * stream, unwritten; an answer still to come holds the chunk, and the stream, until it arrives), and keeps
 * the first `keep` bytes for magic-byte detection.
 */
const measure = (keep: number, admit: (bytes: number) => boolean | Promise<boolean>) => {
  let size = 0
  const head: Buffer[] = []
  let kept = 0
  const pass = (chunk: Buffer, admitted: boolean, done: TransformCallback) => {
    if (!admitted) {
      done(new Error('the upload passes the storage quota'))
      return
    }
    size += chunk.length
    if (kept < keep) {
      // Copied: a view would pin the whole chunk for as long as the upload runs.
      const part = Buffer.from(chunk.subarray(0, keep - kept))
      head.push(part)
      kept += part.length
    }
    done(null, chunk)
  }
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const admitted = admit(chunk.length)
      if (typeof admitted === 'boolean') pass(chunk, admitted, done)
      else admitted.then((fits) => pass(chunk, fits, done), done)
    },
  })
  return { stream, size: () => size, head: () => new Uint8Array(Buffer.concat(head)) }
}
