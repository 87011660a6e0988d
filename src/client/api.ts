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

/**
 * A 2xx with its body and status (some routes say "made" with 201 and "already so" with 200), or an error:
 * the server's sentence and field details, its `code` when the body has one, `status` (0 when the server
 * could not be reached) and `retryAfterSeconds` from a `Retry-After` header.
 */
export type ApiResult<A> =
  | { readonly ok: true; readonly value: A; readonly status: number }
  | {
      readonly ok: false
      readonly message: string
      readonly fields: FieldErrors
      readonly status: number
      readonly code?: string
      readonly retryAfterSeconds?: number
    }

/** The shape every error response in the spec shares. */
interface ErrorBody {
  readonly error: { readonly message: string; readonly code?: string; readonly details?: Schemas['FieldProblems'] }
}

const client = createClient<paths>({ credentials: 'same-origin' })

/**
 * openapi-fetch answers `{data}` for a 2xx and `{error}` otherwise; the error is the parsed body, or its
 * text when it is not JSON (a proxy's error page), so it is checked before it is read.
 */
const settle = async <A>(call: Promise<{ readonly data?: A; readonly error?: unknown; readonly response: Response }>): Promise<ApiResult<A>> => {
  try {
    const { data, error, response } = await call
    if (response.ok) return { ok: true, value: data as A, status: response.status }
    return failure(error, response.status, response.headers.get('Retry-After'))
  } catch {
    return UNREACHABLE
  }
}

const UNREACHABLE = { ok: false, message: 'the server cannot be reached', fields: {}, status: 0 } as const

const failure = (body: unknown, status: number, retryAfter: string | null): ApiResult<never> => {
  const error = isErrorBody(body) ? body.error : undefined
  const fields: Record<string, string> = {}
  for (const detail of error?.details ?? []) fields[detail.path] = detail.message
  const seconds = retryAfterSeconds(retryAfter)
  return {
    ok: false,
    message: error?.message ?? `the server answered ${status}`,
    fields,
    status,
    ...(typeof error?.code === 'string' ? { code: error.code } : {}),
    ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
  }
}

/** `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). */
const retryAfterSeconds = (header: string | null): number | undefined => {
  if (header === null || header.trim() === '') return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim())
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - Date.now()) / 1000))
}

const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'message' in body.error

export const register = (body: Schemas['RegisterRequest']) => settle(client.POST('/auth/register', { body }))
export const login = (body: Schemas['LoginRequest']) => settle(client.POST('/auth/login', { body }))
export const logout = () => settle(client.POST('/auth/logout'))
export const me = () => settle(client.GET('/auth/me'))
export const rooms = () => settle(client.GET('/rooms'))

// The rooms routes (docs/rooms.md). A room is addressed by its id, a member or the other person of a
// conversation by their username.
export const createRoom = (body: Schemas['CreateRoomRequest']) => settle(client.POST('/rooms', { body }))
export const updateRoom = (id: string, body: Schemas['UpdateRoomRequest']) => settle(client.PATCH('/rooms/{id}', { params: { path: { id } }, body }))
export const archiveRoom = (id: string) => settle(client.DELETE('/rooms/{id}', { params: { path: { id } } }))
export const addMember = (id: string, username: string) => settle(client.POST('/rooms/{id}/members', { params: { path: { id } }, body: { username } }))
export const removeMember = (id: string, username: string) =>
  settle(client.DELETE('/rooms/{id}/members/{username}', { params: { path: { id, username } } }))
export const openConversation = (username: string) => settle(client.PUT('/dms/{username}', { params: { path: { username } } }))

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
      if (request.status === 201 && isUploaded(body)) resolve({ ok: true, value: body.files, status: request.status })
      else resolve(failure(body, request.status, request.getResponseHeader('Retry-After')))
    })
    request.addEventListener('error', () => resolve({ ...UNREACHABLE, message: 'the upload could not reach the server' }))
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
