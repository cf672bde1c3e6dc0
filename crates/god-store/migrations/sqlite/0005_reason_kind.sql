-- The kind of the reason the scheduler gave a pending job (`god_core::schedule::ReasonKind`:
-- `quota.user.cpu`, `held.disabled`, `resources`...), next to its text in the document
-- (`status.reason`, which the API shows; the kind is not shown). The scheduler compares kinds,
-- not texts, to decide when a reason changed. NULL when the scheduler did not write the
-- reason: every transition clears it (the reason, if any, is then the transition's).
ALTER TABLE jobs ADD COLUMN reason_kind TEXT;
