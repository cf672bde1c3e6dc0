-- Job arrays: children point at their parent; a parent knows how many children exist so far.
ALTER TABLE jobs ADD COLUMN parent_id INTEGER;
ALTER TABLE jobs ADD COLUMN array_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN array_created INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_parent ON jobs (parent_id, state) WHERE parent_id IS NOT NULL;
CREATE INDEX jobs_arrays ON jobs (state) WHERE array_total > array_created;

-- Priorities and quotas (0 = unlimited); a password for directory-less local logins.
ALTER TABLE users ADD COLUMN prio INTEGER NOT NULL DEFAULT 50;
ALTER TABLE users ADD COLUMN quota_cpu REAL NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN quota_ram REAL NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN quota_time REAL NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    prio INTEGER NOT NULL DEFAULT 50,
    quota_cpu REAL NOT NULL DEFAULT 0,
    quota_ram REAL NOT NULL DEFAULT 0,
    quota_time REAL NOT NULL DEFAULT 0,
    -- JSON arrays
    members TEXT NOT NULL DEFAULT '[]',
    volumes TEXT NOT NULL DEFAULT '[]'
);

-- What each job consumed, written in the same transaction that ends its run.
CREATE TABLE usage (
    job_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    project TEXT NOT NULL,
    cpu REAL NOT NULL,
    ram REAL NOT NULL,
    wall_seconds REAL NOT NULL,
    ended REAL NOT NULL
);
CREATE INDEX usage_ended ON usage (ended);
CREATE INDEX usage_user ON usage (user_id, ended);
CREATE INDEX usage_project ON usage (project, ended);

-- Submission time, for fair share's waiting time without reading documents.
ALTER TABLE jobs ADD COLUMN submitted REAL NOT NULL DEFAULT 0;
