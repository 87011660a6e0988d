import * as t from 'io-ts'
import { Email, Password, PersonName, Username } from './brands.js'
import { explained, strictObject } from './codecs.js'
import { comparisonKey, isWellFormed } from './text.js'

export const RegisterRequest = strictObject(
  'RegisterRequest',
  { name: PersonName, username: Username, email: Email, password: Password },
  {},
)
export type RegisterRequest = t.TypeOf<typeof RegisterRequest>

// Login accepts anything string-shaped: a too-long password simply does not match, and saying why it
// was refused would tell an attacker more than "wrong username or password".
export const LoginRequest = strictObject(
  'LoginRequest',
  {
    username: explained(t.refinement(t.string, (s) => s.length >= 1 && s.length <= 254 && isWellFormed(s), 'Login'), 'must be your username or e-mail'),
    password: explained(t.refinement(t.string, (s) => s.length >= 1 && s.length <= 1024 && isWellFormed(s), 'LoginPassword'), 'must be a non-empty string of well-formed Unicode'),
  },
  {},
)
export type LoginRequest = t.TypeOf<typeof LoginRequest>

/** What a user sees of their own account. */
export interface Account {
  readonly username: string
  readonly name: string
  readonly email: string
  readonly createdAt: string
}

export type AccountError =
  | { readonly type: 'username_taken' }
  | { readonly type: 'email_taken' }
  | { readonly type: 'invalid_credentials' }
  /** No credentials at all: sign in first. */
  | { readonly type: 'unauthenticated' }
  /** Credentials that name no live session (bad, expired, revoked or unknown token): sign in again. */
  | { readonly type: 'session_invalid' }
  /** Too many passwords of this kind are already waiting to be hashed; try again shortly. */
  | { readonly type: 'busy' }

/** E-mail addresses are unique regardless of case and of how an accent was typed (NFC, then lower case). */
export const emailKey = (email: string): string => comparisonKey(email)
