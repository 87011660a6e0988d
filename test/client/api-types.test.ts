import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

describe('the web client’s HTTP types', () => {
  it('are what openapi-typescript makes of openapi.yaml today', async () => {
    // Fails when openapi.yaml changed and src/client/api-types.ts was not regenerated (npm run build:api-types).
    await expect(promisify(execFile)(process.execPath, ['scripts/build-api-types.mjs', '--check'])).resolves.toBeDefined()
  })
})
