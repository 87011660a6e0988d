import type { RoomId } from '../brands.js'
import type { FieldProblem } from '../codecs.js'
import { formatMessageId } from '../protocol/message-id.js'
import type { ChatMessage, ErrorCode, ErrorFrame, LeaveReason, PublicUser, ServerFrame } from '../protocol/server-frames.js'
import type { ChatUser, RoomState, StoredMessage } from './state.js'

// Builders for the frames the core sends. Pure formatting of state; no decisions.

export const publicUser = (user: ChatUser): PublicUser => ({ username: user.username, name: user.name })

export const isoTime = (at: number): string => new Date(at).toISOString()

export const chatMessage = (message: StoredMessage): ChatMessage => ({
  id: formatMessageId(message.seq),
  room: message.room,
  user: publicUser(message.user),
  text: message.text,
  sentAt: isoTime(message.sentAt),
  ...(message.clientId === undefined ? {} : { clientId: message.clientId }),
  ...(message.attachments.length === 0 ? {} : { attachments: [...message.attachments] }),
})

/**
 * Distinct users present in the room on any process (PROTOCOL-NOTES: `members` is cluster-wide): those
 * seated in its roster, kept with `members` and `remote` (roster.ts). O(1).
 */
export const presentCount = (room: RoomState): number => room.roster.seatOf.size


export const withRef = <F extends ServerFrame>(frame: F, ref: string | undefined): F =>
  ref === undefined ? frame : { ...frame, ref }

export const errorFrame = (
  code: ErrorCode,
  message: string,
  ref: string | undefined,
  details: ReadonlyArray<FieldProblem> = [],
): ErrorFrame =>
  withRef({ type: 'error', code, message, ...(details.length > 0 ? { details: [...details] } : {}) }, ref)

/** Marks an error answering a `message` with the room the message was for, when it is known. */
export const aboutRoom = (frame: ErrorFrame, room: RoomId | undefined): ErrorFrame => (room === undefined ? frame : { ...frame, room })

export const userLeftFrame = (room: RoomState, user: ChatUser, reason: LeaveReason): ServerFrame => ({
  type: 'user_left',
  room: room.id,
  user: publicUser(user),
  reason,
})

export const typingFrame = (room: RoomState, user: ChatUser, typing: boolean): ServerFrame => ({
  type: 'typing',
  room: room.id,
  user: publicUser(user),
  typing,
})
