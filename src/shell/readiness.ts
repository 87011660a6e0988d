import * as E from 'fp-ts/lib/Either.js'
import type { FieldProblem } from '../core/codecs.js'
import { describeDatabaseFault, type DatabasePort } from '../adapters/database.js'
import { describeFolderFault, probeFolder } from '../adapters/folders.js'
import type { Logger } from '../adapters/logger.js'

export interface ReadinessDependencies {
  readonly database: DatabasePort
  readonly uploadDir: string
  readonly log: Logger
}

/**
 * Can this instance serve? Answers what keeps it from serving, each problem under `database` or
 * `uploads`; empty when ready. Both parts prove themselves with a real write, since a read or a
 * permission check passes on a full disk, a locked database or a deleted folder: the database commits a
 * one-row write within about a second, the upload folder takes and loses a small file.
 *
 * Checks that arrive while one runs share its answer: a load balancer polling hard costs one probe at a
 * time, and the upload probe's single file name is never written twice at once. A change of state is
 * logged once (warn when it goes, info when it comes back), not once per poll.
 */
export const readinessCheck = ({ database, uploadDir, log }: ReadinessDependencies): (() => Promise<ReadonlyArray<FieldProblem>>) => {
  let running: Promise<ReadonlyArray<FieldProblem>> | undefined
  let wasReady = true

  const check = async (): Promise<ReadonlyArray<FieldProblem>> => {
    const [written, folder] = await Promise.all([database.probeWrite()(), probeFolder(uploadDir)])
    const problems: FieldProblem[] = []
    if (E.isLeft(written)) problems.push({ path: 'database', message: describeDatabaseFault(written.left) })
    if (E.isLeft(folder)) problems.push({ path: 'uploads', message: describeFolderFault(folder.left) })
    const ready = problems.length === 0
    if (ready !== wasReady) {
      if (ready) log.info('ready again')
      else log.warn('not ready', { problems })
      wasReady = ready
    }
    return problems
  }

  return () => (running ??= check().finally(() => (running = undefined)))
}
