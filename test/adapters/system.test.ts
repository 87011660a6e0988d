import { describe, expect, it } from 'vitest'
import { RoomId } from '../../src/core/brands.js'
import { realSystem } from '../../src/adapters/system.js'

describe('room ids (docs/rooms.md)', () => {
  it('are r- or dm- and 12 lowercase base32 characters, valid RoomIds, and do not repeat', () => {
    const rooms = Array.from({ length: 2000 }, realSystem.newRoomId)
    const conversations = Array.from({ length: 2000 }, realSystem.newDirectRoomId)
    for (const id of rooms) expect(id).toMatch(/^r-[a-z2-7]{12}$/)
    for (const id of conversations) expect(id).toMatch(/^dm-[a-z2-7]{12}$/)
    for (const id of [...rooms, ...conversations]) expect(RoomId.is(id)).toBe(true)
    expect(new Set([...rooms, ...conversations]).size).toBe(4000)
    // Every character of the alphabet turns up (the 5 bits are uniform), and nothing else.
    expect(new Set(rooms.join('').replaceAll('r-', '')).size).toBe(32)
  })
})
