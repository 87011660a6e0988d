import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ServerFrame, type PublicUser } from '../../src/core/protocol/server-frames.js'
import { checkServerFrame } from '../published-specs.js'
import { postgresForTests } from '../postgres/test-database.js'
import { redisForTests } from '../redis/test-redis.js'
import { sharedChat, type SharedChat } from '../cluster/shared-chat.js'
import { register, startTestServer, waitFor, type Registered, type TestServer } from './helpers.js'

// Issue 17 (docs/big-rooms.md) over real sockets: protocol version 2 (`sala.v2`) pages the member list
// (`joined` gives the first page and a cursor, `members` the rest) and gathers arrivals and departures in
// `presence` frames, while version-1 connections in the same rooms keep `user_joined` / `user_left` and
// whole lists. MEMBER_PAGE is 10 here, so a room of a few dozen has several pages, and a crowd arriving at
// once is a window of more changes than a page: a `presence` reset. Runs on SQLite and on
// PostgreSQL (the sala-postgres project); the cluster case at the end on PostgreSQL and Redis.

const MEMBER_PAGE = 10
const ROOMS = ['lobby', 'first-page', 'paging', 'typists', 'batched', 'versions', 'converge', 'order', 'errors', 'elsewhere', 'burst']

type Version = 'v1' | 'v2' | 'none'
const SUBPROTOCOLS: Record<Version, string[]> = { v1: ['sala.v1'], v2: ['sala.v2', 'sala.v1'], none: [] }

type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>

/** Every frame any test's socket received that the codecs or asyncapi.yaml refuse, checked after each test. */
const refused: string[] = []
/** Every presence frame any test's socket received naming more than a page of users (a reset is due instead). */
const oversized: string[] = []
/** Every socket a test opened, closed after it. */
const opened: Member[] = []

/**
 * One connection of a user, speaking the version it offered. Keeps every frame in arrival order, and folds
 * them into the member list the client would show: a `joined` starts it, `members` pages add to it,
 * `presence` frames (version 2) or `user_joined` / `user_left` (version 1) change it. A `presence` reset
 * starts it again, as a `joined` does, and the connection pages on from the reset's cursor to the end, as a
 * reader scrolling down would; a page asked for before a `joined` or a reset is not added when it comes
 * (its refs carry the view they were asked for).
 */
class Member {
  readonly frames: ServerFrame[] = []
  /** The room the client believes it is in, and who it believes is there (by username). */
  room: string | undefined
  readonly view = new Map<string, PublicUser>()
  /** The latest `count` a joined, members or presence frame gave. */
  count: number | undefined
  private readonly taken = new Set<number>()
  /** Which view this is: a `joined` or a reset starts a new one. */
  private epoch = 0
  private asked = 0
  private wakers: Array<() => void> = []

