import type { Departure, PublicUser } from '../core/protocol/server-frames.js'

// Who is in the room on screen, as far as the page has seen (docs/big-rooms.md): the first page `joined`
// gave, the pages `members` brought after it, and what `presence` frames said since. The server pages from
// the latest arrival back, so a later page goes at the end and an arrival at the top. Kept by username: a
// typist comes first on the first page and again at their place on a later one, and is listed once.

/** Whether the server holds more members than the pages so far, and whether the next page is on its way. */
export type MorePages =
  | { readonly state: 'none' }
  | { readonly state: 'more'; readonly cursor: string }
  | { readonly state: 'asking'; readonly cursor: string; readonly ref: string }

export interface Members {
  /** By username, in the order shown. */
  readonly listed: ReadonlyMap<string, PublicUser>
  /** Distinct users present, as the server last said: more than are listed until the last page is in. */
  readonly count: number
  readonly more: MorePages
}

/** How the refs of `members` requests begin, so that a refusal of one is told from others. */
export const MEMBERS_REF_PREFIX = 'members-'

export const noMembers: Members = { listed: new Map(), count: 0, more: { state: 'none' } }

const morePages = (cursor: string | undefined): MorePages => (cursor === undefined ? { state: 'none' } : { state: 'more', cursor })

const byUsername = (users: ReadonlyArray<PublicUser>): Map<string, PublicUser> => {
  const listed = new Map<string, PublicUser>()
  for (const user of users) if (!listed.has(user.username)) listed.set(user.username, user)
  return listed
}

/** What `joined` says: the first page (or, from a version-1 server, everyone), and the cursor to the rest. */
export const firstPage = (users: ReadonlyArray<PublicUser>, count: number, cursor: string | undefined): Members => ({
  listed: byUsername(users),
  count,
  more: morePages(cursor),
})

/** The next page came: new names go at the end, one already listed keeps its place. */
export const pageAdded = (members: Members, users: ReadonlyArray<PublicUser>, count: number, cursor: string | undefined): Members => {
  const listed = new Map(members.listed)
  for (const user of users) listed.set(user.username, user)
  return { listed, count, more: morePages(cursor) }
}

/**
 * The next page is asked for with `ref`; `undefined` when there is none to ask for, or it is already on
 * its way (one request at a time).
 */
export const nextPageAsked = (members: Members, ref: string): Members | undefined =>
  members.more.state === 'more' ? { ...members, more: { state: 'asking', cursor: members.more.cursor, ref } } : undefined

/** The request was refused: the page can be asked for again. */
export const nextPageRefused = (members: Members): Members =>
  members.more.state === 'asking' ? { ...members, more: { state: 'more', cursor: members.more.cursor } } : members

/** Whether `ref` is the request for the next page now on its way. */
export const awaitsPage = (members: Members, ref: string | undefined): boolean => members.more.state === 'asking' && members.more.ref === ref

/**
 * Arrivals and departures, as one `presence` frame gathers them: a departure takes the user off the list
 * (one never listed is no one's business here), an arrival puts them at the top, the latest arrival.
 */
export const presenceApplied = (members: Members, joins: ReadonlyArray<PublicUser>, leaves: ReadonlyArray<Departure>, count: number): Members => {
  const listed = new Map(members.listed)
  for (const { user } of leaves) listed.delete(user.username)
  for (const user of joins) listed.delete(user.username)
  return { ...members, listed: new Map([...byUsername(joins), ...listed]), count }
}

/**
 * A `presence` frame with `reset`: its window held more changes than a page, so it brings the room's first
 * page as it stands instead. What was listed goes, as after `joined`, and so does the cursor: a page on its
 * way for the old one is no longer awaited, and ignored when it comes (it would leave a gap before it).
 */
export const presenceReset = (users: ReadonlyArray<PublicUser>, count: number, cursor: string | undefined): Members => firstPage(users, count, cursor)

/** Whether `username` is listed. */
export const isListed = (members: Members, username: string): boolean => members.listed.has(username)

/** The members in the order shown. */
export const shownMembers = (members: Members): ReadonlyArray<PublicUser> => [...members.listed.values()]

/** "1 member", "12 members"; nothing before the room's `joined` says how many. */
export const memberCountLine = (members: Members): string => {
  if (members.count === 0 && members.listed.size === 0) return ''
  return members.count === 1 ? '1 member' : `${members.count.toLocaleString('en')} members`
}
