import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { serverFrameCodecs, type ServerFrame } from '../../src/core/protocol/server-frames.js'
import { ChatClient, startTestServer, waitFor, type TestServer } from './helpers.js'
import {
  blocksOf,
  exampleValues,
  expectationsOf,
  fitsShown,
  runShBlock,
  sectionOf,
  wscatOptions,
  type Block,
  type CommandRun,
  type Expected,
  type FrameLine,
} from './readme-section.js'

// The README's "A two-user chat with curl and wscat", run as a reader runs it, against a real server:
// every ```sh block goes through bash (curl at the test server's address instead of localhost:3000), in
// order, with the variables ($ANA, $ROOM…) carried from block to block. `npx wscat` is not run (it would
// fetch wscat from npm, and tests reach no network): bash records its arguments and the test opens that
// connection itself, with ChatClient, sending its `-x` frames or the line it says to paste. Every
// `name> {frame}` line of the ```text blocks goes out on that user's connection. What the README says
// happens is checked: a `# …` line under a command is its output, and `# ana gets "joined"` comments
// (readme-section.ts reads them) must come true. No request may fail, no frame may be an error.

const SECTION = 'A two-user chat with curl and wscat'
// Another copy can be followed instead (a deliberately broken one, to see this test fail).
const README = process.env['SALA_README'] ?? 'README.md'
const FRAME_TYPES = new Set(Object.keys(serverFrameCodecs))
// Frames that answer the sender's command, and carry its `ref`.
const ANSWERS = new Set<string>(['ack', 'joined', 'history', 'pong', 'error'])
const README_ADDRESS = 'localhost:3000'

// Files the README uploads, made where the commands run: small but real, so their types are sniffed.
const FILE_CONTENTS: Record<string, Buffer> = {
  png: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
  pdf: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'),
}

