import { mkdir, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'

/** Why a folder cannot take our files. */
export type FolderFault =
  | { readonly kind: 'not_a_folder'; readonly path: string }
  | { readonly kind: 'missing'; readonly path: string }
  | { readonly kind: 'not_writable'; readonly path: string; readonly code: string }
  | { readonly kind: 'read_only'; readonly path: string }
  | { readonly kind: 'disk_full'; readonly path: string }
  /** The process has no file descriptor left (EMFILE/ENFILE): too many connections or open files. */
  | { readonly kind: 'out_of_descriptors'; readonly path: string; readonly code: string }
  | { readonly kind: 'failed'; readonly path: string; readonly code: string }

/**
 * The one probe file's name. Fixed, so that a probe that cannot be removed (a crash between write and
 * unlink) is one file, never one per check; named like an unfinished upload, so the start-up sweep of
 * the upload folder removes it too.
 */
export const PROBE_FILE = '.probe.part'

/** Creates the folder (and its parents) if needed, then proves it takes a write. */
export const prepareFolder = async (path: string): Promise<E.Either<FolderFault, void>> => {
  try {
    await mkdir(path, { recursive: true })
  } catch (error) {
    return E.left(folderFault(error, path))
  }
  return probeFolder(path)
}

/**
 * Writes a few bytes to the probe file and removes it. Permissions say little (root passes them, a full or
 * read-only disk does not show in them), so only a real write counts. The file is removed whatever
 * happened, a failed write included: on a full disk the open succeeds and leaves an empty file otherwise.
 * Callers must not run two probes of one folder at once (the name is shared).
 */
export const probeFolder = async (path: string): Promise<E.Either<FolderFault, void>> => {
  const file = join(path, PROBE_FILE)
  try {
    const handle = await open(file, 'w')
    try {
      await handle.write('ok')
    } finally {
      await handle.close()
    }
    return E.right(undefined)
  } catch (error) {
    return E.left(folderFault(error, path))
  } finally {
    await unlink(file).catch(() => undefined)
  }
}

/** One sentence, no newline. */
export const describeFolderFault = (fault: FolderFault): string => {
  switch (fault.kind) {
    case 'not_a_folder':
      return `${fault.path} is not a folder (it, or a parent, is a file)`
    case 'missing':
      return `${fault.path} does not exist (deleted?)`
    case 'not_writable':
      return `${fault.path} is not writable by this process (${fault.code})`
    case 'read_only':
      return `${fault.path} is on a read-only file system`
    case 'disk_full':
      return `${fault.path} is on a full disk`
    case 'out_of_descriptors':
      return `no file descriptor left to write in ${fault.path} (${fault.code}): raise ulimit -n or lower the connection count`
    case 'failed':
      return `${fault.path} cannot be written (${fault.code})`
  }
}

const folderFault = (error: unknown, path: string): FolderFault => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN'
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return { kind: 'not_a_folder', path }
    case 'ENOENT':
      return { kind: 'missing', path }
    case 'EACCES':
    case 'EPERM':
      return { kind: 'not_writable', path, code }
    case 'EROFS':
      return { kind: 'read_only', path }
    case 'ENOSPC':
    case 'EDQUOT':
      return { kind: 'disk_full', path }
    case 'EMFILE':
    case 'ENFILE':
      return { kind: 'out_of_descriptors', path, code }
    default:
      return { kind: 'failed', path, code }
  }
}
