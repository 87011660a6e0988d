import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ChatClient, register, startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'

// The member list of a room bigger than a page, in a real browser (issue 17, docs/big-rooms.md): the page
// speaks protocol version 2, shows the count, lists the first page, and asks for the next as the list is
// scrolled to its end or "Show more people" is pressed; arrivals and departures keep it true. Others are
// plain WebSocket clients.
const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available) console.log(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it).`)

const PAGE = 10
const OTHERS = 24

describe.skipIf(!available)('the member list of a big room, in a real browser', () => {
  let server: TestServer
  let browser: Browser
  let ana: Page
  const others: ChatClient[] = []
  const usernames: string[] = []
  const eventually = { timeout: 10_000 }

  beforeAll(async () => {
    server = await startTestServer({ MEMBER_PAGE: String(PAGE) })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    // A short window, so that a page of members overflows the list and it scrolls.
    const context = await browser.newContext({ viewport: { width: 1100, height: 300 } })
    ana = await context.newPage()
    ana.setDefaultTimeout(10_000)
    for (let i = 0; i < OTHERS; i++) {
      const account = await register(server, uniqueName('people'))
      const client = await ChatClient.connect(server, { token: account.token })
      client.send({ type: 'join', room: 'sala-1' })
      await client.next('joined', (f) => f.room === 'sala-1')
      others.push(client)
      usernames.push(account.username)
    }
  }, 60_000)

  afterAll(async () => {
    for (const client of others) client.close()
    await browser?.close()
    await server?.stop()
  })

  const listed = () => ana.locator('#members li > :first-child').allTextContents()
  const count = () => ana.locator('#member-count').textContent()
  /** The first member in sight in the scrolled list. */
  const inSight = () =>
    ana.locator('#people').evaluate((people) => {
      const top = people.getBoundingClientRect().top
      return [...people.querySelectorAll('#members li')].find((li) => li.getBoundingClientRect().bottom > top + 1)?.textContent
    })
  /** Scrolls the member list to its end, and says how many it lists then. */
  const scrollToEnd = async () => {
    await ana.locator('#people').evaluate((people) => people.scrollTo(0, people.scrollHeight))
    return (await listed()).length
  }

  it('speaks version 2, shows how many are here and lists the first page, the latest arrival first', async () => {
    await ana.goto(server.url)
    const username = uniqueName('ana')
    await ana.locator('#register-name').fill('Ana Souza')
    await ana.locator('#register-username').fill(username)
    await ana.locator('#register-email').fill(`${username}@example.com`)
    await ana.locator('#register-password').fill('correct horse battery')
    const welcome = ana.waitForEvent('websocket').then((ws) => ws.waitForEvent('framereceived', (f) => String(f.payload).includes('"type":"welcome"')))
    await ana.getByRole('button', { name: 'Create account' }).click()
    expect(JSON.parse(String((await welcome).payload))).toMatchObject({ type: 'welcome', protocol: 2 })
    await ana.locator('#status', { hasText: 'connected' }).waitFor()
    await expect.poll(count, eventually).toBe(`${OTHERS + 1} members`)
    await expect.poll(listed, eventually).toHaveLength(PAGE)
    const first = await listed()
    expect(first[0]).toBe('Ana Souza')
    expect(first.slice(1)).toEqual(usernames.slice(-(PAGE - 1)).reverse().map((u) => u.toUpperCase()))
    expect(await ana.locator('#more-members').isVisible()).toBe(true)
  })

  it('asks for the next page as the list is scrolled to its end, until everyone is listed', async () => {
    // A page of members is taller than the list: it scrolls.
    expect(await ana.locator('#people').evaluate((people) => people.scrollHeight > people.clientHeight)).toBe(true)
    await expect.poll(scrollToEnd, eventually).toBe(OTHERS + 1)
    const everyone = await listed()
    expect(new Set(everyone).size).toBe(OTHERS + 1)
    expect(everyone.slice(1)).toEqual([...usernames].reverse().map((u) => u.toUpperCase()))
    // The last page is in: nothing more to ask for.
    await expect.poll(() => ana.locator('#more-members').isHidden(), eventually).toBe(true)
  })

  it('keeps the list and the count true as people leave and arrive', async () => {
    const [leaving, returning] = others
    leaving?.send({ type: 'leave' })
    const gone = usernames[0]?.toUpperCase() ?? ''
    await expect.poll(count, eventually).toBe(`${OTHERS} members`)
    await expect.poll(listed, eventually).not.toContain(gone)
    // The room list counts the room on screen live too.
    await expect.poll(() => ana.locator('#rooms button[data-room="sala-1"] .count').textContent(), eventually).toBe(String(OTHERS))
    returning?.send({ type: 'leave' })
    await expect.poll(count, eventually).toBe(`${OTHERS - 1} members`)
    const looking = await inSight()
    returning?.send({ type: 'join', room: 'sala-1' })
    await expect.poll(count, eventually).toBe(`${OTHERS} members`)
    // An arrival is the latest: listed first, above the reader, who still sees whom they saw.
    await expect.poll(async () => (await listed())[0], eventually).toBe(usernames[1]?.toUpperCase())
    expect(await listed()).toHaveLength(OTHERS)
    expect(await inSight()).toBe(looking)
  })
})

describe.skipIf(!available)('the member list of a small room, in a real browser', () => {
  it('offers "Show more people" only while more remain, and pressing it lists them', async () => {
    const server = await startTestServer({ MEMBER_PAGE: String(PAGE) })
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    const clients: ChatClient[] = []
    try {
      for (let i = 0; i < PAGE; i++) {
        const account = await register(server, uniqueName('few'))
        const client = await ChatClient.connect(server, { token: account.token })
        client.send({ type: 'join', room: 'sala-1' })
        await client.next('joined', (f) => f.room === 'sala-1')
        clients.push(client)
      }
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage()
      page.setDefaultTimeout(10_000)
      await page.goto(server.url)
      const username = uniqueName('bia')
      await page.locator('#register-name').fill('Bia Lima')
      await page.locator('#register-username').fill(username)
      await page.locator('#register-email').fill(`${username}@example.com`)
      await page.locator('#register-password').fill('correct horse battery')
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.locator('#status', { hasText: 'connected' }).waitFor()
      await expect.poll(() => page.locator('#member-count').textContent(), { timeout: 10_000 }).toBe(`${PAGE + 1} members`)
      await page.getByRole('button', { name: 'Show more people' }).click()
      await expect.poll(() => page.locator('#members li').count(), { timeout: 10_000 }).toBe(PAGE + 1)
      expect(await page.locator('#more-members').isHidden()).toBe(true)
    } finally {
      for (const client of clients) client.close()
      await browser.close()
      await server.stop()
    }
  })
})
