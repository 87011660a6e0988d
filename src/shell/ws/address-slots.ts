import type { SharedCap } from './shared-caps.js'

/**
 * Open WebSockets per client address (`MAX_CONNECTIONS_PER_ADDRESS`), so that fresh accounts cannot
 * multiply the per-user cap. A slot is taken when an upgrade starts (so a flood of half-open upgrades
 * counts too) and given back when the upgrade is refused or the socket closes. In a cluster the slots of
 * every process count together.
 */
export interface AddressSlots {
  /**
   * Takes a slot for this address: false at once when this process has none left; otherwise true, or in a
   * cluster the promise of the cluster's answer (false when the other processes hold the rest; the slot is
   * then given back). A taken slot, however answered, is given back with `release`. Never rejects.
   */
  readonly take: (address: string) => boolean | Promise<boolean>
  readonly release: (address: string) => void
}

/**
 * This process's count comes first: it is cheap and refuses a flood without a word to Redis. With `shared`
 * the cluster's count decides next; while Redis cannot answer, this process's decision stands, and the slot
 * is added to the cluster's count all the same, so the count holds every open socket once Redis is back.
 */
export const createAddressSlots = (maxPerAddress: number, shared?: SharedCap): AddressSlots => {
  const open = new Map<string, number>()
  const releaseHere = (address: string): void => {
    const count = open.get(address) ?? 0
    // Only addresses with sockets open are kept: the map never holds more entries than sockets.
    if (count <= 1) open.delete(address)
    else open.set(address, count - 1)
  }
  return {
    take: (address) => {
      const count = open.get(address) ?? 0
      if (count >= maxPerAddress) return false
      open.set(address, count + 1)
      if (shared === undefined) return true
      return shared.hold(address).then(({ held, others }) => {
        if (held) return true
        if (others === undefined) {
          shared.add(address)
          return true
        }
        releaseHere(address)
        return false
      })
    },
    release: (address) => {
      releaseHere(address)
      shared?.release(address)
    },
  }
}
