import type { Attachment } from '../core/uploads.js'

// HTTP calls of the web client. Errors come back as values with the server's sentence and field details.

export interface FieldErrors {
  readonly [field: string]: string
}

export type ApiResult<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string; readonly fields: FieldErrors }

interface ErrorBody {
  readonly error?: { readonly message?: string; readonly details?: ReadonlyArray<{ readonly path: string; readonly message: string }> }
}

const failure = async (response: Response): Promise<ApiResult<never>> => {
  const body = (await response.json().catch(() => ({}))) as ErrorBody
  const fields: Record<string, string> = {}
  for (const detail of body.error?.details ?? []) fields[detail.path] = detail.message
  return { ok: false, message: body.error?.message ?? `the server answered ${response.status}`, fields }
}

const call = async <A>(path: string, init: RequestInit): Promise<ApiResult<A>> => {
  try {
    const response = await fetch(path, { credentials: 'same-origin', ...init })
    if (!response.ok) return failure(response)
    return { ok: true, value: (response.status === 204 ? undefined : await response.json()) as A }
  } catch {
    return { ok: false, message: 'the server cannot be reached', fields: {} }
  }
}

const postJson = <A>(path: string, body: unknown) =>
  call<A>(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })

export const register = (form: { name: string; username: string; email: string; password: string }) => postJson<unknown>('/auth/register', form)
export const login = (form: { username: string; password: string }) => postJson<unknown>('/auth/login', form)
export const logout = () => call<void>('/auth/logout', { method: 'POST' })
export const rooms = () => call<ReadonlyArray<{ id: string; name: string; members: number }>>('/rooms', {})
export const me = () => call<{ user: { username: string; name: string } }>('/auth/me', {})

/** XHR rather than fetch: it reports upload progress. */
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
      const body = (() => {
        try {
          return JSON.parse(request.responseText) as ErrorBody & { files?: ReadonlyArray<Attachment> }
        } catch {
          return {}
        }
      })()
      if (request.status === 201 && body.files !== undefined) resolve({ ok: true, value: body.files })
      else resolve({ ok: false, message: body.error?.message ?? `the upload failed (${request.status})`, fields: {} })
    })
    request.addEventListener('error', () => resolve({ ok: false, message: 'the upload could not reach the server', fields: {} }))
    request.send(form)
  })
