import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { LinkState } from '../../src/adapters/cluster.js'
import type { Logger } from '../../src/adapters/logger.js'
import { readinessCheck } from '../../src/shell/readiness.js'

// With several processes, /ready also answers for the link to the others: an instance cut off from them
// for long (`down`, not a short `reconnecting`) should get no new users; those it has keep chatting.

const folders: string[] = []
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true })
})

const recording = () => {
  const lines: Array<{ level: string; message: string }> = []
  const at = (level: string) => (message: string) => void lines.push({ level, message })
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger
  return { log, lines }
}

const check = async (link: () => LinkState) => {
  const uploadDir = await mkdtemp(join(tmpdir(), 'sala-ready-'))
  folders.push(uploadDir)
  const { log, lines } = recording()
  const database = { probeWrite: () => TE.right(undefined), close: async () => undefined }
  return { ready: readinessCheck({ database, uploadDir, log, cluster: link }), lines }
}

describe('/ready with several processes', () => {
  it('is not ready while the link is down, ready while it reconnects or is connected, and logs each change once', async () => {
    let link: LinkState = { state: 'connected', since: 0 }
    const { ready, lines } = await check(() => link)
    expect(await ready()).toEqual([])
    link = { state: 'reconnecting', since: 1, attempt: 2 }
    expect(await ready()).toEqual([])
    link = { state: 'down', since: 2, error: 'connect ECONNREFUSED 127.0.0.1:6379' }
    const down = await ready()
    expect(down).toEqual([{ path: 'cluster', message: expect.stringContaining('link to the other processes is down') }])
    // Public: no address, no driver message.
    expect(JSON.stringify(down)).not.toContain('6379')
    await ready()
    link = { state: 'connected', since: 3 }
    expect(await ready()).toEqual([])
    expect(lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.message}`)).toEqual(['warn not ready', 'info ready again'])
  })
})
