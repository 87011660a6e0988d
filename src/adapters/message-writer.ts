import * as E from 'fp-ts/lib/Either.js'
import type { NewMessage } from '../core/chat/state.js'
import type { DuplicateMessage, MessageNumbered, StoreFailure } from '../core/chat/events.js'
import type { MessageStore } from './stores.js'

export interface MessageWriter {
  readonly write: (message: NewMessage) => void
  /** Resolves once everything written so far has been stored (or has failed). */
  readonly drain: () => Promise<void>
}

/** What became of one batch, in the order its messages were written. Plain data, ready to be an event. */
export type WriteOutcome = E.Either<
  { readonly messages: ReadonlyArray<NewMessage>; readonly error: StoreFailure },
  { readonly stored: ReadonlyArray<MessageNumbered>; readonly duplicates: ReadonlyArray<DuplicateMessage> }
>

/**
 * Group commit: every message written during one turn of the event loop, and while the previous batch is
 * still committing, goes out in the next single insert (cut to the store's `maxBatch`, the one thing the
 * writer knows of the engine). Batches run one at a time, so outcomes arrive in the order messages were
 * written — which, within a room, is the order the store numbers them.
 */
export const createMessageWriter = (store: MessageStore, onOutcome: (outcome: WriteOutcome) => void): MessageWriter => {
  let queue: NewMessage[] = []
  let running: Promise<void> | undefined

  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, store.maxBatch)
      queue = queue.slice(batch.length)
      const result = await store.insert(batch)()
      onOutcome(
        E.isRight(result)
          ? E.right({ stored: result.right.stored, duplicates: result.right.duplicates })
          : E.left({ messages: batch, error: result.left.failure }),
      )
    }
  }

  const start = (): void => {
    // Deferred to the next turn so that all messages of this one share a batch.
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .finally(() => {
        running = undefined
        if (queue.length > 0) start()
      })
  }

  return {
    write: (message) => {
      queue.push(message)
      if (running === undefined) start()
    },
    drain: async () => {
      while (running !== undefined) await running
    },
  }
}
