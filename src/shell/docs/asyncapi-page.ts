/**
 * A readable, self-contained HTML page for asyncapi.yaml: every operation, message, payload and example.
 * No script; every text from the document is escaped.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Doc = { readonly [key: string]: Json }

const escape = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const at = (doc: Json | undefined, ...keys: string[]): Json | undefined =>
  keys.reduce<Json | undefined>((node, key) => (isObject(node) ? node[key] : undefined), doc)

const refName = (ref: Json | undefined): string | undefined => (typeof ref === 'string' ? ref.split('/').pop() : undefined)

/** Paragraphs, `-` lists (with an optional lead-in line) and `code` spans: the markdown the descriptions use. */
const prose = (text: Json | undefined): string =>
  String(text ?? '')
    .split(/\n\s*\n/)
    .map((paragraph) => {
      const inline = (s: string) => escape(s).replace(/`([^`]+)`/g, '<code>$1</code>')
      const [lead = '', ...items] = paragraph.trim().split(/\n\s*-\s/)
      const leadIsItem = /^-\s/.test(lead)
      const list = [...(leadIsItem ? [lead.replace(/^-\s/, '')] : []), ...items]
      const intro = leadIsItem || lead === '' ? '' : `<p>${inline(lead)}</p>`
      return list.length === 0 ? intro : `${intro}<ul>${list.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`
    })
    .join('\n')

const schemaType = (schema: Json | undefined): string => {
  if (!isObject(schema)) return ''
  const ref = refName(schema['$ref'])
  if (ref !== undefined) return `<a href="#schema-${escape(ref)}">${escape(ref)}</a>`
  if (schema['const'] !== undefined) return `<code>${escape(JSON.stringify(schema['const']))}</code>`
  if (Array.isArray(schema['enum'])) return schema['enum'].map((v) => `<code>${escape(JSON.stringify(v))}</code>`).join(' | ')
  if (schema['type'] === 'array') return `array of ${schemaType(schema['items']) || 'any'}`
  if (Array.isArray(schema['allOf'])) return schema['allOf'].map(schemaType).join(' + ')
  return escape(schema['type'] ?? 'object')
}

const constraints = (schema: { [key: string]: Json }): string =>
  ['minLength', 'maxLength', 'minimum', 'maximum', 'maxItems', 'pattern', 'format', 'default']
    .filter((key) => schema[key] !== undefined)
    .map((key) => `${key}: <code>${escape(schema[key])}</code>`)
    .join(', ')

const propertiesTable = (schema: Json | undefined): string => {
  if (!isObject(schema)) return ''
  if (Array.isArray(schema['allOf'])) return schema['allOf'].map(propertiesTable).join('')
  const ref = refName(schema['$ref'])
  if (ref !== undefined) return `<p>All the fields of <a href="#schema-${escape(ref)}">${escape(ref)}</a>.</p>`
  const properties = schema['properties']
  if (!isObject(properties)) return ''
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].map(String) : [])
  const rows = Object.entries(properties).map(([name, property]) => {
    const details = isObject(property) ? [escape(property['description'] ?? ''), constraints(property)].filter(Boolean).join(' ') : ''
    return `<tr><td><code>${escape(name)}</code></td><td>${schemaType(property)}</td><td>${required.has(name) ? 'yes' : ''}</td><td>${details}</td></tr>`
  })
  return `<table><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** The wire `type` of a message (its payload's `type` const), which commands and frames may share. */
const wireType = (doc: Doc, id: string): Json | undefined => {
  const payload = at(doc, 'components', 'messages', id, 'payload')
  const schema = refName(at(payload, '$ref'))
  return at(schema === undefined ? payload : at(doc, 'components', 'schemas', schema), 'properties', 'type', 'const')
}

const messageSection = (doc: Doc, id: string): string => {
  const message = at(doc, 'components', 'messages', id)
  if (!isObject(message)) return ''
  const examples = Array.isArray(message['examples']) ? message['examples'] : []
  return `<section class="message" id="message-${escape(id)}">
    <h3><code>${escape(wireType(doc, id) ?? message['name'] ?? id)}</code> — ${escape(message['summary'] ?? '')} <small>(${escape(message['name'] ?? id)})</small></h3>
    ${prose(message['description'])}
    ${propertiesTable(message['payload'])}
    ${examples
      .map((example) => `<h4>Example: ${escape(at(example, 'name') ?? '')}</h4><pre>${escape(JSON.stringify(at(example, 'payload'), null, 2))}</pre>`)
      .join('\n')}
  </section>`
}

const operationSection = (doc: Doc, operation: Json | undefined): string => {
  const refs = at(operation, 'messages')
  const ids = (Array.isArray(refs) ? refs : []).map((ref) => {
    const channelMessage = refName(at(ref, '$ref')) ?? ''
    return refName(at(doc, 'channels', 'chat', 'messages', channelMessage, '$ref')) ?? channelMessage
  })
  const direction = at(operation, 'action') === 'receive' ? 'Client → server' : 'Server → client'
  return `<h2>${escape(direction)}: ${escape(at(operation, 'title') ?? '')}</h2>
    <p>${ids.map((id) => `<a href="#message-${escape(id)}"><code>${escape(wireType(doc, id) ?? id)}</code></a>`).join(' · ')}</p>
    ${ids.map((id) => messageSection(doc, id)).join('\n')}`
}

export const PAGE_STYLE = `
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2327; }
  nav { padding: 8px 16px; background: #263238; color: #fff; }
  nav a { color: #8ecbff; margin-right: 16px; }
  main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
  code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
  pre { background: #f5f7f9; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
  table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
  th, td { border-bottom: 1px solid #dde3e8; padding: 4px 8px; text-align: left; vertical-align: top; }
  section.message { border-top: 2px solid #e3e8ec; margin-top: 1.5rem; }
`

export const renderAsyncApiPage = (doc: Doc): string => {
  const operations = at(doc, 'operations')
  const schemas = at(doc, 'components', 'schemas')
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(at(doc, 'info', 'title'))}</title><style>${PAGE_STYLE}</style></head>
<body>
<nav><strong>Sala</strong> &nbsp; <a href="/docs">HTTP API</a> <a href="/docs/asyncapi">WebSocket protocol</a> <a href="/openapi.yaml">openapi.yaml</a> <a href="/asyncapi.yaml">asyncapi.yaml</a></nav>
<main>
<h1>${escape(at(doc, 'info', 'title'))} <small>${escape(at(doc, 'info', 'version'))} · AsyncAPI ${escape(doc['asyncapi'])}</small></h1>
${prose(at(doc, 'info', 'description'))}
<p>Channel: <code>${escape(at(doc, 'channels', 'chat', 'address'))}</code></p>
${isObject(operations) ? Object.values(operations).map((operation) => operationSection(doc, operation)).join('\n') : ''}
<h2>Schemas</h2>
${isObject(schemas)
  ? Object.entries(schemas)
      .map(([name, schema]) => `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3>${prose(at(schema, 'description'))}${propertiesTable(schema) || `<p>${schemaType(schema)}</p>`}</section>`)
      .join('\n')
  : ''}
</main></body></html>`
}
