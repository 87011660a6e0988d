import fc from 'fast-check'
import { messageText, textArbitrary, users } from '../../arbitraries.js'
import { trusted } from '../../../src/core/codecs.js'
import { UploadName, uploadUrl, type Upload } from '../../../src/core/uploads.js'
import { formatMessageId } from '../../../src/core/protocol/message-id.js'
import type { World } from './harness.js'

/** Something a client, the store or the clock does; resolved against the world when it runs. */
export type Action = { readonly advance: number } & (
  | { readonly kind: 'open' | 'close' | 'leave' | 'typingStart' | 'typingStop' | 'ping'; readonly slot: number }
  | { readonly kind: 'join'; readonly slot: number; readonly room: string | undefined; readonly since: Since }
  | {
      readonly kind: 'message'
      readonly slot: number
      readonly text: string
      readonly clientId: string | undefined
      readonly attach: 'none' | 'own' | 'foreign' | 'unknown'
    }
  | { readonly kind: 'history'; readonly slot: number; readonly back: number | undefined; readonly limit: number }
  | { readonly kind: 'garbage'; readonly slot: number; readonly text: string }
  | { readonly kind: 'flood'; readonly slot: number; readonly count: number; readonly what: 'message' | 'typing_start' | 'history' | 'join' | 'ping' | 'garbage' }
  | { readonly kind: 'store'; readonly count: number; readonly ok: boolean }
  | { readonly kind: 'tick' }
  | { readonly kind: 'revoke'; readonly user: number }
)

type Since = undefined | { readonly back: number } | 'garbage'

// Seven slots over three users: user 0 has three, one more than the connection cap.
export const SLOTS = 7

const slot = fc.nat({ max: SLOTS - 1 })
const advance = fc.oneof(fc.constant(0), fc.nat({ max: 1500 }), fc.nat({ max: 6000 }))
const since: fc.Arbitrary<Since> = fc.oneof(
  fc.constant(undefined),
  fc.record({ back: fc.nat({ max: 12 }) }),
  fc.constant('garbage' as const),
)

export const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('open' as const), slot, advance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), slot, advance }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      slot,
      room: fc.constantFrom(undefined, 'sala-1', 'sala-2', 'sala-3', 'nowhere', 'SALA-1'),
      since,
      advance,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), slot, advance }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('message' as const),
      slot,
      text: textArbitrary,
      clientId: fc.constantFrom(undefined, 'a', 'b'),
      attach: fc.constantFrom('none' as const, 'none' as const, 'own' as const, 'foreign' as const, 'unknown' as const),
      advance,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('typingStart' as const), slot, advance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('typingStop' as const), slot, advance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ping' as const), slot, advance }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('history' as const),
      slot,
      back: fc.option(fc.nat({ max: 12 }), { nil: undefined }),
      limit: fc.integer({ min: 1, max: 4 }),
      advance,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      slot,
      text: fc.oneof(fc.string(), fc.json(), fc.constantFrom(
          '{"type":"join","room":7}',
          '{"type":"message","text":"  "}',
          '{"type":"leave","__proto__":{}}',
          // Text with nothing visible, and JSON escapes that decode to lone surrogates (valid UTF-8 on the wire).
          '{"type":"message","text":" \\u200b\\u2060 ","ref":"g"}',
          '{"type":"message","text":"oi \\ud800","ref":"g"}',
          '{"type":"message","text":"oi","clientId":"\\udc00","ref":"g"}',
          '{"type":"join","room":"sala-1\\ud800"}',
          '{"type":"auth","token":"a.b.c"}',
          '{"type":"ping","ref":7}',
        )),
      advance,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('store' as const), count: fc.integer({ min: 1, max: 4 }), ok: fc.boolean(), advance }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), advance }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flood' as const),
      slot,
      count: fc.integer({ min: 5, max: 60 }),
      what: fc.constantFrom('message' as const, 'typing_start' as const, 'history' as const, 'join' as const, 'ping' as const, 'garbage' as const),
      advance,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), user: fc.nat({ max: 2 }), advance }) },
)

