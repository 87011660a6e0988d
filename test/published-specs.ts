import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { parse } from 'yaml'

// openapi.yaml and asyncapi.yaml as a client generated from them reads them: JSON Schema 2020-12, checked
// with ajv, never with our own io-ts codecs. Used for the specs' examples and for captured real traffic.

type Node = { readonly [key: string]: unknown }

export const openapi = parse(readFileSync('openapi.yaml', 'utf8')) as Node
export const asyncapi = parse(readFileSync('asyncapi.yaml', 'utf8')) as Node

const DOCUMENTS = { 'openapi.yaml': openapi, 'asyncapi.yaml': asyncapi } as const
type DocumentName = keyof typeof DOCUMENTS

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
for (const [name, document] of Object.entries(DOCUMENTS)) ajv.addSchema(document as object, name, undefined, false)

/** A JSON pointer from path segments (`~` and `/` escaped). */
export const pointer = (segments: ReadonlyArray<string | number>): string =>
  segments.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')

const compiled = new Map<string, ValidateFunction>()
/** The validator of the schema at `#<pointer>` in a document; its `$ref`s resolve inside that document. */
const validatorAt = (document: DocumentName, at: string): ValidateFunction => {
  const ref = `${document}#${at}`
  const known = compiled.get(ref)
  if (known !== undefined) return known
  const validate = ajv.compile({ $ref: ref })
  compiled.set(ref, validate)
  return validate
}

/** ajv's complaints, one line each: `/error/code must be equal to one of the allowed values (…)`. */
const explain = (validate: ValidateFunction): string =>
  (validate.errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ')

/** undefined when `value` matches the schema at `at`, else why not. */
export const check = (document: DocumentName, at: string, value: unknown): string | undefined => {
  const validate = validatorAt(document, at)
  return validate(value) ? undefined : explain(validate)
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The node at a local `$ref` (`#/components/...`), followed until it is not a `$ref`; with its pointer. */
const follow = (document: Node, node: Node, at: string): { node: Node; at: string } => {
  const ref = node['$ref']
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return { node, at }
  const target = ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((here, key) => (isNode(here) ? here[key] : undefined), document)
  if (!isNode(target)) throw new Error(`unresolved ${ref}`)
  return follow(document, target, ref.slice(1))
}

// ---- examples ---------------------------------------------------------------------------------------

export interface ExampleCheck {
  /** Where the example is, e.g. `openapi.yaml /paths/~1rooms/get/responses/200/content/application~1json/examples/rooms`. */
  readonly where: string
  /** undefined when the example matches its schema, else why not. */
  readonly problem: string | undefined
}

/**
 * Every example in openapi.yaml with the schema it illustrates: `examples` (inline or `$ref`) and
 * `example` beside a `schema` (media types, parameters, headers), and `example` inside a schema itself.
 */
const openapiExamples = (): ExampleCheck[] => {
  const found: ExampleCheck[] = []
  const visit = (node: unknown, path: ReadonlyArray<string | number>): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, [...path, i]))
    if (!isNode(node)) return
    const at = pointer(path)
    if (isNode(node['schema'])) {
      const schemaAt = `${at}/schema`
      if ('example' in node) found.push({ where: `openapi.yaml ${at}/example`, problem: check('openapi.yaml', schemaAt, node['example']) })
      for (const [name, example] of Object.entries(isNode(node['examples']) ? node['examples'] : {})) {
        const { node: resolved } = follow(openapi, example as Node, `${at}/examples/${name}`)
        if ('value' in resolved) found.push({ where: `openapi.yaml ${at}/examples/${name}`, problem: check('openapi.yaml', schemaAt, resolved['value']) })
      }
    } else if ('example' in node && ('type' in node || 'const' in node || 'enum' in node)) {
      found.push({ where: `openapi.yaml ${at}/example`, problem: check('openapi.yaml', at, node['example']) })
    }
    // Component examples are checked where they are used, against the schema that uses them.
    for (const [key, value] of Object.entries(node)) if (!(path.length === 1 && path[0] === 'components' && key === 'examples')) visit(value, [...path, key])
  }
  visit(openapi, [])
  return found
}

/** Every `examples[].payload` of every message in asyncapi.yaml, with the message's payload schema. */
const asyncapiExamples = (): ExampleCheck[] => {
  const messages = (asyncapi['components'] as Node)['messages'] as Node
  return Object.entries(messages).flatMap(([id, message]) => {
    const payloadAt = `/components/messages/${id}/payload`
    const examples = ((message as Node)['examples'] ?? []) as Node[]
    return examples.map((example, i) => ({
      where: `asyncapi.yaml /components/messages/${id}/examples/${i} (${String(example['name'])})`,
      problem: check('asyncapi.yaml', payloadAt, example['payload']),
    }))
  })
}

export const allExamples = (): ExampleCheck[] => [...openapiExamples(), ...asyncapiExamples()]

// ---- WebSocket frames -------------------------------------------------------------------------------

