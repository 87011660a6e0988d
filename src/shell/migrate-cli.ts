import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { copySqliteToPostgres, countsLine, describeCopyProblem } from '../adapters/postgres/copy-from-sqlite.js'
import { withoutPassword } from '../core/config.js'

/**
 * The command that copies a SQLite file into PostgreSQL, shared by its two ways in: `npm run
 * migrate:sqlite-to-postgres` in a checkout (scripts/migrate-sqlite-to-postgres.mjs) and `node
 * dist/src/shell/migrate-sqlite-to-postgres.js` where only the build is installed (the container image).
 */
export interface MigrateIo {
  /** How the user typed the command, for the usage line. */
  readonly command: string
  readonly env: NodeJS.ProcessEnv
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly now?: () => number
}

interface MigrateArgs {
  readonly from: string
  readonly to: string
  readonly replace: boolean
}

type Parsed = { readonly type: 'help' } | { readonly type: 'run'; readonly args: MigrateArgs }

// A copy of a large history takes longer than any request should, so the statement timeout is generous.
const STATEMENT_TIMEOUT_MS = 60_000
const PROGRESS_EVERY_MS = 1000

export const usage = (command: string): string =>
  `usage: ${command} --from ./data/sala.db [--to postgres://user:pass@host:5432/sala] [--replace]\n` +
  '  --to defaults to DATABASE_URL; a database that already holds data is refused unless --replace'

/** Runs the command; answers the exit code (0 copied and checked, 1 anything else). Never rejects. */
export const runMigration = async (argv: ReadonlyArray<string>, io: MigrateIo): Promise<number> => {
  const parsed = parseMigrateArgs(argv, io.env)
  if (E.isLeft(parsed)) {
    io.err(`${parsed.left}\n${usage(io.command)}`)
    return 1
  }
  if (parsed.right.type === 'help') {
    io.out(usage(io.command))
    return 0
  }
  const { from, to, replace } = parsed.right.args
  io.out(`copying ${from} into ${withoutPassword(to)}${replace ? ' (replacing what is there)' : ''}`)
  const now = io.now ?? Date.now
  let lastLine = 0
  const result = await copySqliteToPostgres(from, { url: to, poolSize: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS }, {
    replace,
    progress: (table, copied) => {
      if (now() - lastLine < PROGRESS_EVERY_MS) return
      lastLine = now()
      io.out(`  ${table}: ${copied}`)
    },
  })
  if (E.isLeft(result)) {
    io.err(`not copied: ${describeCopyProblem(result.left)}`)
    return 1
  }
  io.out(`copied and checked: ${countsLine(result.right)}`)
  return 0
}

/** The arguments, or one sentence saying what is wrong with them. */
const parseMigrateArgs = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): E.Either<string, Parsed> => {
  let values: { from?: string | undefined; to?: string | undefined; replace?: boolean | undefined; help?: boolean | undefined }
  try {
    values = parseArgs({
      args: [...argv],
      options: { from: { type: 'string' }, to: { type: 'string' }, replace: { type: 'boolean' }, help: { type: 'boolean' } },
    }).values
  } catch (error) {
    // parseArgs throws for an unknown option or a stray argument: a mistake of the user's, not a bug.
    return E.left(error instanceof Error ? error.message : String(error))
  }
  if (values.help === true) return E.right({ type: 'help' })
  if (values.from === undefined || values.from === '') return E.left('--from is required')
  // Checked here so a typo in the path is not reported as a database that cannot be opened.
  if (!existsSync(values.from)) return E.left(`${values.from} does not exist`)
  const to = values.to ?? (env['DATABASE_URL'] === '' ? undefined : env['DATABASE_URL'])
  if (to === undefined) return E.left('--to or DATABASE_URL is required')
  if (!/^postgres(ql)?:\/\//.test(to)) return E.left('--to (or DATABASE_URL) must be a postgres:// or postgresql:// URL')
  return E.right({ type: 'run', args: { from: values.from, to, replace: values.replace === true } })
}
