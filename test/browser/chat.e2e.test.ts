import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startTestServer, uniqueName, type TestServer } from '../integration/helpers.js'

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
    await expect.poll(() => members(ana).allTextContents()).toEqual(['Ana Souza', 'Bia Lima'])
    await expect.poll(() => members(bia).allTextContents()).toEqual(['Ana Souza', 'Bia Lima'])
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
    await bia.getByRole('button', { name: /Sala 2/ }).click()
    await expect.poll(() => members(ana).allTextContents()).toEqual(['Ana Souza'])
    await expect.poll(() => bia.locator('#room-title').textContent()).toBe('Sala 2')
    expect(await bia.locator('#messages').textContent()).not.toContain('Olá, Bia!')
    await ana.locator('#message-input').fill('só para a Sala 1')
    await ana.locator('#message-input').press('Enter')
    await expect.poll(() => messages(ana).last().locator('.text').textContent()).toBe('só para a Sala 1')
    expect(await bia.locator('#messages').textContent()).not.toContain('só para a Sala 1')
    await bia.getByRole('button', { name: /Sala 1/ }).click()
    await expect.poll(() => members(ana).allTextContents()).toEqual(['Ana Souza', 'Bia Lima'])
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
})