  private constructor(
    readonly user: Registered,
    readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => {
      const text = data.toString()
      const frame: unknown = JSON.parse(text)
      const problem = checkServerFrame(text) ?? (ServerFrame.is(frame) ? undefined : 'refused by the ServerFrame codec')
      if (problem !== undefined) refused.push(`${problem}: ${text.slice(0, 300)}`)
      if (ServerFrame.is(frame) && frame.type === 'presence' && frame.joins.length + frame.leaves.length > MEMBER_PAGE) oversized.push(text.slice(0, 300))
      if (ServerFrame.is(frame)) {
        this.frames.push(frame)
        this.fold(frame)
      }
      this.wake()
    })
    socket.on('close', () => this.wake())
  }

  static async connect(server: Pick<TestServer, 'wsUrl'>, user: Registered, version: Version): Promise<Member> {
    const socket = new WebSocket(server.wsUrl, SUBPROTOCOLS[version], { headers: { Authorization: `Bearer ${user.token}` } })
    const member = new Member(user, socket)
    opened.push(member)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    await member.next('welcome')
    return member
  }

  get username(): string {
    return this.user.username
  }

  send(command: unknown): void {
    this.socket.send(JSON.stringify(command))
  }

  /** The first frame of `type` matching, not taken by an earlier call; waits for it. */
  async next<T extends ServerFrame['type']>(type: T, match: (frame: Frame<T>) => boolean = () => true, timeoutMs = 5000): Promise<Frame<T>> {
    const index = await this.until(() => {
      const found = this.frames.findIndex((f, i) => !this.taken.has(i) && f.type === type && match(f as Frame<T>))
      return found === -1 ? undefined : found
    }, `a ${type} frame`, timeoutMs)
    this.taken.add(index)
    return this.frames[index] as Frame<T>
  }

  /** Every frame of `type` received so far, in order, taken or not. */
  all<T extends ServerFrame['type']>(type: T): Array<Frame<T>> {
    return this.frames.filter((f): f is Frame<T> => f.type === type)
  }

  async join(room: string): Promise<Frame<'joined'>> {
    const ref = `join-${room}-${this.frames.length}`
    this.send({ type: 'join', room, ref })
    return this.next('joined', (f) => f.ref === ref)
  }

  /** Asks for the pages after `cursor` until none remain; the pages, in order. */
  async pagesAfter(cursor: string | undefined): Promise<Array<Frame<'members'>>> {
    const pages: Array<Frame<'members'>> = []
    for (let at = cursor; at !== undefined; at = pages.at(-1)?.cursor) {
      const ref = this.ask('page', at)
      pages.push(await this.next('members', (f) => f.ref === ref))
    }
    return pages
  }

  /** Waits until the member list this connection shows is exactly `usernames`, with that count. */
  async sees(usernames: Iterable<string>, what: string, timeoutMs = 10_000): Promise<void> {
    const expected = [...usernames].sort()
    await this.until(() => (sameList(this.view.keys(), expected) && this.count === expected.length ? true : undefined), what, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}: ${this.username} sees ${JSON.stringify([...this.view.keys()].sort())} (count ${this.count}), not ${JSON.stringify(expected)}`)
    })
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close()
  }

  /** Asks for the page after `cursor` for the view as it is now; `kind` says who asked. The ref. */
  private ask(kind: 'page' | 'reset', cursor: string): string {
    const ref = `${kind}:${this.epoch}:${this.asked++}`
    this.send({ type: 'members', room: this.room, cursor, ref })
    return ref
  }

  private restart(room: string, users: ReadonlyArray<PublicUser>, count: number): void {
    this.room = room
    this.epoch++
    this.view.clear()
    for (const user of users) this.view.set(user.username, user)
    this.count = count
  }

  private fold(frame: ServerFrame): void {
    switch (frame.type) {
      case 'joined':
        this.restart(frame.room, frame.users, frame.count)
        return
      case 'members': {
        const [kind, epoch] = (frame.ref ?? '').split(':')
        // A page this view asked for, not one asked before a joined or a reset (nor a test's own request).
        if (frame.room !== this.room || epoch !== String(this.epoch)) return
        for (const user of frame.users) this.view.set(user.username, user)
        this.count = frame.count
        if (kind === 'reset' && frame.cursor !== undefined) this.ask('reset', frame.cursor)
        return
      }
      case 'presence':
        if (frame.room !== this.room) return
        if (frame.reset === true) {
          this.restart(frame.room, frame.joins, frame.count)
          if (frame.cursor !== undefined) this.ask('reset', frame.cursor)
          return
        }
        for (const user of frame.joins) this.view.set(user.username, user)
        for (const { user } of frame.leaves) this.view.delete(user.username)
        this.count = frame.count
        return
      case 'user_joined':
        if (frame.room === this.room) this.view.set(frame.user.username, frame.user)
        if (frame.room === this.room && this.count !== undefined) this.count++
        return
      case 'user_left':
        if (frame.room !== this.room) return
        if (frame.user.username === this.username) {
          this.room = undefined
          this.epoch++
          this.view.clear()
          this.count = undefined
          return
        }
        this.view.delete(frame.user.username)
        if (this.count !== undefined) this.count--
        return
      default:
        return
    }
  }

  private async until<A>(found: () => A | undefined, what: string, timeoutMs: number): Promise<A> {
    const deadline = Date.now() + timeoutMs
    for (let value = found(); ; value = found()) {
      if (value !== undefined) return value
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.username}: no ${what} within ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-4)).slice(0, 600)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wakers.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private wake(): void {
    for (const wake of this.wakers.splice(0)) wake()
  }
}

const sameList = (actual: Iterable<string>, expected: ReadonlyArray<string>): boolean => {
  const sorted = [...actual].sort()
  return sorted.length === expected.length && sorted.every((name, i) => name === expected[i])
}

const usernames = (users: ReadonlyArray<PublicUser>): string[] => users.map((u) => u.username)

/**
 * `n` users, registered a few at a time: the server hashes passwords in a small pool and answers 503 `busy`
 * when too many wait.
 */
const registerMany = async (server: Pick<TestServer, 'url'>, n: number): Promise<Registered[]> => {
  const users: Registered[] = []
  while (users.length < n) users.push(...(await Promise.all(Array.from({ length: Math.min(4, n - users.length) }, () => register(server)))))
  return users
}

/** New users, one connection each, speaking the versions given. */
const newMembers = async (server: TestServer, ...versions: ReadonlyArray<Version>): Promise<Member[]> =>
  Promise.all((await registerMany(server, versions.length)).map((user, i) => Member.connect(server, user, versions[i]!)))

/** `n` users, each connected with `version` and in `room`, one after another (so their arrival order is known). */
const fillRoom = async (server: TestServer, room: string, n: number, version: Version = 'v2'): Promise<Member[]> => {
  const members = await Promise.all((await registerMany(server, n)).map((user) => Member.connect(server, user, version)))
  for (const member of members) await member.join(room)
  return members
}

afterEach(() => {
  for (const member of opened.splice(0)) member.close()
  expect(refused.splice(0), 'frames the codecs or asyncapi.yaml refuse').toEqual([])
  expect(oversized.splice(0), 'presence frames naming more than a page').toEqual([])
})

describe('big rooms on one server (MEMBER_PAGE=10)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({
      MEMBER_PAGE: String(MEMBER_PAGE),
      ROOMS: ROOMS.map((id) => `${id}=${id}`).join(','),
      // join, leave, ping and members share this allowance; these tests page a lot.
      TYPING_RATE: '1000',
      MSG_RATE: '1000',
      MSG_BURST: '1000',
    })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('version 2: joined gives the count, the first page from the latest arrival back, and a cursor; version 1 gets everyone', async () => {
    const present = await fillRoom(server, 'first-page', 24)
    const [newcomer, old] = await newMembers(server, 'v2', 'v1')
    const joined = await newcomer!.join('first-page')
    expect(joined.count).toBe(25)
    // Latest arrival first: the newcomer, then those who came before, most recent first.
    expect(usernames(joined.users)).toEqual([newcomer!.username, ...present.map((m) => m.username).reverse().slice(0, MEMBER_PAGE - 1)])
    expect(joined.cursor).toEqual(expect.any(String))

    const whole = await old!.join('first-page')
    expect(whole.count).toBe(26)
    expect(whole.cursor).toBeUndefined()
    expect(usernames(whole.users).sort()).toEqual([...present, newcomer!, old!].map((m) => m.username).sort())
  })

  it('a room no larger than a page is listed whole in version 2, without a cursor', async () => {
    const present = await fillRoom(server, 'lobby', MEMBER_PAGE - 1)
    const [last] = await newMembers(server, 'v2')
    const joined = await last!.join('lobby')
    expect(joined).not.toHaveProperty('cursor')
    expect(joined.count).toBe(MEMBER_PAGE)
    expect(usernames(joined.users).sort()).toEqual([...present, last!].map((m) => m.username).sort())
  })

  it('paging with members from the joined cursor until none remains lists every member exactly once, in arrival order back', async () => {
    const present = await fillRoom(server, 'paging', 36)
    const [reader] = await newMembers(server, 'v2')
    const joined = await reader!.join('paging')
    const pages = await reader!.pagesAfter(joined.cursor)
    expect(pages.length).toBe(3)
    for (const page of pages) {
      expect(page.users.length).toBeLessThanOrEqual(MEMBER_PAGE)
      expect(page).toMatchObject({ room: 'paging', count: 37 })
    }
    expect(pages.at(-1)).not.toHaveProperty('cursor')
    const listed = [...usernames(joined.users), ...pages.flatMap((p) => usernames(p.users))]
    expect(listed).toEqual([reader!.username, ...present.map((m) => m.username).reverse()])
    expect(new Set(listed).size).toBe(37)

    // Without a cursor: the first page again, as joined gave it.
    reader!.send({ type: 'members', room: 'paging', ref: 'first' })
    const first = await reader!.next('members', (f) => f.ref === 'first')
    expect(first).toEqual({ type: 'members', room: 'paging', users: joined.users, count: 37, cursor: joined.cursor, ref: 'first' })
  })

  it('users typing come first on the first page, and again at their place: the union is still every member', async () => {
    const present = await fillRoom(server, 'typists', 25)
    // Two early arrivals type: far from the first page by arrival, on it as typists.
    const typists = [present[1]!, present[3]!]
    for (const typist of typists) typist.send({ type: 'typing_start' })
    const [reader] = await newMembers(server, 'v2')
    // Typing reaches the members after the server has it: wait until another member hears both.
    for (const typist of typists) await present[0]!.next('typing', (f) => f.user.username === typist.username && f.typing)
    const joined = await reader!.join('typists')
    expect(usernames(joined.typing).sort()).toEqual(typists.map((t) => t.username).sort())
    expect(usernames(joined.users).slice(0, 2)).toEqual(typists.map((t) => t.username).sort())
    expect(joined.users.length).toBe(MEMBER_PAGE)
    const pages = await reader!.pagesAfter(joined.cursor)
    const listed = [...usernames(joined.users), ...pages.flatMap((p) => usernames(p.users))]
    expect(new Set(listed)).toEqual(new Set([reader!, ...present].map((m) => m.username)))
    for (const typist of typists) expect(listed.filter((name) => name === typist.username).length).toBe(2)
  })

  it('many arrivals reach a version-2 member in far fewer presence frames of at most a page each; a version-1 member gets one user_joined each', async () => {
    // The version-1 watcher offers no subprotocol at all, as clients did before versions existed.
    const [watcher, oldWatcher] = await newMembers(server, 'v2', 'none')
    await watcher!.join('batched')
    await oldWatcher!.join('batched')
    const arrivals = 30
    const newcomers = await newMembers(server, ...Array.from({ length: arrivals }, (): Version => 'v2'))
    // All at once, as a crowd arrives.
    for (const newcomer of newcomers) newcomer.send({ type: 'join', room: 'batched' })
    const everyone = [watcher!, oldWatcher!, ...newcomers].map((m) => m.username)
    // Version 2 applies the frames and, after a reset (a window of more than a page), pages on from its cursor.
    await watcher!.sees(everyone, 'every arrival')
    await oldWatcher!.sees(everyone, 'every arrival, one by one')

    const presence = watcher!.all('presence')
    const named = presence.filter((f) => f.reset !== true).flatMap((f) => usernames(f.joins))
    // Each arrival is named once in its window's frame, unless that window was sent as the first page again.
    expect(new Set(named).size).toBe(named.length)
    // The watchers' own arrivals too: a presence frame goes to every version-2 member, the arrival included.
    if (presence.every((f) => f.reset !== true)) expect(named.sort()).toEqual([...everyone].sort())
    expect(presence.flatMap((f) => f.leaves)).toEqual([])
    expect(presence.length, `${presence.length} presence frames for ${arrivals} arrivals`).toBeLessThanOrEqual(arrivals / 3)
    expect(presence.at(-1)?.count).toBe(arrivals + 2)
    expect(watcher!.all('user_joined')).toEqual([])

    expect(oldWatcher!.all('presence')).toEqual([])
    expect(usernames(oldWatcher!.all('user_joined').map((f) => f.user)).sort()).toEqual(newcomers.map((m) => m.username).sort())
  })

  it('a window of more arrivals than a page is a reset: the first page as it stands, and a cursor that pages the rest', async () => {
    const [watcher] = await newMembers(server, 'v2')
    await watcher!.join('burst')
    const arrived: Member[] = [watcher!]
    const reset = () => watcher!.all('presence').find((f) => f.reset === true)
    // A window lasts 50 ms from its first change: a crowd sent at once lands in one but on a slow machine.
    for (let round = 0; round < 5 && reset() === undefined; round++) {
      const crowd = await newMembers(server, ...Array.from({ length: 2 * MEMBER_PAGE + 5 }, (): Version => 'v2'))
      for (const newcomer of crowd) newcomer.send({ type: 'join', room: 'burst' })
      arrived.push(...crowd)
      await watcher!.sees(arrived.map((m) => m.username), `crowd ${round}, through its resets`)
    }
    const first = reset()
    expect(first, 'a reset after five crowds').toMatchObject({ type: 'presence', room: 'burst', leaves: [], reset: true, cursor: expect.any(String) })
    // A room larger than a page: a full first page, of people who are there.
    expect(first!.joins.length).toBe(MEMBER_PAGE)
    const names = arrived.map((m) => m.username)
    expect(names).toEqual(expect.arrayContaining(usernames(first!.joins)))

    // No one has left since, and later arrivals sit before its cursor: its pages list the rest of the room
    // as the reset found it, each once.
    const pages = await watcher!.pagesAfter(first!.cursor)
    const listed = [...usernames(first!.joins), ...pages.flatMap((p) => usernames(p.users))]
    expect(new Set(listed).size).toBe(listed.length)
    expect(listed.length).toBe(first!.count)
    expect(names).toEqual(expect.arrayContaining(listed))
    await watcher!.sees(names, 'the room')
  })

  it('version 1 and version 2 side by side: each hears arrivals and departures its own way, and the leaver’s other tabs hear user_left', async () => {
    const present = await fillRoom(server, 'versions', 12, 'v1')
    const [modern, caio] = await registerMany(server, 2)
    const v2 = await Member.connect(server, modern!, 'v2')
    const v2Joined = await v2.join('versions')
    expect(v2Joined.users.length).toBe(MEMBER_PAGE)
    await v2.pagesAfter(v2Joined.cursor)
    const old = present[0]!

    // Caio arrives with three tabs, two of them version 2 (a new tab follows the user into the room).
    const caioV2 = await Member.connect(server, caio!, 'v2')
    const caioJoined = await caioV2.join('versions')
    expect(caioJoined.count).toBe(14)
    const [caioOtherV2, caioV1] = [await Member.connect(server, caio!, 'v2'), await Member.connect(server, caio!, 'v1')]
    expect(await caioOtherV2.next('joined')).toMatchObject({ room: 'versions', count: 14, cursor: expect.any(String) })
    const followed = await caioV1.next('joined')
    expect(followed).toMatchObject({ room: 'versions', count: 14 })
    expect(followed.users.length).toBe(14)
    expect(followed).not.toHaveProperty('cursor')

    expect(await old.next('user_joined', (f) => f.user.username === caio!.username)).toMatchObject({ room: 'versions' })
    await v2.next('presence', (f) => usernames(f.joins).includes(caio!.username))

    caioV2.send({ type: 'leave' })
    expect(await old.next('user_left', (f) => f.user.username === caio!.username)).toMatchObject({ reason: 'left' })
    const gone = await v2.next('presence', (f) => f.leaves.some((l) => l.user.username === caio!.username))
    expect(gone.leaves.find((l) => l.user.username === caio!.username)).toEqual({ user: { username: caio!.username, name: caio!.username.toUpperCase() }, reason: 'left' })
    expect(gone.count).toBe(13)
    // The user's other tabs, whatever they speak, hear that they left; the one that asked needs no reply.
    for (const tab of [caioOtherV2, caioV1]) expect(await tab.next('user_left', (f) => f.user.username === caio!.username)).toMatchObject({ room: 'versions', reason: 'left' })
    expect(caioV2.all('user_left')).toEqual([])

    const everyone = [...present, v2].map((m) => m.username)
    await v2.sees(everyone, 'the room after caio left')
    await old.sees(everyone, 'the room after caio left')
    expect(v2.all('user_joined')).toEqual([])
    expect(v2.all('user_left')).toEqual([])
    expect(old.all('presence')).toEqual([])
  })

  it('a version-2 member’s view (first page, pages, presence) converges to the room while people come and go during the paging', async () => {
    const present = await fillRoom(server, 'converge', 16)
    const [watcher, oldWatcher] = await newMembers(server, 'v2', 'v1')
    const joined = await watcher!.join('converge')
    await oldWatcher!.join('converge')
    const newcomers = await newMembers(server, ...Array.from({ length: 8 }, (): Version => 'v2'))
    const [leaver, disconnecter, mover, stayer] = [present[2]!, present[8]!, present[12]!, present[15]!]
    const comeAndGo = newcomers.at(-1)!

    const changes = async () => {
      for (const newcomer of newcomers.slice(0, -1)) newcomer.send({ type: 'join', room: 'converge' })
      leaver.send({ type: 'leave' })
      disconnecter.close()
      mover.send({ type: 'join', room: 'lobby' })
      // In and out, quickly: within one window, or over two.
      await comeAndGo.join('converge')
      comeAndGo.send({ type: 'leave' })
      // A leave has no reply; the pong behind it comes once it has been handled.
      comeAndGo.send({ type: 'ping', ref: 'after-leave' })
      await comeAndGo.next('pong', (f) => f.ref === 'after-leave')
    }
    await Promise.all([watcher!.pagesAfter(joined.cursor), changes()])

    const gone = new Set([leaver, disconnecter, mover, comeAndGo].map((m) => m.username))
    const truth = [...present, watcher!, oldWatcher!, ...newcomers].map((m) => m.username).filter((name) => !gone.has(name))
    await watcher!.sees(truth, 'the room after the changes')
    await oldWatcher!.sees(truth, 'the room after the changes')
    expect(truth).toContain(stayer.username)

    // Each departure is named with its reason, unless its window held more than a page of changes (the
    // eight arrivals and four departures often do) and was sent as a reset, which names no one gone.
    const reasons = new Map(watcher!.all('presence').flatMap((f) => f.leaves.map((l) => [l.user.username, l.reason] as const)))
    const reset = watcher!.all('presence').some((f) => f.reset === true)
    for (const [gone, reason] of [[leaver, 'left'], [disconnecter, 'disconnected'], [mover, 'moved']] as const) {
      if (!reset || reasons.has(gone.username)) expect(reasons.get(gone.username), gone.username).toBe(reason)
    }
  })

  it('a message or typing from someone who just arrived comes after a presence frame listing them', async () => {
    const [watcher] = await fillRoom(server, 'order', 1)
    for (let round = 0; round < 5; round++) {
      const [talker, typist] = await newMembers(server, 'v2', 'v1')
      talker!.send({ type: 'join', room: 'order' })
      talker!.send({ type: 'message', text: `oi ${round}` })
      typist!.send({ type: 'join', room: 'order' })
      typist!.send({ type: 'typing_start' })
      const message = await watcher!.next('message', (f) => f.text === `oi ${round}`)
      const typing = await watcher!.next('typing', (f) => f.user.username === typist!.username && f.typing)
      const arrivalOf = (username: string) => watcher!.frames.findIndex((f) => f.type === 'presence' && usernames(f.joins).includes(username))
      expect(arrivalOf(talker!.username), `round ${round}: the talker's arrival`).toBeGreaterThanOrEqual(0)
      expect(arrivalOf(talker!.username)).toBeLessThan(watcher!.frames.indexOf(message))
      expect(arrivalOf(typist!.username), `round ${round}: the typist's arrival`).toBeGreaterThanOrEqual(0)
      expect(arrivalOf(typist!.username)).toBeLessThan(watcher!.frames.indexOf(typing))
    }
  })

  it('members answers not_in_room for another room or no room, and bad_request for a cursor the server never gave', async () => {
    const [user] = await registerMany(server, 1)
    const member = await Member.connect(server, user!, 'v2')
    member.send({ type: 'members', room: 'errors', ref: 'nowhere' })
    expect(await member.next('error', (f) => f.ref === 'nowhere')).toMatchObject({ code: 'not_in_room' })
    await member.join('errors')
    for (const room of ['lobby', 'no-such-room']) {
      member.send({ type: 'members', room, ref: `other-${room}` })
      expect(await member.next('error', (f) => f.ref === `other-${room}`)).toMatchObject({ code: 'not_in_room' })
    }
    for (const cursor of ['abc', '-1', '01', '1.5', '', 7]) {
      const ref = `cursor-${String(cursor)}`
      member.send({ type: 'members', room: 'errors', cursor, ref })
      const refusal = await member.next('error', (f) => f.ref === ref)
      expect(refusal, JSON.stringify(cursor)).toMatchObject({ code: 'bad_request', details: [expect.objectContaining({ path: 'cursor' })] })
    }
    // A version-1 connection may ask too.
    const old = await Member.connect(server, user!, 'v1')
    await old.next('joined')
    old.send({ type: 'members', room: 'errors', ref: 'v1' })
    expect(await old.next('members', (f) => f.ref === 'v1')).toEqual({ type: 'members', room: 'errors', users: [{ username: user!.username, name: user!.username.toUpperCase() }], count: 1, ref: 'v1' })
  })
})

