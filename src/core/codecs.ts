import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'

/** One decoding problem, addressed by the path of the offending field ("" for the whole value). */
export interface FieldProblem {
  readonly path: string
  readonly message: string
}

/**
 * A string codec whose failures carry a readable sentence, so that an `error` frame or a 400 body can
 * tell a client exactly which field is wrong and why.
 */
export const explained = <A, O>(codec: t.Type<A, O, unknown>, explanation: string): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    codec.is,
    (input, context) =>
      pipe(
        codec.validate(input, context),
        E.mapLeft(() => [{ value: input, context, message: explanation }]),
      ),
    codec.encode,
  )

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

type OptionalOf<P extends t.Props> = { readonly [K in keyof P]?: t.TypeOf<P[K]> }
type RequiredOf<P extends t.Props> = { readonly [K in keyof P]: t.TypeOf<P[K]> }

/**
 * An object codec that rejects keys it does not know. Clients get told about a misspelt field instead of
 * having it silently dropped, and keys like `__proto__` never get past the edge.
 */
export const strictObject = <R extends t.Props, O extends t.Props>(
  name: string,
  required: R,
  optional: O,
): t.Type<RequiredOf<R> & OptionalOf<O>, unknown, unknown> => {
  const knows = (key: string) => Object.hasOwn(required, key) || Object.hasOwn(optional, key)
  const validate = (input: unknown, context: t.Context): t.Validation<RequiredOf<R> & OptionalOf<O>> => {
    if (!isPlainObject(input)) return t.failure(input, context, 'must be a JSON object')
    const errors: t.ValidationError[] = []
    const output: Record<string, unknown> = {}
    for (const key of Object.keys(input)) {
      if (!knows(key)) errors.push(problemAt(context, key, input[key], 'is not a known field'))
    }
    for (const [key, codec] of Object.entries(required)) {
      const value = input[key]
      if (value === undefined) {
        errors.push(problemAt(context, key, value, 'is required'))
        continue
      }
      collect(codec.validate(value, appendKey(context, key, codec, value)), key, output, errors)
    }
    for (const [key, codec] of Object.entries(optional)) {
      const value = input[key]
      if (value === undefined) continue
      collect(codec.validate(value, appendKey(context, key, codec, value)), key, output, errors)
    }
    // The output was assembled key by key from the codecs above, so it has exactly the declared shape.
    return errors.length > 0 ? t.failures(errors) : t.success(output as RequiredOf<R> & OptionalOf<O>)
  }
  return new t.Type(name, (u): u is RequiredOf<R> & OptionalOf<O> => E.isRight(validate(u, [])), validate, t.identity)
}

const appendKey = (context: t.Context, key: string, type: t.Decoder<unknown, unknown>, actual: unknown): t.Context => [
  ...context,
  { key, type, actual },
]

const problemAt = (context: t.Context, key: string, value: unknown, message: string): t.ValidationError => ({
  value,
  context: appendKey(context, key, t.unknown, value),
  message,
})

const collect = (
  result: t.Validation<unknown>,
  key: string,
  output: Record<string, unknown>,
  errors: t.ValidationError[],
): void => {
  if (E.isRight(result)) output[key] = result.right
  else errors.push(...result.left)
}

/** Turns io-ts errors into one problem per field, keeping the explanation given by `explained`. */
export const describeProblems = (errors: t.Errors): ReadonlyArray<FieldProblem> => {
  const byPath = new Map<string, string>()
  for (const error of errors) {
    const path = error.context
      .map((entry) => entry.key)
      .filter((key) => key !== '')
      .join('.')
    if (!byPath.has(path)) byPath.set(path, error.message ?? `has the wrong type (expected ${lastTypeName(error)})`)
  }
  return [...byPath].map(([path, message]) => ({ path, message }))
}

const lastTypeName = (error: t.ValidationError): string =>
  error.context[error.context.length - 1]?.type.name ?? 'unknown'

/** Decodes a value that is valid by construction (a generated id, a constant); a failure is a bug. */
export const trusted = <A>(codec: t.Decoder<unknown, A>, value: unknown): A => {
  const result = codec.decode(value)
  if (E.isLeft(result)) {
    throw new TypeError(`${codec.name}: invalid trusted value ${JSON.stringify(value)}`)
  }
  return result.right
}

/**
 * A string codec that normalizes as it decodes: `check` gives the value to keep (NFC, trimmed, ...) or a
 * sentence saying why not. `is` holds only for values already kept as they are, so a decoded value
 * decodes to itself: what is stored, sent live and read back from history is the same string.
 */
export const normalizing = <A extends string>(
  branded: t.Type<A, string, unknown>,
  check: (raw: string) => E.Either<string, string>,
): t.Type<A, string, unknown> =>
  new t.Type<A, string, unknown>(
    branded.name,
    branded.is,
    (input, context) => {
      if (typeof input !== 'string') return t.failure(input, context, 'must be a string')
      const checked = check(input)
      return E.isRight(checked) ? branded.validate(checked.right, context) : t.failure(input, context, checked.left)
    },
    branded.encode,
  )

/** True when `check` keeps `s` exactly as it is: the predicate behind a normalizing codec's brand. */
export const keptAsIs = (check: (raw: string) => E.Either<unknown, string>, s: string): boolean => {
  const checked = check(s)
  return E.isRight(checked) && checked.right === s
}
