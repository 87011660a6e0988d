import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { describe, expect, it } from 'vitest'
import { RoomId, UserId } from '../../src/core/brands.js'
import { trusted } from '../../src/core/codecs.js'
import { createMarkerWriter } from '../../src/adapters/marker-writer.js'
import { toStoreError, type StoreError } from '../../src/adapters/store-failure.js'
import type { ReadMarker } from '../../src/adapters/stores.js'

// Read markers share the group commit (group-commit.ts) with memberships; what is theirs: the highest
// marker of a user and room is the one stored, and a failed batch is reported, not retried.

const marker = (user: string, seq: number, room = 'sala-1'): ReadMarker => ({ user: trusted(UserId, user), room: trusted(RoomId, room), seq })

const store = (results: ReadonlyArray<E.Either<StoreError, void>> = []) => {
  const calls: Array<ReadonlyArray<ReadMarker>> = []
  const markRead = (markers: ReadonlyArray<ReadMarker>): TE.TaskEither<StoreError, void> => async () => {
    calls.push(markers)
    return results[calls.length - 1] ?? E.right(undefined)
  }
  return { calls, store: { markRead } }
}

describe('the read-marker writer', () => {
  it('stores one marker per user and room in one call a turn: the highest written', async () => {
    const { calls, store: markers } = store()
    const writer = createMarkerWriter(markers, () => undefined)
    for (const seq of [3, 9, 5]) writer.write(marker('ana', seq))
    writer.write(marker('bia', 2))
    writer.write(marker('ana', 1, 'sala-2'))
    await writer.drain()
    expect(calls).toEqual([[marker('ana', 9), marker('bia', 2), marker('ana', 1, 'sala-2')]])
  })

  it('reports a failed batch once, with its size, and goes on with the next', async () => {
    const failed = toStoreError(new Error('disk I/O error'))
    const { calls, store: markers } = store([E.left(failed)])
    const reported: Array<[StoreError, number]> = []
    const writer = createMarkerWriter(markers, (error, count) => reported.push([error, count]))
    writer.write(marker('ana', 1))
    writer.write(marker('bia', 1))
    await writer.drain()
    writer.write(marker('caio', 4))
    await writer.drain()
    expect(reported).toEqual([[failed, 2]])
    expect(calls).toHaveLength(2)
  })
})
