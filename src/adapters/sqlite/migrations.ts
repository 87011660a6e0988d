/** Applied in order, once each; `PRAGMA user_version` records how many ran. Never edit a shipped one. */
export const MIGRATIONS: ReadonlyArray<string> = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX sessions_by_user ON sessions(user_id);
  CREATE TABLE messages (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    text TEXT NOT NULL,
    client_id TEXT,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID
  `,
  // Attachments are immutable facts about the message, kept with it as JSON: [{url, name, type, size}].
  `
  ALTER TABLE messages ADD COLUMN attachments TEXT;
  CREATE TABLE uploads (
    name TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id),
    original_name TEXT NOT NULL,
    type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID
  `,
]
