import type { ChatMessage } from '../core/protocol/server-frames.js'
import { typingLine, type Model } from './model.js'

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

const messageView = (message: ChatMessage, pending = false) =>
  el(
    'li',
    { class: pending ? 'message pending' : 'message', 'data-id': message.id },
    el('div', { class: 'meta' }, el('strong', {}, message.user.name), ' ', el('time', { datetime: message.sentAt }, pending ? 'sending…' : time(message.sentAt))),
    ...(message.text === '' ? [] : [el('p', { class: 'text' }, message.text)]),
    ...(message.attachments ?? []).map(attachmentView),
  )

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
    connection.state === 'online' ? 'connected' : connection.state === 'connecting' ? 'connecting…' : connection.state === 'reconnecting' ? 'reconnecting…' : ''
  status.className = `status ${connection.state}`

  if (previous?.rooms !== model.rooms || previous?.room !== model.room) {
    const rooms = byId('rooms')
    rooms.replaceChildren(
      ...model.rooms.map((room) => {
        const count = el('span', { class: 'count', 'aria-label': `${room.members} present` }, String(room.members))
        const button = el('button', { type: 'button', 'data-room': room.id, 'aria-pressed': String(room.id === model.room) }, room.name, ' ', count)
        return el('li', {}, button)
      }),
    )
    byId('room-title').textContent = model.rooms.find((room) => room.id === model.room)?.name ?? ''
  }
  if (previous?.users !== model.users) {
    byId('members').replaceChildren(...model.users.map((user) => el('li', {}, user.name)))
    byId('member-count').textContent = model.users.length === 0 ? '' : `${model.users.length} here`
  }
  if (previous?.messages !== model.messages || previous?.pending !== model.pending) renderMessages(model, previous)
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
  const prepended = previous !== undefined && previous.messages.length > 0 && model.messages[0]?.id !== previous.messages[0]?.id && model.messages.at(-1)?.id === previous.messages.at(-1)?.id
  const me = model.me
  const pendingViews = me === null ? [] : model.pending.map((p) => messageView({ id: p.clientId, room: model.room ?? '', user: me, text: p.text, sentAt: new Date().toISOString(), attachments: [...p.attachments] }, true))
  list.replaceChildren(...model.messages.map((message) => messageView(message)), ...pendingViews)
  // Older messages arrived above: keep what the reader was looking at in place.
  if (prepended) list.scrollTop += list.scrollHeight - oldHeight
  else if (atBottom || previous?.room !== model.room) list.scrollTop = list.scrollHeight
}

export const fieldErrors = (form: HTMLFormElement, errors: Readonly<Record<string, string>>, general: string): void => {
  for (const output of form.querySelectorAll<HTMLElement>('[data-error-for]')) {
    output.textContent = errors[output.dataset['errorFor'] ?? ''] ?? ''
  }
  const summary = form.querySelector<HTMLElement>('.form-error')
  if (summary !== null) summary.textContent = general
}

export { byId }
