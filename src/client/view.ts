import type { ChatMessage } from '../core/protocol/server-frames.js'
import { typingLine, type Model } from './model.js'
import type { Outgoing } from './outbox.js'

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

const messageView = (message: ChatMessage) =>
  el(
    'li',
    { class: 'message', 'data-id': message.id },
    el('div', { class: 'meta' }, el('strong', {}, message.user.name), ' ', el('time', { datetime: message.sentAt }, time(message.sentAt))),
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

  if (previous?.rooms !== model.rooms || previous?.shown !== model.shown) {
    const rooms = byId('rooms')
    rooms.replaceChildren(
      ...model.rooms.map((room) => {
        const count = el('span', { class: 'count', 'aria-label': `${room.members} present` }, String(room.members))
        const button = el('button', { type: 'button', 'data-room': room.id, 'aria-pressed': String(room.id === model.shown) }, room.name, ' ', count)
        return el('li', {}, button)
      }),
    )
    byId('room-title').textContent = model.rooms.find((room) => room.id === model.shown)?.name ?? ''
  }
  if (previous?.users !== model.users) {
    byId('members').replaceChildren(...model.users.map((user) => el('li', {}, user.name)))
    byId('member-count').textContent = model.users.length === 0 ? '' : `${model.users.length} here`
  }
  const messagesChanged =
    previous === undefined ||
    previous.shown !== model.shown ||
    previous.timelines !== model.timelines ||
    previous.outbox !== model.outbox ||
    (previous.connection.state === 'online') !== (model.connection.state === 'online')
  if (messagesChanged) renderMessages(model, previous)
  byId('typing').textContent = typingLine(model.typing)
  if (previous?.notices !== model.notices) {
    byId('notices').replaceChildren(
      ...model.notices.map((notice) =>
        el('li', { role: 'alert' }, notice.text, ' ', el('button', { type: 'button', 'data-dismiss': String(notice.id), 'aria-label': 'Dismiss' }, '×')),
      ),
    )
  }
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
  list.replaceChildren(...messages.map(messageView), ...outgoing)
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

export { byId }
