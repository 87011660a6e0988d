// node bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot [count]
// Self size and object count per constructor, after minus before, biggest first: where the heap per
// connection goes. `count` (the number of connections opened in between) turns bytes into bytes each.
import { readFileSync } from 'node:fs'

const summarize = (file) => {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'))
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta
  const width = fields.length
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f))
  const totals = new Map()
  const nodes = snapshot.nodes
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]]
    const key = type === 'object' || type === 'closure' ? `${type} ${snapshot.strings[nodes[i + nameAt]]}` : type
    const entry = totals.get(key) ?? { size: 0, count: 0 }
    entry.size += nodes[i + sizeAt]
    entry.count++
    totals.set(key, entry)
  }
  return totals
}

const [beforeFile, afterFile, count = '1'] = process.argv.slice(2)
const before = summarize(beforeFile)
const after = summarize(afterFile)
const rows = [...after].map(([key, { size, count: n }]) => ({
  key,
  bytes: size - (before.get(key)?.size ?? 0),
  objects: n - (before.get(key)?.count ?? 0),
}))
rows.sort((a, b) => b.bytes - a.bytes)
const each = Number(count)
const total = rows.reduce((sum, r) => sum + r.bytes, 0)
console.log(`total: ${(total / each).toFixed(0)} bytes per connection`)
for (const r of rows.slice(0, 40)) console.log(`${(r.bytes / each).toFixed(0).padStart(7)} B  ${(r.objects / each).toFixed(2).padStart(6)} objs  ${r.key}`)
