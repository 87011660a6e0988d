import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// The built entry point, as `npm start` runs it (npm test builds first).
const MAIN = 'dist/src/shell/main.js'

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runMain = (env: Record<string, string>, whileRunning?: (stdout: () => string) => Promise<void>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
    if (whileRunning !== undefined) {
      whileRunning(() => stdout)
        .catch(reject)
        .finally(() => child.kill('SIGTERM'))
    }
  })

const listeningUrl = async (stdout: () => string): Promise<string> => {
  for (let i = 0; i < 100; i++) {
    const match = /"msg":"sala listening","url":"([^"]+)"/.exec(stdout())
    if (match?.[1] !== undefined) return match[1]
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start: ${stdout()}`)
}

describe('starting the server', () => {
  it('refuses to start in production without SESSION_SECRET, with a clear message and exit code 1', async () => {
    const run = await runMain({ NODE_ENV: 'production' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('SESSION_SECRET is required when NODE_ENV=production')
  })

  it('refuses a bad setting, naming it', async () => {
    const run = await runMain({ PORT: 'eighty', TYPING_TIMEOUT_MS: '-5' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('PORT="eighty": must be a whole number from 0 to 65535')
    expect(run.stderr).toContain('TYPING_TIMEOUT_MS="-5"')
  })

  it('starts on the embedded defaults, keeps a generated secret readable by its owner only, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sala-start-'))
    try {
      const run = await runMain({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', BCRYPT_COST: '4' }, async (stdout) => {
        const url = await listeningUrl(stdout)
        expect((await fetch(`${url}/health`)).status).toBe(200)
      })
      expect(run.code).toBe(0)
      const secret = await stat(join(dataDir, 'session-secret'))
      expect(secret.mode & 0o777).toBe(0o600)
      expect((await stat(join(dataDir, 'sala.db'))).isFile()).toBe(true)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
