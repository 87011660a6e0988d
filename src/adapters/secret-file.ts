import { randomBytes } from 'node:crypto'
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const FILE_NAME = 'session-secret'
/** The same floor as `SESSION_SECRET`'s: shorter keys are guessable. */
const MIN_LENGTH = 32

/**
 * The development secret: generated once and kept beside the database, readable by the owner only, so
 * sessions survive restarts without anyone having to configure anything. A file that holds no usable
 * secret (empty, or shorter than 32 characters: truncated, or written by hand) is replaced, and `replaced`
 * is told its path, since every session signed with it ends. Throws the file system's error otherwise.
 */
export const loadOrCreateSecret = async (dataDir: string, replaced: (path: string) => void = () => undefined): Promise<string> => {
  const path = join(dataDir, FILE_NAME)
  const existing = await readSecret(path)
  if (existing !== undefined && existing.length >= MIN_LENGTH) return existing
  const secret = randomBytes(48).toString('base64url')
  if (existing === undefined) {
    // `wx` fails if another process created it meanwhile; then theirs is the one to use.
    try {
      await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' })
      await chmod(path, 0o600)
      return secret
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const theirs = await readSecret(path)
      if (theirs !== undefined && theirs.length >= MIN_LENGTH) return theirs
    }
  }
  // An unusable file is replaced whole (write beside it, then rename over it), never edited in place.
  const next = `${path}.${process.pid}.new`
  await writeFile(next, `${secret}\n`, { mode: 0o600 })
  await rename(next, path)
  replaced(path)
  return secret
}

/** The file's secret, or undefined when there is no file. */
const readSecret = async (path: string): Promise<string | undefined> => {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
