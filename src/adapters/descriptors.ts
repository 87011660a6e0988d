import { readFile } from 'node:fs/promises'

/**
 * The process's soft limit on open file descriptors (`ulimit -n`), or undefined where it cannot be read
 * (not Linux) or is unlimited. Node has no getrlimit; Linux says it in /proc.
 */
export const openFilesLimit = async (): Promise<number | undefined> => {
  try {
    const limits = await readFile('/proc/self/limits', 'utf8')
    const soft = /^Max open files\s+(\d+)\s/m.exec(limits)?.[1]
    return soft === undefined ? undefined : Number(soft)
  } catch {
    return undefined
  }
}

/** Descriptors kept for what is not a connection: the database, the upload and download files, stdio. */
export const RESERVED_DESCRIPTORS = 256

/**
 * How many connections the server may hold with `limit` descriptors: all but a reserve, so that the last
 * connections accepted cannot leave the database and uploads without a descriptor. A small limit keeps a
 * quarter for that reserve.
 */
export const connectionCeiling = (limit: number): number => limit - Math.min(RESERVED_DESCRIPTORS, Math.floor(limit / 4))
