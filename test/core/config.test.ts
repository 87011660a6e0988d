import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodeConfig } from '../../src/core/config.js'

const problems = (env: Record<string, string>) => {
  const decoded = decodeConfig(env)
  return E.isLeft(decoded) ? decoded.left : []
}

describe('decodeConfig', () => {
  it('has working defaults for everything', () => {
    const decoded = decodeConfig({})
    expect(decoded).toEqual(
      E.right({
        production: false,
        port: 3000,
        host: '0.0.0.0',
        dataDir: './data',
        database: { type: 'sqlite' },
        cluster: { type: 'single' },
        workers: 1,
        sessionSecret: undefined,
        previousSessionSecrets: [],
        sessionTtlSeconds: 30 * 86_400,
        bcryptCost: 12,
        typingTimeoutMs: 5000,
        rooms: [
          { id: 'sala-1', name: 'Sala 1' },
          { id: 'sala-2', name: 'Sala 2' },
          { id: 'sala-3', name: 'Sala 3' },
        ],
        allowedOrigins: [],
        cookieSecure: false,
        trustProxy: { type: 'none' },
        logLevel: 'info',
        uploadDir: undefined,
        maxFileBytes: 25 * 1024 * 1024,
        maxFiles: 10,
        maxFrameBytes: 65_536,
        heartbeatMs: 30_000,
        maxBufferedBytes: 4 * 1024 * 1024,
        messageRate: 10,
        messageBurst: 20,
        typingRate: 5,
        historyRate: 5,
        maxConnectionsPerUser: 10,
        memberPage: 100,
        maxConnectionsPerAddress: 200,
        registerRate: 20,
        uploadQuotaBytes: 1024 ** 3,
        maxConcurrentUploads: 4,
        uploadRate: 30,
        uploadOrphanTtlSeconds: 86_400,
        roomCreatePerDay: 10,
        roomMaxMembers: 1000,
        inviteRate: 30,
        shutdownTimeoutMs: 10_000,
      }),
    )
  })

  it('reads every variable', () => {
    const decoded = decodeConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATA_DIR: '/var/lib/sala',
      SESSION_SECRET: 's'.repeat(40),
      SESSION_TTL: '12h',
      BCRYPT_COST: '10',
      TYPING_TIMEOUT_MS: '3000',
      ROOMS: 'lobby=Lobby, Café da manhã',
      ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173',
      COOKIE_SECURE: 'true',
      TRUST_PROXY: 'yes',
      LOG_LEVEL: 'DEBUG',
    })
    expect(decoded).toMatchObject(
      E.right({
        port: 8080,
        sessionTtlSeconds: 43_200,
        bcryptCost: 10,
        rooms: [
          { id: 'lobby', name: 'Lobby' },
          { id: 'cafe-da-manha', name: 'Café da manhã' },
        ],
        allowedOrigins: ['https://chat.example.com', 'http://localhost:5173'],
        cookieSecure: true,
        trustProxy: { type: 'addresses', addresses: ['loopback', 'linklocal', 'uniquelocal'] },
        logLevel: 'debug',
      }),
    )
  })

  it('names every bad variable, one sentence each', () => {
    const found = problems({
      PORT: 'eighty',
      SESSION_TTL: 'forever',
      BCRYPT_COST: '40',
      ROOMS: 'a,a',
      ALLOWED_ORIGINS: 'chat.example.com',
      COOKIE_SECURE: 'maybe',
      LOG_LEVEL: 'loud',
      SESSION_SECRET: 'short',
    })
    expect(found.map((p) => p.split('=')[0])).toEqual([
      'PORT',
      'SESSION_SECRET',
      'SESSION_TTL',
      'BCRYPT_COST',
      'ROOMS',
      'ALLOWED_ORIGINS',
      'COOKIE_SECURE',
      'LOG_LEVEL',
    ])
  })

  it('refuses production without a session secret, and a cheap bcrypt cost in production', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'SESSION_SECRET is required when NODE_ENV=production (at least 32 characters)',
    ])
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: '' })).toHaveLength(1)
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), BCRYPT_COST: '4' })[0]).toMatch(/^BCRYPT_COST=/)
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) })).toEqual([])
  })
})

