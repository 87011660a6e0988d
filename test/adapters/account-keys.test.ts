import { describe, expect, it } from 'vitest'
import { signUpFailure, takenAnswer, takenBy, type RefusedKey } from '../../src/adapters/account-keys.js'
import { StoreError } from '../../src/adapters/store-failure.js'

// What a refusal of a users key means to a sign-up, whichever engine read it.

const byMessage: RefusedKey = (error) => {
  const message = error instanceof Error ? error.message : ''
  return message === 'username' || message === 'email' ? message : undefined
}

describe('takenBy', () => {
  it('names the username or the e-mail as taken', () => {
    expect(takenBy('username')).toEqual({ type: 'username_taken' })
    expect(takenBy('email')).toEqual({ type: 'email_taken' })
  })
})

describe('signUpFailure', () => {
  it('answers a key’s refusal as the account error it means', () => {
    expect(signUpFailure(byMessage)(new Error('username'))).toEqual({ type: 'username_taken' })
    expect(signUpFailure(byMessage)(new Error('email'))).toEqual({ type: 'email_taken' })
  })

  it('answers any other failure as a StoreError that keeps the engine’s code and the error as its cause', () => {
    const full = Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' })
    const failure = signUpFailure(byMessage)(full)
    expect(failure).toBeInstanceOf(StoreError)
    expect(failure).toMatchObject({ code: 'SQLITE_FULL', condition: 'full', cause: full })
  })
})

describe('takenAnswer', () => {
  it('is undefined when no row holds either', () => {
    expect(takenAnswer([])).toBeUndefined()
  })

  it('says the username is taken when any row holds it, whatever the order, else the e-mail', () => {
    expect(takenAnswer([true])).toEqual({ type: 'username_taken' })
    expect(takenAnswer([false, true])).toEqual({ type: 'username_taken' })
    expect(takenAnswer([true, false])).toEqual({ type: 'username_taken' })
    expect(takenAnswer([false])).toEqual({ type: 'email_taken' })
  })
})
