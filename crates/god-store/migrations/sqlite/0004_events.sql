-- The change log: every committed change a client may want to follow, appended in the same
-- transaction as the change, with an increasing id (resume from the last id seen). Rows carry
-- what visibility filters need (owner, project) and a small JSON body; old rows are trimmed.
-- The id is the rowid (no AUTOINCREMENT: one write less per commit); it still only grows, since
-- trimming never removes the newest rows.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    job_id INTEGER,
    user_id TEXT,
    project TEXT,
    body TEXT NOT NULL
);
