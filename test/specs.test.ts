import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { LoginRequest, RegisterRequest } from '../src/core/accounts.js'
import { decodeClientFrame, clientCommandCodecs } from '../src/core/protocol/client-commands.js'
import { ErrorCode, serverFrameCodecs } from '../src/core/protocol/server-frames.js'
import { createRoutes } from '../src/shell/http/routes.js'
import { createGuards } from '../src/shell/http/guards.js'
import { createLoginGuard } from '../src/shell/http/login-guard.js'
import { createUploadRoutes } from '../src/shell/uploads/routes.js'
import { createDocsRoutes } from '../src/shell/docs/routes.js'
import { createClientRoutes } from '../src/shell/client-routes.js'
import type { RoomStore, UploadStore, UserStore } from '../src/adapters/stores.js'
import { createRoomRoutes } from '../src/shell/http/room-routes.js'
import { AddMemberRequest, CreateRoomRequest, UpdateRoomRequest } from '../src/core/rooms.js'
import type { UploadBudget } from '../src/shell/uploads/budget.js'
import { realSystem } from '../src/adapters/system.js'
import { jsonLogger } from '../src/adapters/logger.js'
import type { Accounts } from '../src/shell/accounts.js'
import type { ChatRuntime } from '../src/shell/chat-runtime.js'
import type { Config } from '../src/core/config.js'
import { createProxyTrust } from '../src/shell/http/proxy.js'
import { createRateGuard } from '../src/shell/http/rate-guard.js'
import { ratePer } from '../src/core/keyed-limit.js'

// The specs are part of the product: these tests fail when the code and the documents drift apart.

interface Example {
  readonly payload: Record<string, unknown>
}
interface MessageSpec {
  readonly examples?: ReadonlyArray<Example>
}
interface AsyncApi {
  readonly operations: Record<string, { action: string; messages: ReadonlyArray<{ $ref: string }> }>
  readonly channels: { chat: { messages: Record<string, { $ref: string }> } }
  readonly components: { messages: Record<string, MessageSpec> }
}

const asyncapi = parse(readFileSync('asyncapi.yaml', 'utf8')) as AsyncApi
const openapi = parse(readFileSync('openapi.yaml', 'utf8')) as {
  openapi: string
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> } }>>
}

/** Messages of one operation (`receive`: what the server receives from clients). */
const messagesOf = (action: 'receive' | 'send'): MessageSpec[] => {
  const operation = Object.values(asyncapi.operations).find((op) => op.action === action)
  if (operation === undefined) throw new Error(`no ${action} operation`)
  return operation.messages.map(({ $ref }) => {
    const channelKey = $ref.split('/').at(-1)!
    const componentRef = asyncapi.channels.chat.messages[channelKey]!.$ref
    return asyncapi.components.messages[componentRef.split('/').at(-1)!]!
  })
}

const examplesOf = (messages: MessageSpec[]) => messages.flatMap((m) => m.examples ?? [])

describe('asyncapi.yaml', () => {
  it('is AsyncAPI 3', () => {
    expect((parse(readFileSync('asyncapi.yaml', 'utf8')) as { asyncapi: string }).asyncapi).toMatch(/^3\./)
  })

  it('every client command example decodes with the server’s own decoder', () => {
    const examples = examplesOf(messagesOf('receive'))
    expect(examples.length).toBeGreaterThan(0)
    for (const { payload } of examples) {
      expect(decodeClientFrame(JSON.stringify(payload)), JSON.stringify(payload)).toSatisfy(E.isRight)
    }
  })

  it('every server frame example decodes with the frame codecs', () => {
    const examples = examplesOf(messagesOf('send'))
    for (const { payload } of examples) {
      const codec = serverFrameCodecs[payload['type'] as keyof typeof serverFrameCodecs]
      expect(codec, `codec for ${String(payload['type'])}`).toBeDefined()
      expect(codec.decode(payload), JSON.stringify(payload)).toSatisfy(E.isRight)
    }
  })

  it('names each direction’s messages apart, keeping the wire types', () => {
    const names = Object.values(asyncapi.components.messages).map((m) => (m as { name?: string }).name)
    expect(new Set(names).size).toBe(names.length)
    const titles = Object.values(asyncapi.components.messages).map((m) => (m as { title?: string }).title)
    expect(new Set(titles).size).toBe(titles.length)
  })

  it('MessageFrame spells out exactly the fields of ChatMessage, plus type', () => {
    const schemas = (asyncapi.components as unknown as { schemas: Record<string, { properties: Record<string, unknown> }> }).schemas
    const { type, ...fields } = schemas['MessageFrame']!.properties
    expect(type).toEqual({ const: 'message' })
    expect(fields).toEqual(schemas['ChatMessage']!.properties)
  })

  it('documents every command and every frame type the code knows, with an example', () => {
    const documented = (action: 'receive' | 'send') => new Set(examplesOf(messagesOf(action)).map((e) => e.payload['type']))
    expect([...documented('receive')].sort()).toEqual(Object.keys(clientCommandCodecs).sort())
    expect([...documented('send')].sort()).toEqual(Object.keys(serverFrameCodecs).sort())
  })
})

