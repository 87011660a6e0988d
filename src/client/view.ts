import type { ChatMessage, PublicUser, RoomSummary } from '../core/protocol/server-frames.js'
import { memberCountLine, shownMembers } from './members.js'
import { typingLine, type Model } from './model.js'
import type { Outgoing } from './outbox.js'
import { busy, type RoomAction } from './room-actions.js'
import { conversations, displayName, findRoom, isArchived, manages, mayLeave, ordinaryRooms, unreadBadge } from './rooms.js'
import { shownUnread } from './unread.js'

// The thin DOM layer: it writes the model into the page. User text only ever goes in through textContent
// and attributes set one by one; nothing of a user's is parsed as HTML.

const byId = <E extends HTMLElement>(id: string): E => {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`#${id} is missing from index.html`)
  return element as E
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Array<Node | string>) => {
  const element = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) if (value !== undefined) element.setAttribute(key, value)
  element.append(...children)
  return element
}

export const size = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

const attachmentView = (attachment: NonNullable<ChatMessage['attachments']>[number]) =>
  attachment.type.startsWith('image/') && attachment.type !== 'image/svg+xml'
    ? el('a', { href: attachment.url, target: '_blank', rel: 'noopener', class: 'thumb' }, el('img', { src: attachment.url, alt: attachment.name, loading: 'lazy' }))
    : el('a', { href: attachment.url, download: attachment.name, class: 'file' }, `📎 ${attachment.name} (${size(attachment.size)})`)

/** Someone's name; anyone else's opens the conversation with them. */
const personView = (user: PublicUser, me: string | undefined) =>
  user.username === me
    ? el('strong', {}, user.name)
    : el('button', { type: 'button', class: 'person', 'data-converse': user.username, title: `Open a conversation with ${user.name} (@${user.username})` }, user.name)

const messageView = (message: ChatMessage, me: string | undefined) =>
  el(
    'li',
    { class: 'message', 'data-id': message.id },
    el('div', { class: 'meta' }, personView(message.user, me), ' ', el('time', { datetime: message.sentAt }, time(message.sentAt))),
    ...(message.text === '' ? [] : [el('p', { class: 'text' }, message.text)]),
    ...(message.attachments ?? []).map(attachmentView),
  )

/** A message of ours without an ack: on its way, waiting for the connection, or failed with a way out. */
const outgoingView = (message: Outgoing, author: string, online: boolean) => {
  const delivery = message.delivery
  const status =
    delivery.state === 'failed' ? delivery.reason : delivery.state === 'sent' || online ? 'sending…' : 'waiting for the connection…'
  const action = (name: string, label: string) =>
    el('button', { type: 'button', 'data-action': name, 'data-room': message.room, 'data-client-id': message.clientId }, label)
  return el(
    'li',
    { class: delivery.state === 'failed' ? 'message pending failed' : 'message pending', 'data-client-id': message.clientId },
    el('div', { class: 'meta' }, el('strong', {}, author), ' ', el('span', { class: 'delivery' }, status)),
    ...(message.text === '' ? [] : [el('p', { class: 'text' }, message.text)]),
    ...message.attachments.map(attachmentView),
    ...(delivery.state === 'failed' ? [el('div', { class: 'actions' }, action('retry', 'Retry'), ' ', action('discard', 'Discard'))] : []),
  )
}

const shownMessages = (model: Model): ReadonlyArray<ChatMessage> =>
  (model.shown === null ? undefined : model.timelines.get(model.shown))?.messages ?? []

let rendered: Model | undefined

