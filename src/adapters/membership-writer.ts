import * as E from 'fp-ts/lib/Either.js'
import type { PublicMember, RoomStore } from './stores.js'
import type { StoreError } from './store-failure.js'
import { createGroupCommit } from './group-commit.js'

export interface MembershipWriter {
  readonly write: (member: PublicMember) => void
  /** Resolves once every membership written so far has been stored (or has been given up on). */
  readonly drain: () => Promise<void>
}

export interface MembershipWriterOptions {
  /** How long to wait before each retry of a failed batch (ms); its length is how many retries. */
  readonly retryDelays?: ReadonlyArray<number>
}

/** Members per statement: four values each, well under either engine's limit on one statement's values. */
const MAX_BATCH = 1000

/** About four seconds in all: a pool's wait or a dropped connection passes, and shutdown is not held long. */
const RETRY_DELAYS: ReadonlyArray<number> = [200, 1000, 3000]

/**
 * Group commit for the memberships made by entering a public room (group-commit.ts), as for read markers:
 * every membership written during one turn of the event loop, and while the previous batch is being stored,
 * goes out in the next single `addMembers`, once per user and room (the first: the store keeps the first
 * anyway). One write per join let a burst of thousands of joins queue thousands of inserts for a pool of a
 * few connections, whose wait then timed out and lost most of them.
 *
 * Nothing waits on a membership (the core counts the user a member already), but a lost one is missing from
 * the user's list of rooms, with its unread count, until they enter the room again. So a failed batch is
 * tried again a few times, after a short wait each, before it is reported (`onLost`, for the log). Writes
 * made meanwhile queue for the batch after it.
 */
export const createMembershipWriter = (
  store: Pick<RoomStore, 'addMembers'>,
  onLost: (error: StoreError, members: ReadonlyArray<PublicMember>) => void,
  { retryDelays = RETRY_DELAYS }: MembershipWriterOptions = {},
): MembershipWriter => {
  const storeBatch = async (batch: ReadonlyArray<PublicMember>): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const result = await store.addMembers(batch)()
      if (E.isRight(result)) return
      const delay = retryDelays[attempt]
      if (delay === undefined) return onLost(result.left, batch)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
  return createGroupCommit<PublicMember>({
    keyOf: (member) => `${member.user}\u0000${member.room}`,
    // The first: the store keeps the first membership of a user and room anyway.
    merge: (queued) => queued,
    maxBatch: MAX_BATCH,
    store: storeBatch,
  })
}
