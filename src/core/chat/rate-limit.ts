/** A token bucket: `burst` tokens, refilled at `perSecond`. Pure: time comes from the caller. */
export interface Bucket {
  readonly tokens: number
  readonly at: number
}

export interface Rate {
  readonly perSecond: number
  readonly burst: number
}

export type Take = { readonly allowed: true; readonly bucket: Bucket } | { readonly allowed: false; readonly bucket: Bucket; readonly retryAfterMs: number }

export const fullBucket = (rate: Rate, at: number): Bucket => ({ tokens: rate.burst, at })

const refill = (bucket: Bucket, rate: Rate, at: number): Bucket => {
  const elapsed = Math.max(0, at - bucket.at)
  return { tokens: Math.min(rate.burst, bucket.tokens + (elapsed * rate.perSecond) / 1000), at: Math.max(at, bucket.at) }
}

export const take = (bucket: Bucket, rate: Rate, at: number): Take => {
  const current = refill(bucket, rate, at)
  if (current.tokens >= 1) return { allowed: true, bucket: { ...current, tokens: current.tokens - 1 } }
  return { allowed: false, bucket: current, retryAfterMs: Math.ceil(((1 - current.tokens) * 1000) / rate.perSecond) }
}

/**
 * Refused commands fill this meter and it drains at the refused command's own rate, so a client that
 * merely hovers at its limit is never closed, while one that keeps sending ~5x its limit fills it in about
 * ten seconds.
 */
export interface AbuseMeter {
  readonly level: number
  readonly at: number
}

export const ABUSE_SECONDS_AT_5X = 10
/** Net fill at 5x the limit is 4x refused minus 1x drained: 3x the rate per second. */
export const abuseThreshold = (rate: Rate): number => 3 * rate.perSecond * ABUSE_SECONDS_AT_5X

export const calmMeter = (at: number): AbuseMeter => ({ level: 0, at })

export const recordRefusal = (meter: AbuseMeter, rate: Rate, at: number): AbuseMeter => {
  const drained = Math.max(0, meter.level - (Math.max(0, at - meter.at) * rate.perSecond) / 1000)
  return { level: drained + 1, at: Math.max(at, meter.at) }
}
