import * as O from 'fp-ts/lib/Option.js'

/**
 * Message ids are a room's sequence number, zero-padded so that the opaque strings clients see also sort
 * in order. Clients must treat them as opaque; only the server reads the number back.
 */
const WIDTH = 12

export const formatMessageId = (seq: number): string => String(seq).padStart(WIDTH, '0')

export const parseMessageId = (id: string): O.Option<number> => {
  if (!/^[0-9]{1,15}$/.test(id)) return O.none
  const seq = Number(id)
  return seq >= 1 && Number.isSafeInteger(seq) ? O.some(seq) : O.none
}
