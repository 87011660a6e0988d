import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import type { Writable } from 'node:stream'

// ws's own frame parser (shipped, but not in its type declarations), to read our frames the way clients do.
const require = createRequire(import.meta.url)
const Receiver = require(require.resolve('ws').replace(/index\.js$/, 'lib/receiver.js')) as new (options: { isServer: boolean }) => Writable
import { textFrame } from '../../src/shell/ws/frame.js'

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 300_000])('is read back by ws as the same %i-byte text message', async (size) => {
    const text = 'é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2)
    const receiver = new Receiver({ isServer: false })
    const received = new Promise<string>((resolve, reject) => {
      receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error('binary')) : resolve(data.toString())))
      receiver.on('error', reject)
    })
    receiver.write(textFrame(Buffer.from(text)))
    expect(await received).toBe(text)
  })
})
