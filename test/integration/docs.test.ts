import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { startTestServer, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server.stop()
})

describe('docs for people', () => {
  it('/docs is the Redoc page, self-contained, with exactly its inline scripts allowed by hash', async () => {
    const response = await fetch(`${server.url}/docs`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await response.text()
    expect(html).toContain('href="/docs/asyncapi"')
    // Works offline: nothing is loaded from another host.
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/)
    const scripts = [...html.matchAll(/<script(?:\s[^>]*)?>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '')
    const csp = response.headers.get('content-security-policy') ?? ''
    for (const script of scripts) {
      expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`)
    }
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain("script-src 'unsafe-inline'")
    expect(csp).not.toContain('unsafe-eval')
    // Redoc's own usage reporting is off in the built page (the CSP would refuse it anyway).
    expect(html).toContain('"disableTelemetry":true')
    expect(html).not.toContain('cdn.redoc.ly')
  })

  it('/docs/asyncapi shows every message of the spec, with its examples, and no script', async () => {
    const response = await fetch(`${server.url}/docs/asyncapi`)
    const html = await response.text()
    expect(html).not.toContain('<script')
    const spec = parse(readFileSync('asyncapi.yaml', 'utf8')) as { components: { messages: Record<string, { examples?: unknown[] }> } }
    for (const id of Object.keys(spec.components.messages)) expect(html).toContain(`id="message-${id}"`)
    expect(html).toContain('&#34;type&#34;: &#34;join&#34;')
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/)
  })

  it('serves the raw specs', async () => {
    for (const name of ['openapi.yaml', 'asyncapi.yaml']) {
      const response = await fetch(`${server.url}/${name}`)
      expect(response.headers.get('content-type')).toBe('application/yaml; charset=utf-8')
      expect(await response.text()).toBe(readFileSync(name, 'utf8'))
    }
  })
})
