import * as E from 'fp-ts/lib/Either.js'

// The one rule for text people give us. Every codec that takes a name, a message or an id a client chose
// goes through here, so "what is acceptable text" is decided once:
// - well-formed Unicode only: a lone surrogate cannot be stored as UTF-8, so what came back from the
//   database would differ from what was sent live;
// - NFC before anything is stored or compared, so "é" typed two ways is one text;
// - names (display names, room names, e-mail, usernames, file names) show no bidi controls and nothing
//   invisible, so "\u202Enimda" cannot pose as "admin" nor "ad\u200Bmin" as another "admin"; no
//   combining mark without a letter to sit on and no pile of them (Zalgo), nothing private-use,
//   unassigned or a noncharacter (they mean nothing agreed, so no two people see the same name);
// - messages keep every character a person may mean (bidi marks in mixed scripts, joiners inside emoji),
//   but must show something: only spaces and invisible characters is no message. Private use (icon
//   fonts, "\uF8FF"), unassigned code points, a leading accent and stacked marks stay too: in a message
//   they pose as no one, and how far stacked marks may draw over the lines around is the client's to clip.

// With the `u` flag a surrogate pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /\p{Cs}/u
const CONTROL = /\p{Cc}/u
// Embeddings, overrides, isolates and the implicit marks: they reorder what follows them on screen.
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u
// Characters that draw nothing: the default-ignorables (zero-width space and joiners, word joiner and the
// invisible operators, BOM, soft hyphen, Mongolian vowel separator, variation selectors, tags, Hangul
// fillers) and the other format characters; plus the blank braille pattern, which fonts draw as a space.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\u2800]/u
const LINE_OR_PARAGRAPH_SEPARATOR = /[\p{Zl}\p{Zp}]/u
const WHITE_SPACE = /\p{White_Space}/u
const VARIATION_SELECTOR = /[\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/u
// Text (U+FE0E) and emoji (U+FE0F) presentation selectors: UTS #51 defines them only after a character
// that has both presentations, which is a subset of \p{Emoji} (digits, #, * and © included).
const PRESENTATION_SELECTOR = /[\ufe0e\ufe0f]/u
const EMOJI = /\p{Emoji}/u
// Ideographic variation selectors: UTS #37 registers sequences only on a Unified_Ideograph base.
const IDEOGRAPHIC_VARIATION_SELECTOR = /[\u{e0100}-\u{e01ef}]/u
const UNIFIED_IDEOGRAPH = /\p{Unified_Ideograph}/u
const MARK = /\p{M}/u
// UTS #39 section 5.4 counts nonspacing marks as gc=Mn or gc=Me (enclosing marks stack just as well).
const NONSPACING_MARK = /[\p{Mn}\p{Me}]/u
/**
 * At most this many nonspacing marks on one base, counted in NFD: UTS #39 (Security Mechanisms) section
 * 5.4 "Forbid sequences of more than 4 nonspacing marks", what browsers apply to domain names. Real
 * names stay well under it (Vietnamese "ệ" is 2 in NFD, pointed Hebrew or Tibetan stacks 3-4); Zalgo,
 * which climbs over the lines around it, needs more. Unicode's Stream-Safe Text Format (UAX #15) allows
 * 30, but that bounds a normalizer's buffer, not what a reader can take in.
 */
export const MAX_NONSPACING_MARKS = 4
/**
 * At most this many marks of any kind in a row (spacing marks, gc=Mc, included): the Stream-Safe bound
 * (UAX #15 section 13), far above any real cluster. It keeps the NFD count above linear in the name.
 */
const MAX_MARK_RUN = 30
// Unassigned in the Unicode version of this engine: they may draw as anything once assigned. This also
// covers the 66 noncharacters, which are checked first for their own reason.
const UNASSIGNED = /\p{Cn}/u
// U+FDD0-FDEF and the last two code points of every plane: never assigned, reserved for a program's
// internal use (Unicode chapter 23.7), so never part of a name anyone typed.
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u
// Private use (U+E000-F8FF and planes 15-16): what they show depends on the font on each screen.
const PRIVATE_USE = /\p{Co}/u
const ZERO_WIDTH_JOINER = '\u200d'
const PICTOGRAPH = /\p{Extended_Pictographic}/u
const EMOJI_MODIFIER = /\p{Emoji_Modifier}/u
// Subdivision flags: U+1F3F4 (black flag), tag letters, U+E007F (cancel tag).
const BLACK_FLAG = '\u{1f3f4}'
const TAG_SPEC = /[\u{e0020}-\u{e007e}]/u
const CANCEL_TAG = '\u{e007f}'
// Any control but tab and line breaks, which a message may hold.
const MESSAGE_CONTROL = /(?![\t\n\r])\p{Cc}/u

/** Why a text was refused; each codec turns it into a sentence about its own field. */
export type TextProblem =
  | 'ill_formed'
  | 'control_character'
  | 'bidi_control'
  | 'invisible_character'
  | 'mark_without_base'
  | 'too_many_marks'
  | 'private_use'
  | 'noncharacter'
  | 'unassigned'
  | 'surrounding_space'
  | 'no_visible_content'
  | 'too_short'
  | 'too_long'

/** True when every UTF-16 surrogate is half of a pair (what `String.prototype.isWellFormed` says, pre-ES2024). */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s)

