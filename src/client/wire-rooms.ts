import type { RoomSummary } from '../core/protocol/server-frames.js'
import type { Model, Msg } from './model.js'
import type { RoomAction } from './room-actions.js'
import { findRoom } from './rooms.js'
import { byId, formValues } from './view.js'

// The page's rooms controls, wired to messages: the lists (a room, its Mark as read), the New room form,
// the owner's Manage room forms, Leave, and the names that open a conversation. `current` reads the model
// as it is now.

export const wireRooms = (dispatch: (msg: Msg) => void, current: () => Model): void => {
  const requestAction = (action: RoomAction) => dispatch({ type: 'roomActionRequested', action })
  /** A form of the room on screen asks for its action with its values. */
  const onRoomForm = (id: string, action: (room: string, values: Record<string, string>) => RoomAction) => {
    const form = byId<HTMLFormElement>(id)
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const room = current().shown
      if (room !== null) requestAction(action(room, formValues(form)))
    })
  }
  for (const list of ['rooms', 'conversations']) {
    byId(list).addEventListener('click', (event) => {
      const target = event.target as HTMLElement
      const read = target.closest<HTMLElement>('[data-read]')?.dataset['read']
      if (read !== undefined) return dispatch({ type: 'readRequested', room: read })
      const room = target.closest<HTMLElement>('[data-room]')?.dataset['room']
      if (room !== undefined) dispatch({ type: 'joinRequested', room })
    })
  }
  const newRoom = byId<HTMLFormElement>('new-room-form')
  newRoom.addEventListener('submit', (event) => {
    event.preventDefault()
    const { name = '', visibility, topic = '' } = formValues(newRoom)
    requestAction({ type: 'create', name, visibility: visibility === 'private' ? 'private' : 'public', topic })
  })
  onRoomForm('rename-form', (room, { name = '' }) => ({ type: 'rename', room, name }))
  onRoomForm('topic-form', (room, { topic = '' }) => ({ type: 'setTopic', room, topic }))
  onRoomForm('invite-form', (room, { username = '' }) => ({ type: 'invite', room, username }))
  onRoomForm('remove-form', (room, { username = '' }) => ({ type: 'remove', room, username }))
  // Archiving cannot be undone, nor leaving a private room (only the owner can add a member back); a
  // public room is one's own to enter again.
  const confirmed = (question: (room: RoomSummary) => string, action: (room: string) => RoomAction) => () => {
    const { rooms, shown } = current()
    const room = findRoom(rooms, shown)
    if (room !== undefined && window.confirm(question(room))) requestAction(action(room.id))
  }
  byId('archive-room').addEventListener(
    'click',
    confirmed((room) => `Archive ${room.name}? Its messages stay readable, but it takes no new ones, and this cannot be undone.`, (room) => ({ type: 'archive', room })),
  )
  byId('leave-room').addEventListener(
    'click',
    confirmed(
      (room) =>
        room.visibility === 'public'
          ? `Leave ${room.name}? Its new messages stop counting as unread for you; entering it again makes you a member again.`
          : `Leave ${room.name}? Only its owner can add you again.`,
      (room) => ({ type: 'leave', room }),
    ),
  )
  // A name in the member list or on a message opens the conversation with that person; the owner's Remove beside it.
  const onPeople = (event: Event) => {
    const target = event.target as HTMLElement
    const converse = target.closest<HTMLElement>('[data-converse]')?.dataset['converse']
    if (converse !== undefined) return requestAction({ type: 'converse', username: converse })
    const remove = target.closest<HTMLElement>('[data-remove]')?.dataset['remove']
    const room = current().shown
    if (remove !== undefined && room !== null) requestAction({ type: 'remove', room, username: remove })
  }
  byId('members').addEventListener('click', onPeople)
  byId('messages').addEventListener('click', onPeople)
}
