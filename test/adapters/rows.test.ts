import { describe, expect, it, vi } from 'vitest'
import { UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import type { NewMessage } from '../../src/core/chat/state.js'
import {
  createdUserRecord,
  duplicateMessage,
  NEW_SESSION_COLUMNS,
  NEW_USER_COLUMNS,
  newSessionValues,
  newUserValues,
  seqBefore,
  sessionRecord,
  storedMessage,
  uploadOf,
  userRecord,
  type MessageRow,
  type UserRow,
} from '../../src/adapters/rows.js'
import type { NewUser } from '../../src/adapters/stores.js'
import { messageText, rooms, sessionId, user } from '../arbitraries.js'

// The rows both engines write and read, and the records they become: the contract suite runs them on each
// engine; these pin the conversions themselves, including rows no engine should hold.

const ana = user('ana')
const sala1 = rooms[0]!.id

const userRow: UserRow = {
  id: 'id-ana',
  name: 'Ana Souza',
  username: 'ana',
  email: 'Ana@Example.com',
  password_hash: '$2b$hash',
  created_at: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
}

const newUser: NewUser = {
  id: trusted(UserId, 'id-ana'),
  name: 'Ana Souza',
  username: 'ana',
  email: 'Ana@Example.com',
  passwordHash: '$2b$hash',
  createdAt: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
}

const messageRow: MessageRow<string> = {
  room: 'sala-1',
  seq: 7,
  user_id: 'id-ana',
  username: 'ana',
  name: 'Ana',
  text: 'olá',
  client_id: null,
  sent_at: 1_700_000_000_000,
  attachments: null,
}

const attachment = { url: '/static/AAAAAAAAAAAAAAAAAAAAAA', name: 'cat.png', type: 'image/png', size: 1234 }

/** Each bound value under the column it goes to, as the engines' INSERTs pair them. */
const byColumn = (columns: string, values: ReadonlyArray<unknown>): Record<string, unknown> => {
  const names = columns.split(', ')
  expect(values).toHaveLength(names.length)
  return Object.fromEntries(names.map((name, index) => [name, values[index]]))
}

describe('users', () => {
  it('reads a row through the codecs, with its creation time as an ISO instant', () => {
    expect(userRecord(userRow)).toEqual({
      user: { id: 'id-ana', username: 'ana', name: 'Ana Souza' },
      account: { username: 'ana', name: 'Ana Souza', email: 'Ana@Example.com', createdAt: '2024-01-02T03:04:05.006Z' },
      passwordHash: '$2b$hash',
    })
  })

  it('shows a stored name an earlier version let through (a bidi override) cleaned, in the user and the account', () => {
    const record = userRecord({ ...userRow, name: 'Ana\u202E Souza' })
    expect(record.user.name).toBe('Ana Souza')
    expect(record.account.name).toBe('Ana Souza')
  })

  it('throws on a username the codec refuses: only the codecs write them', () => {
    expect(() => userRecord({ ...userRow, username: 'a b' })).toThrow(TypeError)
  })

  it('answers for a created user what a later read of its row gives', () => {
    expect(createdUserRecord(newUser)).toEqual(userRecord(userRow))
  })

  it('binds a new user under the columns it is written to, the e-mail key by emailKey', () => {
    expect(byColumn(NEW_USER_COLUMNS, newUserValues(newUser))).toEqual({
      id: 'id-ana',
      name: 'Ana Souza',
      username: 'ana',
      email: 'Ana@Example.com',
      email_key: 'ana@example.com',
      password_hash: '$2b$hash',
      created_at: newUser.createdAt,
    })
    // Written as a login is looked up (emailKey: NFC too, not only lower case), so either spelling finds it.
    expect(byColumn(NEW_USER_COLUMNS, newUserValues({ ...newUser, email: 'Jose\u0301@Example.com' }))['email_key']).toBe('jos\u00e9@example.com')
  })
})

describe('sessions', () => {
  const id = sessionId('ana')

  it('binds a new session under the columns it is written to', () => {
    const values = newSessionValues({ id, userId: ana.id, createdAt: 1000, expiresAt: 2000 })
    expect(byColumn(NEW_SESSION_COLUMNS, values)).toEqual({ id, user_id: 'id-ana', created_at: 1000, expires_at: 2000 })
  })

  it('reads a row as the session the id names, revoked or not', () => {
    expect(sessionRecord(id, { user_id: 'id-ana', expires_at: 2000, revoked_at: null })).toEqual({ id, userId: 'id-ana', expiresAt: 2000, revokedAt: null })
    expect(sessionRecord(id, { user_id: 'id-ana', expires_at: 2000, revoked_at: 1500 }).revokedAt).toBe(1500)
  })
})

describe('uploads', () => {
  it('reads a row as the upload it registers', () => {
    const row = { name: 'AAAAAAAAAAAAAAAAAAAAAA', owner_id: 'id-ana', original_name: 'cat.png', type: 'image/png', size: 1234 }
    expect(uploadOf(row)).toEqual({ name: row.name, owner: 'id-ana', originalName: 'cat.png', type: 'image/png', size: 1234 })
    expect(() => uploadOf({ ...row, name: '../etc/passwd' })).toThrow(TypeError)
  })
})

describe('storedMessage', () => {
  it('reads a row as the message sent live: no attachments, and no clientId key when none was sent', () => {
    const parse = vi.fn()
    const message = storedMessage(messageRow, parse)
    expect(message).toEqual({ seq: 7, room: 'sala-1', user: { id: 'id-ana', username: 'ana', name: 'Ana' }, text: 'olá', attachments: [], sentAt: 1_700_000_000_000 })
    expect(message).not.toHaveProperty('clientId')
    expect(parse).not.toHaveBeenCalled()
  })

  it('reads the attachments column through the engine’s parser, then the Attachment codec', () => {
    const column = JSON.stringify([attachment])
    const parse = vi.fn((text: string): unknown => JSON.parse(text))
    const message = storedMessage({ ...messageRow, text: '', attachments: column, client_id: 'c-1' }, parse)
    expect(parse).toHaveBeenCalledWith(column)
    expect(message.attachments).toEqual([attachment])
    expect(message.text).toBe('')
    expect(message.clientId).toBe('c-1')
  })

  it('takes an engine’s already parsed column as it is', () => {
    expect(storedMessage<unknown>({ ...messageRow, attachments: [attachment] }, (parsed) => parsed).attachments).toEqual([attachment])
  })

  it('throws on attachments the codec refuses, and on a room or username it refuses', () => {
    expect(() => storedMessage<unknown>({ ...messageRow, attachments: [{ url: 1 }] }, (parsed) => parsed)).toThrow(TypeError)
    expect(() => storedMessage({ ...messageRow, room: 'Sala 1' }, vi.fn())).toThrow(TypeError)
    expect(() => storedMessage({ ...messageRow, username: '' }, vi.fn())).toThrow(TypeError)
  })
})

describe('seqBefore', () => {
  it('binds Infinity (from the newest) as the largest safe integer, and a finite seq as itself', () => {
    expect(seqBefore(Infinity)).toBe(Number.MAX_SAFE_INTEGER)
    expect(seqBefore(42)).toBe(42)
    expect(seqBefore(0)).toBe(0)
  })
})

describe('duplicateMessage', () => {
  const resend: NewMessage = { key: 3, room: sala1, user: ana, text: messageText('again'), attachments: [], sentAt: 5000, clientId: 'c-1' }

  it('answers the original a left-out message repeats, found by room, sender and clientId', async () => {
    const find = vi.fn(async () => ({ seq: 11, sent_at: 4000 }))
    await expect(duplicateMessage(resend, find)).resolves.toEqual({ room: sala1, key: 3, original: { seq: 11, sentAt: 4000 } })
    expect(find).toHaveBeenCalledWith(sala1, ana.id, 'c-1')
  })

  it('throws when the original cannot be found, or the message had no clientId to repeat (a bug), without a lookup for the latter', async () => {
    await expect(duplicateMessage(resend, async () => undefined)).rejects.toThrow('a message of sala-1 was neither stored nor a resend')
    const find = vi.fn(async () => ({ seq: 11, sent_at: 4000 }))
    const { clientId: _clientId, ...withoutClientId } = resend
    await expect(duplicateMessage(withoutClientId, find)).rejects.toThrow('neither stored nor a resend')
    expect(find).not.toHaveBeenCalled()
  })
})