export const render = (model: Model): void => {
  const previous = rendered
  rendered = model
  const signedIn = model.me !== null
  byId('chat').hidden = !signedIn
  byId('me').textContent = model.me === null ? '' : `${model.me.name} (@${model.me.username})`
  byId('logout').hidden = !signedIn

  const status = byId('status')
  const connection = model.connection
  status.textContent =
    connection.state === 'online'
      ? 'connected'
      : connection.state === 'connecting' || connection.state === 'open'
        ? 'connecting…'
        : connection.state === 'reconnecting'
          ? 'reconnecting…'
          : ''
  status.className = `status ${connection.state}`
  // Where the heartbeat stands (heard, pinged), for whoever debugs a link: the end-to-end tests wait on it.
  status.dataset['liveness'] = connection.state === 'online' || connection.state === 'open' ? connection.liveness.state : ''

  if (previous?.rooms !== model.rooms || previous?.shown !== model.shown || previous?.members.count !== model.members.count || previous?.room !== model.room) renderRoomList(model)
  if (previous?.rooms !== model.rooms || previous?.shown !== model.shown || previous?.me !== model.me) renderRoomHead(model, previous)
  if (previous?.actions !== model.actions) {
    for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-kind]')) {
      button.disabled = busy(model, button.dataset['kind'] as RoomAction['type'])
    }
  }
  if (previous?.members !== model.members || previous?.rooms !== model.rooms || previous?.shown !== model.shown || previous?.me !== model.me) renderMembers(model, previous)
  const messagesChanged =
    previous === undefined ||
    previous.me !== model.me ||
    previous.shown !== model.shown ||
    previous.timelines !== model.timelines ||
    previous.outbox !== model.outbox ||
    (previous.connection.state === 'online') !== (model.connection.state === 'online')
  if (messagesChanged) renderMessages(model, previous)
  byId('typing').textContent = typingLine(model.typing)
  if (previous?.notices !== model.notices) {
    byId('notices').replaceChildren(
      ...model.notices.map((notice) =>
        el(
          'li',
          notice.tone === 'info' ? { role: 'status', class: 'info' } : { role: 'alert' },
          notice.text,
          ' ',
          el('button', { type: 'button', 'data-dismiss': String(notice.id), 'aria-label': 'Dismiss' }, '×'),
        ),
      ),
    )
  }
}

/**
 * Rooms (public, and private ones marked) and conversations, by the other person's name, each with its
 * unread badge (empty at 0 and for the room on screen, "500+" at the cap; `data-unread` holds the count)
 * and, while it has one, a way to mark it read without entering it.
 */
const renderRoomList = (model: Model) => {
  const item = (room: RoomSummary) => {
    const marks = [...(room.visibility === 'private' ? ['private'] : []), ...(isArchived(room) ? ['archived'] : [])]
    // The room the user is in counts live (joined, members and presence frames); the others as listed.
    const present = room.id === model.room && model.members.count > 0 ? model.members.count : room.members
    const count = el('span', { class: 'count', 'aria-label': `${present} present` }, String(present))
    const unread = shownUnread(model, room)
    const badge = unreadBadge(unread)
    const button = el(
      'button',
      { type: 'button', 'data-room': room.id, 'aria-pressed': String(room.id === model.shown), class: isArchived(room) ? 'archived' : undefined, title: room.topic },
      el('span', { class: 'name' }, displayName(room)),
      ...marks.flatMap((mark) => [' ', el('span', { class: 'mark' }, mark)]),
      ' ',
      el('span', { class: 'unread', 'data-unread': String(unread), 'aria-label': badge === '' ? undefined : `${badge} unread` }, badge),
      ' ',
      count,
    )
    const markRead =
      unread === 0 ? [] : [el('button', { type: 'button', class: 'mark-read', 'data-read': room.id, 'aria-label': `Mark ${displayName(room)} as read` }, 'Mark as read')]
    return el('li', {}, button, ...markRead)
  }
  byId('rooms').replaceChildren(...ordinaryRooms(model.rooms).map(item))
  const talks = conversations(model.rooms)
  byId('conversations').replaceChildren(...talks.map(item))
  byId('no-conversations').hidden = talks.length > 0
}

/** The room on screen: its name, what kind it is, its topic; the owner's tools; the composer's state. */
const renderRoomHead = (model: Model, previous: Model | undefined) => {
  const room = findRoom(model.rooms, model.shown)
  byId('room-title').textContent = room === undefined ? '' : displayName(room)
  byId('room-about').textContent = room === undefined ? '' : about(room)
  byId('room-topic').textContent = room?.topic ?? ''
  byId('leave-room').hidden = !mayLeave(model.me, room)
  const managing = manages(model.me, room)
  byId('manage-room').hidden = !managing
  byId('invite-form').hidden = room?.visibility !== 'private'
  byId('remove-form').hidden = room?.visibility !== 'private'
  // The fields start from the room as it is; they are not rewritten while the user edits the same room.
  const before = findRoom(previous?.rooms ?? [], previous?.shown ?? null)
  if (room !== undefined && (before?.id !== room.id || before.name !== room.name)) byId<HTMLInputElement>('rename-input').value = room.name
  if (room !== undefined && (before?.id !== room.id || before.topic !== room.topic)) byId<HTMLInputElement>('topic-input').value = room.topic ?? ''
  if (before?.id !== room?.id) byId<HTMLDetailsElement>('manage-room').open = false
  const archived = isArchived(room)
  byId<HTMLFieldSetElement>('composer-fields').disabled = archived
  const note = byId('composer-note')
  note.hidden = !archived
  note.textContent = archived ? 'This room is archived: you can read it, but it takes no new messages.' : ''
}