describe('openapi.yaml', () => {
  it('is OpenAPI 3.1', () => {
    expect(openapi.openapi).toMatch(/^3\.1\./)
  })

  it('documents exactly the routes the server answers, with their methods', async () => {
    // Stubs: the handlers are listed, never called.
    const guards = createGuards({} as Accounts, { allowedOrigins: [], proxy: createProxyTrust({ type: 'none' }) })
    const routes = {
      ...createRoutes({ accounts: {} as Accounts, guards, loginGuard: createLoginGuard(Date.now), signUpGuard: createRateGuard(ratePer(1, 1000), Date.now), proxy: createProxyTrust({ type: 'none' }), runtime: {} as ChatRuntime, config: {} as Config, now: Date.now, readiness: async () => [] }),
      ...createRoomRoutes({ guards, rooms: {} as RoomStore, users: {} as UserStore, runtime: {} as ChatRuntime, system: realSystem, configured: [], limits: { roomsPerDay: 1, maxMembers: 2 }, invitations: createRateGuard(ratePer(1, 1000), Date.now) }),
      ...createUploadRoutes({ guards, uploads: {} as UploadStore, budget: {} as UploadBudget, dir: '', limits: { maxFileBytes: 1, maxFiles: 1 }, newName: realSystem.newUploadName, now: Date.now, log: jsonLogger('silent') }),
      ...(await createDocsRoutes('.', jsonLogger('silent'))),
      ...(await createClientRoutes('.', jsonLogger('silent'))),
    }
    const served = Object.entries(routes).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`))
    // The router answers HEAD wherever it answers GET, so a documented HEAD needs a GET beside it.
    const operations = Object.entries(openapi.paths).map(([path, item]) => [path, Object.keys(item).filter((key) => key !== 'parameters')] as const)
    for (const [path, methods] of operations) if (methods.includes('head')) expect(methods, path).toContain('get')
    const documented = operations.flatMap(([path, methods]) => methods.filter((m) => m !== 'head').map((m) => `${m.toUpperCase()} ${path}`))
    expect(documented.sort()).toEqual(served.sort())
  })

  it('request examples decode with the server’s own decoders', () => {
    const examples = (path: string, method = 'post') =>
      Object.values(openapi.paths[path]?.[method]?.requestBody?.content['application/json']?.examples ?? {}).map((e) => e.value)
    expect(examples('/auth/register').length).toBeGreaterThan(0)
    const decoders = [
      [RegisterRequest, examples('/auth/register')],
      [LoginRequest, examples('/auth/login')],
      [CreateRoomRequest, examples('/rooms')],
      [UpdateRoomRequest, examples('/rooms/{id}', 'patch')],
      [AddMemberRequest, examples('/rooms/{id}/members')],
    ] as const
    for (const [decoder, values] of decoders) {
      expect(values.length, decoder.name).toBeGreaterThan(0)
      for (const value of values) expect(decoder.decode(value), JSON.stringify(value)).toSatisfy(E.isRight)
    }
  })
})

/** Every .ts file under `dir`, with its text. */
const sources = (dir: string): Array<{ path: string; text: string }> =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({ path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }))

/**
 * The `status code` pairs the HTTP side can answer with, read from the sources: `httpError(413,
 * 'payload_too_large'`, an upgrade's `refuse(503, 'shutting_down'`, `createHttpError(507, …, { code:
 * 'storage_full', expose: true`, a literal `status: 416 … code: 'range_not_satisfiable'`, and calls of a
 * wrapper such as `retryLater('rate_limited'` whose body is `httpError(429, code`. A 5xx other than 503
 * that is not exposed reaches the client as `internal_error`, as sendError does.
 */
const httpErrorsInSources = (): Set<string> => {
  const pairs = new Set<string>()
  const add = (status: number, code: string, exposed = false) =>
    pairs.add(`${status} ${status >= 500 && status !== 503 && !exposed ? 'internal_error' : code}`)
  for (const { text } of [...sources('src/shell'), ...sources('src/adapters')]) {
    for (const m of text.matchAll(/\b(?:httpError|refuse|retryLater)\(\s*(\d{3}),\s*'([a-z_]+)'/g)) add(Number(m[1]), m[2]!, m[0].startsWith('refuse'))
    for (const m of text.matchAll(/createHttpError\(\s*(\d{3}),[^{]*\{([^}]*)\}/g)) {
      const code = /code:\s*'([a-z_]+)'/.exec(m[2]!)?.[1]
      if (code !== undefined) add(Number(m[1]), code, /expose:\s*true/.test(m[2]!))
    }
    for (const m of text.matchAll(/status:\s*(\d{3}),[^\n]*?code:\s*'([a-z_]+)'/g)) add(Number(m[1]), m[2]!)
    for (const wrapper of text.matchAll(/const (\w+) = \((\w+): string[^)]*\)[^{]*\{[^}]*?httpError\((\d{3}), (\w+),/g)) {
      if (wrapper[2] !== wrapper[4]) continue
      for (const call of text.matchAll(new RegExp(`\\b${wrapper[1]}\\(\\s*'([a-z_]+)'`, 'g'))) add(Number(wrapper[3]), call[1]!)
    }
  }
  return pairs
}

type Node = Record<string, unknown>
/** Follows a local `$ref` (`#/components/...`) in openapi.yaml. */
const resolve = (node: Node): Node => {
  const ref = node['$ref']
  if (typeof ref !== 'string') return node
  return resolve(ref.slice(2).split('/').reduce<Node>((at, key) => at[key] as Node, openapi as unknown as Node))
}

/** `status code` pairs documented per operation, from each JSON error body's `error.code` enum. */
const documentedHttpErrors = (): Map<string, Set<string>> => {
  const perOperation = new Map<string, Set<string>>()
  for (const [path, item] of Object.entries(openapi.paths as unknown as Record<string, Record<string, Node>>)) {
    for (const [method, operation] of Object.entries(item).filter(([key]) => key !== 'parameters')) {
      const pairs = new Set<string>()
      for (const [status, response] of Object.entries((operation['responses'] ?? {}) as Record<string, Node>)) {
        const content = (resolve(response)['content'] ?? {}) as Record<string, Node>
        const schema = content['application/json']?.['schema'] as Node | undefined
        if (schema === undefined) continue
        const error = ((resolve(schema)['properties'] as Record<string, Node> | undefined)?.['error'])
        const code = error === undefined ? undefined : (resolve(error)['properties'] as Record<string, Node>)['code']
        for (const value of (code?.['enum'] ?? []) as string[]) pairs.add(`${status} ${value}`)
      }
      perOperation.set(`${method.toUpperCase()} ${path}`, pairs)
    }
  }
  return perOperation
}

// Answers of the router itself, for requests that match no operation; openapi.yaml's description says them.
const ROUTER_ERRORS = ['400 malformed_path', '404 not_found', '405 method_not_allowed', '500 internal_error']

describe('error codes: the specs list exactly what the code can send', () => {
  it('every HTTP error code the sources send is documented with its status, and every documented one is sent', () => {
    const documented = new Set([...documentedHttpErrors().values()].flatMap((pairs) => [...pairs]))
    const sent = httpErrorsInSources()
    expect(sent.size).toBeGreaterThan(20)
    expect([...sent].filter((pair) => !documented.has(pair) && !ROUTER_ERRORS.includes(pair)).sort(), 'sent but not documented').toEqual([])
    expect([...documented].filter((pair) => !sent.has(pair)).sort(), 'documented but never sent').toEqual([])
  })

  it('every JSON error response of openapi.yaml has a code enum', () => {
    for (const [operation, pairs] of documentedHttpErrors()) {
      const item = (openapi.paths as unknown as Record<string, Record<string, Node>>)[operation.split(' ')[1]!]![operation.split(' ')[0]!.toLowerCase()]!
      const jsonErrors = Object.entries(item['responses'] as Record<string, Node>).filter(
        ([status, response]) => Number(status) >= 400 && (resolve(response)['content'] as Record<string, unknown> | undefined)?.['application/json'] !== undefined,
      )
      for (const [status] of jsonErrors) expect([...pairs].some((pair) => pair.startsWith(`${status} `)), `${operation} ${status}`).toBe(true)
    }
  })

  it('the WebSocket error codes in asyncapi.yaml are exactly those the core sends', () => {
    const schemas = (asyncapi.components as unknown as { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> }).schemas
    const documented = [...(schemas['ErrorFrame']!.properties['code']!.enum ?? [])].sort()
    const sent = new Set(sources('src/core').flatMap(({ text }) => [...text.matchAll(/errorFrame\(\s*'([a-z_]+)'/g)].map((m) => m[1]!)))
    expect(documented).toEqual([...sent].sort())
    expect(documented).toEqual(Object.keys(ErrorCode.keys).sort())
  })
})
