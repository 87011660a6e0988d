import fc from 'fast-check'
import { ConnectionId, PersonName, RoomId, SessionId, UserId, Username } from '../src/core/brands.js'
import { trusted } from '../src/core/codecs.js'
import type { ChatUser, RoomDefinition } from '../src/core/chat/state.js'
import { MessageText } from '../src/core/brands.js'

// Values built through the real codecs, so a test can never hold something the edge would refuse.

export const user = (name: string): ChatUser => ({
  id: trusted(UserId, `id-${name}`),
  username: trusted(Username, name),
  name: trusted(PersonName, name[0]?.toUpperCase() + name.slice(1)),
})

export const users: ReadonlyArray<ChatUser> = [user('ana'), user('bia'), user('caio')]

export const rooms: ReadonlyArray<RoomDefinition> = [
  { id: trusted(RoomId, 'sala-1'), name: 'Sala 1' },
  { id: trusted(RoomId, 'sala-2'), name: 'Sala 2' },
  { id: trusted(RoomId, 'sala-3'), name: 'Sala 3' },
]

export const connectionId = (name: string): ConnectionId => trusted(ConnectionId, name)
export const sessionId = (name: string): SessionId => trusted(SessionId, `session-${name}`.padEnd(16, '0'))
export const messageText = (text: string) => trusted(MessageText, text)

/** Texts a person might send, including ones the decoder trims. */
export const textArbitrary = fc.oneof(
  fc.constantFrom('hi', 'olá', '  padded  ', 'emoji 🎉', '<b>not html</b>'),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim().length > 0),
)