describe('the database', () => {
  const database = (env: Record<string, string>) => {
    const decoded = decodeConfig(env)
    return E.isRight(decoded) ? decoded.right.database : decoded.left
  }

  it('is SQLite in DATA_DIR without DATABASE_URL, whatever the pool settings say', () => {
    expect(database({})).toEqual({ type: 'sqlite' })
    expect(database({ DATABASE_POOL_SIZE: '20', DATABASE_STATEMENT_TIMEOUT_MS: '2000' })).toEqual({ type: 'sqlite' })
  })

  it.each(['postgres://sala:secret@db.internal:5432/sala', 'postgresql://localhost/sala?sslmode=require', 'postgres://127.0.0.1'])(
    'is PostgreSQL at %s, with a pool of 5 and a 10 s statement timeout by default',
    (url) => {
      expect(database({ DATABASE_URL: ` ${url} ` })).toEqual({ type: 'postgres', url, poolSize: 5, statementTimeoutMs: 10_000 })
    },
  )

  it('reads the pool size and the statement timeout', () => {
    expect(database({ DATABASE_URL: 'postgres://db/sala', DATABASE_POOL_SIZE: '20', DATABASE_STATEMENT_TIMEOUT_MS: '2500' })).toEqual({
      type: 'postgres',
      url: 'postgres://db/sala',
      poolSize: 20,
      statementTimeoutMs: 2500,
    })
  })

  it.each(['sqlite:./data/sala.db', 'mysql://db/sala', 'postgres://', 'db.internal:5432', 'not a url'])('refuses DATABASE_URL=%s', (url) => {
    expect(problems({ DATABASE_URL: url })).toEqual([expect.stringMatching(/^DATABASE_URL=.*must be a postgres:\/\/ or postgresql:\/\/ URL/)])
  })

  it('never repeats the password of a refused URL', () => {
    const [problem] = problems({ DATABASE_URL: 'mysql://sala:hunter2@db/sala' })
    expect(problem).toContain('mysql://sala:***@db/sala')
    expect(problem).not.toContain('hunter2')
  })

  it.each([
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_POOL_SIZE', 'many'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '10'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '5s'],
  ])('refuses %s=%s', (name, raw) => {
    expect(problems({ DATABASE_URL: 'postgres://db/sala', [name]: raw })).toEqual([expect.stringMatching(new RegExp(`^${name}=`))])
  })

  it('requires SESSION_SECRET in production with DATABASE_URL, saying why', () => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/sala' })).toEqual([
      expect.stringMatching(/^SESSION_SECRET is required when NODE_ENV=production and DATABASE_URL is set/),
    ])
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/sala', SESSION_SECRET: 'x'.repeat(32) })).toEqual([])
    expect(problems({ DATABASE_URL: 'postgres://db/sala' })).toEqual([])
  })
})