let server: TestServer
let dir: string
beforeAll(async () => {
  server = await startTestServer()
  dir = await mkdtemp(join(tmpdir(), 'sala-readme-'))
})
afterAll(async () => {
  await server.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('the README walkthrough', () => {
  it(`"${SECTION}": every command works and every frame does what its comment says`, async () => {
    const section = sectionOf(readFileSync(README, 'utf8'), SECTION)
    const blocks = blocksOf(section)
    expect(blocks.filter((block) => block.kind === 'text').length).toBeGreaterThan(0)
    const walk = new Walkthrough(server, dir)
    try {
      for (const block of blocks) await (block.kind === 'sh' ? walk.shell(block) : walk.type(block))
      await walk.finish(section)
    } finally {
      walk.closeAll()
    }
  }, 60_000)
})

type ShBlock = Extract<Block, { kind: 'sh' }>
type TextBlock = Extract<Block, { kind: 'text' }>

class Walkthrough {
  private readonly vars = new Map<string, string>()
  /** The terminals that stay open, by the username their welcome named, with the token they used. */
  private readonly users = new Map<string, { client: ChatClient; token: string }>()
  private readonly every: ChatClient[] = []
  /** [what the README shows, what the server gave] for values it can only show an example of (upload links). */
  private readonly examples: Array<[string, string]> = []

  constructor(
    private readonly server: TestServer,
    private readonly dir: string,
  ) {}

  async shell(block: ShBlock): Promise<void> {
    for (const command of block.commands) await this.makeFilesFor(command.text)
    const logFrom = this.server.logLines.length
    const address = new URL(this.server.url).host
    const runs = await runShBlock(block.commands, this.dir, this.vars, (text) => text.replaceAll(README_ADDRESS, address))
    for (const run of runs) expect(run.status, `README command:\n${run.command.text}\n(stderr: ${run.stderr})`).toBe(0)
    await this.noFailedRequests(runs, logFrom)
    for (const [i, run] of runs.entries()) {
      const where = `README command:\n${run.command.text}\n→ ${run.stdout}`
      if (run.wscat !== undefined) await this.wscat(run, runs[i - 1]?.stdout ?? '')
      else {
        const printed = run.stdout.split('\n').filter((line) => line.trim() !== '')
        expect(printed.length, where).toBeGreaterThanOrEqual(run.command.shown.length)
        run.command.shown.forEach((shown, j) => expect(fitsShown(shown, printed[j] ?? ''), where).toBeUndefined())
        for (const shown of run.command.shown) this.examples.push(...exampleValues(shown, run.stdout, 'url'))
        for (const expected of expectationsOf(run.command.comment, FRAME_TYPES)) await this.arrives(expected, () => true, where)
      }
      if (run.command.text.includes('/auth/logout')) await this.loggedOut(run, block.prose)
    }
  }

  async type(block: TextBlock): Promise<void> {
    for (const line of block.lines) await this.play(line)
  }

  /** The links the prose gives (an upload's, with the real one for the example) open, and no frame was an error. */
  async finish(section: string): Promise<void> {
    for (const [link, path = ''] of section.matchAll(/http:\/\/localhost:3000(\/[^\s`)'"]*)/g)) {
      const real = this.examples.reduce((text, [example, actual]) => text.replaceAll(example, actual), path)
      expect((await fetch(`${this.server.url}${real}`)).status, `the README's link ${link}`).toBe(200)
    }
    for (const client of this.every) {
      expect(client.pending('error'), 'error frames').toEqual([])
      expect(client.invalid, 'frames outside the protocol').toEqual([])
    }
  }

  closeAll(): void {
    for (const client of this.every) if (client.closed === undefined) client.close()
  }

  private async play(line: FrameLine): Promise<void> {
    const where = `README line: ${line.who}> ${line.frame}  # ${line.comment ?? ''}`
    const client = this.users.get(line.who)?.client
    if (client === undefined) throw new Error(`${where}\nnobody named ${line.who} is connected at this point`)
    const text = this.substitute(line.frame, where)
    const command = JSON.parse(text) as Record<string, unknown>
    client.send(text)
    for (const expected of expectationsOf(line.comment, FRAME_TYPES)) {
      await this.arrives(expected, correlated(expected, line.who, command), where)
    }
  }

  /** `$VAR` in a frame stands for what the shell holds (wscat does not expand); example links for real ones. */
  private substitute(frame: string, where: string): string {
    const expanded = frame.replace(/\$([A-Z][A-Z0-9_]*)/g, (_, name: string) => {
      const value = this.vars.get(name)
      if (value === undefined) throw new Error(`${where}\n$${name} was never set by a command before it`)
      return value
    })
    return this.examples.reduce((text, [example, actual]) => text.replaceAll(example, actual), expanded)
  }

  private async arrives(expected: Expected, match: (frame: ServerFrame) => boolean, where: string, on?: ChatClient): Promise<void> {
    const client = on ?? this.users.get(expected.who)?.client
    if (client === undefined) throw new Error(`${where}\n${expected.who} is not connected, so cannot get "${expected.type}"`)
    const pairs = (frame: ServerFrame) => expected.pairs.every((pair) => JSON.stringify(frame).includes(pair))
    try {
      await client.next(expected.type as ServerFrame['type'], (frame) => match(frame) && pairs(frame), 10_000)
    } catch (error) {
      throw new Error(`${where}\n${expected.who || 'the connection'} never got "${expected.type}" ${expected.pairs.join(' ')}: ${String(error)}`)
    }
  }

  /** Opens the connection an `npx wscat …` would, sends what it sends, and checks what the README shows. */
  private async wscat(run: CommandRun, lineAbove: string): Promise<void> {
    const where = `README command:\n${run.command.text}`
    const options = wscatOptions(run.wscat ?? [])
    expect(options.url, where).toBe(this.server.wsUrl)
    if (options.subprotocol !== undefined) expect(await subprotocolOf(options.url, options.subprotocol, options.headers), where).toBe(options.subprotocol)
    const token = /^Bearer (.+)$/.exec(options.headers['Authorization'] ?? '')?.[1]
    const client = await ChatClient.connect({ wsUrl: options.url }, token === undefined ? {} : { token })
    this.every.push(client)
    const pasted = options.execute.length === 0 && /paste the line above/.test(run.command.comment ?? '') ? [lineAbove.trim()] : []
    for (const frame of [...options.execute, ...pasted]) client.send(frame)
    if (token !== undefined) {
      const welcome = await client.next('welcome', () => true, 10_000)
      expect(welcome.protocol, where).toBe(1)
      this.users.set(welcome.user.username, { client, token })
    }
    for (const shown of run.command.shown) {
      const frame = await client.next((/"type":"(\w+)"/.exec(shown)?.[1] ?? '') as ServerFrame['type'], () => true, 10_000)
      expect(fitsShown(shown, JSON.stringify(frame)), where).toBeUndefined()
    }
    for (const expected of expectationsOf(run.command.comment, FRAME_TYPES)) {
      await this.arrives(expected, () => true, where, expected.who === '' ? client : undefined)
    }
    // A terminal signed in by a frame is shown for itself; it is closed so the rest reads as before.
    if (token === undefined) {
      client.close()
      await client.waitClosed()
    }
  }

  /** "the token stops working and its sockets close with code N", as the prose before the command says. */
  private async loggedOut(run: CommandRun, prose: string): Promise<void> {
    const code = Number(/close with code (\d+)/.exec(prose)?.[1])
    const token = this.vars.get(/Bearer \$(\w+)/.exec(run.command.text)?.[1] ?? '')
    const user = [...this.users.values()].find((u) => u.token === token)
    if (user === undefined) throw new Error(`${run.command.text}\nlogs out someone with no connection open`)
    expect((await user.client.waitClosed(10_000)).code, prose).toBe(code)
    expect((await fetch(`${this.server.url}/rooms`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401)
  }

  /** Every curl of the block left one access-log line, and none answered an error. */
  private async noFailedRequests(runs: ReadonlyArray<CommandRun>, logFrom: number): Promise<void> {
    const curls = runs.filter((run) => run.wscat === undefined && /\bcurl\b/.test(run.command.text)).length
    const requests = () =>
      this.server.logLines
        .slice(logFrom)
        .map((line) => JSON.parse(line) as { msg: string; method: string; path: string; status: number })
        // WebSocket upgrades have lines of their own, whenever they end; the test opens those.
        .filter((line) => line.msg === 'http request' && line.path !== '/ws')
    await waitFor(() => (requests().length >= curls ? true : undefined), `${curls} requests in the access log`)
    const failed = requests().filter((request) => request.status >= 400).map((r) => `${r.method} ${r.path} ${r.status}`)
    expect(failed, runs.map((run) => `${run.command.text}\n→ ${run.stdout}`).join('\n')).toEqual([])
    expect(requests().map((r) => `${r.method} ${r.path}`), 'one request per curl').toHaveLength(curls)
  }

  private async makeFilesFor(command: string): Promise<void> {
    for (const [, name = ''] of command.matchAll(/=@([\w.-]+)/g)) {
      await writeFile(join(this.dir, name), FILE_CONTENTS[name.split('.').at(-1) ?? ''] ?? `${name}\n`)
    }
  }
}

/**
 * Which frame a comment means: the sender's answers carry its `ref` and `room`; what others get names the
 * sender as its user, and a message has the text sent. Keeps an older frame from passing for a newer one.
 */
const correlated = (expected: Expected, sender: string, command: Record<string, unknown>) => (frame: ServerFrame): boolean => {
  const fields = frame as unknown as Record<string, unknown> & { user?: { username: string } }
  if (expected.who === sender) {
    if (ANSWERS.has(frame.type) && command['ref'] !== undefined && fields['ref'] !== command['ref']) return false
    return typeof command['room'] !== 'string' || typeof fields['room'] !== 'string' || fields['room'] === command['room']
  }
  if (fields.user !== undefined && fields.user.username !== sender) return false
  return frame.type !== 'message' || typeof command['text'] !== 'string' || fields['text'] === command['text']
}

/** The subprotocol the server picks when a client offers `protocol` (wscat's `-s`); ChatClient offers none. */
const subprotocolOf = (url: string, protocol: string, headers: Record<string, string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [protocol], { headers })
    socket.once('open', () => {
      resolve(socket.protocol)
      socket.close()
    })
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    socket.once('error', reject)
  })
