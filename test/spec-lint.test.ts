import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Both specs through the linters outside tools use, as those tools see them: Redocly CLI (`recommended`,
// redocly.yaml) and Spectral (`spectral:oas`, `spectral:asyncapi`, .spectral.yaml). Any error fails; every
// warning must be one listed below with the reason it stays. Both run offline: no telemetry, no update
// check, and a preload that refuses (and logs) any attempt to reach the network.

const run = promisify(execFile)
const SPECS = ['openapi.yaml', 'asyncapi.yaml']

/** One finding, where it is: `openapi.yaml#/paths/~1health/get/responses`. */
interface Finding {
  readonly tool: 'redocly' | 'spectral'
  readonly rule: string
  readonly severity: 'error' | 'warning' | 'info'
  readonly at: string
  readonly message: string
}

/** Warnings that stay, each with its reason; the test fails on any other, and on any listed that is gone. */
const ACCEPTED: ReadonlyArray<{ tool: Finding['tool']; rule: string; at: ReadonlyArray<string>; reason: string }> = [
  {
    tool: 'redocly',
    rule: 'operation-4xx-response',
    at: ['/health', '/ready', '/', '/docs', '/docs/asyncapi', '/openapi.yaml', '/asyncapi.yaml'].map((p) => `openapi.yaml#/paths/${p.replace(/\//g, '~1')}/get/responses`),
    reason: 'these routes answer no 4xx of their own; the router’s 404/405 for other paths and methods are described once, in info',
  },
  {
    tool: 'redocly',
    rule: 'operation-2xx-response',
    at: ['openapi.yaml#/paths/~1ws/get/responses'],
    reason: 'a WebSocket upgrade succeeds with 101 Switching Protocols; there is no 2xx to document',
  },
  {
    tool: 'spectral',
    rule: 'operation-success-response',
    at: ['openapi.yaml#/paths/~1ws/get/responses'],
    reason: 'the same 101: Spectral counts only 2xx and 3xx as success',
  },
  {
    tool: 'redocly',
    rule: 'info-license',
    at: ['openapi.yaml#/info'],
    reason: 'Sala is private and states no license; inventing one would mislead',
  },
  {
    tool: 'spectral',
    rule: 'info-contact',
    at: ['openapi.yaml#/info'],
    reason: 'no public contact exists to name; the README says who runs an instance',
  },
  {
    tool: 'spectral',
    rule: 'asyncapi-info-contact',
    at: ['asyncapi.yaml#/info'],
    reason: 'as for openapi.yaml: no public contact exists to name',
  },
  {
    tool: 'spectral',
    rule: 'asyncapi-info-license',
    at: ['asyncapi.yaml#/info'],
    reason: 'as for openapi.yaml: no license to state',
  },
]

/** Information, not warnings; listed so that a new one is seen too. */
const ACCEPTED_INFO: ReadonlyArray<{ tool: Finding['tool']; rule: string; at: string; reason: string }> = [
  {
    tool: 'spectral',
    rule: 'asyncapi-latest-version',
    at: 'asyncapi.yaml#/asyncapi',
    reason: 'AsyncAPI 3.0.0 is what the parser, Modelina and Redocly we checked read; 3.1 adds nothing this protocol uses',
  },
]

let networkLog: string
let offline: NodeJS.ProcessEnv
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sala-lint-'))
  networkLog = join(dir, 'network.log')
  offline = {
    ...process.env,
    NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${resolve('test/lint/no-network.mjs')}`.trim(),
    SALA_NETWORK_LOG: networkLog,
    // Redocly CLI's usage data (redocly.yaml also says `telemetry: off`) and its update notice.
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    DO_NOT_TRACK: '1',
  }
})
afterAll(async () => {
  await rm(join(networkLog, '..'), { recursive: true, force: true })
})

/** A CLI's stdout whatever its exit code (both exit 1 when they find errors). */
const output = async (args: ReadonlyArray<string>): Promise<string> => {
  try {
    return (await run(process.execPath, args, { env: offline, maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    if (failed.stdout === undefined || failed.stdout === '') throw new Error(`${args.join(' ')} failed: ${failed.stderr ?? String(error)}`)
    return failed.stdout
  }
}

interface RedoclyReport {
  readonly problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ source: { ref: string }; pointer: string }> }>
}

// One run per spec: given several, `--format=json` prints one JSON document after another.
const redocly = async (): Promise<Finding[]> => {
  const reports: RedoclyReport[] = []
  for (const spec of SPECS) reports.push(JSON.parse(await output(['node_modules/@redocly/cli/bin/cli.js', 'lint', spec, '--format=json'])) as RedoclyReport)
  return reports.flatMap((report) => report.problems).map((p): Finding => ({
    tool: 'redocly',
    rule: p.ruleId,
    severity: p.severity === 'error' ? 'error' : p.severity === 'warn' ? 'warning' : 'info',
    at: `${relative('.', p.location[0]?.source.ref ?? '?')}${p.location[0]?.pointer ?? ''}`,
    message: p.message,
  }))
}

const spectral = async (): Promise<Finding[]> => {
  const report = JSON.parse(
    await output(['node_modules/@stoplight/spectral-cli/dist/index.js', 'lint', ...SPECS, '--ruleset', '.spectral.yaml', '--format', 'json', '--fail-severity', 'error']),
  ) as Array<{ code: string; severity: number; message: string; path: Array<string | number>; source: string }>
  return report.map((p): Finding => ({
    tool: 'spectral',
    rule: p.code,
    // Spectral: 0 error, 1 warning, 2 information, 3 hint.
    severity: p.severity === 0 ? 'error' : p.severity === 1 ? 'warning' : 'info',
    at: `${relative('.', p.source)}#${p.path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`,
    message: p.message,
  }))
}

const show = (findings: ReadonlyArray<Finding>) => findings.map((f) => `${f.tool} ${f.severity} ${f.rule} at ${f.at}: ${f.message}`)
const key = (tool: string, rule: string, at: string) => `${tool} ${rule} ${at}`

describe('the specs pass the linters outside tools use', () => {
  let findings: Finding[]
  beforeAll(async () => {
    findings = [...(await redocly()), ...(await spectral())]
  }, 60_000)

  it('no errors', () => {
    expect(show(findings.filter((f) => f.severity === 'error'))).toEqual([])
  })

  it('only the warnings and notes listed here, each with its reason, and each of them still found', () => {
    const accepted = new Set([...ACCEPTED.flatMap((a) => a.at.map((at) => key(a.tool, a.rule, at))), ...ACCEPTED_INFO.map((a) => key(a.tool, a.rule, a.at))])
    const found = findings.filter((f) => f.severity !== 'error')
    expect(show(found.filter((f) => !accepted.has(key(f.tool, f.rule, f.at)))), 'new warnings: fix them, or list them with a reason').toEqual([])
    const seen = new Set(found.map((f) => key(f.tool, f.rule, f.at)))
    expect([...accepted].filter((k) => !seen.has(k)), 'listed but no longer reported: remove them').toEqual([])
  })

  it('ran offline: nothing tried to reach the network', async () => {
    const attempts = await readFile(networkLog, 'utf8').catch(() => '')
    expect(attempts).toBe('')
  })
})
