-- What the job lists filter on, as columns beside the document: the name and description
-- (substring search), the image, the tags (a JSON array). A job's meta and image never change
-- after submission; the one insert path (`sqlite/jobs.rs`, `insert_row`) writes them.
ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN image TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE jobs SET
    name = ifnull(doc ->> '$.meta.name', ''),
    description = ifnull(doc ->> '$.meta.description', ''),
    image = ifnull(doc ->> '$.container.image', ''),
    tags = ifnull(doc -> '$.meta.tags', '[]');

-- Lists are newest first (keyset on id). A page is read as parts, one per owner (a user, a
-- project) and state, each from an index range in id order (`sqlite/lists.rs`): these are
-- those ranges, of top-level jobs (array children hidden: the default page) or of all.
-- (`jobs_user_state (user_id, state, id)`, `jobs_state (state, id)` and `jobs_parent
-- (parent_id, state)` exist already.)
CREATE INDEX jobs_user_state_top ON jobs (user_id, state, id) WHERE parent_id IS NULL;
CREATE INDEX jobs_project_state ON jobs (project, state, id);
CREATE INDEX jobs_project_state_top ON jobs (project, state, id) WHERE parent_id IS NULL;
CREATE INDEX jobs_state_top ON jobs (state, id) WHERE parent_id IS NULL;