/** Every message gets its own ref, `m` and a number, so each answer can be traced to the message it answers. */
export const messageRef = (world: World): string => `m${world.steps.length}`

/** An id `back` messages before the room's latest: a real id, or one never handed out (back 0 of an empty room). */
const idBack = (world: World, slot: number, back: number): string => {
  const user = world.state.connections.get(world.currentConnection(slot))?.user
  const roomId = user === undefined ? undefined : world.state.users.get(user)?.room
  const lastSeq = roomId == null ? 0 : (world.state.rooms.get(roomId)?.lastSeq ?? 0)
  return formatMessageId(Math.max(1, lastSeq - back))
}

export const run = (world: World, action: Action): void => {
  world.at += action.advance
  // A client that wants to act connects first; otherwise most random actions would be no-ops.
  if ('slot' in action && action.kind !== 'close' && !world.isOpen(action.slot)) world.open(action.slot)
  switch (action.kind) {
    case 'open':
      return world.open(action.slot)
    case 'close':
      if (!world.isOpen(action.slot)) return
      world.dispatch({ type: 'ConnectionClosed', connection: world.currentConnection(action.slot), at: world.at })
      return
    case 'join': {
      if (!world.isOpen(action.slot)) return
      const since =
        action.since === undefined ? {} : action.since === 'garbage' ? { since: 'not-an-id' } : { since: idBack(world, action.slot, action.since.back) }
      world.command(action.slot, { type: 'join', ...(action.room === undefined ? {} : { room: action.room }), ...since, ref: 'j' })
      return
    }
    case 'leave':
      if (world.isOpen(action.slot)) world.command(action.slot, { type: 'leave', ref: 'l' })
      return
    case 'message': {
      if (!world.isOpen(action.slot)) return
      const clientId = action.clientId === undefined ? {} : { clientId: action.clientId }
      const command = { type: 'message', text: messageText(action.text.trim()), ...clientId, ref: messageRef(world) } as const
      if (action.attach === 'none') return world.command(action.slot, command)
      const owner = users[action.attach === 'own' ? action.slot % users.length : (action.slot + 1) % users.length]!
      const upload: Upload = { name: trusted(UploadName, 'A'.repeat(22)), owner: owner.id, originalName: 'a.png', type: 'image/png', size: 3 }
      const url = uploadUrl(upload.name)
      const uploads = action.attach === 'unknown' ? new Map<string, Upload>() : new Map([[url, upload]])
      world.command(action.slot, { ...command, attachments: [url] }, uploads)
      return
    }
    case 'typingStart':
      if (world.isOpen(action.slot)) world.command(action.slot, { type: 'typing_start' })
      return
    case 'typingStop':
      if (world.isOpen(action.slot)) world.command(action.slot, { type: 'typing_stop' })
      return
    case 'ping':
      if (world.isOpen(action.slot)) world.command(action.slot, { type: 'ping', ref: `p${world.steps.length}` })
      return
    case 'history': {
      if (!world.isOpen(action.slot)) return
      const before = action.back === undefined ? {} : { before: idBack(world, action.slot, action.back) }
      world.command(action.slot, { type: 'history', ...before, limit: action.limit, ref: 'h' })
      return
    }
    case 'garbage':
      if (world.isOpen(action.slot)) world.frame(action.slot, action.text)
      return
    case 'flood':
      // A misbehaving client: many commands at one instant, stopping if the server closes it.
      for (let i = 0; i < action.count && world.isOpen(action.slot); i++) {
        if (action.what === 'garbage') world.frame(action.slot, 'flood')
        else if (action.what === 'message') world.command(action.slot, { type: 'message', text: messageText(`flood ${i}`), ref: messageRef(world) })
        else if (action.what === 'join') world.command(action.slot, { type: 'join', room: i % 2 === 0 ? 'sala-2' : 'sala-3' })
        else world.command(action.slot, { type: action.what })
      }
      return
    case 'store':
      return world.completeStores(action.count, action.ok)
    case 'tick':
      return world.tick()
    case 'revoke':
      return world.revoke(action.user)
  }
}
