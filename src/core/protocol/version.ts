/**
 * Which version of the protocol a connection speaks, named with the WebSocket subprotocol `sala.v<N>`.
 * A client that names none speaks version 1, as before versions existed. `welcome` says the version in
 * `protocol`, so a later version can change frames without breaking clients of an earlier one.
 *
 * - Version 1: `joined` lists every member; every arrival and departure is its own `user_joined` /
 *   `user_left` frame.
 * - Version 2 (docs/big-rooms.md): `joined` carries the member count and the first page of members, the
 *   `members` command pages the rest, and arrivals and departures come gathered in `presence` frames.
 */
export type ProtocolVersion = 1 | 2

/** The latest version: what this server's own web client speaks. */
export const PROTOCOL_VERSION: ProtocolVersion = 2
/** What a connection that names no subprotocol speaks. */
export const DEFAULT_PROTOCOL_VERSION: ProtocolVersion = 1

export const SUBPROTOCOLS: Readonly<Record<ProtocolVersion, string>> = { 1: 'sala.v1', 2: 'sala.v2' }
/** The latest version's subprotocol name. */
export const SUBPROTOCOL = SUBPROTOCOLS[PROTOCOL_VERSION]

/** Subprotocols this server speaks, best first: of those a client offers, the latest is chosen. */
const SPOKEN: ReadonlyArray<string> = [SUBPROTOCOLS[2], SUBPROTOCOLS[1]]

/**
 * The answer to a client's offer (`Sec-WebSocket-Protocol`): `none` when it offered nothing (upgrade
 * without the header, as before); `chosen` to echo one back; `unsupported` when it offered only names this
 * server does not speak. Browsers fail a connection whose offer the server does not echo, so that case is
 * refused before the upgrade with a status the client can read, rather than upgraded to a certain failure.
 */
export type SubprotocolChoice =
  | { readonly type: 'none' }
  | { readonly type: 'chosen'; readonly protocol: string }
  | { readonly type: 'unsupported'; readonly offered: ReadonlyArray<string> }

/** Subprotocol names are case-sensitive tokens (RFC 6455 §4.1), so they are compared exactly. */
export const chooseSubprotocol = (offered: ReadonlyArray<string>): SubprotocolChoice => {
  if (offered.length === 0) return { type: 'none' }
  const protocol = SPOKEN.find((spoken) => offered.includes(spoken))
  return protocol === undefined ? { type: 'unsupported', offered } : { type: 'chosen', protocol }
}

/** The version a connection speaks, from the subprotocol its upgrade chose ('' or absent: none chosen). */
export const versionOf = (subprotocol: string | undefined): ProtocolVersion =>
  subprotocol === SUBPROTOCOLS[2] ? 2 : DEFAULT_PROTOCOL_VERSION

/** The names in a `Sec-WebSocket-Protocol` header (comma-separated); none for a missing or blank one. */
export const offeredSubprotocols = (header: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  const joined = typeof header === 'string' ? header : (header ?? []).join(',')
  return joined
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
}
