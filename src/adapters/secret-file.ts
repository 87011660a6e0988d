import { randomBytes } from 'node:crypto'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const FILE_NAME = 'session-secret'

/**
 * The development secret: generated once and kept beside the database, readable by the owner only, so
 * sessions survive restarts without anyone having to configure anything.
 */
export const loadOrCreateSecret = async (dataDir: string): Promise<string> => {
  const path = join(dataDir, FILE_NAME)
  try {
    const existing = (await readFile(path, 'utf8')).trim()
    if (existing.length >= 32) return existing
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const secret = randomBytes(48).toString('base64url')
  // `wx` fails if another process created it meanwhile; then theirs is the one to use.
  try {
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim()
    throw error
  }
  await chmod(path, 0o600)
  return secret
}
