import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { register, startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'

// Rooms people make, in a real browser (issue 16, docs/rooms.md): Ana makes a private room and adds Bia,
// who sees it appear and joins; they talk; Ana removes Bia, whose page loses the room; Ana opens a
// conversation with Bia from her name. Then unread counts: Bia, away, sees a badge count up as Ana writes,
// and entering, Mark as read, or leaving a public room clears it. Two browser contexts (two cookie jars)
// in Debian's Chromium.
const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available) console.log(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it).`)

describe.skipIf(!available)('rooms people make, in a real browser', () => {
  let server: TestServer
  let browser: Browser
  let contexts: BrowserContext[] = []
  let ana: Page
  let bia: Page
  const names = { ana: uniqueName('ana'), bia: uniqueName('bia'), caio: uniqueName('caio') }
  const ROOM = 'Clube do livro'
  // Joins, frames and HTTP answers cross the server: on a loaded machine they can take a few seconds.
  const eventually = { timeout: 10_000 }

  beforeAll(async () => {
    // Two members fill a private room: adding a third is refused (409 room_full).
    server = await startTestServer({ ROOM_MAX_MEMBERS: '2' })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    contexts = await Promise.all([0, 1].map(() => browser.newContext({ viewport: { width: 1100, height: 700 } })))
    ;[ana, bia] = await Promise.all(contexts.map((context) => context.newPage())) as [Page, Page]
    for (const page of [ana, bia]) page.setDefaultTimeout(10_000)
    await register(server, names.caio)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  const signUp = async (page: Page, username: string, name: string) => {
    await page.goto(server.url)
    await page.locator('#register-name').fill(name)
    await page.locator('#register-username').fill(username)
    await page.locator('#register-email').fill(`${username}@example.com`)
    await page.locator('#register-password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.locator('#status', { hasText: 'connected' }).waitFor()
    await expect.poll(() => page.locator('#room-title').textContent(), eventually).toBe('Sala 1')
  }
  const roomList = (page: Page) => page.locator('#rooms button .name').allTextContents()
  const conversationList = (page: Page) => page.locator('#conversations button .name').allTextContents()
  const members = (page: Page) => page.locator('#members li > :first-child').allTextContents()
  const texts = (page: Page) => page.locator('#messages .message:not(.pending) .text').allTextContents()
  const title = (page: Page) => page.locator('#room-title').textContent()
  const notices = (page: Page) => page.locator('#notices').textContent()
  const write = async (page: Page, text: string) => {
    await page.locator('#message-input').fill(text)
    await page.locator('#message-input').press('Enter')
  }
  /** A room's entry in the list (`#rooms` by id, `#conversations` by the other person's name), and its badge. */
  const entry = (page: Page, room: { id: string } | { with: string }) =>
    'id' in room ? page.locator(`#rooms li:has(button[data-room="${room.id}"])`) : page.locator('#conversations li', { has: page.locator('.name', { hasText: room.with }) })
  const badge = (page: Page, room: { id: string } | { with: string }) => entry(page, room).locator('.unread').textContent()
  const enter = async (page: Page, room: { id: string } | { with: string }, title_: string) => {
    await entry(page, room).locator('button[data-room]').click()
    await expect.poll(() => title(page), eventually).toBe(title_)
  }
  const manage = async (page: Page) => {
    const details = page.locator('#manage-room')
    if ((await details.getAttribute('open')) === null) await details.locator('summary').click()
  }

  it('Ana makes a private room: it is hers, marked private, and Bia does not see it', async () => {
    await signUp(ana, names.ana, 'Ana Souza')
    await signUp(bia, names.bia, 'Bia Lima')
    await ana.locator('#new-room summary').click()
    await ana.locator('#new-room-name').fill(ROOM)
    await ana.getByLabel('People I add (private)').check()
    await ana.locator('#new-room-topic').fill('Um livro por mês')
    await ana.getByRole('button', { name: 'Create room' }).click()
    await expect.poll(() => title(ana), eventually).toBe(ROOM)
    await expect.poll(() => members(ana), eventually).toEqual(['Ana Souza'])
    expect(await ana.locator('#room-about').textContent()).toBe(`Private room of @${names.ana}`)
    expect(await ana.locator('#room-topic').textContent()).toBe('Um livro por mês')
    expect(await ana.locator('#rooms button', { hasText: ROOM }).locator('.mark').allTextContents()).toEqual(['private'])
    // The form is emptied and closed once the room is made.
    expect(await ana.locator('#new-room').getAttribute('open')).toBeNull()
    expect(await roomList(bia)).not.toContain(ROOM)
  })

  it('says plainly when a username is unknown, and when the room is full', async () => {
    await manage(ana)
    await ana.locator('#invite-input').fill('ninguem-aqui')
    await ana.getByRole('button', { name: 'Add', exact: true }).click()
    await expect.poll(() => notices(ana), eventually).toContain(`Could not add @ninguem-aqui to ${ROOM}: there is no one called @ninguem-aqui.`)
  })

  it('Ana adds Bia: the room appears in Bia’s list, she joins, and they talk', async () => {
    await ana.locator('#invite-input').fill(names.bia)
    await ana.getByRole('button', { name: 'Add', exact: true }).click()
    await expect.poll(() => notices(ana), eventually).toContain(`Bia Lima (@${names.bia}) is now a member of ${ROOM}.`)
    await expect.poll(() => ana.locator('#invite-input').inputValue()).toBe('')
    await expect.poll(() => roomList(bia), eventually).toContain(ROOM)
    expect(await bia.locator('#rooms button', { hasText: ROOM }).locator('.mark').allTextContents()).toEqual(['private'])
    await bia.getByRole('button', { name: new RegExp(`^${ROOM}`) }).click()
    await expect.poll(() => title(bia), eventually).toBe(ROOM)
    // The latest arrival first, as the server pages members (docs/big-rooms.md).
    await expect.poll(() => members(ana), eventually).toEqual(['Bia Lima', 'Ana Souza'])
    await expect.poll(() => members(bia), eventually).toEqual(['Bia Lima', 'Ana Souza'])
    // Bia is a member, not the owner: she may leave, not manage.
    expect(await bia.locator('#leave-room').isVisible()).toBe(true)
    expect(await bia.locator('#manage-room').isVisible()).toBe(false)
    await write(bia, 'Oi, Ana! Qual é o livro?')
    await expect.poll(() => texts(ana), eventually).toContain('Oi, Ana! Qual é o livro?')
    await write(ana, 'Dom Casmurro.')
    await expect.poll(() => texts(bia), eventually).toContain('Dom Casmurro.')
    // With two members the room is full (ROOM_MAX_MEMBERS=2).
    await ana.locator('#invite-input').fill(names.caio)
    await ana.getByRole('button', { name: 'Add', exact: true }).click()
    await expect.poll(() => notices(ana), eventually).toContain(`Could not add @${names.caio} to ${ROOM}: ${ROOM} is full`)
  })

  it('Ana removes Bia: the room vanishes from Bia’s page, which says why', async () => {
    await ana.getByRole('button', { name: `Remove Bia Lima from ${ROOM}` }).click()
    await expect.poll(() => notices(ana), eventually).toContain(`@${names.bia} is no longer a member of ${ROOM}.`)
    await expect.poll(() => roomList(bia), eventually).not.toContain(ROOM)
    await expect.poll(() => notices(bia), eventually).toContain(`You are no longer a member of ${ROOM}.`)
    expect(await title(bia)).toBe('')
    expect(await bia.locator('#messages').textContent()).not.toContain('Dom Casmurro.')
    await expect.poll(() => members(ana), eventually).toEqual(['Ana Souza'])
  })

  it('Ana opens a conversation with Bia from her name on a message; Bia sees it and they talk', async () => {
    await ana.locator('#messages .person', { hasText: 'Bia Lima' }).first().click()
    await expect.poll(() => title(ana), eventually).toBe('Bia Lima')
    await expect.poll(() => conversationList(ana), eventually).toEqual(['Bia Lima'])
    expect(await ana.locator('#room-about').textContent()).toBe(`Conversation with @${names.bia}`)
    await expect.poll(() => conversationList(bia), eventually).toEqual(['Ana Souza'])
    await bia.locator('#conversations button', { hasText: 'Ana Souza' }).click()
    await expect.poll(() => title(bia), eventually).toBe('Ana Souza')
    await expect.poll(() => members(ana), eventually).toEqual(['Bia Lima', 'Ana Souza'])
    await write(ana, 'Desculpa! O clube ficou cheio.')
    await expect.poll(() => texts(bia), eventually).toEqual(['Desculpa! O clube ficou cheio.'])
    await write(bia, 'Tudo bem, falamos aqui.')
    await expect.poll(() => texts(ana), eventually).toEqual(['Desculpa! O clube ficou cheio.', 'Tudo bem, falamos aqui.'])
    // Opening it again from Bia's name in the member list is the same conversation.
    await ana.locator('#members .person', { hasText: 'Bia Lima' }).click()
    await expect.poll(() => conversationList(ana), eventually).toEqual(['Bia Lima'])
    expect(await title(ana)).toBe('Bia Lima')
  })

  it('Ana archives her room: its composer is disabled with a note', async () => {
    await ana.getByRole('button', { name: new RegExp(`^${ROOM}`) }).click()
    await expect.poll(() => title(ana), eventually).toBe(ROOM)
    await manage(ana)
    ana.once('dialog', (dialog) => void dialog.accept())
    await ana.getByRole('button', { name: 'Archive room…' }).click()
    await expect.poll(() => ana.locator('#composer-note').textContent(), eventually).toContain('archived')
    expect(await ana.locator('#message-input').isDisabled()).toBe(true)
    expect(await ana.locator('#rooms button', { hasText: ROOM }).locator('.mark').allTextContents()).toEqual(['private', 'archived'])
    expect(await ana.locator('#manage-room').isVisible()).toBe(false)
  })

  it('Bia, away in Sala 1, sees her conversation with Ana count up as Ana writes; entering it clears the badge', async () => {
    const withAna = { with: 'Ana Souza' }
    await enter(bia, { id: 'sala-1' }, 'Sala 1')
    await enter(ana, { with: 'Bia Lima' }, 'Bia Lima')
    expect(await badge(bia, withAna)).toBe('')
    for (const [i, text] of ['Um', 'Dois', 'Três'].entries()) {
      await write(ana, text)
      await expect.poll(() => badge(bia, withAna), eventually).toBe(String(i + 1))
    }
    expect(await entry(bia, withAna).getByRole('button', { name: 'Mark Ana Souza as read' }).isVisible()).toBe(true)
    await enter(bia, withAna, 'Ana Souza')
    await expect.poll(async () => (await texts(bia)).slice(-3), eventually).toEqual(['Um', 'Dois', 'Três'])
    expect(await badge(bia, withAna)).toBe('')
    expect(await entry(bia, withAna).locator('.mark-read').count()).toBe(0)
    // Read by being there: leaving it again, it stays read (the list asked for on the move says so too).
    await enter(bia, { id: 'sala-1' }, 'Sala 1')
    await write(ana, 'Quatro')
    await expect.poll(() => badge(bia, withAna), eventually).toBe('1')
  })

  it('Mark as read clears the count without entering the conversation, and it stays read after a reload', async () => {
    const withAna = { with: 'Ana Souza' }
    await bia.getByRole('button', { name: 'Mark Ana Souza as read' }).click()
    await expect.poll(() => badge(bia, withAna), eventually).toBe('')
    expect(await title(bia)).toBe('Sala 1')
    await bia.reload()
    await bia.locator('#status', { hasText: 'connected' }).waitFor()
    await expect.poll(() => title(bia), eventually).toBe('Sala 1')
    expect(await badge(bia, withAna)).toBe('')
    expect(await entry(bia, withAna).locator('.unread').getAttribute('data-unread')).toBe('0')
  })

  it('Bia leaves Sala 1 (public): it stays in her list but no longer counts what Ana writes there', async () => {
    const withAna = { with: 'Ana Souza' }
    await enter(bia, { id: 'sala-2' }, 'Sala 2')
    await enter(ana, { id: 'sala-1' }, 'Sala 1')
    await write(ana, 'Olá, sala')
    await expect.poll(() => badge(bia, { id: 'sala-1' }), eventually).toBe('1')
    await enter(bia, { id: 'sala-1' }, 'Sala 1')
    expect(await badge(bia, { id: 'sala-1' })).toBe('')
    bia.once('dialog', (dialog) => void dialog.accept())
    await bia.getByRole('button', { name: 'Leave room' }).click()
    await expect.poll(() => notices(bia), eventually).toContain('You left Sala 1: its new messages no longer count as unread for you.')
    expect(await bia.locator('#leave-room').isVisible()).toBe(false)
    expect(await title(bia)).toBe('Sala 1')
    await enter(bia, { id: 'sala-2' }, 'Sala 2')
    // Ana writes in Sala 1, then in the conversation: once Bia counts the second, she has heard all there was of the first.
    await write(ana, 'Alguém?')
    await enter(ana, { with: 'Bia Lima' }, 'Bia Lima')
    await write(ana, 'Bia?')
    await expect.poll(() => badge(bia, withAna), eventually).toBe('1')
    expect(await badge(bia, { id: 'sala-1' })).toBe('')
    expect(await entry(bia, { id: 'sala-1' }).count()).toBe(1)
  })
})
