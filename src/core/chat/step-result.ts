import type { Effect } from './effects.js'
import type { ChatState } from './state.js'

export type Step = readonly [ChatState, ReadonlyArray<Effect>]

/** A step that changes nothing: the same state object, so callers and tests can see it by identity. */
export const unchanged = (state: ChatState, effects: ReadonlyArray<Effect> = []): Step => [state, effects]
