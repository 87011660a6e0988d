import createClient from 'openapi-fetch'
import type { components, paths } from './api-types.js'

// HTTP calls of the web client, typed by openapi.yaml: api-types.ts is generated from it, so a path, a
// body or a response the spec does not describe does not compile here. Errors come back as values with
// the server's sentence and field details.

type Schemas = components['schemas']
export type Account = Schemas['Account']
export type Room = Schemas['Room']
export type Attachment = Schemas['Attachment']

export interface FieldErrors {
  readonly [field: string]: string
}

export type ApiResult<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string; readonly fields: FieldErrors }

/** The shape every error response in the spec shares. */
interface ErrorBody {
  readonly error: { readonly message: string; readonly details?: Schemas['FieldProblems'] }
}

const client = createClient<paths>({ credentials: 'same-origin' })

/**
 * openapi-fetch answers `{data}` for a 2xx and `{error}` otherwise; the error is the parsed body, or its
 * text when it is not JSON (a proxy's error page), so it is checked before it is read.
 */
const settle = async <A>(call: Promise<{ readonly data?: A; readonly error?: unknown; readonly response: Response }>): Promise<ApiResult<A>> => {
  try {
    const { data, error, response } = await call
    if (response.ok) return { ok: true, value: data as A }
    return failure(error, response.status)
  } catch {
    return { ok: false, message: 'the server cannot be reached', fields: {} }
  }
}

const failure = (body: unknown, status: number): ApiResult<never> => {
  const error = isErrorBody(body) ? body.error : undefined
  const fields: Record<string, string> = {}
  for (const detail of error?.details ?? []) fields[detail.path] = detail.message
  return { ok: false, message: error?.message ?? `the server answered ${status}`, fields }
}

const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'message' in body.error

export const register = (body: Schemas['RegisterRequest']) => settle(client.POST('/auth/register', { body }))
export const login = (body: Schemas['LoginRequest']) => settle(client.POST('/auth/login', { body }))
export const logout = () => settle(client.POST('/auth/logout'))
export const me = () => settle(client.GET('/auth/me'))
export const rooms = () => settle(client.GET('/rooms'))

type Uploaded = paths['/uploads']['post']['responses'][201]['content']['application/json']

/** XHR rather than fetch: it reports upload progress. The body is read as the spec says it is. */
export const upload = (files: ReadonlyArray<File>, onProgress: (fraction: number) => void): Promise<ApiResult<ReadonlyArray<Attachment>>> =>
  new Promise((resolve) => {
    const form = new FormData()
    for (const file of files) form.append('files', file, file.name)
    const request = new XMLHttpRequest()
    request.open('POST', '/uploads')
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total)
    })
    request.addEventListener('load', () => {
      const body = parseJson(request.responseText)
      if (request.status === 201 && isUploaded(body)) resolve({ ok: true, value: body.files })
      else resolve(failure(body, request.status))
    })
    request.addEventListener('error', () => resolve({ ok: false, message: 'the upload could not reach the server', fields: {} }))
    request.send(form)
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const isUploaded = (body: unknown): body is Uploaded =>
  typeof body === 'object' && body !== null && 'files' in body && Array.isArray(body.files)
