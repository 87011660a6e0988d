/**
 * Which version of the protocol a connection speaks. A client may name it with the WebSocket subprotocol
 * `sala.v1`; one that names none gets version 1 too, as before versions existed. `welcome` says the
 * version in `protocol`, so a later version can change frames without breaking clients of this one.
 */
export const PROTOCOL_VERSION = 1
export const SUBPROTOCOL = 'sala.v1'

/** Subprotocols this server speaks, best first: the first one a client offers is chosen. */
const SPOKEN: ReadonlyArray<string> = [SUBPROTOCOL]

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

/** The names in a `Sec-WebSocket-Protocol` header (comma-separated); none for a missing or blank one. */
export const offeredSubprotocols = (header: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  const joined = typeof header === 'string' ? header : (header ?? []).join(',')
  return joined
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
}
