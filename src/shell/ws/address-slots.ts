/**
 * Open WebSockets per client address (`MAX_CONNECTIONS_PER_ADDRESS`), so that fresh accounts cannot
 * multiply the per-user cap. A slot is taken when an upgrade starts (so a flood of half-open upgrades
 * counts too) and given back when the upgrade is refused or the socket closes.
 */
export interface AddressSlots {
  /** Takes a slot for this address; false when it has none left. */
  readonly take: (address: string) => boolean
  readonly release: (address: string) => void
}

export const createAddressSlots = (maxPerAddress: number): AddressSlots => {
  const open = new Map<string, number>()
  return {
    take: (address) => {
      const count = open.get(address) ?? 0
      if (count >= maxPerAddress) return false
      open.set(address, count + 1)
      return true
    },
    release: (address) => {
      const count = open.get(address) ?? 0
      // Only addresses with sockets open are kept: the map never holds more entries than sockets.
      if (count <= 1) open.delete(address)
      else open.set(address, count - 1)
    },
  }
}
