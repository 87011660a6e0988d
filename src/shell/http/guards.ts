import type { IncomingMessage } from 'node:http'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import type { AccountError } from '../../core/accounts.js'
import type { Accounts, Authenticated } from '../accounts.js'
import { readCredentials, type Credentials } from './credentials.js'
import { originAllowed, type CredentialSource, type OriginPolicy } from './origin.js'
import { httpError } from './respond.js'
import { storeHttpError } from './store-error.js'

/** The one mapping from account errors to HTTP. The same 401 for an unknown user and a wrong password. */
export const accountHttpError = (error: AccountError | Error): HttpError => {
  // A store's failure says what failed (busy, full, read-only), as every route says it: see store-error.ts.
  if (error instanceof Error) return storeHttpError(error)
  switch (error.type) {
    case 'username_taken':
      return httpError(409, 'username_taken', 'that username is taken', [{ path: 'username', message: 'is taken' }])
    case 'email_taken':
      return httpError(409, 'email_taken', 'that e-mail is already registered', [{ path: 'email', message: 'is already registered' }])
    case 'invalid_credentials':
      return httpError(401, 'invalid_credentials', 'wrong username or password')
    case 'unauthenticated':
      return httpError(401, 'unauthenticated', 'sign in first: send the session cookie or an Authorization: Bearer token')
    // The same code, so clients that switch on it need no change; the message says what to do now.
    case 'session_invalid':
      return httpError(401, 'unauthenticated', 'your session is not valid (expired, revoked or unknown): sign in again')
    case 'busy':
      return httpError(503, 'busy', 'too many sign-ins or sign-ups are waiting; try again in a moment', undefined, { 'Retry-After': '1' })
  }
}

export interface Guards {
  readonly guardOrigin: (req: IncomingMessage, source: CredentialSource) => TE.TaskEither<HttpError, void>
  readonly authenticate: (credentials: Credentials | undefined) => TE.TaskEither<HttpError, Authenticated>
  /** For requests that change state: a valid session, and the Origin check when it came as a cookie. */
  readonly authenticateChange: (req: IncomingMessage) => TE.TaskEither<HttpError, Authenticated>
}

export const createGuards = (accounts: Accounts, origins: OriginPolicy): Guards => {
  const guardOrigin = (req: IncomingMessage, source: CredentialSource): TE.TaskEither<HttpError, void> =>
    originAllowed(req, origins, source)
      ? TE.right(undefined)
      : TE.left(httpError(403, 'forbidden_origin', 'this request must come from the chat’s own site (Origin check)'))

  const authenticate = (credentials: Credentials | undefined): TE.TaskEither<HttpError, Authenticated> =>
    credentials === undefined
      ? TE.left(accountHttpError({ type: 'unauthenticated' }))
      : pipe(accounts.authenticate(credentials.token), TE.mapLeft(accountHttpError))

  const authenticateChange = (req: IncomingMessage): TE.TaskEither<HttpError, Authenticated> => {
    const credentials = readCredentials(req)
    return pipe(
      guardOrigin(req, credentials?.source ?? 'none'),
      TE.chain(() => authenticate(credentials)),
    )
  }

  return { guardOrigin, authenticate, authenticateChange }
}
