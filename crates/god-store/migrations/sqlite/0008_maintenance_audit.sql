-- Maintenance mode: one row, shared by every process on the database. While `active`, the
-- scheduler starts nothing. Who set it, when, and their message come with it.
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    active INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    set_by TEXT,
    set_at REAL
);
INSERT INTO maintenance (id, active) VALUES (1, 0);

-- The audit log: who did what to whom, when. `action` is a `god_core::audit::AuditAction`
-- code; `target` a login, a project id, or '' for the whole service. Never trimmed; ids only
-- grow (AUTOINCREMENT), so pages keyed by id are stable.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_action ON audit (action, id);
