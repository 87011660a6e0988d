import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startTestServer, type TestServer } from '../integration/helpers.js'

// The docs pages as people see them, in Debian's Chromium, under the CSP the server sends: they render,
// nothing is refused by the CSP, and nothing is fetched from another host (no fonts, no telemetry).
// /docs comes from `npm run build` (Redocly CLI build-docs); build first.
const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM) && existsSync('dist/docs/openapi.html')
if (!available) console.log(`Skipping the docs browser tests: ${CHROMIUM} or dist/docs/openapi.html is missing (npm run build).`)

interface Visit {
  readonly violations: string[]
  readonly foreignRequests: string[]
  readonly errors: string[]
}

describe.skipIf(!available)('the docs pages, in a real browser', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
    server = await startTestServer()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** Opens `path` and records CSP violations, requests to other origins, and page errors. */
  const visit = async (path: string): Promise<{ page: Page; seen: Visit }> => {
    const page = await browser.newPage()
    const seen: Visit = { violations: [], foreignRequests: [], errors: [] }
    await page.exposeFunction('reportViolation', (text: string) => seen.violations.push(text))
    // Runs in the page (the DOM types are not this project's): every CSP refusal, reported back.
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`))",
    })
    page.on('request', (request) => {
      const url = request.url()
      if (!url.startsWith(server.url) && !/^(data|blob|about):/.test(url)) seen.foreignRequests.push(url)
    })
    page.on('pageerror', (error) => seen.errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') seen.errors.push(message.text())
    })
    await page.goto(`${server.url}${path}`, { waitUntil: 'networkidle' })
    return { page, seen }
  }

  it('/docs renders the API with Redoc under its CSP, offline, and its menu works', async () => {
    const { page, seen } = await visit('/docs')
    await page.getByRole('heading', { name: 'Sala HTTP API (0.1.0)' }).waitFor()
    await page.getByRole('link', { name: 'WebSocket protocol' }).waitFor()
    // The menu works only once Redoc's script has run: a CSP refusal would leave the static HTML alone.
    await page.getByText('accounts', { exact: true }).first().click()
    await page.getByText('Create an account and sign in').first().click()
    await page.getByRole('heading', { name: 'Create an account and sign in' }).waitFor()
    expect(new URL(page.url()).hash).toBe('#/accounts/register')
    // Search works too, in the page: Redoc's search index first probes whether it may build a worker
    // from a string (Function), which the CSP refuses as it should; it then indexes without one.
    await page.getByText('Search', { exact: false }).first().click()
    await page.getByPlaceholder('Search docs...').fill('upload')
    await page.getByText('files to attach to messages').first().waitFor()
    expect({ ...seen, violations: seen.violations.filter((v) => v !== 'script-src eval ') }).toEqual({ violations: [], foreignRequests: [], errors: [] })
    await page.close()
  })

  it('/docs/asyncapi renders under its CSP, offline', async () => {
    const { page, seen } = await visit('/docs/asyncapi')
    await page.getByRole('heading', { name: /Sala chat protocol/ }).waitFor()
    expect(seen).toEqual({ violations: [], foreignRequests: [], errors: [] })
    await page.close()
  })
})
