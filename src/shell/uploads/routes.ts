import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import { contentDisposition, isInline, parseRange, toAttachment, UploadName, type Upload } from '../../core/uploads.js'
import type { Logger } from '../../adapters/logger.js'
import type { UploadStore } from '../../adapters/stores.js'
import type { Guards } from '../http/guards.js'
import type { Handler, Reply, RouteTable } from '../http/reply.js'
import { httpError } from '../http/respond.js'
import { storeHttpError } from '../http/store-error.js'
import type { UploadBudget, UploadLease } from './budget.js'
import { openUploadFile, receiveFiles, removeAll, storageFailure, type OpenUploadFile, type ReceivedFile, type UploadLimits } from './receive.js'

interface Dependencies {
  readonly guards: Guards
  readonly uploads: UploadStore
  readonly budget: UploadBudget
  readonly dir: string
  readonly limits: UploadLimits
  readonly newName: () => UploadName
  readonly now: () => number
  readonly log: Logger
  /** Where upload bytes are written; the real file system unless a test fills the disk. */
  readonly openFile?: OpenUploadFile
}

const notFound = () => httpError(404, 'not_found', 'no such file')

// Names never change content, so a file may be cached for ever and its name is its validator.
const IMMUTABLE = 'public, max-age=31536000, immutable'

/** `POST /uploads` and `GET /static/{name}`. */
export const createUploadRoutes = ({ guards, uploads, budget, dir, limits, newName, now, log, openFile = openUploadFile }: Dependencies): RouteTable => {
  const register = (owner: string) => (files: ReadonlyArray<ReceivedFile>): TE.TaskEither<HttpError, ReadonlyArray<Upload>> => {
    const records = files.map((file): Upload => ({ ...file, owner }))
    return pipe(
      uploads.register(records, now()),
      TE.map(() => records),
      TE.orElse((error) => {
        log.error('upload registration failed', { err: error, files: records.length, bytes: totalSize(records) })
        return pipe(
          TE.fromTask(() => removeAll(files.map((file) => join(dir, file.name)))),
          TE.chain(() => TE.left(storageFailure(error))),
        )
      }),
    )
  }

  /** Receives and registers the files within the lease's budget; the lease ends whatever happens. */
  const store = (req: IncomingMessage, owner: string, lease: UploadLease): TE.TaskEither<HttpError, ReadonlyArray<Upload>> => async () => {
    let kept = 0
    try {
      const ready = await lease.ready()
      if (E.isLeft(ready)) {
        log.error('reading the upload quota failed', { err: ready.left })
        return E.left(storeHttpError(ready.left))
      }
      const received = await receiveFiles(req, { dir, limits, newName, reserve: lease.reserve, quotaBytes: lease.quotaBytes, openFile })
      if (E.isLeft(received)) {
        // The disk's own error (ENOSPC...) says more to an operator than the answer the client gets.
        if (received.left.status >= 500) {
          log.error('upload not stored', { err: received.left.cause ?? received.left, status: received.left.status, bytesLost: lease.received() })
        }
        return received
      }
      const registered = await register(owner)(received.right)()
      if (E.isRight(registered)) kept = totalSize(registered.right)
      return registered
    } finally {
      lease.finish(kept)
    }
  }

  // Refused before the body is read: the session, the Origin, then the user's rate and concurrent uploads.
  const upload: Handler = (req) =>
    pipe(
      guards.authenticateChange(req),
      TE.map((signedIn) => signedIn.record.user.id),
      TE.chain((owner) => pipe(() => budget.admit(owner), TE.map((lease) => ({ owner, lease })))),
      TE.chain(({ owner, lease }) => store(req, owner, lease)),
      TE.map((records) => ({ status: 201, body: { files: records.map(toAttachment) } })),
    )

  const serve: Handler = (req, params) => {
    const name = params['name'] ?? ''
    // Only generated names are ever looked up: no path of the client's reaches the file system.
    if (!UploadName.is(name)) return TE.left(notFound())
    return pipe(
      uploads.find(name),
      TE.mapLeft((error) => storeHttpError(error)),
      TE.chain((record) => (record === undefined ? TE.left(notFound()) : TE.right(record))),
      TE.chain((record) =>
        TE.tryCatch(
          async () => ({ record, size: (await stat(join(dir, record.name))).size }),
          () => notFound(),
        ),
      ),
      TE.chainEitherK(({ record, size }) => fileReply(req, join(dir, record.name), record, size)),
    )
  }

  return {
    '/uploads': { POST: upload },
    '/static/{name}': { GET: serve },
  }
}

const totalSize = (files: ReadonlyArray<{ readonly size: number }>): number => files.reduce((sum, file) => sum + file.size, 0)

const fileReply = (req: IncomingMessage, path: string, record: Upload, size: number): E.Either<HttpError, Reply> => {
  const etag = `"${record.name}"`
  const headers = {
    'Content-Type': record.type === 'text/plain' ? 'text/plain; charset=utf-8' : record.type,
    'Content-Disposition': contentDisposition(record.type, record.originalName),
    // Anything not inline-safe (HTML, SVG, scripts, unknown) is inert even if opened directly.
    'Content-Security-Policy': isInline(record.type) ? "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'none'" : 'sandbox',
    'Cache-Control': IMMUTABLE,
    'Accept-Ranges': 'bytes',
    ETag: etag,
  }
  if (matchesEtag(req.headers['if-none-match'], etag)) return E.right({ status: 304, headers })
  const ifRange = req.headers['if-range']
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : undefined
  if (range === 'unsatisfiable') {
    return E.right({ status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}` }, body: { error: { code: 'range_not_satisfiable', message: `the file has ${size} bytes` } } })
  }
  if (range === undefined) {
    return E.right({ status: 200, headers: { ...headers, 'Content-Length': String(size) }, stream: () => createReadStream(path) })
  }
  return E.right({
    status: 206,
    headers: { ...headers, 'Content-Length': String(range.end - range.start + 1), 'Content-Range': `bytes ${range.start}-${range.end}/${size}` },
    stream: () => createReadStream(path, { start: range.start, end: range.end }),
  })
}

const matchesEtag = (header: string | undefined, etag: string): boolean =>
  header !== undefined && (header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))
