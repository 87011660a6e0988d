export const SESSION_COOKIE = 'sala_session'

/** Reads one cookie; malformed pairs are skipped rather than failing the request. */
export const readCookie = (header: string | undefined, name: string): string | undefined => {
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const index = pair.indexOf('=')
    if (index < 0 || pair.slice(0, index).trim() !== name) continue
    const value = pair.slice(index + 1).trim()
    try {
      return decodeURIComponent(value)
    } catch {
      return undefined
    }
  }
  return undefined
}

export interface CookieOptions {
  readonly secure: boolean
}

export const sessionCookie = (token: string, maxAgeSeconds: number, options: CookieOptions): string =>
  [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`]
    .concat(options.secure ? ['Secure'] : [])
    .join('; ')

export const clearedSessionCookie = (options: CookieOptions): string => sessionCookie('', 0, options)
