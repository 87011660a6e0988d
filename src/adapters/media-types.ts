import { fileTypeFromBuffer } from 'file-type'

/**
 * The media type a file's first bytes (up to `SNIFF_BYTES`) say it is, or undefined when they say nothing
 * (plain text, unknown formats). file-type knows hundreds of formats by their magic numbers and container
 * brands (HEIC, AVIF, M4A and MOV are told apart, where our own table called them all `video/mp4`); it is
 * well kept and pure JavaScript. Which types are shown inline stays our decision (`isInline` in the core).
 */
export const sniffMediaType = async (head: Uint8Array): Promise<string | undefined> => {
  if (head.length === 0) return undefined
  try {
    return (await fileTypeFromBuffer(head))?.mime
  } catch {
    // A parser that trips over a truncated or hostile header has found nothing we can believe.
    return undefined
  }
}
