import pino from 'pino'
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

/**
 * One JSON object per line on the given stream (stdout in production), for log shippers to parse:
 * `{"level":"info","time":"<ISO 8601>",...fields,"msg":"..."}`. Written by pino, the maintained fast
 * JSON logger, synchronously (a line logged just before `process.exit` is not lost). Secrets are redacted
 * by key wherever a caller might pass them by mistake; message texts are simply never passed.
 */
export const jsonLogger = (
  level: LogLevel,
  write?: (line: string) => void,
  base: LogFields = {},
): Logger => {
  const logger = pino(
    {
      level,
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errorAsObject },
      redact: { paths: REDACTED, censor: '[redacted]' },
    },
    write === undefined ? pino.destination({ dest: 1, sync: true }) : { write },
  )
  return wrap(Object.keys(base).length === 0 ? logger : logger.child(base))
}

// Keys whose values must never reach a log line, at the top level and one level down (`headers.cookie`).
const SECRETS = ['password', 'token', 'cookie', 'authorization', 'secret']
const REDACTED = [...SECRETS, ...SECRETS.map((key) => `*.${key}`)]

const wrap = (logger: pino.Logger): Logger => ({
  debug: (message, fields = {}) => logger.debug(fields, message),
  info: (message, fields = {}) => logger.info(fields, message),
  warn: (message, fields = {}) => logger.warn(fields, message),
  error: (message, fields = {}) => logger.error(fields, message),
  child: (fields) => wrap(logger.child(fields)),
})

// An error's `code` (SQLITE_FULL, ENOSPC) says what failed; its `cause` is the error behind a wrapper.
const errorAsObject = (value: unknown): unknown => {
  if (!(value instanceof Error)) return value
  const code: unknown = 'code' in value ? value.code : undefined
  return {
    name: value.name,
    message: value.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: value.stack,
    ...(value.cause === undefined ? {} : { cause: errorAsObject(value.cause) }),
  }
}
