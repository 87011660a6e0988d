import type { RoomSummary } from '../core/protocol/server-frames.js'
import { changed } from './listing.js'
import type { Model, Step } from './model.js'
import { nameOf, unreadOf } from './rooms.js'
import { notice, send } from './steps.js'

// Unread counts (docs/rooms.md, "Unread counts and read markers"). The server keeps them: each room in the
// lists says its count, and `unread` frames say every change for a room the user belongs to and is not in.
// Entering a room reads it (the server says 0, and `joined` clears it here too); the page sends `read`
// only to mark a room read without entering it.

/** The count a room's badge shows: none for the room on screen, which is read by being there. */
export const shownUnread = (model: Pick<Model, 'shown'>, room: RoomSummary): number => (room.id === model.shown ? 0 : room.unread)

/** An `unread` frame: the room's count changed (a message came while away, a `read` from another tab). */
export const counted = (model: Model, room: string, count: number): Step => [changed(model, { type: 'counted', room, count }), []]

/**
 * The user marks a room read from the list. Its badge goes at once; the server's recount follows (more if
 * messages came meanwhile). Offline there is no one to tell: the count waits for the link.
 */
export const readRequested = (model: Model, room: string): Step => {
  if (unreadOf(model.rooms, room) === 0) return [model, []]
  if (model.connection.state !== 'online') return [notice(model, `${nameOf(model.rooms, room)} cannot be marked read while the page is not connected.`), []]
  const ref = `read-${model.nextRef}`
  const read = changed({ ...model, nextRef: model.nextRef + 1 }, { type: 'counted', room, count: 0 })
  // No `upTo`: everything the room holds so far (the page holds no id of messages it has only counted).
  return [read, [send({ type: 'read', room, ref })]]
}
