import type { RawData } from 'ws'

/** The text of a received frame, whichever of ws's shapes it came in. */
export const rawText = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')

/**
 * A complete, unmasked WebSocket text frame (RFC 6455 §5.2), header and payload in one buffer, so one
 * frame built once can be written to every recipient's socket as it is.
 */
export const textFrame = (payload: Buffer): Buffer => {
  const length = payload.length
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(headerLength + length)
  frame[0] = 0x81 // FIN + text
  if (length < 126) {
    frame[1] = length
  } else if (length < 65536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  payload.copy(frame, headerLength)
  return frame
}
