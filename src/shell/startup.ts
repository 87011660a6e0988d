import type { Server } from 'node:http'
import * as E from 'fp-ts/lib/Either.js'
import { describeDatabaseFault, type DatabaseFault } from '../adapters/database.js'
import { describeFolderFault, type FolderFault } from '../adapters/folders.js'
import { loadOrCreateSecret } from '../adapters/secret-file.js'

/**
 * Why the server could not start: each kind is one thing for the operator to fix, said in one line (see
 * `describeStartupError`), like a bad setting.
 */
export type StartupError =
  | { readonly kind: 'folder_unusable'; readonly setting: 'DATA_DIR' | 'UPLOAD_DIR'; readonly fault: FolderFault }
  /** The generated secret's file, in DATA_DIR (`path`), cannot be read or created. */
  | { readonly kind: 'secret_unreadable'; readonly path: string; readonly code: string }
  | { readonly kind: 'database_unusable'; readonly path: string; readonly fault: DatabaseFault }
  | { readonly kind: 'port_in_use'; readonly host: string; readonly port: number }
  | { readonly kind: 'port_not_allowed'; readonly port: number }
  | { readonly kind: 'host_unresolvable'; readonly host: string; readonly code: string }
  | { readonly kind: 'host_not_local'; readonly host: string }
  | { readonly kind: 'unexpected'; readonly detail: string }

/**
 * A start-up step's failure on its way out of `startSala`'s sequence, which is plain `await`s; turned
 * back into a value by `startupErrorOf`. Start-up failures are misconfiguration, the one place our style
 * lets a value travel as an exception.
 */
export class StartupFailure extends Error {
  constructor(readonly reason: StartupError) {
    super(describeStartupError(reason))
    this.name = 'StartupFailure'
  }
}

/** The step's value, or a `StartupFailure` carrying what `toError` makes of its fault. */
export const must = async <F, A>(step: Promise<E.Either<F, A>>, toError: (fault: F) => StartupError): Promise<A> => {
  const outcome = await step
  if (E.isLeft(outcome)) throw new StartupFailure(toError(outcome.left))
  return outcome.right
}

/** Any failure during start-up, as a `StartupError`: ours as they are, anything else as `unexpected`. */
export const startupErrorOf = (error: unknown): StartupError => {
  if (error instanceof StartupFailure) return error.reason
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return { kind: 'unexpected', detail }
}

/** One line, no stack, for stderr: what failed, and where it helps, what to do. */
export const describeStartupError = (error: StartupError): string => oneLine(describe(error))

const describe = (error: StartupError): string => {
  switch (error.kind) {
    case 'folder_unusable':
      return `${error.setting}: ${describeFolderFault(error.fault)}`
    case 'secret_unreadable':
      return `the session secret in ${error.path} cannot be read or written (${error.code}); set SESSION_SECRET or fix the file`
    case 'database_unusable':
      return `the database ${error.path}: ${describeDatabaseFault(error.fault)}${databaseHint(error.fault)}`
    case 'port_in_use':
      return `port ${error.port} on ${error.host} is already in use by another process; stop it or set PORT to a free port`
    case 'port_not_allowed':
      return `port ${error.port} needs privileges this process lacks (EACCES); use a port above 1023`
    case 'host_unresolvable':
      return `HOST="${error.host}" does not resolve to an address (${error.code})`
    case 'host_not_local':
      return `HOST="${error.host}" is not an address of this machine (EADDRNOTAVAIL)`
    case 'unexpected':
      return `unexpected failure: ${error.detail}`
  }
}

const databaseHint = (fault: DatabaseFault): string => {
  switch (fault.kind) {
    case 'corrupt':
    case 'not_a_database':
      return '; restore it from a backup, or move it aside to start with an empty one'
    case 'locked':
      return '; is another server using the same DATA_DIR?'
    case 'disk_full':
      return '; free some space'
    default:
      return ''
  }
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim()

/** The session secret kept in DATA_DIR, created on first start, or why it cannot be had. */
export const secretIn = async (dataDir: string, replaced?: (path: string) => void): Promise<E.Either<StartupError, string>> => {
  try {
    return E.right(await loadOrCreateSecret(dataDir, replaced))
  } catch (error) {
    return E.left({ kind: 'secret_unreadable', path: dataDir, code: (error as NodeJS.ErrnoException).code ?? 'UNKNOWN' })
  }
}

/** Listens, or says why not: the address is taken, not ours, not allowed, or the host does not resolve. */
export const listen = (server: Server, port: number, host: string): Promise<E.Either<StartupError, void>> =>
  new Promise((resolve) => {
    const refused = (error: NodeJS.ErrnoException) => resolve(E.left(listenError(error, port, host)))
    server.once('error', refused)
    server.listen(port, host, () => {
      server.off('error', refused)
      resolve(E.right(undefined))
    })
  })

const listenError = (error: NodeJS.ErrnoException, port: number, host: string): StartupError => {
  switch (error.code) {
    case 'EADDRINUSE':
      return { kind: 'port_in_use', host, port }
    case 'EACCES':
      return { kind: 'port_not_allowed', port }
    case 'EADDRNOTAVAIL':
      return { kind: 'host_not_local', host }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return { kind: 'host_unresolvable', host, code: error.code }
    default:
      return { kind: 'unexpected', detail: `listening on ${host}:${port}: ${error.message}` }
  }
}
