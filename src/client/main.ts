import * as api from './api.js'
import { initialModel, update, type Cmd, type Model, type Msg } from './model.js'
import type { RoomForm } from './room-actions.js'
import { performRoomAction } from './room-requests.js'
import { fromOlderServer } from './rooms.js'
import { openSocket, type ChatSocket } from './socket.js'
import { byId, fieldErrors, formValues, render, size } from './view.js'
import { wireRooms } from './wire-rooms.js'
import type { Attachment } from '../core/uploads.js'

// Wiring: DOM events become messages, the reducer decides, and the commands it returns are carried out
// here. The only state outside the model is the open socket and the staged attachments.

let model: Model = initialModel
let socket: ChatSocket | undefined
let staged: ReadonlyArray<Attachment> = []
// The heartbeat's one timer: each `wakeAt` replaces it, since only the connection's next deadline matters.
let wake: number | undefined

const dispatch = (msg: Msg): void => {
  const [next, commands] = update(model, msg)
  model = next
  for (const command of commands) run(command)
  render(model)
}

const run = (cmd: Cmd): void => {
  switch (cmd.type) {
    case 'send':
      return socket?.send(cmd.command)
    case 'connect':
      socket?.close('replaced')
      socket = openSocket({
        opened: () => dispatch({ type: 'socketOpened', at: Date.now() }),
        frame: (frame) => dispatch({ type: 'frame', frame, at: Date.now() }),
        other: () => dispatch({ type: 'heard', at: Date.now() }),
        invalid: () => dispatch({ type: 'problem', text: 'The server sent something this page does not understand; try reloading.' }),
        closed: (code, reason) => dispatch({ type: 'socketClosed', code, reason, random: Math.random() }),
      })
      return
    case 'disconnect':
      socket?.close(cmd.reason)
      socket = undefined
      return
    case 'retryAfter':
      window.setTimeout(() => dispatch({ type: 'retryDue', at: Date.now() }), cmd.ms)
      return
    case 'wakeAt':
      window.clearTimeout(wake)
      wake = window.setTimeout(() => dispatch({ type: 'tick', at: Date.now(), random: Math.random() }), Math.max(0, cmd.at - Date.now()))
      return
    case 'checkTypingAt':
      window.setTimeout(() => dispatch({ type: 'typingIdle', at: Date.now() }), Math.max(0, cmd.at - Date.now()))
      return
    case 'showSignIn':
      byId('auth').hidden = false
      return
    case 'loadRooms': {
      const { ref } = cmd
      void api.rooms().then((result) => dispatch(result.ok ? { type: 'roomsLoaded', ref, rooms: result.value.map(fromOlderServer) } : { type: 'roomsFailed', ref }))
      return
    }
    case 'roomAction': {
      const { id } = cmd
      void performRoomAction(cmd.action, model.me?.username ?? '').then((answer) => dispatch({ type: 'roomActionAnswered', id, answer }))
      return
    }
    case 'clearForm':
      return clearForm(cmd.form)
  }
}

const FORMS: Readonly<Record<RoomForm, string>> = { 'new-room': 'new-room-form', invite: 'invite-form', remove: 'remove-form' }

const clearForm = (form: RoomForm) => {
  byId<HTMLFormElement>(FORMS[form]).reset()
  if (form === 'new-room') byId<HTMLDetailsElement>('new-room').open = false
}

const signedIn = () => {
  byId('auth').hidden = true
  dispatch({ type: 'signedIn', at: Date.now() })
}

const wireAuth = () => {
  const loginForm = byId<HTMLFormElement>('login-form')
  loginForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const { username = '', password = '' } = formValues(loginForm)
    const result = await api.login({ username, password })
    if (result.ok) {
      fieldErrors(loginForm, {}, '')
      loginForm.reset()
      signedIn()
    } else fieldErrors(loginForm, result.fields, result.message)
  })
  const registerForm = byId<HTMLFormElement>('register-form')
  registerForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const { name = '', username = '', email = '', password = '' } = formValues(registerForm)
    const result = await api.register({ name, username, email, password })
    if (result.ok) {
      fieldErrors(registerForm, {}, '')
      registerForm.reset()
      signedIn()
    } else fieldErrors(registerForm, result.fields, result.message)
  })
  byId('logout').addEventListener('click', async () => {
    const result = await api.logout()
    if (!result.ok) dispatch({ type: 'problem', text: `Sign-out failed: ${result.message}` })
    dispatch({ type: 'signedOut' })
  })
}

