import * as E from 'fp-ts/lib/Either.js'
import type { Duplex } from 'node:stream'
import type { RawData } from 'ws'
import { decodeClientFrame, type ChatCommand } from '../../core/protocol/client-commands.js'
import { versionOf } from '../../core/protocol/version.js'
import { uploadNameFromUrl, uploadUrl, type Upload, type UploadName } from '../../core/uploads.js'
import type { Logger } from '../../adapters/logger.js'
import type { System } from '../../adapters/system.js'
import type { ConnectionId, UserId } from '../../core/brands.js'
import type { Authenticated } from '../accounts.js'
import type { ChatRuntime } from '../chat-runtime.js'
import type { AddressSlots } from './address-slots.js'
import type { SharedRates } from './shared-rates.js'
import type { CapAnswer, SharedCap } from './shared-caps.js'
import type { MembershipReads } from './membership-reads.js'
import type { MembershipEntry } from '../../core/chat/events.js'
import type { StoreError } from '../../adapters/store-failure.js'
import { bindSocket, type ChatSocket, type SocketPeer } from './chat-socket.js'
import { rawText } from './frame.js'
import { CLOSE_INTERNAL_ERROR, CLOSE_UNSUPPORTED_DATA } from '../../core/protocol/close-codes.js'
import { limitKindOf, SHARED_KINDS, type SharedAdmission } from '../../core/chat/limits.js'

export interface ConnectionDependencies {
  readonly runtime: ChatRuntime
  readonly system: System
  readonly log: Logger
  readonly findUploads: (names: ReadonlyArray<UploadName>) => Promise<E.Either<Error, ReadonlyArray<Upload>>>
  /** The open-socket count per client address; the connection gives its place back when it closes. */
  readonly addresses: AddressSlots
  /** The cluster's allowances for chat commands; absent when this process is the only one. */
  readonly sharedRates?: SharedRates
  /** MAX_CONNECTIONS_PER_USER counted with the other processes; absent when this process is the only one. */
  readonly userCap?: SharedCap
  /** The user's stored memberships, read as the connection opens. */
  readonly memberships: MembershipReads
}

type Inbound = { readonly kind: 'frame'; readonly data: RawData; readonly isBinary: boolean } | { readonly kind: 'closed'; readonly code: number }

/** Reads of a user's memberships before a connection opens with the last one, however often they change meanwhile. */
const MOST_READS = 3

const ALREADY_SIGNED_IN = 'this connection is already signed in; auth is only the first frame of one opened without credentials'

/**
 * Wires one open socket to the runtime. Frames are handled strictly in arrival order: a command that must
 * first ask something (a message's attachments, the cluster's allowance) holds back the frames behind it
 * (and the close), so a client's commands never overtake one another.
 */
export const attachConnection = (deps: ConnectionDependencies) => (socket: ChatSocket, signedIn: Authenticated, raw: Duplex, address: string): void => {
  // One object per socket and no closures: at tens of thousands of idle sockets every closure and
  // per-connection logger counts, so the state lives on the object and log lines carry the ids.
  const client = new ClientConnection(deps, socket, deps.system.newConnectionId(), signedIn.record.user.id, address)
  deps.runtime.attach(client.id, bindSocket(socket, client, raw))

  deps.log.info('connected', { ...client.ids(), address })
  client.start(signedIn)
}

class ClientConnection implements SocketPeer {
  /** Frames held back while a lookup runs; made only then, as most sockets never need one. */
  private inbox: Inbound[] | undefined
  private waiting = false
  /** Whether this connection is one of its user's in the cluster's count (`userCap`), to give back when it closes. */
  private counted = false

  constructor(
    private readonly deps: ConnectionDependencies,
    private readonly socket: ChatSocket,
    readonly id: ConnectionId,
    private readonly user: UserId,
    private readonly address: string,
  ) {}

  ids(): { readonly connectionId: ConnectionId; readonly userId: UserId } {
    return { connectionId: this.id, userId: this.user }
  }

  /**
   * Tells the core the connection opened, with the user's stored memberships, read first (in a cluster,
   * together with the user's connections on the other processes). The socket's frames and close wait
   * behind these like behind any lookup, so nothing the client sends overtakes its own opening.
   */
  start(signedIn: Authenticated): void {
    this.waiting = true
    void this.opening(signedIn).finally(() => this.resume())
  }

