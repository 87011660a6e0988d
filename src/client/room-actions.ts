import type { PublicUser, RoomSummary } from '../core/protocol/server-frames.js'
import { changed } from './listing.js'
import type { Model, Step } from './model.js'
import { findRoom, nameOf } from './rooms.js'
import { enter, inform, notice } from './steps.js'

// What the page asks of the rooms routes (docs/rooms.md, "The HTTP routes"), and what it does with the
// answers. The request itself is a command (`roomAction`) that main.ts carries out with api.ts; its answer
// comes back as `roomActionAnswered`. Lists change live by frames too (room_added …): an answer and its
// frame may come in either order, so each change is one the other can repeat harmlessly.

export type RoomAction =
  | { readonly type: 'create'; readonly name: string; readonly visibility: 'public' | 'private'; readonly topic: string }
  | { readonly type: 'rename'; readonly room: string; readonly name: string }
  /** An empty topic clears it. */
  | { readonly type: 'setTopic'; readonly room: string; readonly topic: string }
  | { readonly type: 'archive'; readonly room: string }
  | { readonly type: 'invite'; readonly room: string; readonly username: string }
  | { readonly type: 'remove'; readonly room: string; readonly username: string }
  /** Leaving one's own membership of a room: a private one, or a public one (it stops counting unread). */
  | { readonly type: 'leave'; readonly room: string }
  /** Opening the conversation with someone (made the first time either asks). */
  | { readonly type: 'converse'; readonly username: string }

/** What a route answered, as the page needs it. */
export type ActionAnswer =
  /** The room as the user sees it now (made, renamed, archived, the conversation). */
  | { readonly type: 'room'; readonly room: RoomSummary }
  /** An invitation's answer: `added` false when they were a member already. */
  | { readonly type: 'member'; readonly user: PublicUser; readonly added: boolean }
  | { readonly type: 'done' }
  /** `retryAfterSeconds`: from a 429's `Retry-After`. */
  | {
      readonly type: 'refused'
      readonly status: number
      readonly code?: string
      readonly message: string
      readonly fields: Readonly<Record<string, string>>
      readonly retryAfterSeconds?: number
    }
  | { readonly type: 'unreachable' }

/** A request on its way; `id` matches its answer. */
export interface PendingAction {
  readonly id: string
  readonly action: RoomAction
}

/** The page's forms that an answer empties once it has done what they asked. */
export type RoomForm = 'new-room' | 'invite' | 'remove'

/**
 * The user asks for a change. Obvious mistakes are said at once; a request like one already on its way (a
 * double click) is not sent twice.
 */
export const actionRequested = (model: Model, asked: RoomAction): Step => {
  const action = tidied(asked)
  const mistake = mistakeIn(model, action)
  if (mistake !== undefined) return [notice(model, mistake), []]
  if (model.actions.some((pending) => sameAction(pending.action, action))) return [model, []]
  const id = `action-${model.nextRef}`
  return [{ ...model, actions: [...model.actions, { id, action }], nextRef: model.nextRef + 1 }, [{ type: 'roomAction', id, action }]]
}

export const actionAnswered = (model: Model, id: string, answer: ActionAnswer): Step => {
  const pending = model.actions.find((p) => p.id === id)
  if (pending === undefined) return [model, []]
  const settled: Model = { ...model, actions: model.actions.filter((p) => p !== pending) }
  const { action } = pending
  switch (answer.type) {
    case 'room':
      return roomAnswer(settled, action, answer.room)
    case 'member':
      return [inform(settled, invited(settled, action, answer.user, answer.added)), [{ type: 'clearForm', form: 'invite' }]]
    case 'done':
      return doneAnswer(settled, action)
    case 'refused':
    case 'unreachable':
      return [notice(settled, `${attempt(model, action)}: ${reason(model, action, answer)}`), []]
  }
}

/** Whether a request of this kind is on its way (the view disables the button that would repeat it). */
export const busy = (model: Model, type: RoomAction['type']): boolean => model.actions.some((p) => p.action.type === type)

const roomAnswer = (model: Model, action: RoomAction, room: RoomSummary): Step => {
  const listed = changed(model, { type: 'listed', room })
  switch (action.type) {
    case 'create': {
      const [there, commands] = enter(listed, room.id)
      return [there, [{ type: 'clearForm', form: 'new-room' }, ...commands]]
    }
    case 'converse':
      return enter(listed, room.id)
    default:
      return [listed, []]
  }
}

const doneAnswer = (model: Model, action: RoomAction): Step => {
  switch (action.type) {
    case 'remove':
      return [inform(model, `@${action.username} is no longer a member of ${nameOf(model.rooms, action.room)}.`), [{ type: 'clearForm', form: 'remove' }]]
    case 'leave':
      return [left(model, action.room), []]
    default:
      return [model, []]
  }
}

/**
 * A private room leaves the list: `room_removed` (and `user_left` if the user was in it) says the same,
 * whichever comes first. A public room stays listed, and open if it is; it no longer counts unread.
 */
