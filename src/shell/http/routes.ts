import type { IncomingMessage } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import type * as t from 'io-ts'
import { LoginRequest, RegisterRequest, type AccountError } from '../../core/accounts.js'
import { describeProblems } from '../../core/codecs.js'
import { roomSummaries } from '../../core/chat/frames.js'
import type { Config } from '../../core/config.js'
import type { Accounts, Authenticated, SignedIn } from '../accounts.js'
import type { ChatRuntime } from '../chat-runtime.js'
import { readJsonBody } from './body.js'
import { clearedSessionCookie, sessionCookie } from './cookies.js'
import { readCredentials, type Credentials } from './credentials.js'
import { originAllowed, type CredentialSource } from './origin.js'
import { httpError, type Headers } from './respond.js'

export interface Reply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Headers
}

export type Handler = (req: IncomingMessage) => TE.TaskEither<HttpError, Reply>
export type Method = 'GET' | 'POST'
export type RouteTable = Readonly<Record<string, Partial<Record<Method, Handler>>>>

interface Dependencies {
  readonly accounts: Accounts
  readonly runtime: ChatRuntime
  readonly config: Config
  readonly now: () => number
}

/** The one mapping from account errors to HTTP. The same 401 for an unknown user and a wrong password. */
export const accountHttpError = (error: AccountError | Error): HttpError => {
  if (error instanceof Error) return httpError(500, 'internal_error', error.message)
  switch (error.type) {
    case 'username_taken':
      return httpError(409, 'username_taken', 'that username is taken', [{ path: 'username', message: 'is taken' }])
    case 'email_taken':
      return httpError(409, 'email_taken', 'that e-mail is already registered', [{ path: 'email', message: 'is already registered' }])
    case 'invalid_credentials':
      return httpError(401, 'invalid_credentials', 'wrong username or password')
    case 'unauthenticated':
      return httpError(401, 'unauthenticated', 'sign in first: send the session cookie or an Authorization: Bearer token')
  }
}

export const createRoutes = ({ accounts, runtime, config, now }: Dependencies): RouteTable => {
  const cookieOptions = { secure: config.cookieSecure }

  const guardOrigin = (req: IncomingMessage, source: CredentialSource): TE.TaskEither<HttpError, void> =>
    originAllowed(req, config, source)
      ? TE.right(undefined)
      : TE.left(httpError(403, 'forbidden_origin', 'this request must come from the chat’s own site (Origin check)'))

  const decodeBody =
    <A>(codec: t.Decoder<unknown, A>) =>
    (req: IncomingMessage): TE.TaskEither<HttpError, A> =>
      pipe(
        () => readJsonBody(req),
        TE.chainEitherK((body) =>
          pipe(
            codec.decode(body),
            E.mapLeft((errors) => httpError(400, 'validation_failed', 'some fields are not valid', describeProblems(errors))),
          ),
        ),
      )

  const authenticate = (credentials: Credentials | undefined): TE.TaskEither<HttpError, Authenticated> =>
    credentials === undefined
      ? TE.left(accountHttpError({ type: 'unauthenticated' }))
      : pipe(accounts.authenticate(credentials.token), TE.mapLeft(accountHttpError))

  const signedInReply = (status: number) => (signedIn: SignedIn): Reply => ({
    status,
    body: { user: signedIn.record.account, token: signedIn.token },
    headers: { 'Set-Cookie': sessionCookie(signedIn.token, config.sessionTtlSeconds, cookieOptions) },
  })

  const register: Handler = (req) =>
    pipe(
      guardOrigin(req, 'none'),
      TE.chain(() => decodeBody(RegisterRequest)(req)),
      TE.chain((request) => pipe(accounts.register(request), TE.mapLeft(accountHttpError))),
      TE.map(signedInReply(201)),
    )

  const login: Handler = (req) =>
    pipe(
      guardOrigin(req, 'none'),
      TE.chain(() => decodeBody(LoginRequest)(req)),
      TE.chain((request) => pipe(accounts.login(request), TE.mapLeft(accountHttpError))),
      TE.map(signedInReply(200)),
    )

  const loggedOut: Reply = { status: 204, headers: { 'Set-Cookie': clearedSessionCookie(cookieOptions) } }

  // Idempotent: logging out without a valid session still clears the cookie and succeeds.
  const logout: Handler = (req) => {
    const credentials = readCredentials(req)
    return pipe(
      guardOrigin(req, credentials?.source ?? 'none'),
      TE.chain(() => (credentials === undefined ? TE.right(undefined) : pipe(authenticate(credentials), TE.orElseW(() => TE.right(undefined))))),
      TE.chain((signedIn) => (signedIn === undefined ? TE.right(loggedOut) : revoke(signedIn))),
    )
  }

  const revoke = (signedIn: Authenticated): TE.TaskEither<HttpError, Reply> =>
    pipe(
      accounts.logout(signedIn.session.id),
      TE.mapLeft(accountHttpError),
      TE.map(() => {
        runtime.dispatch({ type: 'SessionRevoked', session: signedIn.session.id, expiresAt: signedIn.session.expiresAt, at: now() })
        return loggedOut
      }),
    )

  const me: Handler = (req) =>
    pipe(
      authenticate(readCredentials(req)),
      TE.map((signedIn) => ({ status: 200, body: { user: signedIn.record.account } })),
    )

  const rooms: Handler = (req) =>
    pipe(
      authenticate(readCredentials(req)),
      TE.map(() => ({ status: 200, body: roomSummaries(runtime.state()) })),
    )

  const health: Handler = () => TE.right({ status: 200, body: { status: 'ok' } })

  const websocketOnly: Handler = () =>
    TE.left(httpError(426, 'upgrade_required', 'this is the WebSocket endpoint: connect with a WebSocket client'))

  return {
    '/auth/register': { POST: register },
    '/auth/login': { POST: login },
    '/auth/logout': { POST: logout },
    '/auth/me': { GET: me },
    '/rooms': { GET: rooms },
    '/health': { GET: health },
    '/ws': { GET: websocketOnly },
  }
}
