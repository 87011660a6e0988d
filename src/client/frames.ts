import * as t from 'io-ts'
import { isRight } from 'fp-ts/lib/Either.js'
import type { ClientCommand } from '../core/protocol/client-commands.js'
import { AckFrame, serverFrameCodecs, type ServerFrame } from '../core/protocol/server-frames.js'

// The wire, as the web client sees it: the protocol module's own types and codecs, plus the leniency a
// page needs towards a server one release older (a rolling deploy, a tab left open across an upgrade).

/** A protocol type with its brands taken off: what the page builds is plain JSON, checked by the server. */
type Wire<T> =
  T extends t.Brand<unknown>
    ? T extends string
      ? string
      : T extends number
        ? number
        : never
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<Wire<U>>
      : T extends object
        ? { readonly [K in keyof T]: Wire<T[K]> }
        : T

type WireCommand = Wire<Exclude<ClientCommand, { readonly type: 'auth' }>>
/**
 * A command the page sends, typed by the server's own command codecs. (`auth` is for pages without cookies.)
 * `message` says the `room` it was written in (a server older than the field refuses it: see the model).
 */
export type Command = Exclude<WireCommand, { readonly type: 'message' }> | (Extract<WireCommand, { readonly type: 'message' }> & { readonly room?: string })

/**
 * An `ack` with `room` optional: a server older than the field acknowledges without it, and the page then
 * files the message under the room its pending copy was written in.
 */
export type Ack = Omit<t.TypeOf<typeof AckFrame>, 'room'> & { readonly room?: string }
const OlderAck = t.intersection([
  t.type({ type: t.literal('ack'), id: t.string, sentAt: t.string }),
  t.partial({ ref: t.string, clientId: t.string }),
])

/**
 * `welcome` with `room`, the room the user is already in (their other tabs'): its `joined` follows by
 * itself. A server older than the field never says it.
 */
export type Welcome = Extract<ServerFrame, { readonly type: 'welcome' }> & { readonly room?: string }

/** A frame the reducer handles. */
export type Frame = Exclude<ServerFrame, { readonly type: 'ack' | 'welcome' }> | Ack | Welcome

/**
 * What one text frame is: a frame to handle; `other`, a well-formed frame of a type this page does not use
 * (a newer server's), which only shows the link is alive; or `invalid`, a frame the page cannot trust.
 */
export type Decoded =
  | { readonly type: 'frame'; readonly frame: Frame }
  | { readonly type: 'other' }
  | { readonly type: 'invalid' }

type FrameType = keyof typeof serverFrameCodecs
const isFrameType = (type: unknown): type is FrameType => typeof type === 'string' && Object.hasOwn(serverFrameCodecs, type)

/** Decodes a text frame with the server's codecs. Total: never throws. */
export const decodeFrame = (raw: string): Decoded => {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return { type: 'invalid' }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { type: 'invalid' }
  const type: unknown = (json as Record<string, unknown>)['type']
  if (!isFrameType(type)) return typeof type === 'string' ? { type: 'other' } : { type: 'invalid' }
  const codec: t.Decoder<unknown, Frame> = serverFrameCodecs[type]
  const decoded = codec.decode(fromOlderServer(json as Record<string, unknown>))
  if (isRight(decoded)) return { type: 'frame', frame: decoded.right }
  const older = type === 'ack' ? OlderAck.decode(json) : undefined
  return older !== undefined && isRight(older) ? { type: 'frame', frame: older.right } : { type: 'invalid' }
}

/** Fields an older server does not send, with the value that means what it meant there. */
const fromOlderServer = (json: Record<string, unknown>): Record<string, unknown> => {
  switch (json['type']) {
    case 'joined': {
      // Before version 2, `joined` listed everyone and said no count.
      const typing = 'typing' in json ? {} : { typing: [] }
      const count = 'count' in json || !Array.isArray(json['users']) ? {} : { count: json['users'].length }
      return { ...json, ...typing, ...count }
    }
    case 'welcome': {
      // Before versions were named, the protocol was version 1.
      const rooms = Array.isArray(json['rooms']) ? { rooms: json['rooms'].map(withListFields) } : {}
      return 'protocol' in json ? { ...json, ...rooms } : { ...json, ...rooms, protocol: 1 }
    }
    case 'room_added':
    case 'room_updated':
      return { ...json, room: withListFields(json['room']) }
    default:
      return json
  }
}

/**
 * Before rooms people make, every room was public; before unread counts, nothing was counted, and the rooms
 * listed that were not public were the user's own (as rooms.ts's `fromOlderServer` says for GET /rooms).
 */
const withListFields = (room: unknown): unknown => {
  if (typeof room !== 'object' || room === null) return room
  const fields = room as Record<string, unknown>
  const visibility = fields['visibility'] ?? 'public'
  return { ...fields, visibility, unread: fields['unread'] ?? 0, member: fields['member'] ?? visibility !== 'public' }
}