const left = (model: Model, room: string): Model => {
  if (findRoom(model.rooms, room)?.visibility !== 'public') return changed(model, { type: 'removed', room })
  const name = nameOf(model.rooms, room)
  return inform(changed(model, { type: 'belongs', room, member: false }), `You left ${name}: its new messages no longer count as unread for you. Entering it again makes you a member again.`)
}

const invited = (model: Model, action: RoomAction, user: PublicUser, added: boolean): string => {
  const room = action.type === 'invite' ? nameOf(model.rooms, action.room) : 'the room'
  return added ? `${user.name} (@${user.username}) is now a member of ${room}.` : `${user.name} (@${user.username}) was already a member of ${room}.`
}

const tidied = (action: RoomAction): RoomAction => {
  switch (action.type) {
    case 'create':
      return { ...action, name: action.name.trim(), topic: action.topic.trim() }
    case 'rename':
      return { ...action, name: action.name.trim() }
    case 'setTopic':
      return { ...action, topic: action.topic.trim() }
    case 'invite':
    case 'remove':
    case 'converse':
      return { ...action, username: action.username.trim().replace(/^@/, '') }
    default:
      return action
  }
}

const mistakeIn = (model: Model, action: RoomAction): string | undefined => {
  switch (action.type) {
    case 'create':
    case 'rename':
      return action.name === '' ? 'A room needs a name.' : undefined
    case 'invite':
    case 'remove':
      return action.username === '' ? 'Say whose username.' : undefined
    case 'converse':
      if (action.username === '') return 'Say whose username.'
      return action.username === model.me?.username ? 'A conversation needs someone else.' : undefined
    default:
      return undefined
  }
}

const sameAction = (a: RoomAction, b: RoomAction): boolean => JSON.stringify(a) === JSON.stringify(b)

/** What the user tried, as the start of a sentence: "Could not invite @bia to Ana's room". */
const attempt = (model: Model, action: RoomAction): string => {
  const room = 'room' in action ? nameOf(model.rooms, action.room) : ''
  switch (action.type) {
    case 'create':
      return `Could not create the room “${action.name}”`
    case 'rename':
      return `Could not rename ${room}`
    case 'setTopic':
      return `Could not change the topic of ${room}`
    case 'archive':
      return `Could not archive ${room}`
    case 'invite':
      return `Could not add @${action.username} to ${room}`
    case 'remove':
      return `Could not remove @${action.username} from ${room}`
    case 'leave':
      return `Could not leave ${room}`
    case 'converse':
      return `Could not open a conversation with @${action.username}`
  }
}

/** Why, in plain words, by the error's code; the server's own sentence for anything else. */
const reason = (model: Model, action: RoomAction, answer: Extract<ActionAnswer, { type: 'refused' | 'unreachable' }>): string => {
  if (answer.type === 'unreachable') return 'the server cannot be reached; try again in a moment.'
  const room = 'room' in action ? nameOf(model.rooms, action.room) : 'the room'
  const username = 'username' in action ? action.username : ''
  switch (answer.code) {
    case 'unknown_user':
      return username === model.me?.username ? 'that is you.' : `there is no one called @${username}.`
    case 'unknown_room':
      return `${room} does not exist any more, or you are no longer a member.`
    case 'not_owner':
      return `only the owner of ${room} can do that.`
    case 'room_archived':
      return `${room} is archived: it does not change any more.`
    case 'room_full':
      return `${room} is full: it has as many members as a room may have.`
    case 'not_private':
      return 'only private rooms have members to add: anyone may enter a public room, and a conversation is for two.'
    case 'owner_cannot_leave':
      return 'you own it; archive it instead.'
    case 'direct_conversation':
      return 'a conversation cannot be left.'
    case 'not_a_member':
      return action.type === 'leave' ? `you are not a member of ${room}.` : `@${username} is not a member of ${room}.`
    case 'too_many_rooms':
      return `you have made as many rooms as you may for now; try again ${later(answer.retryAfterSeconds)}.`
    case 'too_many_invitations':
      return `you have added too many people for now; try again ${later(answer.retryAfterSeconds)}.`
    default:
      return withDetails(answer) + (answer.status === 429 ? `; try again ${later(answer.retryAfterSeconds)}.` : '')
  }
}

const withDetails = (answer: Extract<ActionAnswer, { type: 'refused' }>): string => {
  const details = Object.entries(answer.fields).map(([path, message]) => (path === '' ? message : `${path} ${message}`))
  return details.length === 0 ? answer.message : `${answer.message}: ${details.join('; ')}`
}

/** "in 40 seconds", "in 5 minutes", "in 3 hours"; "later" when the server did not say. */
export const later = (seconds: number | undefined): string => {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return 'later'
  const count = (n: number, unit: string) => `in ${n} ${unit}${n === 1 ? '' : 's'}`
  if (seconds < 60) return count(Math.max(1, Math.ceil(seconds)), 'second')
  if (seconds < 3600) return count(Math.ceil(seconds / 60), 'minute')
  return count(Math.ceil(seconds / 3600), 'hour')
}
