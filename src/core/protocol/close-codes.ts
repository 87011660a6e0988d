/**
 * The WebSocket close codes Sala's protocol gives a meaning to (asyncapi.yaml lists them for clients).
 * One module for the server's shell and core and for the web client, so that both say the same number.
 * Codes 1000-2999 are RFC 6455's; 4000-4999 are for applications.
 */

/** The client or server is done (sign-out, a client that gives up on a dead link). */
export const CLOSE_NORMAL = 1000
/** The server is shutting down; reconnect. */
export const CLOSE_GOING_AWAY = 1001
/** A binary frame: the protocol is JSON text only. */
export const CLOSE_UNSUPPORTED_DATA = 1003
/** Sustained abuse of the rate limits, or one connection too many for the user. */
export const CLOSE_POLICY_VIOLATION = 1008
/** A frame larger than `MAX_FRAME_BYTES`. */
export const CLOSE_MESSAGE_TOO_BIG = 1009
/** Something failed on the server's side; reconnect. */
export const CLOSE_INTERNAL_ERROR = 1011
/** The connection read too slowly: its unsent data passed `MAX_BUFFERED_BYTES`. Reconnect and catch up. */
export const CLOSE_TRY_AGAIN_LATER = 1013
/** The session is over (logout, revocation, expiry, or no `auth` frame in time): sign in again, do not retry. */
export const CLOSE_SESSION_ENDED = 4001
