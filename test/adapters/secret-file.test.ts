import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadOrCreateSecret } from '../../src/adapters/secret-file.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sala-secret-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the development session secret', () => {
  it('is made once, readable by its owner only, and read back the same', async () => {
    const first = await loadOrCreateSecret(dir)
    expect(first.length).toBeGreaterThanOrEqual(32)
    expect((await stat(join(dir, 'session-secret'))).mode & 0o777).toBe(0o600)
    expect(await loadOrCreateSecret(dir)).toBe(first)
  })

  it.each([
    ['empty', ''],
    ['short', 'abc'],
    ['blank', '   \n'],
    ['31 characters', 'x'.repeat(31)],
  ])('replaces a file that holds no usable secret (%s), and says so', async (_, content) => {
    await writeFile(join(dir, 'session-secret'), content)
    const replaced: string[] = []
    const secret = await loadOrCreateSecret(dir, (path) => replaced.push(path))
    expect(secret.length).toBeGreaterThanOrEqual(32)
    expect(secret).not.toBe(content.trim())
    expect((await readFile(join(dir, 'session-secret'), 'utf8')).trim()).toBe(secret)
    expect((await stat(join(dir, 'session-secret'))).mode & 0o777).toBe(0o600)
    expect(replaced).toEqual([join(dir, 'session-secret')])
  })

  it('keeps a usable secret someone wrote, even one not made here', async () => {
    const own = 'a-secret-of-exactly-thirty-two!!'
    await writeFile(join(dir, 'session-secret'), `${own}\n`)
    expect(await loadOrCreateSecret(dir, () => expect.fail('must not replace it'))).toBe(own)
  })
})
