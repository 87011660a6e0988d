import * as api from './api.js'
import type { ApiResult } from './api.js'
import type { ActionAnswer, RoomAction } from './room-actions.js'
import { fromOlderServer } from './rooms.js'

// Carries out a `roomAction` command: the rooms route for the action (api.ts, typed by openapi.yaml), and
// its result as the model's `ActionAnswer`. Never rejects: a failure is an answer too.

/** `me`: the signed-in user's username (leaving a room is removing oneself from it). */
export const performRoomAction = async (action: RoomAction, me: string): Promise<ActionAnswer> => {
  switch (action.type) {
    case 'create':
      return roomAnswer(await api.createRoom({ name: action.name, visibility: action.visibility, ...(action.topic === '' ? {} : { topic: action.topic }) }))
    case 'rename':
      return roomAnswer(await api.updateRoom(action.room, { name: action.name }))
    case 'setTopic':
      return roomAnswer(await api.updateRoom(action.room, { topic: action.topic === '' ? null : action.topic }))
    case 'archive':
      return roomAnswer(await api.archiveRoom(action.room))
    case 'invite': {
      const result = await api.addMember(action.room, action.username)
      return result.ok ? { type: 'member', user: result.value.user, added: result.status === 201 } : refusal(result)
    }
    case 'remove':
      return doneAnswer(await api.removeMember(action.room, action.username))
    case 'leave':
      return doneAnswer(await api.removeMember(action.room, me))
    case 'converse':
      return roomAnswer(await api.openConversation(action.username))
  }
}

type Failure = Extract<ApiResult<unknown>, { readonly ok: false }>

const roomAnswer = (result: ApiResult<Parameters<typeof fromOlderServer>[0]>): ActionAnswer =>
  result.ok ? { type: 'room', room: fromOlderServer(result.value) } : refusal(result)

const doneAnswer = (result: ApiResult<unknown>): ActionAnswer => (result.ok ? { type: 'done' } : refusal(result))

const refusal = (failure: Failure): ActionAnswer =>
  failure.status === 0
    ? { type: 'unreachable' }
    : {
        type: 'refused',
        status: failure.status,
        message: failure.message,
        fields: failure.fields,
        ...(failure.code === undefined ? {} : { code: failure.code }),
        ...(failure.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: failure.retryAfterSeconds }),
      }
