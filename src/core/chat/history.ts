import type { ConnectionId } from '../brands.js'
import type { HistoryCommand } from '../protocol/client-commands.js'
import { parseMessageId } from '../protocol/message-id.js'
import * as O from 'fp-ts/lib/Option.js'
import { findSender, isMember, roomOf, sendTo } from './audience.js'
import { chatMessage, errorFrame, withRef } from './frames.js'
import { pageFromMemory } from './recent-history.js'
import type { ChatState, StoredMessage } from './state.js'
import type { RoomId } from '../brands.js'
import { unchanged, type Step } from './step-result.js'

export const DEFAULT_HISTORY_PAGE = 50

export const requestHistory = (state: ChatState, connection: ConnectionId, command: HistoryCommand): Step => {
  const sender = findSender(state, connection)
  if (sender === undefined) return unchanged(state)
  const room = roomOf(state, sender.presence)
  if (room === undefined) {
    return unchanged(state, [sendTo(connection, errorFrame('not_in_room', 'join a room to read its history', command.ref))])
  }
  const before = command.before === undefined ? Infinity : O.getOrElse(() => Infinity)(parseMessageId(command.before))
  const limit = command.limit ?? DEFAULT_HISTORY_PAGE
  const page = pageFromMemory(room, before, limit, state.settings)
  if (page !== undefined) {
    return unchanged(state, [sendTo(connection, historyFrame(room.id, page.toArray(), command.ref))])
  }
  const load = { type: 'loadHistory', connection, room: room.id, before, limit } as const
  return unchanged(state, [command.ref === undefined ? load : { ...load, ref: command.ref }])
}

/** A page read from the store arrives; it is delivered only if the connection is still in that room. */
export const historyLoaded = (
  state: ChatState,
  connection: ConnectionId,
  room: RoomId,
  messages: ReadonlyArray<StoredMessage>,
  ref: string | undefined,
): Step =>
  isMember(state, room, connection)
    ? unchanged(state, [sendTo(connection, historyFrame(room, messages, ref))])
    : unchanged(state)

const historyFrame = (room: RoomId, messages: ReadonlyArray<StoredMessage>, ref: string | undefined) =>
  withRef({ type: 'history' as const, room, messages: messages.map(chatMessage) }, ref)