/** Length in Unicode code points, which is what a person means by "characters". */
export const codePointLength = (s: string): number => {
  let count = 0
  for (const _ of s) count++
  return count
}

/** C0 and C1 control characters (and DEL). */
export const hasControlCharacters = (s: string): boolean => CONTROL.test(s)

/** Something a person would see: not only white space, controls and invisible characters. */
export const hasVisibleContent = (s: string): boolean => {
  for (const ch of s) if (!WHITE_SPACE.test(ch) && !INVISIBLE.test(ch) && !CONTROL.test(ch)) return true
  return false
}

/** Keys that compare e-mail addresses and logins: NFC, then case folded as `toLowerCase` does. */
export const comparisonKey = (s: string): string => s.normalize('NFC').toLowerCase().normalize('NFC')

// Names.

export interface NameRule {
  /** Most code points, after NFC. */
  readonly max: number
}

/**
 * A name as it is stored and compared: NFC, one line, no controls, no bidi controls, nothing invisible
 * (except a variation selector where it selects something, and the joiners and tags of an emoji
 * sequence, so that "Ana 🏳️‍🌈" is a name), no private-use, noncharacter or unassigned code point, every
 * combining mark on a visible base and at most `MAX_NONSPACING_MARKS` nonspacing ones per base (never
 * the same twice in a row), something visible, no surrounding spaces, 1-`max` code points.
 * Right: the normalized name. Left: the first problem found.
 */
export const checkName = (raw: string, rule: NameRule): E.Either<TextProblem, string> => {
  if (!isWellFormed(raw)) return E.left('ill_formed')
  const name = raw.normalize('NFC')
  const problem = characterProblem(name)
  if (problem !== undefined) return E.left(problem)
  if (!hasVisibleContent(name)) return E.left(name === '' ? 'too_short' : 'no_visible_content')
  if (name.trim() !== name) return E.left('surrounding_space')
  return codePointLength(name) > rule.max ? E.left('too_long') : E.right(name)
}

/**
 * A name made acceptable by removal rather than refused, for names we must keep whatever they hold (an
 * uploaded file's, or one an earlier version stored): lone surrogates become U+FFFD, then NFC, then every
 * character `checkName` would refuse goes. Surrounding spaces and the length are the caller's. The
 * result cleans to itself.
 */
export const cleanName = (raw: string): string => {
  let name = toWellFormed(raw).normalize('NFC')
  // Removing one character can leave a neighbour unsupported (a variation selector after a removed
  // control, a mark after a removed base), and can let two others compose (a mark that a removed one
  // blocked), so remove and normalize again until nothing changes. Each round only removes code points
  // and NFC of what is left only composes, so every round but the last makes the name shorter.
  for (;;) {
    const points = [...name]
    const kept = points.filter((_, i) => characterProblemAt(points, i) === undefined).join('').normalize('NFC')
    if (kept === name) return name
    name = kept
  }
}

const characterProblem = (name: string): TextProblem | undefined => {
  const points = [...name]
  for (let i = 0; i < points.length; i++) {
    const problem = characterProblemAt(points, i)
    if (problem !== undefined) return problem
  }
  return undefined
}

const characterProblemAt = (points: ReadonlyArray<string>, i: number): TextProblem | undefined => {
  const ch = points[i] ?? ''
  if (CONTROL.test(ch) || LINE_OR_PARAGRAPH_SEPARATOR.test(ch)) return 'control_character'
  if (LONE_SURROGATE.test(ch)) return 'ill_formed'
  if (BIDI_CONTROL.test(ch)) return 'bidi_control'
  if (NONCHARACTER.test(ch)) return 'noncharacter'
  if (PRIVATE_USE.test(ch)) return 'private_use'
  if (UNASSIGNED.test(ch)) return 'unassigned'
  if (INVISIBLE.test(ch) && !selectsOrJoins(points, i)) return 'invisible_character'
  if (MARK.test(ch)) return markProblem(points, i)
  return undefined
}

/**
 * The invisible characters that do a job where they are: a variation selector on what it selects a
 * form of, and the joiners and tags an emoji sequence is made of.
 */