const renderStaged = () => {
  byId('staged').replaceChildren(
    ...staged.map((attachment) => {
      const item = document.createElement('li')
      item.textContent = `${attachment.name} (${size(attachment.size)})`
      return item
    }),
  )
}

const uploadFiles = async (files: ReadonlyArray<File>) => {
  if (files.length === 0) return
  const progress = byId<HTMLProgressElement>('upload-progress')
  progress.hidden = false
  progress.value = 0
  const result = await api.upload(files, (fraction) => (progress.value = fraction))
  progress.hidden = true
  if (result.ok) {
    staged = [...staged, ...result.value]
    renderStaged()
  } else dispatch({ type: 'problem', text: `Upload failed: ${result.message}` })
}

const wireChat = () => {
  wireRooms(dispatch, () => model)
  byId('messages').addEventListener('click', (event) => {
    const { action, room, clientId } = (event.target as HTMLElement).closest<HTMLElement>('button[data-action]')?.dataset ?? {}
    if (room === undefined || clientId === undefined) return
    if (action === 'retry') dispatch({ type: 'retryRequested', room, clientId })
    if (action === 'discard') dispatch({ type: 'discardRequested', room, clientId })
  })
  byId('notices').addEventListener('click', (event) => {
    const id = (event.target as HTMLElement).dataset['dismiss']
    if (id !== undefined) dispatch({ type: 'noticeDismissed', id: Number(id) })
  })
  const composer = byId<HTMLFormElement>('composer')
  const input = byId<HTMLTextAreaElement>('message-input')
  const send = () => {
    const text = input.value.trim()
    if (text === '' && staged.length === 0) return
    dispatch({ type: 'sendRequested', text, attachments: staged, clientId: crypto.randomUUID() })
    input.value = ''
    staged = []
    renderStaged()
  }
  composer.addEventListener('submit', (event) => {
    event.preventDefault()
    send()
  })
  input.addEventListener('keydown', (event) => {
    // Enter sends; Shift+Enter is a new line.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      send()
    }
  })
  input.addEventListener('input', () => {
    if (input.value.trim() !== '') dispatch({ type: 'typed', at: Date.now() })
  })
  const picker = byId<HTMLInputElement>('file-input')
  picker.addEventListener('change', () => {
    void uploadFiles([...(picker.files ?? [])])
    picker.value = ''
  })
  const drop = byId('chat')
  drop.addEventListener('dragover', (event) => {
    event.preventDefault()
    drop.classList.add('dragging')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'))
  drop.addEventListener('drop', (event) => {
    event.preventDefault()
    drop.classList.remove('dragging')
    void uploadFiles([...(event.dataTransfer?.files ?? [])])
  })
  const list = byId('messages')
  list.addEventListener('scroll', () => {
    if (list.scrollTop < 40) dispatch({ type: 'olderRequested' })
  })
  wireMemberPages()
}

/** How close to the end of the member list (px) its next page is asked for, so it is there as it is reached. */
const MEMBERS_AHEAD_PX = 200

/** The next page of members, as the list is scrolled near its end or "Show more people" is pressed. */
const wireMemberPages = () => {
  const people = byId('people')
  const more = () => {
    if (model.members.more.state === 'more') dispatch({ type: 'membersRequested' })
  }
  people.addEventListener('scroll', () => {
    if (people.scrollHeight - people.scrollTop - people.clientHeight < MEMBERS_AHEAD_PX) more()
  })
  byId('more-members').addEventListener('click', more)
}

const start = async () => {
  wireAuth()
  wireChat()
  render(model)
  // The session cookie survives a refresh or a closed tab: ask who we are before showing the forms.
  const who = await api.me()
  if (who.ok) signedIn()
  else byId('auth').hidden = false
  // Member counts of the rooms one is not in change without a frame saying so.
  window.setInterval(() => dispatch({ type: 'refreshDue' }), 20_000)
}

void start()
