import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

// Reads a README walkthrough the way a person follows it: ```sh blocks are commands, a `# …` line right
// under a command is what it prints, a `# …` at the end of a command or a frame line says what happens.
// ```text blocks are frames typed into wscat, one `name> {frame}  # comment` per line.

/** One command of a ```sh block: its text (continuation lines joined by `\`), its trailing comment, what it prints. */
export interface Command {
  readonly text: string
  readonly comment: string | undefined
  readonly shown: ReadonlyArray<string>
}

/** One `name> {frame}  # comment` line of a ```text block. */
export interface FrameLine {
  readonly who: string
  readonly frame: string
  readonly comment: string | undefined
}

export type Block =
  | { readonly kind: 'sh'; readonly prose: string; readonly commands: ReadonlyArray<Command> }
  | { readonly kind: 'text'; readonly prose: string; readonly lines: ReadonlyArray<FrameLine> }

/** The text of the `## <heading>` section of a Markdown file, up to the next `## `. */
export const sectionOf = (markdown: string, heading: string): string => {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`no section "## ${heading}"`)
  const rest = markdown.slice(start + 1)
  const end = rest.indexOf('\n## ', 1)
  return end < 0 ? rest : rest.slice(0, end + 1)
}

/** The fenced blocks of a section in order, each with the prose just before it. Any other fence is an error. */
export const blocksOf = (section: string): Block[] => {
  const blocks: Block[] = []
  const fence = /```(\w*)\n([\s\S]*?)```/g
  let last = 0
  for (const match of section.matchAll(fence)) {
    const [, lang, body = ''] = match
    const prose = section.slice(last, match.index)
    last = (match.index ?? 0) + match[0].length
    if (lang === 'sh') blocks.push({ kind: 'sh', prose, commands: commandsOf(body) })
    else if (lang === 'text') blocks.push({ kind: 'text', prose, lines: frameLinesOf(body) })
    else throw new Error(`a \`\`\`${lang} block the walkthrough test cannot follow:\n${body}`)
  }
  return blocks
}

const TRAILING_COMMENT = /\s#\s?(.*)$/

const commandsOf = (body: string): Command[] => {
  const commands: Array<{ text: string; comment: string | undefined; shown: string[] }> = []
  const lines = body.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line.trim() === '') continue
    if (line.trimStart().startsWith('#')) {
      const owner = commands.at(-1)
      if (owner === undefined) throw new Error(`an output line with no command before it: ${line}`)
      owner.shown.push(line.trimStart().replace(/^#\s?/, ''))
      continue
    }
    const parts = [line]
    while ((parts.at(-1) ?? '').endsWith('\\') && i + 1 < lines.length) parts.push(lines[++i] ?? '')
    const text = parts.join('\n')
    commands.push({ text, comment: TRAILING_COMMENT.exec(parts.at(-1) ?? '')?.[1], shown: [] })
  }
  return commands
}

const frameLinesOf = (body: string): FrameLine[] =>
  body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(\w+)> (.*)$/.exec(line)
      if (match === null) throw new Error(`not a "name> {frame}" line: ${line}`)
      const [, who = '', rest = ''] = match
      // The frame is the shortest prefix that is JSON; what follows is blank or a comment.
      for (let end = rest.indexOf('}'); end >= 0; end = rest.indexOf('}', end + 1)) {
        const frame = rest.slice(0, end + 1)
        const after = /^\s*(?:#\s?(.*))?$/.exec(rest.slice(end + 1))
        if (after !== null && parses(frame)) return { who, frame, comment: after[1] }
      }
      throw new Error(`no JSON frame on: ${line}`)
    })

const parses = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

