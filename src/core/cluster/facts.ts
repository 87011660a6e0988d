import * as t from 'io-ts'
import { MessageText, PersonName, RoomId, UserId, Username } from '../brands.js'
import { Attachment } from '../uploads.js'
import type { StoredMessage } from '../chat/state.js'

// What one Sala process tells the others sharing its chat (issue 15). Facts, not socket lists: each
// process fans a fact out to its own connections. A fact travels at most once; whoever misses one fills
// the gap from the store (messages carry their room's seq, so a gap shows).

const ChatUserCodec = t.readonly(t.type({ id: UserId, username: Username, name: PersonName }), 'ChatUser')

const StoredMessageCodec: t.Type<StoredMessage, StoredMessage, unknown> = t.intersection(
  [
    t.type({
      seq: t.Int,
      room: RoomId,
      user: ChatUserCodec,
      text: t.union([MessageText, t.literal('')]),
      attachments: t.readonlyArray(Attachment),
      sentAt: t.number,
    }),
    t.partial({ clientId: t.string }),
  ],
  'StoredMessage',
) as unknown as t.Type<StoredMessage, StoredMessage, unknown>

/** Messages another process stored, in the order it stored them (seq order within each room). */
export const MessagesStoredFact = t.type({ type: t.literal('messages_stored'), messages: t.readonlyArray(StoredMessageCodec) }, 'MessagesStoredFact')

// One kind so far; presence, typing and revocations join it as a union.
export const ClusterFact = MessagesStoredFact
export type ClusterFact = t.TypeOf<typeof ClusterFact>
