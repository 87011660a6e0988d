import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core'
import { PING_IDLE_MS, PONG_TIMEOUT_MS } from '../../src/client/heartbeat.js'
import { ChatClient, register, startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'

// Two people in two browser contexts (two cookie jars), in Debian's Chromium, against a real server.
const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available) console.log(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it).`)

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAHElEQVR4nGP8z8DAQApgYhhVMKpgVMGoAqhEABzgAh8oVQZaAAAAAElFTkSuQmCC',
  'base64',
)

describe.skipIf(!available)('the web client, in a real browser', () => {
  let server: TestServer
  let browser: Browser
  let anaContext: BrowserContext
  let biaContext: BrowserContext
  let ana: Page
  let bia: Page
  const names = { ana: uniqueName('ana'), bia: uniqueName('bia') }

  beforeAll(async () => {
    server = await startTestServer({ TYPING_TIMEOUT_MS: '2000' })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    anaContext = await browser.newContext({ viewport: { width: 1100, height: 700 } })
    biaContext = await browser.newContext({ viewport: { width: 1100, height: 700 } })
    ana = await anaContext.newPage()
    bia = await biaContext.newPage()
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
  }
  const members = (page: Page) => page.locator('#members li')
  // Others hear of an arrival in a presence frame gathered for up to 50 ms (docs/big-rooms.md), after a join
  // that crosses the server: on a loaded machine, more than a poll's default second.
  const arrival = { timeout: 5000 }
  const messages = (page: Page) => page.locator('#messages .message:not(.pending)')

  it('shows the server’s field errors next to the fields', async () => {
    await ana.goto(server.url)
    await ana.locator('#register-username').fill('x')
    await ana.getByRole('button', { name: 'Create account' }).click()
    await expect.poll(() => ana.locator('#register-form output[data-error-for="username"]').textContent()).toContain('3-32 characters')
    await expect.poll(() => ana.locator('#register-form output[data-error-for="email"]').textContent()).toContain('valid e-mail')
  })

  it('two people register, land in Sala 1 and see each other', async () => {
    await signUp(ana, names.ana, 'Ana Souza')
    await signUp(bia, names.bia, 'Bia Lima')
    // The latest arrival first, as the server pages members (docs/big-rooms.md). A new page waits a second
    // (LANDING_WAIT_MS) for an older server's `joined` before joining: longer than a poll's default second.
    await expect.poll(() => members(ana).allTextContents(), arrival).toEqual(['Bia Lima', 'Ana Souza'])
    await expect.poll(() => members(bia).allTextContents(), arrival).toEqual(['Bia Lima', 'Ana Souza'])
    expect(await ana.locator('#member-count').textContent()).toBe('2 members')
    expect(await bia.locator('#member-count').textContent()).toBe('2 members')
    expect(await ana.locator('#rooms [aria-pressed="true"]').textContent()).toContain('Sala 1')
  })

  it('shows “Ana is typing…” to Bia and clears it when Ana sends', async () => {
    await ana.locator('#message-input').pressSequentially('Olá', { delay: 20 })
    await expect.poll(() => bia.locator('#typing').textContent()).toBe('Ana Souza is typing…')
    await ana.locator('#message-input').pressSequentially(', Bia! <b>isto não é HTML</b>')
    await ana.locator('#message-input').press('Enter')
    await expect.poll(() => bia.locator('#typing').textContent()).toBe('')
    await expect.poll(() => messages(bia).last().locator('.text').textContent()).toBe('Olá, Bia! <b>isto não é HTML</b>')
    expect(await bia.locator('#messages b').count()).toBe(0)
  })

  it('carries messages both ways; Shift+Enter makes a new line', async () => {
    await bia.locator('#message-input').fill('Oi, Ana!')
    await bia.locator('#message-input').press('Shift+Enter')
    await bia.locator('#message-input').pressSequentially('Tudo bem?')
    await bia.locator('#message-input').press('Enter')
    await expect.poll(() => messages(ana).last().locator('.text').textContent()).toBe('Oi, Ana!\nTudo bem?')
  })

  it('an image upload shows up as a thumbnail for the other person', async () => {
    await ana.locator('#file-input').setInputFiles({ name: 'ponto.png', mimeType: 'image/png', buffer: PNG })
    await expect.poll(() => ana.locator('#staged li').textContent()).toContain('ponto.png')
    await ana.locator('#message-input').fill('Uma foto')
    await ana.getByRole('button', { name: 'Send' }).click()
    const thumbnail = bia.locator('#messages .thumb img[alt="ponto.png"]')
    await thumbnail.waitFor()
    await expect.poll(() => thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(16)
    await bia.screenshot({ path: 'docs/screenshots/chat.png' })
  })

  it('switching to Sala 2 shows nothing of Sala 1', async () => {
    await bia.getByRole('button', { name: /^Sala 2/ }).click()
    await expect.poll(() => members(ana).allTextContents(), arrival).toEqual(['Ana Souza'])
    expect(await ana.locator('#member-count').textContent()).toBe('1 member')
    await expect.poll(() => bia.locator('#room-title').textContent()).toBe('Sala 2')
    expect(await bia.locator('#messages').textContent()).not.toContain('Olá, Bia!')
    await ana.locator('#message-input').fill('só para a Sala 1')
    await ana.locator('#message-input').press('Enter')
    await expect.poll(() => messages(ana).last().locator('.text').textContent()).toBe('só para a Sala 1')
    expect(await bia.locator('#messages').textContent()).not.toContain('só para a Sala 1')
    await bia.getByRole('button', { name: /^Sala 1/ }).click()
    await expect.poll(() => members(ana).allTextContents(), arrival).toEqual(['Bia Lima', 'Ana Souza'])
  })

  it('stays signed in after a refresh', async () => {
    await ana.reload()
    await ana.locator('#status', { hasText: 'connected' }).waitFor()
    expect(await ana.locator('#auth').isHidden()).toBe(true)
    await expect.poll(() => messages(ana).count()).toBeGreaterThan(2)
  })

  it('reconnects by itself after a server restart, rejoins its room and keeps working', async () => {
    server = await server.restartOnSamePort()
    await ana.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 })
    await bia.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 })
    // Members are listed in the order they (re)joined, which after a restart is whoever reconnected first.
    await expect.poll(async () => (await members(bia).allTextContents()).sort(), { timeout: 10_000 }).toEqual(['Ana Souza', 'Bia Lima'])
    await ana.locator('#message-input').fill('de volta!')
    await ana.locator('#message-input').press('Enter')
    await expect.poll(() => messages(bia).last().locator('.text').textContent()).toBe('de volta!')
  })

  // Caio's page talks to the server through a WebSocket route, so a test can hold a frame back, cut the
  // link, keep the page offline, or let the link go silent without closing (what a sleeping laptop or a
  // proxy that drops a connection looks like). Dan posts from a plain WebSocket client.
  describe('Caio, on a link the test controls', () => {
    let caioContext: BrowserContext
    let caio: Page
    let dan: ChatClient
    let danRoom = ''
    interface Link {
      readonly page: WebSocketRoute
      readonly server: WebSocketRoute
      /** Frames stop in both directions, and nothing closes. */
      silent: boolean
      /** What the page sent on this link. */
      readonly sent: string[]
    }
    const links: Link[] = []
    const link = () => links.at(-1)
    let offline = false
    let holdAcks = false
    const held: string[] = []
    let pongs = 0
    // Frames from a page held back on their way to the server, and welcomes stripped of `room` (an older server's).
    let holdOutgoing: ((text: string) => boolean) | null = null
    const heldOutgoing: Array<{ readonly link: Link; readonly text: string }> = []
    let olderWelcome = false
    const lastIds = new Map<string, number>()
    // Reconnects and catch-ups cross the route and the server: on a loaded machine they take more than a second.
    const eventually = { timeout: 10_000 }

    beforeAll(async () => {
      caioContext = await browser.newContext({ viewport: { width: 1100, height: 700 } })
      await caioContext.routeWebSocket(/\/ws$/, (ws) => {
        if (offline) return void ws.close({ code: 1012, reason: 'offline' })
        const server = ws.connectToServer()
        const current: Link = { page: ws, server, silent: false, sent: [] }
        ws.onMessage((message) => {
          const text = String(message)
          current.sent.push(text)
          if (current.silent) return
          if (holdOutgoing?.(text) === true) heldOutgoing.push({ link: current, text })
          else server.send(message)
        })
        server.onMessage((message) => {
          const text = String(message)
          if (current.silent) return
          if (text.includes('"type":"pong"')) pongs++
          if (holdAcks && text.includes('"type":"ack"')) held.push(text)
          else if (olderWelcome && text.includes('"type":"welcome"')) {
            const { room: _room, ...welcome } = JSON.parse(text) as Record<string, unknown>
            ws.send(JSON.stringify(welcome))
          } else ws.send(message)
        })
        links.push(current)
      })
      caio = await caioContext.newPage()
      // A locator read inside expect.poll waits for its element: fail in seconds rather than at the test's timeout.
      caio.setDefaultTimeout(5000)
      // Time in Caio's page flows as usual, and a test can jump it forward to reach the heartbeat's deadlines.
      await caio.clock.install()
      const danAccount = await register(server, uniqueName('dan'))
      dan = await ChatClient.connect(server, { token: danAccount.token })
    }, 60_000)

    afterAll(() => dan?.close())

    /** Dan says each text in `room`; returns the id each got. */
    const danSays = async (room: string, ...texts: string[]): Promise<number[]> => {
      if (danRoom !== room) {
        dan.send({ type: 'join', room })
        const joined = await dan.next('joined', (f) => f.room === room)
        const last = joined.history.at(-1)
        if (last !== undefined) lastIds.set(room, Number(last.id))
        danRoom = room
      }
      const ids: number[] = []
      for (const text of texts) {
        const ref = uniqueName('m')
        dan.send({ type: 'message', text, ref })
        const ack = await dan.next('ack', (f) => f.ref === ref)
        ids.push(Number(ack.id))
        lastIds.set(room, Number(ack.id))
      }
      return ids
    }
    const lastId = async (room: string) => {
      await danSays(room)
      return lastIds.get(room) ?? 0
    }
    const texts = (page: Page) => messages(page).locator('.text').allTextContents()
    const enterRoom = async (page: Page, name: string) => {
      // With a second tab open, this one may be in the background, where Chromium runs no animation frames
      // and a click waits for ever for its button to be stable.
      await page.bringToFront()
      await page.getByRole('button', { name: new RegExp(`^${name}`) }).click()
      await expect.poll(() => page.locator('#room-title').textContent(), eventually).toBe(name)
      await expect.poll(() => members(page).allTextContents(), eventually).toContain('Caio Reis')
    }
    const cut = async () => {
      offline = true
      const current = link()
      await current?.page.close({ code: 1012, reason: 'link lost' })
      await current?.server.close()
      await caio.locator('#status', { hasText: 'reconnecting…' }).waitFor()
    }
    const write = async (page: Page, text: string) => {
      await page.locator('#message-input').fill(text)
      await page.locator('#message-input').press('Enter')
    }

    it('files an ack that arrives after a room switch under the room it was written in (issue 13, 4a)', async () => {
      await signUp(caio, uniqueName('caio'), 'Caio Reis')
      await enterRoom(caio, 'Sala 2')
      holdAcks = true
      await write(caio, 'escrito na Sala 2')
      await expect.poll(() => held.length, eventually).toBe(1)
      await enterRoom(caio, 'Sala 3')
      // Sala 3 gets a message with the very id the held ack gives Caio's message in Sala 2.
      const ackId = Number((JSON.parse(held[0] ?? '{}') as { id: string }).id)
      while ((await lastId('sala-3')) < ackId) await danSays('sala-3', `Sala 3, mensagem ${(lastIds.get('sala-3') ?? 0) + 1}`)
      await expect.poll(() => caio.locator(`#messages [data-id="${String(ackId).padStart(12, '0')}"] .text`).textContent(), eventually).toContain('Sala 3')
      const sala3 = await texts(caio)
      holdAcks = false
      for (const frame of held.splice(0)) link()?.page.send(frame)
      // Dan's next message reaches the page after the ack did: once it shows, the ack has been handled.
      await danSays('sala-3', 'marcador')
      await expect.poll(() => texts(caio), eventually).toEqual([...sala3, 'marcador'])
      expect(await caio.locator('#messages').textContent()).not.toContain('escrito na Sala 2')
      // Nor was it stored there: the server's own history of Sala 3 does not have it.
      dan.send({ type: 'history', limit: 50, ref: 'sala-3-history' })
      const stored = await dan.next('history', (f) => f.ref === 'sala-3-history')
      expect(stored.messages.map((m) => m.text)).not.toContain('escrito na Sala 2')
      await enterRoom(caio, 'Sala 2')
      await expect.poll(() => texts(caio), eventually).toContain('escrito na Sala 2')
      expect(await caio.locator('#messages .pending').count()).toBe(0)
    })

    it('after a reconnect shows all of the room it switched to while offline, and offers to retry what was written elsewhere (issue 13, 4b)', async () => {
      const [ante = 0] = await danSays('sala-2', 'Sala 2, antes')
      await enterRoom(caio, 'Sala 1')
      // Caio's last id of Sala 1 is one Sala 2 has too, and by the reconnect Sala 2 has newer ones: a `since`
      // taken from Sala 1 would bring only part of Sala 2 (a since past a room's end is answered with a gap).
      do await danSays('sala-1', 'Sala 1, enchendo')
      while ((await lastId('sala-1')) < ante)
      const sala1Last = lastIds.get('sala-1') ?? 0
      await expect.poll(async () => (await texts(caio)).at(-1), eventually).toBe('Sala 1, enchendo')
      await cut()
      await write(caio, 'escrito sem rede')
      await expect.poll(() => caio.locator('#messages .pending .text').textContent(), eventually).toBe('escrito sem rede')
      await caio.getByRole('button', { name: /^Sala 2/ }).click()
      const news: string[] = []
      while ((await lastId('sala-2')) <= sala1Last + 1) {
        news.push(`novidade ${news.length + 1}`)
        await danSays('sala-2', news.at(-1) ?? '')
      }
      offline = false
      await caio.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 })
      await expect.poll(() => texts(caio), eventually).toEqual(expect.arrayContaining(['escrito na Sala 2', 'Sala 2, antes', ...news]))
      await expect.poll(() => caio.locator('#notices').textContent(), eventually).toContain('A message written in Sala 1 could not be sent')
      await enterRoom(caio, 'Sala 1')
      const failed = caio.locator('#messages .failed')
      await expect.poll(() => failed.locator('.text').textContent(), eventually).toBe('escrito sem rede')
      await failed.getByRole('button', { name: 'Retry' }).click()
      await expect.poll(() => messages(bia).locator('.text').allTextContents(), eventually).toContain('escrito sem rede')
      await expect.poll(() => caio.locator('#messages .pending').count(), eventually).toBe(0)
    })

    it('sends a message written offline once the link is back, exactly once', async () => {
      await cut()
      await write(caio, 'de novo sem rede')
      await expect.poll(() => caio.locator('#messages .pending .delivery').textContent(), eventually).toBe('waiting for the connection…')
      offline = false
      await caio.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 })
      await expect.poll(() => messages(bia).locator('.text').allTextContents(), eventually).toContain('de novo sem rede')
      await expect.poll(() => caio.locator('#messages .pending').count(), eventually).toBe(0)
      expect((await messages(bia).locator('.text').allTextContents()).filter((t) => t === 'de novo sem rede')).toHaveLength(1)
    })

    it('pings a quiet link and keeps it while it answers; drops a silent one and reconnects', async () => {
      const before = links.length
      const liveness = (state: string) => caio.locator(`#status[data-liveness="${state}"]`).waitFor()
      pongs = 0
      await caio.clock.fastForward(PING_IDLE_MS + 1000)
      await liveness('pinged')
      await expect.poll(() => pongs, eventually).toBeGreaterThan(0)
      await liveness('heard')
      await caio.clock.fastForward(PONG_TIMEOUT_MS + 1000)
      expect(links.length).toBe(before)
      expect(await caio.locator('#status').textContent()).toBe('connected')
      // Now the link goes silent without closing: only the heartbeat can tell.
      const silent = link()
      if (silent !== undefined) silent.silent = true
      await caio.clock.fastForward(PING_IDLE_MS + 1000)
      await liveness('pinged')
      await caio.clock.fastForward(PONG_TIMEOUT_MS + 1000)
      await expect.poll(() => links.length, eventually).toBe(before + 1)
      await caio.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 })
      await write(caio, 'de volta depois do silêncio')
      await expect.poll(() => messages(bia).locator('.text').allTextContents(), eventually).toContain('de volta depois do silêncio')
    })

    // A second tab of Caio's: same cookies, its own link through the route (last in `links`, so these come last).
    let caio2: Page
    const joinsOn = (l: Link | undefined) => (l?.sent ?? []).filter((text) => text.includes('"type":"join"'))
    const title = (page: Page) => page.locator('#room-title').textContent()

    it('a second tab, or a reload, lands in the room the user is in and moves no tab (issue 13, client fix 2)', async () => {
      await enterRoom(caio, 'Sala 2')
      // First against an older server, which says nothing of the room in `welcome` but sends its `joined` right after.
      olderWelcome = true
      caio2 = await caioContext.newPage()
      caio2.setDefaultTimeout(5000)
      await caio2.goto(server.url)
      await caio2.locator('#status', { hasText: 'connected' }).waitFor()
      await expect.poll(() => title(caio2), eventually).toBe('Sala 2')
      await expect.poll(() => members(caio2).allTextContents(), eventually).toContain('Caio Reis')
      expect(joinsOn(link())).toEqual([])
      // Then a reload against this server, whose `welcome` names the room.
      olderWelcome = false
      const before = links.length
      await caio2.reload()
      await caio2.locator('#status', { hasText: 'connected' }).waitFor()
      await expect.poll(() => links.length, eventually).toBe(before + 1)
      await expect.poll(() => title(caio2), eventually).toBe('Sala 2')
      await expect.poll(() => members(caio2).allTextContents(), eventually).toContain('Caio Reis')
      expect(joinsOn(link())).toEqual([])
      expect(await title(caio)).toBe('Sala 2')
      expect(await members(caio).allTextContents()).toContain('Caio Reis')
    })

    it('a message written in Sala 2 while the other tab moves to Sala 3 is stored nowhere, offered for Retry, and sent once (issue 13, client fix 1)', async () => {
      const text = 'escrito em duas abas'
      holdOutgoing = (frame) => frame.includes(text)
      await write(caio, text)
      await expect.poll(() => heldOutgoing.length, eventually).toBe(1)
      await caio2.getByRole('button', { name: /^Sala 3/ }).click()
      await expect.poll(() => title(caio2), eventually).toBe('Sala 3')
      // The first tab follows the move: its message, still on its way, was written in Sala 2.
      await expect.poll(() => title(caio), eventually).toBe('Sala 3')
      holdOutgoing = null
      for (const { link: held, text: frame } of heldOutgoing.splice(0)) held.server.send(frame)
      await expect
        .poll(() => caio.locator('#notices').textContent(), eventually)
        .toContain('A message written in Sala 2 could not be sent: you had moved to another room in another tab. Open Sala 2 to retry.')
      expect(await caio.locator('#messages').textContent()).not.toContain(text)
      const history = async (room: string) => {
        await danSays(room)
        const ref = uniqueName('history')
        dan.send({ type: 'history', limit: 50, ref })
        return (await dan.next('history', (f) => f.ref === ref)).messages.map((m) => m.text)
      }
      expect(await history('sala-3')).not.toContain(text)
      expect(await history('sala-2')).not.toContain(text)
      await enterRoom(caio, 'Sala 2')
      const failed = caio.locator('#messages .failed')
      await expect.poll(() => failed.locator('.text').textContent(), eventually).toBe(text)
      await failed.getByRole('button', { name: 'Retry' }).click()
      await expect.poll(() => texts(caio), eventually).toContain(text)
      await expect.poll(() => caio.locator('#messages .pending').count(), eventually).toBe(0)
      // Sent: the notice that offered the retry is gone (issue 13, client fix 3).
      await expect.poll(() => caio.locator('#notices').textContent(), eventually).not.toContain('could not be sent')
      expect((await history('sala-2')).filter((t) => t === text)).toHaveLength(1)
    })

    it('an older server stores such a message in the room the user moved to: its ack settles it there, once (issue 13, client fix 1)', async () => {
      const text = 'para um servidor antigo'
      holdOutgoing = (frame) => frame.includes(text)
      await write(caio, text)
      await expect.poll(() => heldOutgoing.length, eventually).toBe(1)
      await caio2.getByRole('button', { name: /^Sala 3/ }).click()
      await expect.poll(() => title(caio), eventually).toBe('Sala 3')
      holdOutgoing = null
      // Without `room`, as a server older than the field reads it: stored in the room the user is in now.
      for (const { link: held, text: frame } of heldOutgoing.splice(0)) held.server.send(JSON.stringify({ ...(JSON.parse(frame) as object), room: undefined }))
      await expect.poll(() => texts(caio), eventually).toContain(text)
      await expect.poll(() => caio.locator('#notices').textContent(), eventually).toContain('A message written in Sala 2 went to Sala 3: you had moved there in another tab.')
      await enterRoom(caio, 'Sala 2')
      expect(await caio.locator('#messages .pending').count()).toBe(0)
      await danSays('sala-3')
      dan.send({ type: 'history', limit: 50, ref: 'older-server-history' })
      const stored = await dan.next('history', (f) => f.ref === 'older-server-history')
      expect(stored.messages.filter((m) => m.text === text)).toHaveLength(1)
      await caio2.close()
    })
  })
})
