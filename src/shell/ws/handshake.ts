import type { IncomingMessage } from 'node:http'

/**
 * What is wrong with a WebSocket opening handshake (RFC 6455 section 4.2.1), or undefined when nothing is.
 * Checked before `ws` sees the request, because ws answers a bad handshake with a plain-text 400 and
 * none of our headers, while every refusal of ours is a JSON error.
 */
export const handshakeProblem = (req: IncomingMessage): string | undefined => {
  const version = req.headers['sec-websocket-version']
  if (version !== '13') return 'Sec-WebSocket-Version must be 13'
  const key = req.headers['sec-websocket-key']
  // A base64-encoded 16-byte nonce is 22 characters and two '=' of padding.
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key.trim())) return 'Sec-WebSocket-Key must be a base64-encoded 16-byte value'
  const protocols = req.headers['sec-websocket-protocol']
  if (protocols !== undefined && !isTokenList(protocols)) {
    return 'Sec-WebSocket-Protocol must be a comma-separated list of distinct tokens'
  }
  return undefined
}

// RFC 9110's token characters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const isTokenList = (header: string): boolean => {
  const names = header.split(',').map((name) => name.trim())
  return names.every((name) => TOKEN.test(name)) && new Set(names).size === names.length
}