describe('the cluster', () => {
  const withPostgres = { DATABASE_URL: 'postgres://db/sala' }
  const cluster = (env: Record<string, string>) => {
    const decoded = decodeConfig(env)
    return E.isRight(decoded) ? decoded.right.cluster : decoded.left
  }

  it('is one process alone without REDIS_URL, whatever the prefix and TTL say', () => {
    expect(cluster({})).toEqual({ type: 'single' })
    expect(cluster({ ...withPostgres, REDIS_PREFIX: 'x:', PRESENCE_TTL: '30' })).toEqual({ type: 'single' })
  })

  it.each(['redis://127.0.0.1:6379', 'rediss://:secret@cache.internal:6380/2', 'redis://default:pw@cache'])(
    'shares the chat through Redis at %s, with prefix sala: and a 15 s presence TTL by default',
    (url) => {
      expect(cluster({ ...withPostgres, REDIS_URL: ` ${url} ` })).toEqual({ type: 'redis', url, prefix: 'sala:', presenceTtlSeconds: 15 })
    },
  )

  it('reads the prefix and the presence TTL (seconds, or with a unit)', () => {
    expect(cluster({ ...withPostgres, REDIS_URL: 'redis://cache', REDIS_PREFIX: 'sala-staging:', PRESENCE_TTL: '1m' })).toEqual({
      type: 'redis',
      url: 'redis://cache',
      prefix: 'sala-staging:',
      presenceTtlSeconds: 60,
    })
    expect(cluster({ ...withPostgres, REDIS_URL: 'redis://cache', PRESENCE_TTL: '3' })).toMatchObject({ presenceTtlSeconds: 3 })
    expect(cluster({ ...withPostgres, REDIS_URL: 'redis://cache', PRESENCE_TTL: '5m' })).toMatchObject({ presenceTtlSeconds: 300 })
  })

  it.each(['http://cache:6379', 'redis://', 'cache.internal:6379', 'valkey://cache', 'not a url'])('refuses REDIS_URL=%s', (url) => {
    expect(problems({ ...withPostgres, REDIS_URL: url })).toEqual([expect.stringMatching(/^REDIS_URL=.*must be a redis:\/\/ or rediss:\/\/ \(TLS\) URL/)])
  })

  it('never repeats the password of a refused REDIS_URL', () => {
    const [problem] = problems({ ...withPostgres, REDIS_URL: 'http://default:hunter2@cache' })
    expect(problem).toContain('http://default:***@cache')
    expect(problem).not.toContain('hunter2')
  })

  it.each([
    ['REDIS_PREFIX', 'two words'],
    ['REDIS_PREFIX', 'x'.repeat(65)],
    ['REDIS_PREFIX', 'sala\u00e7:'],
    ['PRESENCE_TTL', '2'],
    ['PRESENCE_TTL', '6m'],
    ['PRESENCE_TTL', '15000ms'],
    ['PRESENCE_TTL', 'soon'],
  ])('refuses %s=%s', (name, raw) => {
    expect(problems({ ...withPostgres, REDIS_URL: 'redis://cache', [name]: raw })).toEqual([expect.stringMatching(new RegExp(`^${name}=`))])
  })

  it('requires DATABASE_URL with REDIS_URL, saying why, and only once when DATABASE_URL itself is bad', () => {
    expect(problems({ REDIS_URL: 'redis://cache' })).toEqual([
      'REDIS_URL needs DATABASE_URL: processes that share a chat through Redis must share its history in PostgreSQL',
    ])
    expect(problems({ REDIS_URL: 'redis://cache', DATABASE_URL: 'mysql://db' })).toEqual([expect.stringMatching(/^DATABASE_URL=/)])
    expect(problems({ REDIS_URL: 'redis://cache', ...withPostgres })).toEqual([])
  })
})

describe('WORKERS', () => {
  const shared = { DATABASE_URL: 'postgres://db/sala', REDIS_URL: 'redis://cache' }
  const workers = (env: Record<string, string>) => {
    const decoded = decodeConfig(env)
    return E.isRight(decoded) ? decoded.right.workers : decoded.left
  }

  it('is one process by default, and when set to 1 on SQLite', () => {
    expect(workers({})).toBe(1)
    expect(workers({ WORKERS: '1' })).toBe(1)
    expect(workers({ WORKERS: '' })).toBe(1)
  })

  it.each([
    ['2', 2],
    [' 8 ', 8],
    ['64', 64],
    ['auto', 'auto'],
    ['AUTO', 'auto'],
  ])('reads WORKERS=%s with Redis and PostgreSQL', (raw, expected) => {
    expect(workers({ ...shared, WORKERS: raw })).toBe(expected)
  })

  it.each(['0', '-1', '65', '1.5', 'two', 'all'])('refuses WORKERS=%s with one sentence', (raw) => {
    expect(problems({ ...shared, WORKERS: raw })).toEqual([`WORKERS="${raw}": must be auto or a whole number from 1 to 64`])
  })

  it('refuses more than one worker on SQLite or without Redis, in one line that says what is missing and why', () => {
    expect(problems({ WORKERS: '2' })).toEqual([
      'WORKERS=2 needs REDIS_URL and DATABASE_URL: workers are separate processes, which share one chat only through Redis and one history only in PostgreSQL (unset WORKERS to run one process on SQLite)',
    ])
    expect(problems({ WORKERS: '4', DATABASE_URL: 'postgres://db/sala' })).toEqual([
      'WORKERS=4 needs REDIS_URL: workers are separate processes, which share one chat only through Redis (unset WORKERS to run one process)',
    ])
  })

  it('refuses auto without Redis whatever the machine, so a setting does not work on one machine and fail on the next', () => {
    expect(problems({ WORKERS: 'auto' })).toEqual([expect.stringMatching(/^WORKERS=auto needs REDIS_URL and DATABASE_URL: /)])
  })

  it('adds nothing to a problem with Redis or PostgreSQL already named', () => {
    expect(problems({ WORKERS: '2', REDIS_URL: 'redis://cache' })).toEqual([
      'REDIS_URL needs DATABASE_URL: processes that share a chat through Redis must share its history in PostgreSQL',
    ])
    expect(problems({ WORKERS: '2', REDIS_URL: 'http://cache', DATABASE_URL: 'postgres://db/sala' })).toEqual([expect.stringMatching(/^REDIS_URL=/)])
    expect(problems({ WORKERS: 'many' })).toEqual([expect.stringMatching(/^WORKERS="many"/)])
  })
})

