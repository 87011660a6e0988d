import { request, type IncomingHttpHeaders } from 'node:http'
import { readdir } from 'node:fs/promises'

export const BOUNDARY = 'sala-budget-boundary'

export const partHead = (filename: string): Buffer =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`)
export const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`)

/** A whole multipart body with one file per entry. */
export const multipartOf = (files: ReadonlyArray<{ readonly filename: string; readonly data: Buffer }>): Buffer =>
  Buffer.concat([...files.flatMap((file, i) => [...(i > 0 ? [Buffer.from('\r\n')] : []), partHead(file.filename), file.data]), tail])

export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: { readonly error?: { readonly code: string; readonly message: string }; readonly files?: ReadonlyArray<{ readonly url: string; readonly size: number }> }
  /** Body bytes the client had handed to its socket when the answer arrived. */
  readonly sentBeforeAnswer: number
}

/**
 * An upload written by hand over one connection, as a slow or huge client would: the test decides when each
 * piece goes, or lets it `pour` zeros until the server answers. Errors of the connection are collected, not
 * thrown, so a test can say there were none.
 */
export class UploadStream {
  readonly errors: Error[] = []
  readonly answer: Promise<Answer>
  /** The answer once it has fully arrived. */
  answered: Answer | undefined
  readonly closed: Promise<void>
  private sent = 0
  private responded = false
  private readonly req: ReturnType<typeof request>

  constructor(url: string, headers: Record<string, string>, declaredBytes: number | undefined, path = '/uploads') {
    this.req = request(`${url}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
        ...(declaredBytes === undefined ? {} : { 'Content-Length': String(declaredBytes) }),
        ...headers,
      },
    })
    this.req.on('error', (error) => this.errors.push(error))
    this.answer = new Promise((resolve) => {
      this.req.on('response', (res) => {
        const sentBeforeAnswer = this.sent
        this.responded = true
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          this.answered = { status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Answer['body']), sentBeforeAnswer }
          resolve(this.answered)
        })
      })
    })
    this.closed = new Promise((resolve) => {
      this.req.on('socket', (socket) => socket.once('close', () => resolve()))
    })
    this.req.flushHeaders()
  }

  /** Writes `data` and resolves once the socket took it. */
  write(data: Buffer): Promise<void> {
    this.sent += data.length
    return new Promise((resolve) => this.req.write(data, () => resolve()))
  }

  end(data?: Buffer): void {
    if (data !== undefined) this.sent += data.length
    this.req.end(data)
  }

  /**
   * Writes zeros as fast as the connection takes them, until `bytes` are sent or the server answers; then
   * stops writing and ends its side, as curl does when an answer comes early.
   */
  async pour(bytes: number, chunkBytes = 64 * 1024): Promise<void> {
    const chunk = Buffer.alloc(chunkBytes)
    while (this.sent < bytes && !this.responded && this.errors.length === 0 && !this.req.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunkBytes, bytes - this.sent))
      this.sent += piece.length
      if (!this.req.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.req.off('drain', done)
            this.req.off('response', done)
            this.req.off('close', done)
            resolve()
          }
          this.req.on('drain', done)
          this.req.on('response', done)
          this.req.on('close', done)
        })
      }
    }
  }

  destroy(): void {
    this.req.destroy()
  }

  get bytesSent(): number {
    return this.sent
  }
}

/** Names of the files an upload has under way (`.<name>.part`) in the upload folder. */
export const partFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.part'))

/** Polls `check` until it holds, failing after `timeoutMs`: tests wait for conditions, never for fixed times. */
export const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
