import * as E from 'fp-ts/lib/Either.js'
import { decodeClientFrame } from './client-commands.js'

/** What to do with the first frame of a connection opened without credentials. */
export type FirstFrameVerdict =
  | { readonly type: 'authenticate'; readonly token: string }
  | { readonly type: 'refuse'; readonly reason: string }

const AUTH_FIRST = 'the first frame must be {"type":"auth","token":"…"}'
const BAD_AUTH = 'the auth frame must be exactly {"type":"auth","token":"…"} with the token from sign-in'

/**
 * The first frame (`undefined` for a binary one) must be a well-formed `auth`; anything else, a valid
 * command included, is refused: such a connection may do nothing before it has signed in. The reason is
 * sent as the close reason, so it never repeats what the client sent (a token in a malformed frame).
 */
export const firstFrameVerdict = (text: string | undefined): FirstFrameVerdict => {
  if (text === undefined) return { type: 'refuse', reason: AUTH_FIRST }
  const decoded = decodeClientFrame(text)
  // An auth frame that does not decode (empty or oversized token, a ref) is told so, not told to send one.
  if (E.isLeft(decoded)) return { type: 'refuse', reason: decoded.left.message === 'invalid auth command' ? BAD_AUTH : AUTH_FIRST }
  const command = decoded.right
  return command.type === 'auth' ? { type: 'authenticate', token: command.token } : { type: 'refuse', reason: AUTH_FIRST }
}
