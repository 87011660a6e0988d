import { execFile, spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { postJson } from './helpers.js'

const run = promisify(execFile)

/**
 * No Docker engine runs here, so this reproduces the Dockerfile's runtime stage outside Docker: the packed
 * build, production dependencies only (with the sqlite3 binary the build stage compiled), NODE_ENV=production,
 * then /ready, one WebSocket round trip and SIGTERM.
 */
describe('the runtime stage, reproduced outside Docker', () => {
  it('installs production dependencies only, starts, serves and stops cleanly', async () => {
    const stage = await mkdtemp(join(tmpdir(), 'sala-runtime-'))
    const data = await mkdtemp(join(tmpdir(), 'sala-runtime-data-'))
    try {
      const { stdout } = await run('npm', ['pack', '--pack-destination', stage, '--silent'], { cwd: process.cwd() })
      const tarball = stdout.trim().split('\n').pop()!
      await run('tar', ['-xzf', join(stage, tarball), '-C', stage])
      const app = join(stage, 'package')
      await cp('package-lock.json', join(app, 'package-lock.json'))
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, timeout: 180_000 })
      // What the build stage compiled: the same Node ABI on the same platform.
      await cp(resolve('node_modules/sqlite3/build'), join(app, 'node_modules/sqlite3/build'), { recursive: true })
      const installed = await readdir(join(app, 'node_modules'))
      for (const dev of ['vitest', 'typescript', 'fast-check', '@redocly', 'ajv']) expect(installed).not.toContain(dev)
      await mkdir(join(data, 'uploads'))

      const child = spawn(process.execPath, ['dist/src/shell/main.js'], {
        cwd: app,
        env: {
          PATH: process.env['PATH'] ?? '',
          NODE_ENV: 'production',
          SESSION_SECRET: 'runtime-stage-secret-0123456789abcdefghij',
          BCRYPT_COST: '10',
          DATA_DIR: data,
          UPLOAD_DIR: join(data, 'uploads'),
          PORT: '0',
          HOST: '127.0.0.1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          const found = /"url":"([^"]+)"[^\n]*"msg":"sala listening"/.exec(out)?.[1]
          if (found !== undefined) resolveUrl(found)
        })
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
        setTimeout(() => reject(new Error(`did not start: ${out}`)), 15_000)
      })
      try {
        expect((await fetch(`${url}/ready`)).status).toBe(200)
        expect((await fetch(`${url}/docs`)).status).toBe(200)
        const registered = await postJson(`${url}/auth/register`, { name: 'Ops', username: 'ops', email: 'ops@example.com', password: 'long enough' })
        const { token } = (await registered.json()) as { token: string }
        const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { Authorization: `Bearer ${token}` } })
        const ack = new Promise<string>((resolveAck) =>
          socket.on('message', (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; id?: string }
            if (frame.type === 'joined') socket.send(JSON.stringify({ type: 'message', text: 'round trip' }))
            if (frame.type === 'ack') resolveAck(frame.id ?? '')
          }),
        )
        await new Promise((resolveOpen) => socket.once('open', resolveOpen))
        socket.send(JSON.stringify({ type: 'join' }))
        expect(await ack).toMatch(/^\d+$/)
        const closed = new Promise<number>((resolveClose) => socket.on('close', (code) => resolveClose(code)))
        child.kill('SIGTERM')
        expect(await closed).toBe(1001)
      } finally {
        // One SIGTERM only: a second one during the graceful stop kills the process outright.
        if (child.signalCode === null && child.exitCode === null && !child.killed) child.kill('SIGTERM')
      }
      expect(await exited).toBe(0)
    } finally {
      await rm(stage, { recursive: true, force: true })
      await rm(data, { recursive: true, force: true })
    }
  }, 240_000)
})
