import * as E from 'fp-ts/lib/Either.js'
import type { FieldProblem } from '../core/codecs.js'
import { describeDatabaseFault, type DatabaseFault, type DatabasePort } from '../adapters/database.js'
import { describeFolderFault, probeFolder, type FolderFault } from '../adapters/folders.js'
import type { Logger } from '../adapters/logger.js'
import type { LinkState } from '../adapters/cluster.js'

export interface ReadinessDependencies {
  readonly database: DatabasePort
  readonly uploadDir: string
  readonly log: Logger
  /** The link to the other processes sharing the chat, when there are any. */
  readonly cluster?: () => LinkState
}

/**
 * Can this instance serve? Answers what keeps it from serving, each problem under `database`, `uploads`
 * or (several processes) `cluster`; empty when ready. Both parts prove themselves with a real write, since a read or a
 * permission check passes on a full disk, a locked database or a deleted folder: the database commits a
 * one-row write within about a second, the upload folder takes and loses a small file.
 *
 * The answer is public (`/ready` takes no credentials), so it says what is wrong without the server's
 * paths or the engine's messages; those go to the log line. Checks that arrive while one runs share its
 * answer: a load balancer polling hard costs one probe at a time, and the upload probe's single file name
 * is never written twice at once. A change is logged once (warn when it goes or its reason changes, info
 * when it comes back), not once per poll.
 */
export const readinessCheck = ({ database, uploadDir, log, cluster }: ReadinessDependencies): (() => Promise<ReadonlyArray<FieldProblem>>) => {
  let running: Promise<ReadonlyArray<FieldProblem>> | undefined
  // The detailed problems last logged; none at start, when the server has just proved it can write.
  let logged = '[]'

  const check = async (): Promise<ReadonlyArray<FieldProblem>> => {
    const [written, folder] = await Promise.all([database.probeWrite()(), probeFolder(uploadDir)])
    const problems: FieldProblem[] = []
    const detailed: FieldProblem[] = []
    if (E.isLeft(written)) {
      problems.push({ path: 'database', message: publicDatabaseProblem(written.left) })
      detailed.push({ path: 'database', message: describeDatabaseFault(written.left) })
    }
    if (E.isLeft(folder)) {
      problems.push({ path: 'uploads', message: publicFolderProblem(folder.left) })
      detailed.push({ path: 'uploads', message: describeFolderFault(folder.left) })
    }
    // Down (not just reconnecting): users sent here now would not reach users elsewhere. Those already
    // here keep chatting among themselves; the balancer should send new ones to a linked process.
    const link = cluster?.()
    if (link?.state === 'down') {
      problems.push({ path: 'cluster', message: 'the link to the other processes is down: users here cannot reach users elsewhere' })
      detailed.push({ path: 'cluster', message: `the link to the other processes is down since ${new Date(link.since).toISOString()}: ${link.error}` })
    }
    const state = JSON.stringify(detailed)
    if (state !== logged) {
      if (detailed.length === 0) log.info('ready again')
      else log.warn('not ready', { problems: detailed })
      logged = state
    }
    return problems
  }

  return () => (running ??= check().finally(() => (running = undefined)))
}

/** What is wrong with the database, for anyone: no path, no engine message. */
const publicDatabaseProblem = (fault: DatabaseFault): string => {
  switch (fault.kind) {
    case 'locked':
      return `the database is locked by another writer for more than ${fault.waitedMs} ms`
    case 'timed_out':
      return `a database write did not finish within ${fault.waitedMs} ms`
    case 'disk_full':
      return 'the database’s disk is full'
    case 'read_only':
      return 'the database is read-only'
    case 'not_a_database':
      return 'the database file is not a database'
    case 'corrupt':
      return 'the database file is corrupt'
    case 'gone':
      return 'the database file is gone (deleted or replaced since start)'
    case 'cannot_open':
      return 'the database cannot be opened'
    case 'newer_schema':
      return 'the database was written by a newer version of the server'
    case 'in_use':
      return 'the database is in use by another server'
    case 'failed':
      return `a database write failed (${fault.code})`
  }
}

/** What is wrong with the upload folder, for anyone: no path. */
const publicFolderProblem = (fault: FolderFault): string => {
  switch (fault.kind) {
    case 'not_a_folder':
      return 'the upload folder is not a folder'
    case 'missing':
      return 'the upload folder does not exist (deleted?)'
    case 'not_writable':
      return `the upload folder is not writable by the server (${fault.code})`
    case 'read_only':
      return 'the upload folder is on a read-only file system'
    case 'disk_full':
      return 'the upload folder is on a full disk'
    case 'out_of_descriptors':
      return `the server has no file descriptor left (${fault.code})`
    case 'failed':
      return `the upload folder cannot be written (${fault.code})`
  }
}
