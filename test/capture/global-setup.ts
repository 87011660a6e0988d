import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TRAFFIC_DIR_VARIABLE } from './traffic.js'

/**
 * Global setup of the main test project: a fresh folder for this run's recorded traffic, named in the
 * environment the workers inherit (they are started after this runs), removed when the run ends. A run
 * of its own per folder, so runs side by side never mix their traffic.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'sala-traffic-'))
  process.env[TRAFFIC_DIR_VARIABLE] = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