const selectsOrJoins = (points: ReadonlyArray<string>, i: number): boolean => {
  const ch = points[i] ?? ''
  const before = points[i - 1] ?? ''
  if (PRESENTATION_SELECTOR.test(ch)) return EMOJI.test(before)
  if (IDEOGRAPHIC_VARIATION_SELECTOR.test(ch)) return UNIFIED_IDEOGRAPH.test(before)
  // U+FE00-FE0D: the standardized variation sequences (math symbols, Myanmar, CJK compatibility
  // ideographs...) all have a base character, never a mark or another selector.
  if (VARIATION_SELECTOR.test(ch)) return isVisibleBase(before) && !MARK.test(before)
  if (ch === ZERO_WIDTH_JOINER) return PICTOGRAPH.test(emojiBaseBefore(points, i)) && PICTOGRAPH.test(points[i + 1] ?? '')
  if (TAG_SPEC.test(ch) || ch === CANCEL_TAG) return inTagSequence(points, i)
  return false
}

/**
 * A combining mark (variation selectors are marks too, judged above first) must sit on a visible base
 * character: one at the start, or after a space or an invisible character, draws on nothing or on the
 * wrong thing. The run of marks on one base is bounded (see `MAX_NONSPACING_MARKS`), and the same
 * nonspacing mark twice in a row (UTS #39 section 5.4 forbids that too) draws one over the other.
 */
const markProblem = (points: ReadonlyArray<string>, i: number): TextProblem | undefined => {
  // Looking back no further than the longest run allowed keeps a long run (a file name is cleaned before
  // it is cut) from costing its length squared.
  let base = i - 1
  while (base >= 0 && MARK.test(points[base] ?? '')) {
    if (i - base >= MAX_MARK_RUN) return 'too_many_marks'
    base--
  }
  if (base < 0 || !isVisibleBase(points[base])) return 'mark_without_base'
  // In NFD, as UTS #39 counts: a base like "ǖ" already carries two, and canonical order puts equal
  // marks next to each other.
  let count = 0
  let previous = ''
  for (const point of points.slice(base, i + 1).join('').normalize('NFD')) {
    if (!NONSPACING_MARK.test(point)) {
      previous = ''
      continue
    }
    count++
    if (count > MAX_NONSPACING_MARKS || point === previous) return 'too_many_marks'
    previous = point
  }
  return undefined
}

const isVisibleBase = (ch: string | undefined): boolean =>
  ch !== undefined && !WHITE_SPACE.test(ch) && !INVISIBLE.test(ch) && !CONTROL.test(ch) && !LONE_SURROGATE.test(ch)

/** The code point a joiner at `i` joins from, past the variation selector or skin tone between them. */
const emojiBaseBefore = (points: ReadonlyArray<string>, i: number): string => {
  let j = i - 1
  while (j >= 0 && (VARIATION_SELECTOR.test(points[j] ?? '') || EMOJI_MODIFIER.test(points[j] ?? ''))) j--
  return points[j] ?? ''
}

/** Tag characters are accepted only as a whole flag: U+1F3F4, tag letters, U+E007F. */
const inTagSequence = (points: ReadonlyArray<string>, i: number): boolean => {
  let start = i
  while (start > 0 && TAG_SPEC.test(points[start - 1] ?? '')) start--
  let end = i
  while (TAG_SPEC.test(points[end] ?? '')) end++
  return points[start - 1] === BLACK_FLAG && points[end] === CANCEL_TAG && end > start
}

const toWellFormed = (s: string): string => s.replace(/\p{Cs}/gu, '\ufffd')

// Messages.

export interface MessageRule {
  /** Most code points, after NFC and trimming. */
  readonly max: number
}

/**
 * Message text as it is stored and sent: NFC, trimmed, no control characters but tab and line breaks,
 * something visible, 1-`max` code points. Everything else a person may type stays, joiners and bidi marks
 * included. Right: the text every client receives, live and from history alike.
 */
export const checkMessageText = (raw: string, rule: MessageRule): E.Either<TextProblem, string> => {
  if (!isWellFormed(raw)) return E.left('ill_formed')
  const text = raw.normalize('NFC').trim()
  if (MESSAGE_CONTROL.test(text)) return E.left('control_character')
  if (text === '') return E.left('too_short')
  if (!hasVisibleContent(text)) return E.left('no_visible_content')
  // Code points never outnumber code units, so only a long string needs counting.
  if (text.length > rule.max && codePointLength(text) > rule.max) return E.left('too_long')
  return E.right(text)
}

// Ids a client chose (`ref`, `clientId`) are echoed back for the client to match, so they are compared
// exactly as sent and never normalized; they only have to be well-formed, which `isWellFormed` checks.
