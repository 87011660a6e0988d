// node bench/profile-top.mjs file.cpuprofile [count]: where a V8 CPU profile (BENCH_PROFILE=1) spent its
// time: the functions with the most self time, and with the most time including what they called.
import { readFileSync } from 'node:fs'

const [file, count = '25'] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length)
const self = new Map()
for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1)

const nameOf = ({ callFrame: f }) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
const parents = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)

const selfByName = new Map()
const totalByName = new Map()
for (const [id, samples] of self) {
  const name = nameOf(nodes.get(id))
  selfByName.set(name, (selfByName.get(name) ?? 0) + samples)
  // Each sample counts once for every distinct function on its stack.
  const seen = new Set()
  for (let at = id; at !== undefined; at = parents.get(at)) {
    const on = nameOf(nodes.get(at))
    if (seen.has(on)) continue
    seen.add(on)
    totalByName.set(on, (totalByName.get(on) ?? 0) + samples)
  }
}
const all = profile.samples.length
const show = (title, map) => {
  console.log(`\n${title}`)
  for (const [name, samples] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
    console.log(`${((100 * samples) / all).toFixed(1).padStart(5)}%  ${((samples * interval) / 1000).toFixed(0).padStart(7)} ms  ${name}`)
  }
}
console.log(`${file}: ${all} samples, ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`)
show('self time', selfByName)
show('total time (self + callees)', totalByName)

// A third argument (part of a function's name): where the self time of the functions matching it came from,
// as their callers four frames up.
const pattern = process.argv[4]
if (pattern !== undefined) {
  const stacks = new Map()
  for (const [id, samples] of self) {
    if (!nameOf(nodes.get(id)).includes(pattern)) continue
    const frames = []
    for (let at = parents.get(id), depth = 0; at !== undefined && depth < 4; at = parents.get(at), depth++) frames.push(nameOf(nodes.get(at)).split(' ')[0])
    const key = `${nameOf(nodes.get(id)).split(' ')[0]} <- ${frames.join(' <- ')}`
    stacks.set(key, (stacks.get(key) ?? 0) + samples)
  }
  show(`callers of ${pattern}`, stacks)
}