describe('members draws on the join/leave/ping allowance', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ MEMBER_PAGE: String(MEMBER_PAGE) })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('a flood of members commands is refused rate_limited with the ref', async () => {
    const [user] = await registerMany(server, 1)
    const member = await Member.connect(server, user!, 'v2')
    await member.join('sala-1')
    for (let i = 0; i < 25; i++) member.send({ type: 'members', room: 'sala-1', ref: `m${i}` })
    const refusal = await member.next('error', (f) => f.code === 'rate_limited')
    expect(refusal).toMatchObject({ ref: expect.stringMatching(/^m\d+$/), retryAfterMs: expect.any(Number) })
    expect(member.all('members').length).toBeGreaterThan(0)
  })
})

// Two servers sharing one chat (PostgreSQL and Redis). Once is enough: the sala-postgres project runs this
// file again, on the same engines.
const postgres = await postgresForTests()
const redis = await redisForTests()
describe.skipIf(!postgres.available || !redis.available || process.env['SALA_TEST_ENGINE'] === 'postgres')('big rooms across two servers', () => {
  let chat: SharedChat | undefined
  let servers: TestServer[] = []
  beforeAll(async () => {
    chat = await sharedChat({ MEMBER_PAGE: String(MEMBER_PAGE), TYPING_RATE: '1000', ROOMS: ROOMS.map((id) => `${id}=${id}`).join(',') })
    servers = await Promise.all([chat.start(), chat.start()])
  }, 60_000)
  afterAll(async () => {
    await chat?.stop()
  })

  it('count is cluster-wide in joined, presence and members; pages list the users of both servers', { timeout: 60_000 }, async () => {
    const [one, two] = servers as [TestServer, TestServer]
    const [ana, bia, caio] = [await register(one), await register(two), await register(one)]
    const anaOnOne = await Member.connect(one, ana, 'v2')
    await anaOnOne.join('elsewhere')
    const biaOnTwo = await Member.connect(two, bia, 'v2')
    // The servers find each other over Redis; until then bia may arrive before ana is known on two.
    await waitFor(async () => ((await biaOnTwo.join('elsewhere')).count === 2 ? true : undefined), 'ana counted on the other server')
    await anaOnOne.sees([ana.username, bia.username], 'bia, who is on the other server')

    // A crowd on the second server: the first server's members hear it gathered, counted there.
    const crowd = await Promise.all((await registerMany(two, 12)).map((user) => Member.connect(two, user, 'v2')))
    for (const member of crowd) member.send({ type: 'join', room: 'elsewhere' })
    const everyone = [anaOnOne, biaOnTwo, ...crowd].map((m) => m.username)
    await anaOnOne.sees(everyone, 'the crowd on the other server')
    expect(anaOnOne.all('presence').length).toBeLessThan(crowd.length)
    await biaOnTwo.sees(everyone, 'the crowd on its own server')

    const caioOnOne = await Member.connect(one, caio, 'v2')
    const joined = await caioOnOne.join('elsewhere')
    expect(joined.count).toBe(everyone.length + 1)
    expect(joined.users.length).toBe(MEMBER_PAGE)
    const pages = await caioOnOne.pagesAfter(joined.cursor)
    expect(pages.every((p) => p.count === everyone.length + 1)).toBe(true)
    expect(new Set([...usernames(joined.users), ...pages.flatMap((p) => usernames(p.users))])).toEqual(new Set([...everyone, caio.username]))

    biaOnTwo.close()
    const left = await anaOnOne.next('presence', (f) => f.leaves.some((l) => l.user.username === bia.username))
    expect(left.leaves.find((l) => l.user.username === bia.username)?.reason).toBe('disconnected')
    await anaOnOne.sees([...everyone.filter((name) => name !== bia.username), caio.username], 'the room after bia left')
  })
})
