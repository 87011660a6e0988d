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
  // A resend is idempotent whatever happened in between: the database, not memory, is what knows every
  // clientId a user has used in a room. Older files may hold duplicates (the rule used to live in memory
  // only); the later copies keep their text and lose only the key.
  `
  UPDATE messages SET client_id = NULL
  WHERE client_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM messages AS first
    WHERE first.room = messages.room AND first.user_id = messages.user_id
      AND first.client_id = messages.client_id AND first.seq < messages.seq
  );
  CREATE UNIQUE INDEX messages_by_client_id ON messages(room, user_id, client_id) WHERE client_id IS NOT NULL
  `,
  // Upload budgets: a user's stored bytes are summed by owner, and a file no message links to within the
  // grace period is an orphan to sweep. Files already linked from a message are marked as attached.
  `
  ALTER TABLE uploads ADD COLUMN attached_at INTEGER;
  UPDATE uploads SET attached_at = created_at
  WHERE name IN (
    SELECT substr(json_extract(attachment.value, '$.url'), length('/static/') + 1)
    FROM messages, json_each(messages.attachments) AS attachment
    WHERE messages.attachments IS NOT NULL
  );
  CREATE INDEX uploads_by_owner ON uploads(owner_id);
  CREATE INDEX uploads_unattached ON uploads(created_at) WHERE attached_at IS NULL
  `,
  // Readiness proves that a write can commit: one row, rewritten by each probe.
  `
  CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL)
  `,
  // An upload is attached when a message linking to it is stored, not when a message naming it is checked:
  // a message refused after the check (no room, the rate limit, a resend) used to leave its files attached
  // for ever, served without ever appearing in chat. The check now only holds a file for a while
  // (claimed_at); the trigger attaches it in the insert's own statement, and only for rows really inserted
  // (a resend skipped by ON CONFLICT DO NOTHING fires no trigger). Files attached by a check alone are given
  // back to the sweep, as held since that check.
  `
  ALTER TABLE uploads ADD COLUMN claimed_at INTEGER;
  UPDATE uploads SET claimed_at = attached_at, attached_at = NULL
  WHERE attached_at IS NOT NULL AND name NOT IN (
    SELECT substr(json_extract(attachment.value, '$.url'), length('/static/') + 1)
    FROM messages, json_each(messages.attachments) AS attachment
    WHERE messages.attachments IS NOT NULL AND json_extract(attachment.value, '$.url') IS NOT NULL
  );
  CREATE TRIGGER messages_attach_uploads AFTER INSERT ON messages WHEN NEW.attachments IS NOT NULL
  BEGIN
    UPDATE uploads SET attached_at = NEW.sent_at
    WHERE attached_at IS NULL AND owner_id = NEW.user_id AND name IN (
      SELECT substr(json_extract(attachment.value, '$.url'), length('/static/') + 1)
      FROM json_each(NEW.attachments) AS attachment
    );
  END
  `,
  // Rooms people make and direct conversations (docs/rooms.md), and who belongs to which room with their
  // read marker. The catalog is `room_catalog`, as on PostgreSQL (where `rooms` holds the message counters).
  // Memberships of the ROOMS rooms (public, from configuration) have no `room_catalog` row, so room_id
  // refers to nothing. A direct conversation's dm_key is its two user ids, sorted and joined by a space: its
  // unique key is what makes one conversation per pair, however two first asks race. A room's
  // first members go in with it, in the INSERT's own statement (the stores share one connection, so a
  // transaction held across awaits would take in other callers' writes): its owner, or the conversation's
  // two users read back from dm_key. A conversation skipped by ON CONFLICT DO NOTHING fires no trigger.
  `
  CREATE TABLE room_catalog (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name TEXT NOT NULL,
    topic TEXT,
    owner_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    archived_at INTEGER,
    dm_key TEXT UNIQUE,
    CHECK ((kind = 'direct') = (dm_key IS NOT NULL))
  ) WITHOUT ROWID;
  CREATE INDEX room_catalog_by_owner ON room_catalog(owner_id, created_at);
  CREATE TABLE room_members (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    added_at INTEGER NOT NULL,
    read_seq INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX room_members_by_user ON room_members(user_id);
  CREATE TRIGGER room_catalog_first_members AFTER INSERT ON room_catalog
  BEGIN
    INSERT INTO room_members (room_id, user_id, added_at, read_seq)
    SELECT NEW.id, member, NEW.created_at, 0 FROM (
      SELECT NEW.owner_id AS member WHERE NEW.owner_id IS NOT NULL
      UNION ALL SELECT substr(NEW.dm_key, 1, instr(NEW.dm_key, ' ') - 1) WHERE NEW.dm_key IS NOT NULL
      UNION ALL SELECT substr(NEW.dm_key, instr(NEW.dm_key, ' ') + 1) WHERE NEW.dm_key IS NOT NULL
    ) WHERE true
    ON CONFLICT (room_id, user_id) DO NOTHING;
  END
  `,
]
