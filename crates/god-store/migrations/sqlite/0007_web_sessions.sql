-- Browser sessions of the web UI (`/app/`): kept in the database so that any API process can
-- serve them. The cookie holds a random id; only its SHA-256 is stored. A session holds while
-- it is used: `expires` moves forward with use (at most once a minute), up to `session_timeout`
-- after the last use.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    -- The token every form and the terminal's WebSocket must carry (no cross-site requests).
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX web_sessions_login ON web_sessions (login);
CREATE INDEX web_sessions_expires ON web_sessions (expires);