const about = (room: RoomSummary): string => {
  const archived = isArchived(room) ? ' · archived' : ''
  switch (room.visibility) {
    case 'direct':
      return room.with === undefined ? 'Conversation' : `Conversation with @${room.with.username}`
    case 'private':
      return `Private room${room.owner === undefined ? '' : ` of @${room.owner}`}${archived}`
    case 'public':
      // The server's own rooms (Sala 1 …) have no owner and need no words.
      return room.owner === undefined ? '' : `Public room of @${room.owner}${archived}`
  }
}

/**
 * Who is here, as far as the pages so far go, and how many in all; the owner of a private room may remove
 * anyone else from it. Scrolling to the end of the list asks for the next page (main.ts); "Show more
 * people" does the same for whoever does not scroll.
 */
const renderMembers = (model: Model, previous: Model | undefined) => {
  const me = model.me?.username
  const room = findRoom(model.rooms, model.shown)
  const removable = manages(model.me, room) && room?.visibility === 'private'
  const list = byId('members')
  const people = byId('people')
  const anchor = previous?.shown === model.shown ? firstInView(people, list) : undefined
  list.replaceChildren(
    ...shownMembers(model.members).map((user) => {
      const remove =
        removable && user.username !== me
          ? [el('button', { type: 'button', class: 'remove', 'data-remove': user.username, 'aria-label': `Remove ${user.name} from ${room === undefined ? 'the room' : displayName(room)}` }, 'Remove')]
          : []
      return el('li', { 'data-username': user.username }, personView(user, me), ...remove)
    }),
  )
  if (previous?.shown !== model.shown) people.scrollTop = 0
  else if (anchor !== undefined) keepInView(people, list, anchor)
  byId('member-count').textContent = memberCountLine(model.members)
  const more = model.members.more
  const asking = more.state === 'asking'
  list.setAttribute('aria-busy', String(asking))
  const button = byId('more-members')
  button.hidden = more.state === 'none'
  button.textContent = asking ? 'Loading more people…' : 'Show more people'
  button.setAttribute('aria-disabled', String(asking))
}

/** Where the first member in sight stands in the scrolled list, if it is scrolled at all. */
interface Anchor {
  readonly username: string
  readonly offset: number
}

const firstInView = (scroller: HTMLElement, list: HTMLElement): Anchor | undefined => {
  if (scroller.scrollTop === 0) return undefined
  const top = scroller.getBoundingClientRect().top
  for (const item of list.children) {
    const box = item.getBoundingClientRect()
    const username = (item as HTMLElement).dataset['username']
    if (box.bottom > top && username !== undefined) return { username, offset: box.top - top }
  }
  return undefined
}

/**
 * Arrivals go at the top of the list and departures leave it: the member the reader was looking at stays
 * where it was, rather than the list sliding under them with every presence frame. (If they left, the list
 * stays as it was scrolled.)
 */
const keepInView = (scroller: HTMLElement, list: HTMLElement, anchor: Anchor) => {
  const item = [...list.children].find((child) => (child as HTMLElement).dataset['username'] === anchor.username)
  if (item === undefined) return
  scroller.scrollTop += item.getBoundingClientRect().top - scroller.getBoundingClientRect().top - anchor.offset
}

const renderMessages = (model: Model, previous: Model | undefined) => {
  const list = byId('messages')
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  const oldHeight = list.scrollHeight
  const messages = shownMessages(model)
  const before = previous?.shown === model.shown ? shownMessages(previous) : []
  const prepended = before.length > 0 && messages[0]?.id !== before[0]?.id && messages.at(-1)?.id === before.at(-1)?.id
  const author = model.me?.name ?? ''
  const online = model.connection.state === 'online'
  const outgoing = model.outbox.filter((message) => message.room === model.shown).map((message) => outgoingView(message, author, online))
  const me = model.me?.username
  list.replaceChildren(...messages.map((message) => messageView(message, me)), ...outgoing)
  // Older messages arrived above: keep what the reader was looking at in place.
  if (prepended) list.scrollTop += list.scrollHeight - oldHeight
  else if (atBottom || previous?.shown !== model.shown) list.scrollTop = list.scrollHeight
}

export const fieldErrors = (form: HTMLFormElement, errors: Readonly<Record<string, string>>, general: string): void => {
  for (const output of form.querySelectorAll<HTMLElement>('[data-error-for]')) {
    output.textContent = errors[output.dataset['errorFor'] ?? ''] ?? ''
  }
  const summary = form.querySelector<HTMLElement>('.form-error')
  if (summary !== null) summary.textContent = general
}

export const formValues = (form: HTMLFormElement): Record<string, string> =>
  Object.fromEntries([...new FormData(form).entries()].map(([key, value]) => [key, String(value)]))

export { byId }
