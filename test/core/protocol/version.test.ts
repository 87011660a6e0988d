import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chooseSubprotocol, offeredSubprotocols, PROTOCOL_VERSION, SUBPROTOCOL, versionOf } from '../../../src/core/protocol/version.js'

const names = fc.oneof(fc.constantFrom('sala.v1', 'sala.v2', 'SALA.V1', 'graphql-ws', 'mqtt', 'sala.v1 '), fc.stringMatching(/^[!#-'*+.^-z|~0-9A-Za-z-]{1,12}$/))

describe('the protocol version', () => {
  it('is 2 at the latest, named sala.v2; a connection that names none speaks 1', () => {
    expect(PROTOCOL_VERSION).toBe(2)
    expect(SUBPROTOCOL).toBe('sala.v2')
    expect(versionOf(undefined)).toBe(1)
    expect(versionOf('')).toBe(1)
    expect(versionOf('sala.v1')).toBe(1)
    expect(versionOf('sala.v2')).toBe(2)
  })

  it('chooses the latest version offered, accepts no offer, refuses an offer of neither', () => {
    fc.assert(
      fc.property(fc.array(names, { maxLength: 5 }), (offered) => {
        const choice = chooseSubprotocol(offered)
        if (offered.length === 0) expect(choice).toEqual({ type: 'none' })
        else if (offered.includes('sala.v2')) expect(choice).toEqual({ type: 'chosen', protocol: 'sala.v2' })
        else if (offered.includes('sala.v1')) expect(choice).toEqual({ type: 'chosen', protocol: 'sala.v1' })
        else expect(choice).toEqual({ type: 'unsupported', offered })
      }),
    )
  })

  it('reads the names of a Sec-WebSocket-Protocol header', () => {
    expect(offeredSubprotocols(undefined)).toEqual([])
    expect(offeredSubprotocols('')).toEqual([])
    expect(offeredSubprotocols(' , ')).toEqual([])
    expect(offeredSubprotocols('sala.v2, sala.v1')).toEqual(['sala.v2', 'sala.v1'])
    expect(offeredSubprotocols(['sala.v2', 'mqtt,sala.v1'])).toEqual(['sala.v2', 'mqtt', 'sala.v1'])
    expect(chooseSubprotocol(offeredSubprotocols('sala.v1,  sala.v2'))).toEqual({ type: 'chosen', protocol: 'sala.v2' })
    expect(chooseSubprotocol(offeredSubprotocols('Sala.V1'))).toMatchObject({ type: 'unsupported' })
  })
})
