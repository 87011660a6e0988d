import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { storageCondition, storeFailure, toStoreError } from '../../src/adapters/store-failure.js'
import { storeHttpError } from '../../src/shell/http/store-error.js'

// One reading of the stores' error codes, and one answer per condition on every route.

const KNOWN = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_FULL: 'full',
  ENOSPC: 'full',
  EDQUOT: 'full',
  SQLITE_READONLY: 'unwritable',
  SQLITE_PERM: 'unwritable',
  EROFS: 'unwritable',
  EACCES: 'unwritable',
  EPERM: 'unwritable',
} as const

const ANSWER = {
  busy: { status: 503, code: 'storage_busy' },
  full: { status: 507, code: 'storage_full' },
  unwritable: { status: 500, code: 'storage_failed' },
  failed: { status: 500, code: 'internal_error' },
} as const

const withCode = (code: string, message: string) => Object.assign(new Error(message), { code })

const anyCode = fc.oneof(fc.constantFrom(...Object.keys(KNOWN), 'SQLITE_IOERR', 'SQLITE_CONSTRAINT', 'ENOENT', 'constructor', '__proto__', 'toString'), fc.string())
// Messages as the engines write them: paths of the server among them.
const anyMessage = fc.oneof(fc.string(), fc.constantFrom("EROFS: read-only file system, open '/srv/sala/uploads/.x.part'", 'SQLITE_FULL: database or disk is full'))

describe('storageCondition', () => {
  it('reads the known codes, from an Error, a StoreFailure or an error’s cause; anything else is failed', () => {
    fc.assert(
      fc.property(anyCode, anyMessage, (code, message) => {
        const expected = Object.hasOwn(KNOWN, code) ? KNOWN[code as keyof typeof KNOWN] : 'failed'
        expect(storageCondition(withCode(code, message))).toBe(expected)
        expect(storageCondition(storeFailure(withCode(code, message)))).toBe(expected)
        expect(storageCondition(new Error('wrapped', { cause: withCode(code, message) }))).toBe(expected)
      }),
      { numRuns: 300 },
    )
    expect(storageCondition(undefined)).toBe('failed')
    expect(storageCondition('SQLITE_BUSY')).toBe('failed')
  })
})

describe('storeFailure of node-postgres’s connection errors, which carry no code', () => {
  // The driver's exact words: a connect that timed out (pool full behind a lock, or no answer) and a
  // connection that ended under a statement.
  const COULD_NOT_CONNECT = ['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout']
  const CONNECTION_FAILED = ['Connection terminated unexpectedly']

  it.each(COULD_NOT_CONNECT)('reads %j as busy with 08001 (could not connect)', (message) => {
    expect(storeFailure(new Error(message))).toEqual({ condition: 'busy', code: '08001', message })
    expect(storageCondition(new Error(message))).toBe('busy')
    expect(toStoreError(new Error(message)).code).toBe('08001')
  })

  it.each(CONNECTION_FAILED)('reads %j as busy with 08006 (the connection failed)', (message) => {
    expect(storeFailure(new Error(message))).toEqual({ condition: 'busy', code: '08006', message })
    expect(storageCondition(new Error(message))).toBe('busy')
    expect(toStoreError(new Error(message)).code).toBe('08006')
  })

  it('keeps the code an error already has, whatever its message says', () => {
    fc.assert(
      fc.property(anyCode, fc.constantFrom(...COULD_NOT_CONNECT, ...CONNECTION_FAILED), (code, message) => {
        const failure = storeFailure(withCode(code, message))
        expect(failure.code).toBe(code)
        expect(failure.condition).toBe(Object.hasOwn(KNOWN, code) ? KNOWN[code as keyof typeof KNOWN] : 'failed')
      }),
      { numRuns: 100 },
    )
    expect(storeFailure(withCode('57P01', 'Connection terminated unexpectedly'))).toEqual({
      condition: 'busy',
      code: '57P01',
      message: 'Connection terminated unexpectedly',
    })
    expect(storeFailure(withCode('SQLITE_FULL', 'timeout exceeded when trying to connect')).condition).toBe('full')
  })
})

describe('storeHttpError', () => {
  it('answers each condition with its status and code, exposed except a bug, never with the error’s own words', () => {
    fc.assert(
      fc.property(anyCode, anyMessage, (code, message) => {
        const error = withCode(code, message)
        const answer = storeHttpError(error, 'the file')
        const expected = ANSWER[storageCondition(error)]
        expect({ status: answer.status, code: answer['code'] }).toEqual(expected)
        expect(answer.expose).toBe(expected.code !== 'internal_error')
        expect(answer.cause).toBe(error)
        // What is exposed reaches the client: it says what is wrong, not where (the log has the rest).
        if (answer.expose && message.includes('/')) expect(answer.message).not.toContain(message)
        if (answer.expose) expect(answer.message).not.toMatch(/\/srv\//)
        if (expected.code === 'storage_busy') expect(Number(answer.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1)
      }),
      { numRuns: 300 },
    )
    expect(storeHttpError(withCode('ENOSPC', 'x'), 'the file').message).toBe('the server has no room for the file right now')
  })
})