describe('TRUST_PROXY', () => {
  const trust = (raw: string) => {
    const decoded = decodeConfig({ TRUST_PROXY: raw })
    return E.isRight(decoded) ? decoded.right.trustProxy : decoded.left
  }

  it.each([
    ['false', { type: 'none' }],
    ['0', { type: 'none' }],
    ['true', { type: 'addresses', addresses: ['loopback', 'linklocal', 'uniquelocal'] }],
    ['2', { type: 'hops', count: 2 }],
    ['loopback', { type: 'addresses', addresses: ['loopback'] }],
    ['10.0.0.0/8, 192.168.1.7', { type: 'addresses', addresses: ['10.0.0.0/8', '192.168.1.7'] }],
    ['fd00::/8,::1', { type: 'addresses', addresses: ['fd00::/8', '::1'] }],
    ['10.0.0.0/255.0.0.0', { type: 'addresses', addresses: ['10.0.0.0/255.0.0.0'] }],
  ])('reads %s', (raw, expected) => {
    expect(trust(raw)).toEqual(expected)
  })

  it.each(['banana', '10.0.0.0/33', '::1/129', '300.1.1.1', '10.0.0.1/8/8', '33', ','])('refuses %s with one sentence', (raw) => {
    const problems = trust(raw)
    expect(Array.isArray(problems)).toBe(true)
    expect((problems as string[])[0]).toMatch(/^TRUST_PROXY=/)
  })
})

describe('the documented settings', () => {
  it('.env.example and the README list every variable the server reads', async () => {
    const read = new Set<string>()
    const recording = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, key) => {
        if (typeof key === 'string') read.add(key)
        return undefined
      },
    })
    decodeConfig(recording)
    const { readFileSync } = await import('node:fs')
    const example = readFileSync('.env.example', 'utf8')
    const readme = readFileSync('README.md', 'utf8')
    expect(read.size).toBeGreaterThan(20)
    for (const name of read) {
      expect(example, `.env.example lists ${name}`).toMatch(new RegExp(`^${name}=`, 'm'))
      expect(readme, `README documents ${name}`).toContain(`\`${name}\``)
    }
  })
})

describe('URLs in log lines and start-up errors', () => {
  it('never show any part of the password, whatever characters it holds, encoded or not (helper-17: a / # ? in it leaked the rest)', async () => {
    const { default: fc } = await import('fast-check')
    const { withoutPassword } = await import('../../src/core/config.js')
    const password = fc.string({ unit: fc.constantFrom(...'abcXYZ019@:/#?%&=+ !$'.split('')), minLength: 4, maxLength: 24 }).filter((p) => /[a-zA-Z0-9]{4}/.test(p))
    fc.assert(
      fc.property(fc.constantFrom('postgres', 'postgresql', 'redis', 'rediss'), password, fc.boolean(), (scheme, secret, encoded) => {
        const raw = `${scheme}://sala:${encoded ? encodeURIComponent(secret) : secret}@db.internal:5432/sala`
        const shown = withoutPassword(raw)
        const core = /[a-zA-Z0-9]{4}/.exec(secret)![0]
        expect(shown).not.toContain(core)
        expect(shown).toContain('db.internal:5432/sala')
      }),
    )
    expect(withoutPassword('redis://:s3cret/with#odd?chars@cache:6379/0')).toBe('redis://:***@cache:6379/0')
    expect(withoutPassword('postgres://sala@db/sala')).toBe('postgres://sala@db/sala')
  })
})
