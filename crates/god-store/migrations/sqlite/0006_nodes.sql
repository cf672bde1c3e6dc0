-- The nodes the scheduler places jobs onto, as it last published them (so that API processes,
-- which never talk to the engines, know them). Replaced as a whole at each publication; the
-- time of the last one is in `meta` under `nodes_published`.
CREATE TABLE nodes (
    name TEXT NOT NULL,
    executor TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (executor, name)
);
