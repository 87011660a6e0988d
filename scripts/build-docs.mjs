// Builds /docs (dist/docs/openapi.html) from openapi.yaml with Redocly CLI's build-docs: Redoc inlined, its
// telemetry off, and nothing left that a browser would fetch from another host, so the page works offline
// under the strict CSP src/shell/docs/routes.ts sends.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const output = 'dist/docs/openapi.html'
const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js')
execFileSync(
  process.execPath,
  [cli, 'build-docs', 'openapi.yaml', '--output', output, '--template', 'docs/redoc.hbs', '--title', 'Sala HTTP API', '--inlineBundle', '--openapi.disableTelemetry=true', '--lint-config=error'],
  // The CLI's own usage data (redocly.yaml says so too) and its update notice.
  { stdio: 'inherit', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
)

// Redoc's "API docs by Redocly" credit loads its logo from Redocly's CDN, which the CSP would refuse (and
// report) and an offline machine cannot reach: the credit keeps its words, drawn here instead.
const credit = (width) =>
  `data:image/svg+xml,${encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20"><text x="0" y="15" font-family="sans-serif" font-size="14" fill="#6b7280">Redocly</text></svg>`,
  )}`
const page = readFileSync(output, 'utf8')
const offline = page
  .replaceAll('https://cdn.redoc.ly/redoc/logo-mini-full.svg', credit(60))
  .replaceAll('https://cdn.redoc.ly/redoc/logo-mini.svg', credit(60))
writeFileSync(output, offline)
