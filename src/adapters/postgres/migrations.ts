/**
 * PostgreSQL's schema, one entry per version, applied in order, once each; `sala_schema.version` records
 * how many ran. Never edit a shipped one. Versions are this engine's own: SQLite's list (../sqlite/
 * migrations.ts) carries that engine's history, and version 1 here is already the schema SQLite reached
 * after its sixth.
 *
 * Times are ms since the epoch in `bigint`, as SQLite stores them, so rows move between engines unchanged.
 */
export const MIGRATIONS: ReadonlyArray<string> = [
  `
  CREATE TABLE users (
    id text PRIMARY KEY,
    name text NOT NULL,
    username text NOT NULL,
    email text NOT NULL,
    email_key text NOT NULL,
    password_hash text NOT NULL,
    created_at bigint NOT NULL,
    CONSTRAINT users_email_key_unique UNIQUE (email_key)
  );
  -- Usernames are ASCII (core/brands.ts), so lower() is SQLite's COLLATE NOCASE.
  CREATE UNIQUE INDEX users_username_unique ON users (lower(username));

  CREATE TABLE sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint
  );
  CREATE INDEX sessions_by_user ON sessions (user_id);

  -- Each room's last seq: the insert bumps it in its own statement, and the row lock it takes until commit
  -- is what keeps one room's seqs unique and committed in order, however many processes write the room.
  CREATE TABLE rooms (
    id text PRIMARY KEY,
    last_seq bigint NOT NULL
  );

  CREATE TABLE messages (
    room text NOT NULL,
    seq bigint NOT NULL,
    user_id text NOT NULL REFERENCES users (id),
    text text NOT NULL,
    client_id text,
    sent_at bigint NOT NULL,
    -- [{url, name, type, size}], immutable facts about the message.
    attachments jsonb,
    PRIMARY KEY (room, seq)
  );
  CREATE UNIQUE INDEX messages_by_client_id ON messages (room, user_id, client_id) WHERE client_id IS NOT NULL;

  CREATE TABLE uploads (
    name text PRIMARY KEY,
    owner_id text NOT NULL REFERENCES users (id),
    original_name text NOT NULL,
    type text NOT NULL,
    size bigint NOT NULL,
    created_at bigint NOT NULL,
    attached_at bigint,
    claimed_at bigint
  );
  CREATE INDEX uploads_by_owner ON uploads (owner_id);
  CREATE INDEX uploads_unattached ON uploads (created_at) WHERE attached_at IS NULL;

  -- Readiness proves that a write can commit: one row, rewritten by each probe.
  CREATE TABLE readiness_probe (
    id integer PRIMARY KEY CHECK (id = 1),
    checked_at bigint NOT NULL
  );
  `,
  // Rooms people make and direct conversations (docs/rooms.md), and who belongs to which room with their
  // read marker. Additive only, as every migration must be: processes of the previous version keep running
  // against the database while the new ones start (a rolling upgrade), and they write `rooms` (the message
  // counters) for every message, so no table they use is renamed or changed. The catalog is therefore
  // `room_catalog`, on SQLite too. Memberships of the ROOMS rooms (public, from configuration) have no
  // `room_catalog` row, so room_id refers to nothing. A direct conversation's dm_key is its two user ids,
  // sorted and joined by a space: its unique key is what makes one conversation per pair, however two first
  // asks race.
  `
  CREATE TABLE room_catalog (
    id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name text NOT NULL,
    topic text,
    owner_id text REFERENCES users (id),
    created_at bigint NOT NULL,
    archived_at bigint,
    dm_key text,
    CONSTRAINT room_catalog_dm_key_unique UNIQUE (dm_key),
    CHECK ((kind = 'direct') = (dm_key IS NOT NULL))
  );
  CREATE INDEX room_catalog_by_owner ON room_catalog (owner_id, created_at);

  CREATE TABLE room_members (
    room_id text NOT NULL,
    user_id text NOT NULL REFERENCES users (id),
    added_at bigint NOT NULL,
    read_seq bigint NOT NULL,
    PRIMARY KEY (room_id, user_id)
  );
  CREATE INDEX room_members_by_user ON room_members (user_id);
  `,
]
