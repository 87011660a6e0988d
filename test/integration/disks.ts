import { execFileSync } from 'node:child_process'
import { chmod, mkdir, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Faulty disks for tests: a tiny tmpfs filled to the brim, a read-only folder. Mounting needs root (or
 * CAP_SYS_ADMIN); where it is not allowed these answer undefined and the test says it is skipped.
 */

export interface Mounted {
  readonly dir: string
  readonly unmount: () => void
}

/** A tmpfs of `sizeKiB` at `dir` (created if needed), or undefined if this process may not mount. */
export const mountTmpfs = async (dir: string, sizeKiB: number, readOnly = false): Promise<Mounted | undefined> => {
  await mkdir(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  // Lazy: a file still open in a server being stopped must not keep the mount (and the test) alive.
  return { dir, unmount: () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) }
}

/** Fills the disk under `dir` until a write fails with ENOSPC, then frees `leaveBytes` again. */
export const fillDisk = async (dir: string, leaveBytes = 0): Promise<void> => {
  const filler = join(dir, 'filler')
  try {
    await writeFile(filler, Buffer.alloc(64 << 20))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  // Whatever the block rounding left, a few small files more take it.
  for (let i = 0; i < 64; i++) {
    try {
      await writeFile(join(dir, `filler-${i}`), Buffer.alloc(4096))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
      throw error
    }
  }
  if (leaveBytes > 0) await truncate(filler, Math.max(0, (await stat(filler)).size - leaveBytes))
}

/**
 * Makes `dir` refuse writes: by its mode for an ordinary user, by mounting a read-only file system over
 * it for root (whom modes do not stop). Undefined when neither works here.
 */
export const makeReadOnly = async (dir: string): Promise<(() => Promise<void>) | undefined> => {
  await mkdir(dir, { recursive: true })
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o555)
    return () => chmod(dir, 0o755)
  }
  const mounted = await mountTmpfs(dir, 64, true)
  return mounted === undefined ? undefined : async () => mounted.unmount()
}
