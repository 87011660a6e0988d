import type { ConnectionId } from '../../../src/core/brands.js'
import type { ServerFrame } from '../../../src/core/protocol/server-frames.js'

/** What a client believes about its room, built only from the frames it received. */
export interface ClientView {
  room: string | null
  users: Set<string>
  typing: Set<string>
  lastSeen: Map<string, string>
}

export const emptyView = (): ClientView => ({ room: null, users: new Set(), typing: new Set(), lastSeen: new Map() })

/** Applies one frame; returns a complaint when the frame should not have reached this client. */
export const applyFrame = (view: ClientView, self: string, frame: ServerFrame): string | undefined => {
  switch (frame.type) {
    case 'joined': {
      view.room = frame.room
      view.users = new Set(frame.users.map((u) => u.username))
      view.typing = new Set(frame.typing.map((u) => u.username))
      if (view.typing.has(self)) return 'a joiner was told of its own typing'
      const last = frame.history[frame.history.length - 1]
      if (last !== undefined) view.lastSeen.set(frame.room, last.id)
      return undefined
    }
    case 'user_joined':
      if (frame.room !== view.room) return `user_joined for ${frame.room} reached a client in ${view.room}`
      view.users.add(frame.user.username)
      return undefined
    case 'user_left':
      if (frame.room !== view.room) return `user_left for ${frame.room} reached a client in ${view.room}`
      if (frame.user.username === self) {
        view.room = null
        view.users = new Set()
        view.typing = new Set()
      } else {
        view.users.delete(frame.user.username)
        view.typing.delete(frame.user.username)
      }
      return undefined
    case 'typing':
      if (frame.room !== view.room) return `typing for ${frame.room} reached a client in ${view.room}`
      if (frame.user.username === self) return 'a typist was told of its own typing'
      if (frame.typing) view.typing.add(frame.user.username)
      else view.typing.delete(frame.user.username)
      return undefined
    case 'message': {
      if (frame.room !== view.room) return `message for ${frame.room} reached a client in ${view.room}`
      const last = view.lastSeen.get(frame.room)
      if (last !== undefined && frame.id <= last) return `message ${frame.id} arrived after ${last}`
      view.lastSeen.set(frame.room, frame.id)
      return undefined
    }
    case 'history':
      if (frame.room !== view.room) return `history for ${frame.room} reached a client in ${view.room}`
      return undefined
    case 'welcome':
    case 'ack':
    case 'error':
    case 'pong':
      return undefined
  }
}

export type Views = Map<ConnectionId, ClientView>