  private async opening(signedIn: Authenticated): Promise<void> {
    const { userCap: cap, memberships: reads } = this.deps
    const holding = cap?.hold(this.user)
    let read = reads.read(this.user)
    try {
      let [hold, memberships] = await Promise.all([holding, read.answer])
      // A change of the user's memberships came meanwhile, which the read may have missed and the core
      // could not apply (no presence yet): read again. The last read is checked just before the opening,
      // in the same turn, so a change after it reaches a user the core knows.
      for (let attempts = 1; E.isRight(memberships) && read.stale() && attempts < MOST_READS && this.open(); attempts++) {
        read.done()
        read = reads.read(this.user)
        memberships = await read.answer
      }
      if (E.isRight(memberships) && read.stale()) this.deps.log.warn('memberships kept changing while read: opening with the last read', this.ids())
      this.openWith(signedIn, memberships, cap, hold)
    } finally {
      read.done()
    }
  }

  private openWith(
    signedIn: Authenticated,
    memberships: E.Either<StoreError, ReadonlyArray<MembershipEntry>>,
    cap: SharedCap | undefined,
    hold: CapAnswer | undefined,
  ): void {
    // Closed while asking (by the client, or by shutdown): it never opened; its close is in the inbox.
    if (!this.open() || E.isLeft(memberships)) {
      if (cap !== undefined && hold?.held === true) cap.release(this.user)
      if (E.isLeft(memberships) && this.open()) this.storeFailed(memberships.left)
      return
    }
    this.opened(signedIn, memberships.right, hold?.others)
    if (cap === undefined || hold === undefined) return
    // The count follows what the core decided, which can differ from the tally's hold: a session that
    // ended, a user cooling down, a connection admitted while Redis could not answer.
    const admitted = this.deps.runtime.state().connections.has(this.id)
    if (admitted && !hold.held) cap.add(this.user)
    if (!admitted && hold.held) cap.release(this.user)
    this.counted = admitted
  }

  /**
   * Without its memberships the connection would open with the private rooms and conversations of the user
   * missing from every list and refused on `join`, as if they had none: closed instead, 1011 (the server's
   * failure, reconnect), as a sign-in the store could not check is. Not 1013, which in this protocol tells a
   * client it read too slowly. The client's reconnect backs off, as a socket closed before `welcome` does
   * not reset it.
   */
  private storeFailed(error: StoreError): void {
    this.deps.log.error('memberships could not be read: closing the connection', { ...this.ids(), err: error })
    this.socket.close(CLOSE_INTERNAL_ERROR, 'your rooms could not be read; reconnect')
  }

  private opened({ session, record }: Authenticated, memberships: ReadonlyArray<MembershipEntry>, connectionsElsewhere: number | undefined): void {
    this.deps.runtime.dispatch({
      type: 'ConnectionOpened',
      connection: this.id,
      user: record.user,
      session: session.id,
      sessionExpiresAt: session.expiresAt,
      ...(connectionsElsewhere === undefined ? {} : { connectionsElsewhere }),
      memberships,
      protocol: versionOf(this.socket.protocol),
      at: this.deps.system.now(),
    })
  }

  frame(data: RawData, isBinary: boolean): void {
    this.receive({ kind: 'frame', data, isBinary })
  }

  closed(code: number): void {
    this.receive({ kind: 'closed', code })
  }

  // ws closes the socket itself after an 'error' (bad frame, oversized payload); we only record it.
  failed(error: Error): void {
    this.deps.log.debug('socket error', { ...this.ids(), err: error })
  }

  private receive(next: Inbound): void {
    if (this.waiting) {
      this.inbox ??= []
      this.inbox.push(next)
      return
    }
    this.handle(next)
  }

  private handle(next: Inbound): void {
    // Frames that waited behind a lookup are dropped if the server started closing meanwhile.
    if (next.kind === 'frame' && !this.open()) return
    const lookup = next.kind === 'frame' ? this.handleFrame(next.data, next.isBinary) : this.handleClose(next.code)
    if (lookup === undefined) return
    this.waiting = true
    void lookup.finally(() => this.resume())
  }

