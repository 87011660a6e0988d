import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { AccountError, LoginRequest, RegisterRequest } from '../core/accounts.js'
import { passwordCandidates, type SessionId } from '../core/brands.js'
import { accountThrottleKey, unknownLoginThrottleKey, type ThrottleKey } from '../core/login-throttle.js'
import { HasherBusy, type PasswordHasher } from '../adapters/password-hasher.js'
import { toError } from '../adapters/store-failure.js'
import type { SessionRecord, SessionStore, UserRecord, UserStore } from '../adapters/stores.js'
import type { System } from '../adapters/system.js'
import type { TokenIssuer } from '../adapters/tokens.js'

/** A signed-in user: who, through which session, and the token that proves it. */
export interface SignedIn {
  readonly record: UserRecord
  readonly session: SessionRecord
  readonly token: string
}

export interface Authenticated {
  readonly record: UserRecord
  readonly session: SessionRecord
}

/** Who a login names: the account (if any) and the key its failures are counted under. */
export interface LoginIdentity {
  readonly throttleKey: ThrottleKey
  readonly record: UserRecord | undefined
}

export interface Accounts {
  /** A taken username or e-mail is answered before any hashing; the unique indexes settle races. */
  readonly register: (request: RegisterRequest) => TE.TaskEither<AccountError | Error, SignedIn>
  /** Finds the account a login (username or e-mail) names, without any password work. */
  readonly identify: (login: LoginRequest['username']) => TE.TaskEither<Error, LoginIdentity>
  readonly login: (identity: LoginIdentity, password: LoginRequest['password']) => TE.TaskEither<AccountError | Error, SignedIn>
  /** A token is good only while its session row exists, is not revoked and has not expired. */
  readonly authenticate: (token: string) => TE.TaskEither<AccountError | Error, Authenticated>
  readonly logout: (session: SessionId) => TE.TaskEither<Error, void>
}

interface Dependencies {
  readonly users: UserStore
  readonly sessions: SessionStore
  readonly hasher: PasswordHasher
  readonly tokens: TokenIssuer
  readonly system: System
  readonly sessionTtlSeconds: number
}

// Whatever is wrong with a token (forged, expired, revoked, its user gone), the answer is the same.
const sessionInvalid: AccountError = { type: 'session_invalid' }
const invalidCredentials: AccountError = { type: 'invalid_credentials' }

/** A full hashing queue is the client's to retry, not a failure of ours. */
const hashingError = (error: unknown): AccountError | Error => (error instanceof HasherBusy ? { type: 'busy' } : toError(error))

export const createAccounts = (deps: Dependencies): Accounts => {
  const { users, sessions, hasher, tokens, system } = deps

  const startSession = (record: UserRecord): TE.TaskEither<Error, SignedIn> => {
    const now = system.now()
    const session: SessionRecord = {
      id: system.newSessionId(),
      userId: record.user.id,
      expiresAt: now + deps.sessionTtlSeconds * 1000,
      revokedAt: null,
    }
    return pipe(
      sessions.create({ id: session.id, userId: session.userId, createdAt: now, expiresAt: session.expiresAt }),
      TE.chain(() => TE.tryCatch(() => tokens.issue({ userId: record.user.id, sessionId: session.id, expiresAt: session.expiresAt }, now), toError)),
      TE.map((token) => ({ record, session, token })),
    )
  }

  const hashPassword = (request: RegisterRequest) => TE.tryCatch(() => hasher.hash(request.password), hashingError)

  const refuseTaken = (request: RegisterRequest): TE.TaskEither<AccountError | Error, RegisterRequest> =>
    pipe(
      users.findTaken(request.username, request.email),
      TE.chainW((taken) => (taken === undefined ? TE.right(request) : TE.left(taken))),
    )

  // Unknown users, and passwords no account can have (too long, a NUL), cost the same comparisons as a
  // real one: response time must not tell who has an account. See `passwordCandidates` for the order.
  const checkPassword = (typed: string, record: UserRecord | undefined): TE.TaskEither<AccountError | Error, UserRecord> =>
    pipe(
      TE.tryCatch(() => matchesAny(passwordCandidates(typed), record), hashingError),
      TE.chainW((matches) => (matches && record !== undefined ? TE.right(record) : TE.left(invalidCredentials))),
    )

  const matchesAny = async (candidates: ReadonlyArray<string>, record: UserRecord | undefined): Promise<boolean> => {
    if (candidates.length === 0 || record === undefined) {
      await hasher.verifyNobody(candidates[0] ?? '')
      return false
    }
    for (const candidate of candidates) if (await hasher.verify(candidate, record.passwordHash)) return true
    return false
  }

  const checkSession = (session: SessionRecord | undefined, userId: string): TE.TaskEither<AccountError, SessionRecord> =>
    session !== undefined && session.revokedAt === null && session.expiresAt > system.now() && session.userId === userId
      ? TE.right(session)
      : TE.left(sessionInvalid)

  return {
    register: (request) =>
      pipe(
        refuseTaken(request),
        TE.chainW(hashPassword),
        TE.chainW((passwordHash) =>
          users.create({
            id: system.newUserId(),
            name: request.name,
            username: request.username,
            email: request.email,
            passwordHash,
            createdAt: system.now(),
          }),
        ),
        TE.chainW(startSession),
      ),
    identify: (login) =>
      pipe(
        users.findByLogin(login),
        TE.map((record) => ({
          record,
          throttleKey: record === undefined ? unknownLoginThrottleKey(login) : accountThrottleKey(record.user.id),
        })),
      ),
    login: (identity, password) =>
      pipe(
        checkPassword(password, identity.record),
        TE.chainW(startSession),
      ),
    authenticate: (token) =>
      pipe(
        tokens.verify(token, system.now()),
        TE.mapLeft((): AccountError => sessionInvalid),
        TE.chainW((claims) =>
          pipe(
            sessions.find(claims.sessionId),
            TE.chainW((session) => checkSession(session, claims.userId)),
          ),
        ),
        TE.chainW((session) =>
          pipe(
            users.findById(session.userId),
            TE.chainW((record) => (record === undefined ? TE.left(sessionInvalid) : TE.right({ record, session }))),
          ),
        ),
      ),
    logout: (session) => sessions.revoke(session, system.now()),
  }
}
