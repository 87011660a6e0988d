import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// A Sala process of its own (the built entry point, as production runs it; `npm test` builds first), for
// the failure tests that in-process servers cannot play: a kill -9 takes the whole process, sockets and
// timers with it, with no `close` run and nothing announced.

/** The built entry point, relative to the repository (vitest runs there). */
const MAIN = 'dist/src/shell/main.js'

export interface SalaProcess {
  readonly url: string
  readonly wsUrl: string
  /** Every line it wrote on stdout and stderr so far (JSON log lines, and anything else). */
  readonly logLines: string[]
  readonly pid: number
  /** How it ended, once it has: an exit code, or the signal that killed it. */
  readonly exit: () => { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
  /** SIGKILL: no handler runs, nothing is announced or flushed. Resolves once it has exited. */
  readonly kill: () => Promise<void>
  /** SIGTERM (the graceful stop), then SIGKILL if it has not exited within 10 s; deletes its data folder. */
  readonly stop: () => Promise<void>
}

/** The children still running, killed if the test's own process exits without stopping them. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * Starts `node dist/src/shell/main.js` with `env` on top of a test server's defaults (port 0, its own temp
 * data folder, cheap bcrypt, no sign-up or connection limits) and resolves once it logs `sala listening`.
 */
export const startSalaProcess = async (env: Record<string, string>): Promise<SalaProcess> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sala-process-'))
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      UPLOAD_DIR: join(dataDir, 'uploads'),
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      REGISTER_RATE: '1000000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  const logLines: string[] = []
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      running.delete(child)
      resolve()
    }),
  )
  const lines = (sink: (line: string) => void) => {
    let partial = ''
    return (chunk: Buffer) => {
      const text = partial + chunk.toString()
      const complete = text.split('\n')
      partial = complete.pop() ?? ''
      for (const line of complete) if (line !== '') sink(line)
    }
  }
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sala did not start within 20 s:\n${logLines.join('\n')}`)), 20_000)
    const sink = (line: string) => {
      logLines.push(line)
      const listening = /"msg":"sala listening"/.test(line) ? /"url":"([^"]+)"/.exec(line)?.[1] : undefined
      if (listening === undefined) return
      clearTimeout(timer)
      resolve(listening)
    }
    child.stdout?.on('data', lines(sink))
    child.stderr?.on('data', lines(sink))
    child.once('error', reject)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`sala exited while starting (${JSON.stringify(exit)}):\n${logLines.join('\n')}`))
    })
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL')
    await exited
    await rm(dataDir, { recursive: true, force: true })
    throw error
  })

  const signal = async (name: NodeJS.Signals, graceMs: number) => {
    if (exit !== undefined) return
    child.kill(name)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return {
    url,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    logLines,
    pid: child.pid ?? 0,
    exit: () => exit,
    kill: () => signal('SIGKILL', 0),
    stop: async () => {
      await signal('SIGTERM', 10_000)
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The JSON log lines of `sala` (others, such as a stack trace on stderr, are skipped). */
export const logRecords = (sala: Pick<SalaProcess, 'logLines'>): Array<Record<string, unknown>> =>
  sala.logLines.flatMap((line) => {
    try {
      const record: unknown = JSON.parse(line)
      return typeof record === 'object' && record !== null ? [record as Record<string, unknown>] : []
    } catch {
      return []
    }
  })
