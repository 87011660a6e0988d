import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, postJson, register, startTestServer, type Registered, type TestServer } from '../integration/helpers.js'
import { expectStillServes } from './still-serves.js'

// Text that one engine stores or compares without a word and another refuses: PostgreSQL's text cannot
// hold NUL (22021) where SQLite takes it; a lone surrogate is not UTF-8 at all; some strings are just long.
// Whatever a client puts in any string field it can reach, the answer is a refusal or a miss (4xx, an
// `error` frame that is not internal_error), never a 5xx, never an error in the log, on either engine
// (this file runs in both projects).

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ MSG_RATE: '1000', MSG_BURST: '1000', TYPING_RATE: '1000', HISTORY_RATE: '1000' })
})
afterAll(async () => {
  await server.stop()
})

/** JSON source text of each hostile value (escapes kept, so a lone surrogate travels as `\ud800`). */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['a NUL inside', '"an\\u0000a"'],
  ['a NUL alone', '"\\u0000"'],
  ['a NUL after an e-mail', '"someone@example.com\\u0000"'],
  ['every C0 control', JSON.stringify(Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''))],
  ['a lone high surrogate', '"x\\ud800"'],
  ['a lone low surrogate', '"\\udc00x"'],
  ['noncharacters', '"\\uffff\\ufffe"'],
  ['10,000 characters', JSON.stringify('n'.repeat(10_000))],
]

/** The log lines at level error the server wrote from `from` on: a 5xx or a failed store always writes one. */
const errorsLogged = (from: number): string[] => server.logLines.slice(from).filter((line) => (JSON.parse(line) as { level?: string }).level === 'error')

/** A JSON body with `field` set to the raw JSON `value` and every other field as given. */
const bodyWith = (fields: Record<string, string>, field: string, value: string): string =>
  `{${Object.entries(fields)
    .map(([name, given]) => `${JSON.stringify(name)}:${name === field ? value : JSON.stringify(given)}`)
    .join(',')}}`

const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })

describe('hostile text in every string field of an HTTP body', () => {
  let ana: Registered
  beforeAll(async () => {
    ana = await register(server)
  })

  const bodies = (): ReadonlyArray<readonly [path: string, fields: Record<string, string>]> => [
    ['/auth/register', { name: 'Hostile', username: 'hostile1', email: 'hostile1@example.com', password: 'long enough pw' }],
    ['/auth/login', { username: ana.username, password: ana.password }],
  ]

  it.each(HOSTILE)('%s: refused, not found or taken, never a 5xx', async (_what, value) => {
    const from = server.logLines.length
    for (const [path, fields] of bodies()) {
      for (const field of Object.keys(fields)) {
        const response = await post(path, bodyWith(fields, field, value))
        const answer = (await response.json()) as { error?: { code: string } }
        // A value that passes (a name of noncharacters is a name) signs up: below 500 is what matters.
        expect({ path, field, status: response.status, code: answer.error?.code }).toMatchObject({ status: expect.toSatisfy((s: number) => s < 500) })
      }
    }
    expect(errorsLogged(from)).toEqual([])
  })

  it('a login by e-mail with a NUL after it is the same miss as any wrong login, and the real one still works', async () => {
    const login = await post('/auth/login', bodyWith({ username: `${ana.username}@example.com`, password: ana.password }, 'username', `"${ana.username}@example.com\\u0000"`))
    expect(login.status).toBe(401)
    expect((await postJson(`${server.url}/auth/login`, { username: ana.username, password: ana.password })).status).toBe(200)
  })
})

describe('hostile text in every string field of every WebSocket command', () => {
  // Each command with its string fields; `attachments` is a list of strings.
  const COMMANDS: ReadonlyArray<readonly [fields: Record<string, string>, field: string]> = [
    [{ type: 'join', room: 'sala-1' }, 'room'],
    [{ type: 'join', room: 'sala-1' }, 'since'],
    [{ type: 'join', room: 'sala-1' }, 'ref'],
    [{ type: 'leave' }, 'ref'],
    [{ type: 'message', text: 'hostile field' }, 'text'],
    [{ type: 'message', text: 'hostile field' }, 'clientId'],
    [{ type: 'message', text: 'hostile field' }, 'room'],
    [{ type: 'message', text: 'hostile field' }, 'ref'],
    [{ type: 'typing_start' }, 'ref'],
    [{ type: 'typing_stop' }, 'ref'],
    [{ type: 'history' }, 'before'],
    [{ type: 'history' }, 'ref'],
    [{ type: 'ping' }, 'ref'],
    [{ type: 'auth', token: 'x' }, 'token'],
  ]

  it.each(HOSTILE)('%s: an answer that is not internal_error, and the socket stays open', async (_what, value) => {
    const from = server.logLines.length
    const user = await register(server)
    const client = await ChatClient.connect(server, { token: user.token })
    await client.next('welcome')
    client.send({ type: 'join', room: 'sala-1' })
    await client.next('joined')
    // Frames are handled in order: once the pong after a probe is back, any answer to the probe is too.
    const answersTo = async (frame: string, n: number) => {
      client.send(frame)
      client.send({ type: 'ping', ref: `barrier-${n}` })
      await client.next('pong', (f) => f.ref === `barrier-${n}`)
      // A leave or a join may have moved us: back to the room, so the next probe meets the same state.
      client.send({ type: 'join', room: 'sala-1' })
    }
    let n = 0
    for (const [fields, field] of COMMANDS) await answersTo(bodyWith({ ...fields, ref: `probe-${n}` }, field, value), n++)
    await answersTo(`{"type":"message","text":"hostile attachment","attachments":[${value}],"ref":"probe-${n}"}`, n++)
    // Stored messages are answered when the store is done: one more, acknowledged, comes after them all.
    client.send({ type: 'message', text: 'the last one', ref: 'last' })
    await client.next('ack', (f) => f.ref === 'last')
    const internal = client.frames.filter((f) => f.type === 'error' && f.code === 'internal_error')
    expect(internal).toEqual([])
    // The attachment names no upload of this user, whatever it holds: refused as such.
    expect(client.frames.find((f) => f.type === 'error' && f.ref === `probe-${n - 1}`)).toMatchObject({ code: expect.toBeOneOf(['invalid_attachment', 'bad_request']) })
    expect(client.closed).toBeUndefined()
    client.close()
    expect(errorsLogged(from)).toEqual([])
    await expectStillServes(server)
  })
})