// Values a README can only show an example of: they differ on every run. Their keys must be there.
const EXAMPLE_VALUED = new Set(['url', 'size', 'id', 'token', 'sentAt'])
const PAIR = /"(\w+)":("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[\])/g
const KEY = /"(\w+)":/g

/**
 * Whether `actual` (one JSON answer or frame) fits what the README `shown`: every key it shows is there,
 * and every `"key":value` it shows is there as it is, except the example values of EXAMPLE_VALUED and
 * values with `…` in them. A
 * shown line that is not JSON is a pattern where `…` stands for anything.
 */
export const fitsShown = (shown: string, actual: string): string | undefined => {
  const text = actual.trim()
  if (!shown.trimStart().startsWith('{')) {
    const pattern = new RegExp(`^${shown.trim().split('…').map(escapeRegExp).join('.+')}$`)
    return pattern.test(text) ? undefined : `${JSON.stringify(text)} does not look like ${JSON.stringify(shown)}`
  }
  if (!parses(text)) return `${JSON.stringify(text)} is not the JSON ${shown}`
  const compact = JSON.stringify(JSON.parse(text))
  const missingKeys = [...shown.matchAll(KEY)].map((m) => m[0]).filter((key) => !compact.includes(key))
  const missingPairs = [...shown.matchAll(PAIR)]
    .filter((m) => !EXAMPLE_VALUED.has(m[1] ?? '') && !(m[2] ?? '').includes('…'))
    .map((m) => m[0])
    .filter((pair) => !compact.includes(pair))
  const missing = [...new Set([...missingKeys, ...missingPairs])]
  return missing.length === 0 ? undefined : `${compact} lacks ${missing.join(', ')} (shown: ${shown})`
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The example value the README shows for `key`, zipped with the real one, in order: `[shown, actual]`. */
export const exampleValues = (shown: string, actual: string, key: string): Array<[string, string]> => {
  const values = (text: string) => [...text.matchAll(new RegExp(`"${key}":"([^"]*)"`, 'g'))].map((m) => m[1] ?? '')
  const real = values(actual)
  return values(shown).flatMap((example, i) => (real[i] === undefined ? [] : [[example, real[i]] as [string, string]]))
}

/** A frame some connection should receive: its type and the `"key":value` pairs it must hold. */
export interface Expected {
  /** A client's name, or '' for the connection the command itself opened. */
  readonly who: string
  readonly type: string
  readonly pairs: ReadonlyArray<string>
}

/**
 * What a comment says will arrive, clause by clause (`;`): `ana gets "joined"`, `ana and bia get
 * "room_added"`, `bia gets {"type":"pong","ref":"p1"}`, `"user_left" with reason "moved"`,
 * `"message" and typing:false` (a `typing` frame), `"welcome" follows` (on the connection just opened).
 * A clause that says someone gets something the test cannot read fails, so comments stay checkable.
 */
export const expectationsOf = (comment: string | undefined, frameTypes: ReadonlySet<string>): Expected[] =>
  (comment ?? '').split(';').flatMap((clause) => {
    const follows = /"(\w+)" follows/.exec(clause)
    if (follows !== null && frameTypes.has(follows[1] ?? '')) return [{ who: '', type: follows[1] ?? '', pairs: [] }]
    const gets = /\b(\w+(?:(?:, | and )\w+)*) gets?\b(.*)$/.exec(clause)
    if (gets === null) return []
    const [, subjects = '', said = ''] = gets
    const frames = framesSaid(said, frameTypes)
    if (frames.length === 0) throw new Error(`cannot tell which frame "${clause.trim()}" means`)
    return subjects.split(/, | and /).flatMap((who) => frames.map((frame) => ({ who, ...frame })))
  })

const framesSaid = (said: string, frameTypes: ReadonlySet<string>): Array<Omit<Expected, 'who'>> => {
  const objects = [...said.matchAll(/\{[^{}]*\}/g)].map((m) => {
    const pairs = [...m[0].matchAll(PAIR)].map((p) => p[0])
    return { type: /"type":"(\w+)"/.exec(m[0])?.[1] ?? '', pairs }
  })
  const rest = said.replace(/\{[^{}]*\}/g, '')
  const named = [...rest.matchAll(/"(\w+)"(?: with (\w+) "([^"]*)")?/g)]
    .filter((m) => frameTypes.has(m[1] ?? ''))
    .map((m) => ({ type: m[1] ?? '', pairs: m[2] === undefined ? [] : [`"${m[2]}":"${m[3]}"`] }))
  const typing = [...rest.matchAll(/\btyping:(true|false)/g)].map((m) => ({ type: 'typing', pairs: [`"typing":${m[1]}`] }))
  return [...objects, ...named, ...typing]
}

/** What one command did when bash ran it. */
export interface CommandRun {
  readonly command: Command
  readonly status: number
  readonly stdout: string
  readonly stderr: string
  /** The arguments (after bash expanded them) when the command was `npx wscat …`, which is not run. */
  readonly wscat: ReadonlyArray<string> | undefined
}

/**
 * Runs a ```sh block's commands in order in one bash process in `dir`, each with its own output files,
 * after the variables earlier blocks set (`vars`, updated in place). `npx` is a function that records
 * `npx wscat` arguments instead of fetching wscat from npm (tests reach no network); the caller plays
 * them. `rewrite` turns each command's text into what runs (the README's address into the test server's).
 */
export const runShBlock = async (
  commands: ReadonlyArray<Command>,
  dir: string,
  vars: Map<string, string>,
  rewrite: (text: string) => string,
): Promise<CommandRun[]> => {
  const assigned = commands.flatMap((command) => [...command.text.matchAll(/(?:^|[\s;])([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1] ?? ''))
  const names = [...new Set([...vars.keys(), ...assigned])]
  const file = (kind: string, i: number) => join(dir, `.${kind}-${i}`)
  const script = [
    `npx() { if [ "$1" = wscat ]; then shift; printf '%s\\0' "$@" > "$SALA_WSCAT"; else echo "npx $1: not run by this test" >&2; return 127; fi; }`,
    ...[...vars].map(([name, value]) => `${name}=${shellQuote(value)}`),
    ...commands.flatMap((command, i) => [
      // A record left by an earlier block's command at the same place is not this one's.
      `SALA_WSCAT=${shellQuote(file('wscat', i))}; rm -f "$SALA_WSCAT"`,
      '{',
      rewrite(command.text),
      `} > ${shellQuote(file('out', i))} 2> ${shellQuote(file('err', i))}`,
      `echo $? > ${shellQuote(file('status', i))}`,
    ]),
    `printf '%s\\0' ${names.map((name) => `"\${${name}-}"`).join(' ')} > ${shellQuote(join(dir, '.vars'))}`,
  ].join('\n')
  await writeFile(join(dir, '.block.sh'), script)
  // Async on purpose: the server under test answers from this same process.
  await promisify(execFile)('bash', ['.block.sh'], { cwd: dir, env: offlineEnv(), timeout: 20_000 })
  const values = (await readFile(join(dir, '.vars'), 'utf8')).split('\0')
  names.forEach((name, i) => vars.set(name, values[i] ?? ''))
  return Promise.all(
    commands.map(async (command, i) => ({
      command,
      status: Number(await readFile(file('status', i), 'utf8')),
      stdout: await readFile(file('out', i), 'utf8'),
      stderr: await readFile(file('err', i), 'utf8'),
      wscat: await readFile(file('wscat', i), 'utf8').then((args) => args.split('\0').slice(0, -1), () => undefined),
    })),
  )
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

// curl must reach the test server directly even where a proxy is configured for everything else.
const offlineEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '*', no_proxy: '*' }
  for (const name of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy']) delete env[name]
  return env
}

/** `npx wscat` arguments as options: `-c` address, `-s` subprotocol, `-H` headers, `-x` frames to send. */
export interface Wscat {
  readonly url: string
  readonly subprotocol: string | undefined
  readonly headers: Record<string, string>
  readonly execute: ReadonlyArray<string>
}

export const wscatOptions = (args: ReadonlyArray<string>): Wscat => {
  let url = ''
  let subprotocol: string | undefined
  const headers: Record<string, string> = {}
  const execute: string[] = []
  for (let i = 0; i < args.length; i += 2) {
    const [option, value = ''] = [args[i], args[i + 1]]
    if (option === '-c') url = value
    else if (option === '-s') subprotocol = value
    else if (option === '-H') headers[value.slice(0, value.indexOf(':')).trim()] = value.slice(value.indexOf(':') + 1).trim()
    else if (option === '-x') execute.push(value)
    // -w: how long wscat waits before it exits; here the test waits for the frames instead.
    else if (option !== '-w') throw new Error(`a wscat option the walkthrough test does not know: ${option}`)
  }
  return { url, subprotocol, headers, execute }
}
