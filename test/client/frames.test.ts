import { describe, expect, it } from 'vitest'
import { decodeFrame } from '../../src/client/frames.js'

const user = { username: 'ana', name: 'Ana' }

describe('the web client’s frame decoder', () => {
  it('decodes frames with the server’s codecs', () => {
    const ack = { type: 'ack', id: '000000000003', room: 'sala-2', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c1', ref: 'c1' }
    expect(decodeFrame(JSON.stringify(ack))).toEqual({ type: 'frame', frame: ack })
    expect(decodeFrame(JSON.stringify({ type: 'pong', ref: 'ping-1' }))).toEqual({ type: 'frame', frame: { type: 'pong', ref: 'ping-1' } })
  })

  it('takes what an older server sends: an ack without room, joined without typing or count, welcome without protocol', () => {
    const ack = { type: 'ack', id: '000000000003', sentAt: '2026-11-24T12:00:01.000Z', clientId: 'c1' }
    expect(decodeFrame(JSON.stringify(ack))).toEqual({ type: 'frame', frame: ack })
    const joined = decodeFrame(JSON.stringify({ type: 'joined', room: 'sala-1', users: [user], history: [] }))
    expect(joined).toEqual({ type: 'frame', frame: { type: 'joined', room: 'sala-1', users: [user], typing: [], history: [], count: 1 } })
    const welcome = decodeFrame(JSON.stringify({ type: 'welcome', user, rooms: [] }))
    expect(welcome).toEqual({ type: 'frame', frame: { type: 'welcome', user, rooms: [], protocol: 1 } })
  })

  it('takes the rooms of a server older than rooms people make as public, and of one older than unread counts as counting nothing', () => {
    const welcome = decodeFrame(JSON.stringify({ type: 'welcome', user, rooms: [{ id: 'sala-1', name: 'Sala 1', members: 2 }], protocol: 1 }))
    const sala1 = { id: 'sala-1', name: 'Sala 1', members: 2, visibility: 'public', unread: 0, member: false }
    expect(welcome).toEqual({ type: 'frame', frame: { type: 'welcome', user, rooms: [sala1], protocol: 1 } })
    // A room that is not public is listed only to its members.
    const room = { id: 'dm-aaaaaaaaaaaa', name: 'Bia', members: 0, visibility: 'direct', with: { username: 'bia', name: 'Bia' } }
    expect(decodeFrame(JSON.stringify({ type: 'room_added', room }))).toEqual({ type: 'frame', frame: { type: 'room_added', room: { ...room, unread: 0, member: true } } })
    expect(decodeFrame(JSON.stringify({ type: 'room_updated', room: { ...room, visibility: 'private' } }))).toEqual({
      type: 'frame',
      frame: { type: 'room_updated', room: { ...room, visibility: 'private', unread: 0, member: true } },
    })
  })

  it('decodes unread counts, in the lists and in `unread` frames', () => {
    const room = { id: 'sala-2', name: 'Sala 2', members: 0, visibility: 'public', unread: 500, member: true }
    expect(decodeFrame(JSON.stringify({ type: 'welcome', user, rooms: [room], protocol: 2 }))).toEqual({ type: 'frame', frame: { type: 'welcome', user, rooms: [room], protocol: 2 } })
    expect(decodeFrame('{"type":"unread","room":"sala-2","count":3}')).toEqual({ type: 'frame', frame: { type: 'unread', room: 'sala-2', count: 3 } })
    expect(decodeFrame('{"type":"unread","room":"sala-2"}')).toEqual({ type: 'invalid' })
  })

  it('keeps the room a welcome says the user is already in', () => {
    const welcome = { type: 'welcome', user, rooms: [], protocol: 1, room: 'sala-2' }
    expect(decodeFrame(JSON.stringify(welcome))).toEqual({ type: 'frame', frame: welcome })
  })

  it('counts a frame of a type it does not know as a sign of life, and refuses what it cannot trust', () => {
    expect(decodeFrame('{"type":"something_newer","x":1}')).toEqual({ type: 'other' })
    expect(decodeFrame('not json')).toEqual({ type: 'invalid' })
    expect(decodeFrame('[1,2]')).toEqual({ type: 'invalid' })
    expect(decodeFrame('{"no":"type"}')).toEqual({ type: 'invalid' })
    expect(decodeFrame('{"type":"ack","id":3}')).toEqual({ type: 'invalid' })
  })
})
