import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { postJson } from './helpers.js'

// The built entry point in a child process, as production runs it (npm test builds first).
const start = (dataDir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/src/shell/main.js'], {
      env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dataDir, UPLOAD_DIR: join(dataDir, 'uploads'), PORT: '0', HOST: '127.0.0.1', BCRYPT_COST: '4', MSG_RATE: '10000', MSG_BURST: '10000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const url = /"url":"([^"]+)"[^\n]*"msg":"sala listening"/.exec(out)?.[1]
      if (url !== undefined) resolve({ child, url, exited })
    })
    child.on('error', reject)
    setTimeout(() => reject(new Error(`no start: ${out}`)), 10_000)
  })

const registerUser = async (url: string, name: string) => {
  const response = await postJson(`${url}/auth/register`, { name, username: name, email: `${name}@example.com`, password: 'long enough' })
  return ((await response.json()) as { token: string }).token
}

const open = (url: string, token: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { Authorization: `Bearer ${token}` } })
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })

describe('SIGTERM mid-traffic', () => {
  it('closes clients with 1001, finishes an upload under way, keeps every acknowledged message, exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sala-stop-'))
    try {
      const first = await start(dataDir)
      const [anaToken, biaToken] = [await registerUser(first.url, 'ana'), await registerUser(first.url, 'bia')]
      const [ana, bia] = [await open(first.url, anaToken), await open(first.url, biaToken)]
      const closes = [ana, bia].map((socket) => new Promise<number>((resolve) => socket.on('close', (code) => resolve(code))))
      const acked = new Set<string>()
      ana.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; id?: string }
        if (frame.type === 'ack' && frame.id !== undefined) acked.add(frame.id)
      })
      for (const socket of [ana, bia]) socket.send(JSON.stringify({ type: 'join', room: 'sala-1' }))

      // An upload that has started but not finished when the signal arrives.
      const boundary = 'b'
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="late.txt"\r\n\r\n`
      const tail = `\r\n--${boundary}--\r\n`
      const upload = new Promise<number>((resolve, reject) => {
        const req = request(`${first.url}/uploads`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${anaToken}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + 4 + tail.length) },
        })
        req.on('response', (res) => resolve(res.statusCode ?? 0))
        req.on('error', reject)
        req.write(head + 'ab')
        setTimeout(() => req.end('cd' + tail), 500)
      })

      // Traffic: a message every few milliseconds until the server goes away.
      let sent = 0
      const sender = setInterval(() => {
        if (ana.readyState === WebSocket.OPEN) ana.send(JSON.stringify({ type: 'message', text: `m${sent}`, clientId: `c${sent++}` }))
      }, 3)
      await new Promise((resolve) => setTimeout(resolve, 300))
      first.child.kill('SIGTERM')
      const codes = await Promise.all(closes)
      clearInterval(sender)
      expect(codes).toEqual([1001, 1001])
      expect(await upload).toBe(201)
      expect(await first.exited).toBe(0)
      expect(acked.size).toBeGreaterThan(10)

      const second = await start(dataDir)
      try {
        const again = await open(second.url, anaToken)
        const history = new Promise<string[]>((resolve) =>
          again.on('message', (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; messages?: Array<{ id: string }> }
            if (frame.type === 'history') resolve((frame.messages ?? []).map((m) => m.id))
          }),
        )
        again.send(JSON.stringify({ type: 'join', room: 'sala-1' }))
        again.send(JSON.stringify({ type: 'history', limit: 100 }))
        const stored = new Set(await history)
        const lastAcked = [...acked].sort().at(-1)!
        expect(stored.has(lastAcked)).toBe(true)
        const recent = [...acked].sort().slice(-100)
        for (const id of recent) expect(stored.has(id), `acknowledged ${id} is stored`).toBe(true)
        again.close()
      } finally {
        second.child.kill('SIGTERM')
        await second.exited
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