  /** Handles what arrived during a lookup, in order, until the next lookup or an empty inbox. */
  private resume(): void {
    this.waiting = false
    while (!this.waiting && this.inbox !== undefined && this.inbox.length > 0) {
      const next = this.inbox.shift()
      if (next !== undefined) this.handle(next)
    }
    if (!this.waiting) this.inbox = undefined
  }

  private handleFrame(data: RawData, isBinary: boolean): Promise<void> | undefined {
    const { runtime, system, log } = this.deps
    const connection = this.id
    const at = system.now()
    if (isBinary) {
      // The protocol is JSON text; 1003 is WebSocket's own code for "cannot accept this data type".
      this.socket.close(CLOSE_UNSUPPORTED_DATA, 'binary frames are not accepted: send JSON text')
      return undefined
    }
    const decoded = decodeClientFrame(rawText(data))
    if (E.isLeft(decoded)) {
      log.debug('frame rejected', { ...this.ids(), reason: decoded.left.message })
      const { message, details, ref } = decoded.left
      runtime.dispatch({ type: 'FrameRejected', connection, message, details, ...(ref === undefined ? {} : { ref }), at })
      return undefined
    }
    const command = decoded.right
    // Signing in is the first frame of a connection that came without credentials; this one has them.
    // Refused like a bad frame (it costs the same allowance), and its token goes no further.
    if (command.type === 'auth') {
      log.debug('frame rejected', { ...this.ids(), reason: 'auth on a signed-in connection' })
      runtime.dispatch({ type: 'FrameRejected', connection, message: ALREADY_SIGNED_IN, details: [], at })
      return undefined
    }
    const shared = this.askCluster(command)
    const attachments = command.type === 'message' ? (command.attachments ?? []) : []
    if (shared === undefined && attachments.length === 0) {
      runtime.dispatch({ type: 'CommandReceived', connection, command, at })
      return undefined
    }
    return this.afterLookups(command, shared, attachments)
  }

  /** The cluster's answer for the allowance this command draws on, if the cluster shares that kind. */
  private askCluster(command: ChatCommand): Promise<SharedAdmission | undefined> | undefined {
    const kind = limitKindOf(command.type)
    return this.deps.sharedRates !== undefined && SHARED_KINDS.has(kind) ? this.deps.sharedRates(this.user, kind) : undefined
  }

  /** Dispatches a command once the cluster's allowance and its attachments' uploads are known (asked together). */
  private async afterLookups(command: ChatCommand, sharing: Promise<SharedAdmission | undefined> | undefined, urls: ReadonlyArray<string>): Promise<void> {
    const [shared, uploads] = await Promise.all([sharing, urls.length === 0 ? undefined : this.findUploads(command, urls)])
    // The lookups took time; the server may have decided to close this connection since.
    if (uploads === 'failed' || !this.open()) return
    this.deps.runtime.dispatch({
      type: 'CommandReceived',
      connection: this.id,
      command,
      ...(uploads === undefined ? {} : { uploads }),
      ...(shared === undefined ? {} : { shared }),
      at: this.deps.system.now(),
    })
  }

  // The core decides whether the links are acceptable; the shell only finds what they point at.
  private async findUploads(command: ChatCommand, urls: ReadonlyArray<string>): Promise<ReadonlyMap<string, Upload> | 'failed'> {
    const { runtime, system, log, findUploads } = this.deps
    const names = urls.flatMap((url) => {
      const name = uploadNameFromUrl(url)
      return name === undefined ? [] : [name]
    })
    const found = await findUploads(names)
    if (E.isLeft(found)) {
      log.error('attachment lookup failed', { ...this.ids(), err: found.left })
      const ref = command.ref === undefined ? {} : { ref: command.ref }
      runtime.dispatch({ type: 'CommandFailed', connection: this.id, message: 'the message could not be sent; try again', ...ref, at: system.now() })
      return 'failed'
    }
    return new Map(found.right.map((upload) => [uploadUrl(upload.name), upload]))
  }

  private open(): boolean {
    return this.socket.readyState === this.socket.OPEN
  }

  private handleClose(code: number): undefined {
    const { runtime, system, log } = this.deps
    this.deps.addresses.release(this.address)
    if (this.counted) this.deps.userCap?.release(this.user)
    this.counted = false
    runtime.detach(this.id)
    runtime.dispatch({ type: 'ConnectionClosed', connection: this.id, at: system.now() })
    log.info('disconnected', { ...this.ids(), code })
    return undefined
  }
}