/** The messages of the operation with this action (`send`: the server's frames), by wire `type`, with the pointer to each payload schema. */
export const messagesByType = (action: 'send' | 'receive'): Map<string, string> => {
  const byType = new Map<string, string>()
  for (const operation of Object.values(asyncapi['operations'] as Node) as Node[]) {
    if (operation['action'] !== action) continue
    for (const ref of operation['messages'] as Node[]) {
      const { node: message, at } = follow(asyncapi, ref, '')
      const payload = follow(asyncapi, message['payload'] as Node, `${at}/payload`)
      const type = ((payload.node['properties'] as Node | undefined)?.['type'] as Node | undefined)?.['const']
      if (typeof type !== 'string') throw new Error(`${at}: the payload has no const type`)
      byType.set(type, payload.at)
    }
  }
  return byType
}

const serverFrames = messagesByType('send')

/** undefined when a frame the server sent is a documented server frame matching its schema, else why not. */
export const checkServerFrame = (text: string): string | undefined => {
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  const type = isNode(frame) ? frame['type'] : undefined
  const at = typeof type === 'string' ? serverFrames.get(type) : undefined
  if (at === undefined) return `no server frame of type ${JSON.stringify(type)} in asyncapi.yaml`
  const problem = check('asyncapi.yaml', at, frame)
  return problem === undefined ? undefined : `${String(type)}: ${problem}`
}

// ---- HTTP responses ---------------------------------------------------------------------------------

/** What an exchange is checked against: the operation the router would pick for it. */
interface Documented {
  readonly template: string
  readonly at: string
  readonly operation: Node
}

const paths = openapi['paths'] as Node
// Literal paths before templates, as the router matches them.
const templates = Object.keys(paths).sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
const templatePattern = (template: string): RegExp =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`)

const operationFor = (method: string, path: string): Documented | undefined => {
  const template = templates.find((t) => templatePattern(t).test(path))
  if (template === undefined) return undefined
  const item = paths[template] as Node
  // The router answers HEAD wherever it answers GET; a documented HEAD says more.
  const key = method === 'HEAD' && !('head' in item) ? 'get' : method.toLowerCase()
  const operation = item[key]
  return isNode(operation) ? { template, at: pointer(['paths', template, key]), operation } : undefined
}

// What openapi.yaml's description says any request may get besides its operation's answers.
const ROUTER_ERRORS = new Set(['404 not_found', '405 method_not_allowed'])
const PARSER_STATUSES = new Set([400, 408, 431])

const essence = (contentType: string | null): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase()
const mediaMatches = (documented: string, actual: string): boolean =>
  documented === '*/*' || documented === actual || (documented.endsWith('/*') && actual.startsWith(documented.slice(0, -1)))

export interface Exchange {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly contentType: string | null
  /** The body when it is JSON or empty; undefined when it was not recorded. */
  readonly body?: string
}

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/** A request no operation takes: only the router's 404/405 errors or the parser's empty answers fit. */
const checkUndocumented = (exchange: Exchange): string | undefined => {
  if (PARSER_STATUSES.has(exchange.status) && exchange.body === '') return undefined
  const parsed = exchange.body === undefined ? { ok: false as const } : parseJson(exchange.body)
  const code = parsed.ok && isNode(parsed.value) && isNode(parsed.value['error']) ? parsed.value['error']['code'] : undefined
  return ROUTER_ERRORS.has(`${exchange.status} ${String(code)}`) ? undefined : `no operation for ${exchange.method} ${exchange.path}, and ${exchange.status} ${String(code)} is not a router error`
}

/** undefined when a real response is one its operation documents (status, media type, JSON body), else why not. */
export const checkExchange = (exchange: Exchange): string | undefined => {
  const documented = operationFor(exchange.method, exchange.path.split('?')[0]!)
  if (documented === undefined) return checkUndocumented(exchange)
  const label = `${exchange.method} ${documented.template} ${exchange.status}`
  const responses = (documented.operation['responses'] ?? {}) as Node
  const declared = responses[String(exchange.status)] ?? responses['default']
  if (!isNode(declared)) return `${label}: status not documented`
  const { node: response, at } = follow(openapi, declared, `${documented.at}/responses/${exchange.status}`)
  const content = isNode(response['content']) ? response['content'] : {}
  const type = essence(exchange.contentType)
  // HEAD, 204 and 304 never have a body, whatever headers describe the representation.
  const emptyBody = exchange.body === '' || exchange.method === 'HEAD' || exchange.status === 204 || exchange.status === 304
  if (Object.keys(content).length === 0) return emptyBody || (exchange.body === undefined && type === '') ? undefined : `${label}: documented without a body, got ${type || 'a body'}`
  if (emptyBody) return exchange.method === 'HEAD' ? undefined : `${label}: documented with a body, got none`
  const mediaType = Object.keys(content).find((documentedType) => mediaMatches(documentedType, type))
  if (mediaType === undefined) return `${label}: ${type || 'no Content-Type'} is not one of ${Object.keys(content).join(', ')}`
  if (exchange.body === undefined) return undefined
  const parsed = parseJson(exchange.body)
  if (!parsed.ok) return `${label}: the body is not JSON`
  const schema = (content[mediaType] as Node)['schema']
  if (!isNode(schema)) return undefined
  const problem = check('openapi.yaml', `${at}/content/${mediaType.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`, parsed.value)
  return problem === undefined ? undefined : `${label}: ${problem}`
}
