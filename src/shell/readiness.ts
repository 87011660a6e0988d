import { randomUUID } from 'node:crypto'
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FieldProblem } from '../core/codecs.js'
import type { SqliteDatabase } from '../adapters/sqlite/database.js'

/**
 * Can this instance serve? The database must answer a query and the upload folder must take a write
 * (checking permissions is not enough: a full or read-only disk passes that check).
 */
export const readinessCheck = (db: SqliteDatabase, uploadDir: string) => async (): Promise<ReadonlyArray<FieldProblem>> => {
  const problems: FieldProblem[] = []
  try {
    await db.get('SELECT 1')
  } catch (error) {
    problems.push({ path: 'database', message: error instanceof Error ? error.message : 'does not answer' })
  }
  // Named like an unfinished upload, so a crash mid-check leaves nothing the start-up sweep would miss.
  const probe = join(uploadDir, `.ready-${randomUUID()}.part`)
  try {
    await writeFile(probe, 'ok')
    await unlink(probe)
  } catch (error) {
    problems.push({ path: 'uploads', message: error instanceof Error ? error.message : 'not writable' })
  }
  return problems
}
