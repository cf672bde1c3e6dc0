//! Transitions in batches: one query loads every job a batch touches, the transitions and their
//! consequences are applied in memory (`god_core::transition::apply`), and a few statements store
//! them, whatever the batch size (rows travel as one JSON parameter read with `json_each`). The
//! scheduler and the watcher move hundreds of jobs per pass this way, each pass one commit.

use super::{doc_of, task_of};
use crate::StoreError;
use god_core::ending::RunOutcome;
use god_core::transition::{apply, Event};
use god_core::{JobId, Primary, Task};
use serde_json::{json, Value};
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeSet, HashMap};

#[derive(Default)]
pub struct Batch {
    tasks: HashMap<JobId, Task>,
    dirty: BTreeSet<JobId>,
    /// Usage records of runs that ended, with how each ended.
    usage: Vec<Value>,
    /// Images of runs that ended normally.
    images: Vec<String>,
}

impl Batch {
    /// Load `ids` and the array parents of those that have one.
    pub async fn load(conn: &mut SqliteConnection, ids: &[JobId]) -> Result<Batch, StoreError> {
        let mut b = Batch::default();
        b.fetch(conn, ids).await?;
        let parents: Vec<JobId> = b
            .tasks
            .values()
            .filter_map(|t| t.parent_task_id)
            .filter(|p| !b.tasks.contains_key(p))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !parents.is_empty() {
            b.fetch(conn, &parents).await?;
        }
        Ok(b)
    }

    async fn fetch(
        &mut self,
        conn: &mut SqliteConnection,
        ids: &[JobId],
    ) -> Result<(), StoreError> {
        let list = Value::from(ids.iter().map(|i| i.0).collect::<Vec<u64>>()).to_string();
        let rows =
            sqlx::query("SELECT id, doc FROM jobs WHERE id IN (SELECT value FROM json_each(?))")
                .bind(list)
                .fetch_all(&mut *conn)
                .await?;
        for r in rows {
            let t = task_of(r.try_get("id")?, r.try_get::<&str, _>("doc")?)?;
            self.tasks.insert(t.id, t);
        }
        Ok(())
    }

    /// Apply one transition and its consequences in memory.
    pub fn apply(&mut self, id: JobId, event: &Event, now: f64) -> Result<Task, StoreError> {
        let task = self
            .tasks
            .get_mut(&id)
            .ok_or(StoreError::JobNotFound(id.0))?;
        let before = task.status.primary;
        // Only a run that had a container consumed anything.
        let started = task
            .status
            .date_running
            .filter(|_| task.container.id.is_some());
        let mut next = task.clone();
        apply(&mut next, event, now)?;
        let outcome = RunOutcome::of_run(task, event);
        *task = next.clone();
        self.dirty.insert(id);
        let after = next.status.primary;
        // A run ended (over, or back to the queue after a node failure): what it used.
        if before == Primary::Running && after != Primary::Running && !next.is_array_parent() {
            if let Some(started) = started {
                let wall = match after {
                    Primary::Over => next.status.duration.unwrap_or(now - started),
                    _ => now - started,
                };
                let wall = if wall.is_finite() { wall.max(0.0) } else { 0.0 };
                self.usage.push(json!({
                    "job": id.0,
                    "user": next.user.id,
                    "project": next.user.project,
                    "cpu": f64::from(next.requirements.cpu),
                    "ram": next.requirements.ram,
                    "wall": wall,
                    "ended": now,
                    "outcome": outcome.as_str(),
                }));
            }
        }
        // A run ended normally: its image counts as used (`GET /api/1.0/image`).
        if before == Primary::Running && after == Primary::Over && next.status.reason.is_none() {
            self.images.push(next.container.image.clone());
        }
        // An array child ended: count it on its parent.
        if before != Primary::Over && after == Primary::Over {
            if let Some(parent) = next.parent_task_id {
                if let Some(p) = self.tasks.get_mut(&parent) {
                    let ev = Event::ArrayChildOver {
                        exit_code: next.status.exitcode,
                    };
                    if apply(p, &ev, now).is_ok() {
                        self.dirty.insert(parent);
                    }
                }
            }
        }
        Ok(next)
    }

    /// Change a loaded job in place, for what is not one event (an array parent closing its
    /// never-created children at once); it will be stored.
    pub fn edit<R>(&mut self, id: JobId, f: impl FnOnce(&mut Task) -> R) -> Result<R, StoreError> {
        let task = self
            .tasks
            .get_mut(&id)
            .ok_or(StoreError::JobNotFound(id.0))?;
        self.dirty.insert(id);
        Ok(f(task))
    }

    /// A loaded job as it is now.
    pub fn get(&self, id: JobId) -> Result<&Task, StoreError> {
        self.tasks.get(&id).ok_or(StoreError::JobNotFound(id.0))
    }

    /// Write every changed job, the consequences and the change log; the newest change id.
    pub async fn store(self, conn: &mut SqliteConnection) -> Result<Option<i64>, StoreError> {
        if !self.dirty.is_empty() {
            let mut rows = Vec::with_capacity(self.dirty.len());
            for id in &self.dirty {
                let Some(t) = self.tasks.get(id) else {
                    continue;
                };
                rows.push(json!({
                    "id": id.0,
                    "state": t.status.primary.as_str(),
                    "secondary": t.status.secondary.map(|s| s.as_str()),
                    "date_over": t.status.date_over.filter(|d| d.is_finite()),
                    "doc": doc_of(t)?,
                }));
            }
            sqlx::query(
                // A transition's reason is not the scheduler's: its kind is cleared.
                "UPDATE jobs SET state = j.value ->> 'state', secondary = j.value ->> 'secondary',
                     date_over = j.value ->> 'date_over', doc = j.value ->> 'doc',
                     reason_kind = NULL,
                     archive_requested = CASE WHEN j.value ->> 'state' = 'over'
                                              THEN archive_requested ELSE 0 END
                 FROM json_each(?) AS j WHERE jobs.id = j.value ->> 'id'",
            )
            .bind(Value::from(rows).to_string())
            .execute(&mut *conn)
            .await?;
        }
        if !self.usage.is_empty() {
            sqlx::query(
                "INSERT INTO usage (job_id, user_id, project, cpu, ram, wall_seconds, ended, outcome)
                 SELECT j.value ->> 'job', j.value ->> 'user', j.value ->> 'project',
                        j.value ->> 'cpu', j.value ->> 'ram', j.value ->> 'wall', j.value ->> 'ended',
                        j.value ->> 'outcome'
                 FROM json_each(?) AS j",
            )
            .bind(Value::from(self.usage).to_string())
            .execute(&mut *conn)
            .await?;
        }
        if !self.images.is_empty() {
            sqlx::query(
                "INSERT INTO images (url, count) SELECT j.value, 1 FROM json_each(?) AS j WHERE true
                 ON CONFLICT (url) DO UPDATE SET count = count + 1",
            )
            .bind(Value::from(self.images).to_string())
            .execute(&mut *conn)
            .await?;
        }
        let changed = self
            .dirty
            .iter()
            .filter_map(|id| self.tasks.get(id).map(|t| (*id, t)));
        super::events::tasks_changed(conn, changed).await
    }
}
