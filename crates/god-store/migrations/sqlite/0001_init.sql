-- Jobs: the full task document (wire format, without its id) plus the columns queries need.
-- `state` and `secondary` always equal the document's status.primary / status.secondary:
-- both are written by the same statement.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    project TEXT NOT NULL,
    state TEXT NOT NULL,
    secondary TEXT,
    cpu INTEGER NOT NULL,
    ram REAL NOT NULL,
    deps TEXT NOT NULL DEFAULT '',
    date_over REAL,
    archive_requested INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_user_state ON jobs (user_id, state, id);
CREATE INDEX jobs_archive ON jobs (archive_requested) WHERE archive_requested = 1;

CREATE TABLE users (
    login TEXT PRIMARY KEY,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    sgids TEXT NOT NULL DEFAULT '',
    home TEXT,
    email TEXT,
    admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    apikey_hash TEXT NOT NULL,
    -- Bumped when the API key is renewed: tokens carry it, so old tokens stop working.
    key_version INTEGER NOT NULL DEFAULT 1,
    public_key TEXT,
    created REAL NOT NULL
);

-- Server identity and secrets, generated once.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Images that jobs used (GET /api/1.0/image).
CREATE TABLE images (
    url TEXT PRIMARY KEY,
    count INTEGER NOT NULL DEFAULT 0
);
