import type { LogLevel } from '../core/config.js'

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  readonly debug: (message: string, fields?: LogFields) => void
  readonly info: (message: string, fields?: LogFields) => void
  readonly warn: (message: string, fields?: LogFields) => void
  readonly error: (message: string, fields?: LogFields) => void
  /** A logger that adds these fields (request id, connection id, user) to every line. */
  readonly child: (fields: LogFields) => Logger
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

/** One JSON object per line on the given stream (stdout in production), for log shippers to parse. */
export const jsonLogger = (
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  base: LogFields = {},
): Logger => {
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) => (message: string, fields: LogFields = {}) => {
    if (RANK[lineLevel] < RANK[level]) return
    const entry = { level: lineLevel, time: new Date().toISOString(), msg: message, ...base, ...fields }
    write(`${JSON.stringify(entry, errorsAsObjects)}\n`)
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => jsonLogger(level, write, { ...base, ...fields }),
  }
}

// An error's `code` (SQLITE_FULL, ENOSPC) says what failed; its `cause` is the error behind a wrapper.
const errorsAsObjects = (_key: string, value: unknown): unknown => {
  if (!(value instanceof Error)) return value
  const code: unknown = 'code' in value ? value.code : undefined
  return {
    name: value.name,
    message: value.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: value.stack,
    ...(value.cause === undefined ? {} : { cause: value.cause }),
  }
}
