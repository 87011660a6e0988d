import type { IncomingMessage } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { HttpError } from 'http-errors'
import type * as t from 'io-ts'
import { LoginRequest, RegisterRequest, type AccountError } from '../../core/accounts.js'
import type { LoginAttempt, LoginGuard } from './login-guard.js'
import type { RateGuard } from './rate-guard.js'
import type { ProxyTrust } from './proxy.js'
import { describeProblems, type FieldProblem } from '../../core/codecs.js'
import type { Config } from '../../core/config.js'
import type { Accounts, Authenticated, SignedIn } from '../accounts.js'
import type { ChatRuntime } from '../chat-runtime.js'
import { readJsonBody } from './body.js'
import { clearedSessionCookie, sessionCookie } from './cookies.js'
import { readCredentials } from './credentials.js'
import { accountHttpError, type Guards } from './guards.js'
import type { Handler, Reply, RouteTable } from './reply.js'
import { httpError } from './respond.js'

interface Dependencies {
  readonly accounts: Accounts
  readonly guards: Guards
  readonly loginGuard: LoginGuard
  /** Sign-ups per client address. */
  readonly signUpGuard: RateGuard
  readonly proxy: ProxyTrust
  readonly runtime: ChatRuntime
  readonly config: Config
  readonly now: () => number
  /** What keeps the server from serving: the database, the upload folder. Empty when ready. */
  readonly readiness: () => Promise<ReadonlyArray<FieldProblem>>
}

/** A refusal that says when to come back, in the body and in `Retry-After` (whole seconds, at least 1). */
export const retryLater = (status: number, code: string, what: string, waitMs: number): HttpError => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return httpError(status, code, `${what}; try again in ${seconds} s`, undefined, { 'Retry-After': String(seconds) })
}

export const decodeJsonBody =
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

/** Accounts and operations (the rooms' routes are room-routes.ts). */
export const createRoutes = ({ accounts, guards, loginGuard, signUpGuard, proxy, runtime, config, now, readiness }: Dependencies): RouteTable => {
  const cookieOptions = { secure: config.cookieSecure }

  const signedInReply = (status: number) => (signedIn: SignedIn): Reply => ({
    status,
    body: { user: signedIn.record.account, token: signedIn.token },
    headers: { 'Set-Cookie': sessionCookie(signedIn.token, config.sessionTtlSeconds, cookieOptions) },
  })

  // Limited per client address before anything else, so a flood of sign-ups costs no hashing at all.
  const register: Handler = (req) =>
    pipe(
      guards.guardOrigin(req, 'none'),
      TE.chain(() => spendSignUp(proxy.clientAddress(req))),
      TE.chain(() => decodeJsonBody(RegisterRequest)(req)),
      TE.chain((request) => pipe(accounts.register(request), TE.mapLeft(accountHttpError))),
      TE.map(signedInReply(201)),
    )

  const spendSignUp = (address: string): TE.TaskEither<HttpError, void> =>
    pipe(
      TE.fromTask(() => signUpGuard.take(address)),
      TE.chain((wait) => (wait === 0 ? TE.right(undefined) : TE.left(retryLater(429, 'too_many_sign_ups', 'too many sign-ups from this address', wait)))),
    )

  // Throttled before any password work: a blocked attempt costs the server no bcrypt. Failures count per
  // account (whichever of its names was typed) and address; see core/login-throttle.ts.
  const login: Handler = (req) => {
    const address = proxy.clientAddress(req)
    const attempt = (request: LoginRequest): TE.TaskEither<HttpError, SignedIn> =>
      pipe(
        accounts.identify(request.username),
        TE.mapLeft(accountHttpError),
        TE.chain((identity) =>
          pipe(
            TE.fromTask(() => loginGuard.attempt(identity.throttleKey, address)),
            TE.chain((started) =>
              started.type === 'refused'
                ? TE.left(retryLater(429, 'too_many_attempts', 'too many failed sign-ins', started.waitMs))
                : pipe(accounts.login(identity, request.password), TE.orElseW(recordFailure(started)), TE.chainFirstTaskK(() => started.succeeded)),
            ),
          ),
        ),
      )
    return pipe(
      guards.guardOrigin(req, 'none'),
      TE.chain(() => decodeJsonBody(LoginRequest)(req)),
      TE.chain(attempt),
      TE.map(signedInReply(200)),
    )
  }

  // The attempt already counts as a failure; anything but a wrong password takes it back.
  const recordFailure = (started: Extract<LoginAttempt, { type: 'started' }>) => (error: AccountError | Error): TE.TaskEither<HttpError, never> => {
    const failed = TE.left(accountHttpError(error))
    return error instanceof Error || error.type !== 'invalid_credentials' ? pipe(TE.fromTask(started.voided), TE.chain(() => failed)) : failed
  }

  const loggedOut: Reply = { status: 204, headers: { 'Set-Cookie': clearedSessionCookie(cookieOptions) } }

  // Idempotent: logging out without a valid session still clears the cookie and succeeds. A session that
  // could not be looked up (a store failure) is not "no session": answering 204 would leave it working.
  const logout: Handler = (req) => {
    const credentials = readCredentials(req)
    const signedInOrNot = pipe(
      guards.authenticate(credentials),
      TE.orElseW((error) => (error.status === 401 ? TE.right(undefined) : TE.left(error))),
    )
    return pipe(
      guards.guardOrigin(req, credentials?.source ?? 'none'),
      TE.chainW(() => signedInOrNot),
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
      guards.authenticate(readCredentials(req)),
      TE.map((signedIn) => ({ status: 200, body: { user: signedIn.record.account } })),
    )

  const health: Handler = () => TE.right({ status: 200, body: { status: 'ok' } })

  // For load balancers and orchestrators: 503 takes the instance out of rotation until it recovers.
  const ready: Handler = () =>
    pipe(
      TE.fromTask(readiness),
      TE.chain((problems): TE.TaskEither<HttpError, Reply> =>
        problems.length === 0
          ? TE.right({ status: 200, body: { status: 'ready' } })
          : TE.left(httpError(503, 'not_ready', 'the server cannot serve requests right now', problems)),
      ),
    )

  const websocketOnly: Handler = () =>
    TE.left(httpError(426, 'upgrade_required', 'this is the WebSocket endpoint: connect with a WebSocket client'))

  return {
    '/auth/register': { POST: register },
    '/auth/login': { POST: login },
    '/auth/logout': { POST: logout },
    '/auth/me': { GET: me },
    '/health': { GET: health },
    '/ready': { GET: ready },
    '/ws': { GET: websocketOnly },
  }
}
