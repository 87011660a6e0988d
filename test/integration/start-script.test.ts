import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script of the build, without types
import { isFresh } from '../../scripts/build-stamp.mjs'

// `npm start` as the README has people run it: node scripts/start.mjs, from a folder of their own.
const START = resolve('scripts/start.mjs')

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const folders: string[] = []
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true })
})

const folder = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sala-start-'))
  folders.push(dir)
  return dir
}

/** Runs `npm start`'s script in `cwd` until it exits, or until it listens (then it is stopped with SIGTERM). */
const start = (cwd: string, env: Record<string, string>): Promise<Run> =>
  new Promise((done, fail) => {
    const child = spawn(process.execPath, [START], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let stopping = false
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      // Once: a second SIGTERM during the graceful stop would kill it outright (no exit code).
      if (!stopping && stdout.includes('"msg":"sala listening"')) {
        stopping = true
        child.kill('SIGTERM')
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', fail)
    child.on('exit', (code) => done({ code, stdout, stderr }))
  })

describe('npm start', () => {
  it('reports a bad setting before building anything, with exit code 1', async () => {
    const run = await start(await folder(), { MSG_RATE: 'lots', TRUST_PROXY: 'banana' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('Sala cannot start; fix these settings:')
    expect(run.stderr).toContain('MSG_RATE="lots"')
    expect(run.stderr).toContain('TRUST_PROXY="banana"')
    expect(run.stderr).not.toContain('Building')
    expect(run.stdout).toBe('')
  })

  it('reads .env from the folder it runs in, the real environment winning, and does not rebuild an up-to-date build', async () => {
    expect(isFresh(), 'dist/ is older than the sources: run `npm run build` first (npm test does)').toBe(true)
    const dir = await folder()
    // HOST in the file is not even valid: the real environment's value must win for the start to work.
    await writeFile(join(dir, '.env'), ['PORT=0', 'HOST=not a host', `DATA_DIR=${join(dir, 'data')}`, `UPLOAD_DIR=${join(dir, 'up')}`, 'ROOMS=lobby=Lobby,dev=Dev', 'LOG_LEVEL=info', ''].join('\n'))
    const run = await start(dir, { HOST: '127.0.0.1' })
    expect(run.stderr).not.toContain('Building')
    const listening = run.stdout.split('\n').flatMap((line) => (line.includes('"msg":"sala listening"') ? [JSON.parse(line) as { url: string; rooms: string[] }] : []))
    expect(listening[0]?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(listening[0]?.rooms).toEqual(['lobby', 'dev'])
    expect(run.code).toBe(0)
  })
})
