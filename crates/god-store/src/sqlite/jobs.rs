//! Jobs: insertion, transitions with their consequences, queries for the loops, arrays.

use super::batch::Batch;
use super::{doc_of, events, lists, push_ids, task_of, SqliteStore, BEGIN};
use crate::{
    ArrayFill, JobFilter, JobPage, JobQuery, JobStore, PendingRow, StoreError, WaitReason,
};
use async_trait::async_trait;
use god_core::schedule::ReasonKind;
use god_core::transition::{apply, Event};
use god_core::{array, deps, JobId, Primary, Task};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

fn secondary_of(task: &Task) -> Option<&'static str> {
    task.status.secondary.map(|s| s.as_str())
}

fn deps_of(task: &Task) -> String {
    deps::encode(&deps::of_values(&task.requirements.tasks))
}

async fn load(conn: &mut SqliteConnection, id: JobId) -> Result<Task, StoreError> {
    let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM jobs WHERE id = ?")
        .bind(id.0 as i64)
        .fetch_optional(&mut *conn)
        .await?;
    match doc {
        Some(doc) => task_of(id.0 as i64, &doc),
        None => Err(StoreError::JobNotFound(id.0)),
    }
}

async fn save(conn: &mut SqliteConnection, task: &Task) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = ?, secondary = ?, date_over = ?, doc = ?, reason_kind = NULL,
             archive_requested = CASE WHEN ? = 'over' THEN archive_requested ELSE 0 END
         WHERE id = ?",
    )
    .bind(task.status.primary.as_str())
    .bind(secondary_of(task))
    .bind(task.status.date_over)
    .bind(doc_of(task)?)
    .bind(task.status.primary.as_str())
    .bind(task.id.0 as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The one insert of a job row: its document and every column queries read of it (state,
/// owner, project, resources, dependencies, array counters, submission time, and what lists
/// filter on: name, description, image, tags). Submissions and array children both come here.
async fn insert_row(conn: &mut SqliteConnection, t: &Task) -> Result<JobId, StoreError> {
    let tags = serde_json::to_string(&t.meta.tags)
        .map_err(|source| StoreError::Corrupt { id: t.id.0, source })?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (user_id, project, state, secondary, cpu, ram, deps, date_over,
                           parent_id, array_total, submitted, name, description, image, tags,
                           doc)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&t.user.id)
    .bind(&t.user.project)
    .bind(t.status.primary.as_str())
    .bind(secondary_of(t))
    .bind(i64::from(t.requirements.cpu))
    .bind(t.requirements.ram)
    .bind(deps_of(t))
    .bind(t.status.date_over)
    .bind(t.parent_task_id.map(|p| p.0 as i64))
    .bind(if t.is_array_parent() {
        t.requirements.array.nb_tasks as i64
    } else {
        0
    })
    .bind(t.date)
    .bind(&t.meta.name)
    .bind(&t.meta.description)
    .bind(&t.container.image)
    .bind(tags)
    .bind(doc_of(t)?)
    .fetch_one(&mut *conn)
    .await?;
    Ok(JobId(id as u64))
}

fn tasks(rows: &[SqliteRow]) -> Result<Vec<Task>, StoreError> {
    rows.iter()
        .map(|r| task_of(r.try_get("id")?, r.try_get::<&str, _>("doc")?))
        .collect()
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_jobs(&self, jobs: &[Task]) -> Result<Vec<JobId>, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let mut ids = Vec::with_capacity(jobs.len());
        for t in jobs {
            ids.push(insert_row(&mut tx, t).await?);
        }
        let last = events::tasks_changed(&mut tx, ids.iter().copied().zip(jobs)).await?;
        tx.commit().await?;
        self.published(last);
        Ok(ids)
    }

    async fn get_job(&self, id: JobId) -> Result<Option<Task>, StoreError> {
        let row = sqlx::query("SELECT id, doc FROM jobs WHERE id = ?")
            .bind(id.0 as i64)
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let mut task = task_of(r.try_get("id")?, r.try_get::<&str, _>("doc")?)?;
        if task.is_array_parent() {
            let children: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM jobs WHERE parent_id = ? ORDER BY id")
                    .bind(id.0 as i64)
                    .fetch_all(&self.read)
                    .await?;
            task.requirements.array.tasks = children.into_iter().map(|c| JobId(c as u64)).collect();
        }
        Ok(Some(task))
    }

    async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Task>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, doc FROM jobs WHERE 1 = 1");
        if let Some(user) = &q.user {
            qb.push(" AND user_id = ").push_bind(user.clone());
        }
        if !q.projects.is_empty() {
            qb.push(" AND project IN (");
            let mut sep = qb.separated(", ");
            for p in &q.projects {
                sep.push_bind(p.clone());
            }
            qb.push(")");
        }
        if !q.states.is_empty() {
            qb.push(" AND state IN (");
            let mut sep = qb.separated(", ");
            for s in &q.states {
                sep.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(before) = q.over_before {
            qb.push(" AND date_over < ").push_bind(before);
        }
        if let Some(parent) = q.parent {
            qb.push(" AND parent_id = ").push_bind(parent.0 as i64);
        }
        qb.push(if q.newest_first {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id ASC"
        });
        let limit = if q.limit == 0 { -1 } else { q.limit as i64 };
        qb.push(" LIMIT ").push_bind(limit);
        qb.push(" OFFSET ").push_bind(q.skip as i64);
        let rows = qb.build().fetch_all(&self.read).await?;
        tasks(&rows)
    }

    async fn list_page(
        &self,
        filter: &JobFilter,
        after: Option<JobId>,
        limit: u64,
    ) -> Result<JobPage, StoreError> {
        lists::page(&self.read, filter, after, limit).await
    }

    async fn count_matching(&self, filter: &JobFilter) -> Result<u64, StoreError> {
        lists::count(&self.read, filter).await
    }

    async fn transition(&self, id: JobId, event: &Event, now: f64) -> Result<Task, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let mut batch = Batch::load(&mut tx, &[id]).await?;
        let task = batch.apply(id, event, now)?;
        let last = batch.store(&mut tx).await?;
        tx.commit().await?;
        self.published(last);
        Ok(task)
    }

    async fn transition_many(
        &self,
        items: &[(JobId, Event)],
        now: f64,
    ) -> Result<Vec<Result<Task, StoreError>>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<JobId> = items.iter().map(|(id, _)| *id).collect();
        let mut tx = self.write.begin_with(BEGIN).await?;
        let mut batch = Batch::load(&mut tx, &ids).await?;
        // A refused transition changes nothing; the others go on.
        let out: Vec<Result<Task, StoreError>> = items
            .iter()
            .map(|(id, event)| batch.apply(*id, event, now))
            .collect();
        let last = batch.store(&mut tx).await?;
        tx.commit().await?;
        self.published(last);
        Ok(out)
    }

    async fn get_jobs(&self, ids: &[JobId]) -> Result<Vec<Task>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, doc FROM jobs WHERE id IN ");
            push_ids(&mut qb, chunk);
            qb.push(" ORDER BY id");
            out.extend(tasks(&qb.build().fetch_all(&self.read).await?)?);
        }
        Ok(out)
    }

    async fn pending(&self, limit: u64) -> Result<Vec<PendingRow>, StoreError> {
        let limit = if limit == 0 { -1 } else { limit as i64 };
        let rows = sqlx::query(
            "SELECT id, user_id, project, cpu, ram, deps, submitted, reason_kind,
                    json_extract(doc, '$.status.reason', '$.requirements.gpus',
                                 '$.requirements.label', '$.requirements.maxlifespan',
                                 '$.requirements.executor') AS extra
             FROM jobs WHERE state = 'pending' AND array_total = 0 ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                // One parse of the document for the fields the pass needs.
                let extra: serde_json::Value = r
                    .try_get::<Option<&str>, _>("extra")?
                    .and_then(|e| serde_json::from_str(e).ok())
                    .unwrap_or_default();
                Ok(PendingRow {
                    id: JobId(r.try_get::<i64, _>("id")? as u64),
                    user: r.try_get("user_id")?,
                    project: r.try_get("project")?,
                    cpu: r.try_get::<i64, _>("cpu")? as u32,
                    ram: r.try_get("ram")?,
                    deps: r.try_get("deps")?,
                    date: r.try_get("submitted")?,
                    reason: extra[0].as_str().map(String::from),
                    reason_kind: r
                        .try_get::<Option<&str>, _>("reason_kind")?
                        .and_then(ReasonKind::parse),
                    gpus: extra[1].as_u64().unwrap_or(0) as u32,
                    labels: extra[2]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                    maxlifespan: extra[3].as_str().map(String::from),
                    executor: extra[4].as_str().map(String::from),
                })
            })
            .collect()
    }

    async fn count_pending(&self, user: Option<&str>) -> Result<u64, StoreError> {
        let sql = "SELECT CAST(ifnull(sum(CASE WHEN array_total > 0 THEN array_total - array_created ELSE 1 END), 0) AS INTEGER)
                   FROM jobs WHERE (state = 'pending' OR (array_total > array_created AND state = 'running'))";
        let n: i64 = match user {
            Some(u) => {
                sqlx::query_scalar(&format!("{sql} AND user_id = ?"))
                    .bind(u)
                    .fetch_one(&self.read)
                    .await?
            }
            None => sqlx::query_scalar(sql).fetch_one(&self.read).await?,
        };
        Ok(n.max(0) as u64)
    }

    async fn set_reasons(&self, reasons: &[WaitReason]) -> Result<(), StoreError> {
        if reasons.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = reasons
            .iter()
            .map(|r| serde_json::json!({"id": r.id.0, "reason": r.text, "kind": r.kind.as_str()}))
            .collect();
        let mut tx = self.write.begin_with(BEGIN).await?;
        sqlx::query(
            // No other condition in WHERE: the plan then walks the batch and finds each job by
            // its id (a `state = ...` term made SQLite scan every pending job per batch row).
            "UPDATE jobs SET doc = CASE WHEN state = 'pending'
                                   THEN json_set(doc, '$.status.reason', j.value ->> 'reason')
                                   ELSE doc END,
                             reason_kind = CASE WHEN state = 'pending'
                                           THEN j.value ->> 'kind' ELSE reason_kind END
             FROM json_each(?) AS j WHERE jobs.id = j.value ->> 'id'",
        )
        .bind(serde_json::Value::from(rows).to_string())
        .execute(&mut *tx)
        .await?;
        let ids: Vec<JobId> = reasons.iter().map(|r| r.id).collect();
        let last = events::jobs_changed(&mut tx, &ids).await?;
        tx.commit().await?;
        self.published(last);
        Ok(())
    }

    async fn states(
        &self,
        ids: &[JobId],
    ) -> Result<Vec<(JobId, Primary, Option<i64>)>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "SELECT id, state, json_extract(doc, '$.status.exitcode') AS exitcode FROM jobs WHERE id IN ",
            );
            push_ids(&mut qb, chunk);
            for r in qb.build().fetch_all(&self.read).await? {
                let state: &str = r.try_get("state")?;
                if let Some(p) = Primary::parse(state) {
                    out.push((
                        JobId(r.try_get::<i64, _>("id")? as u64),
                        p,
                        r.try_get("exitcode")?,
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn running(&self) -> Result<Vec<Task>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, doc FROM jobs WHERE state = 'running' AND array_total = 0 ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        tasks(&rows)
    }

    async fn request_archive(&self, ids: &[JobId]) -> Result<u64, StoreError> {
        let mut n = 0;
        let mut tx = self.write.begin_with(BEGIN).await?;
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "UPDATE jobs SET archive_requested = 1 WHERE state = 'over' AND id IN ",
            );
            push_ids(&mut qb, chunk);
            n += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn archive_queue(&self, limit: u64) -> Result<Vec<Task>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, doc FROM jobs WHERE archive_requested = 1 AND state = 'over' ORDER BY id LIMIT ?",
        )
        .bind(limit.max(1) as i64)
        .fetch_all(&self.read)
        .await?;
        tasks(&rows)
    }

    async fn disk_usage(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id,
                    CAST(sum(ifnull(json_extract(doc, '$.container.meta.disk_size'), 0)) AS INTEGER) AS bytes
             FROM jobs WHERE state = 'over' GROUP BY user_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("user_id")?,
                    r.try_get::<i64, _>("bytes")?.max(0) as u64,
                ))
            })
            .collect()
    }

    async fn delete_job(&self, id: JobId) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let done = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND state IN ('over', 'archived')")
            .bind(id.0 as i64)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            return Ok(());
        }
        let last = events::job_removed(&mut tx, id).await?;
        sqlx::query("DELETE FROM jobs WHERE id = ?")
            .bind(id.0 as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.published(last);
        Ok(())
    }

    async fn arrays_to_fill(&self) -> Result<Vec<ArrayFill>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.id, j.array_created, j.array_total,
                    (SELECT count(*) FROM jobs c WHERE c.parent_id = j.id AND c.state = 'pending') AS pending
             FROM jobs j
             WHERE j.array_total > j.array_created AND j.state IN ('pending', 'running')
             ORDER BY j.id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ArrayFill {
                    parent: JobId(r.try_get::<i64, _>("id")? as u64),
                    created: r.try_get::<i64, _>("array_created")? as u64,
                    total: r.try_get::<i64, _>("array_total")? as u64,
                    pending: r.try_get::<i64, _>("pending")? as u64,
                })
            })
            .collect()
    }

    async fn create_children(
        &self,
        parent: JobId,
        count: u64,
        now: f64,
    ) -> Result<Vec<JobId>, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let mut p = load(&mut tx, parent).await?;
        let created: i64 = sqlx::query_scalar("SELECT array_created FROM jobs WHERE id = ?")
            .bind(parent.0 as i64)
            .fetch_one(&mut *tx)
            .await?;
        let created = created.max(0) as u64;
        let total = p.requirements.array.nb_tasks;
        let Some(spec) = p.requirements.array.values.clone() else {
            return Ok(Vec::new());
        };
        if !p.status.primary.is_active() || p.status.secondary.is_some_and(|s| s.is_request()) {
            return Ok(Vec::new());
        }
        let range = array::parse(&spec).map_err(god_core::CoreError::Invalid)?;
        let end = (created + count).min(total);
        let mut ids = Vec::new();
        for k in created..end {
            let mut child = p.clone();
            child.id = JobId(0);
            child.parent_task_id = Some(parent);
            child.date = now;
            child.status = Default::default();
            child.requirements.array = god_core::task::ArraySpec {
                task_id: Some(range.value(k)),
                range: Some(format!("{}:{}:{}", range.first, range.last, range.step)),
                ..Default::default()
            };
            ids.push(insert_row(&mut tx, &child).await?);
        }
        p.requirements.array.nb_tasks_created = end;
        if p.status.primary == Primary::Pending && !ids.is_empty() {
            apply(&mut p, &Event::ArrayStarted, now)?;
        }
        save(&mut tx, &p).await?;
        sqlx::query("UPDATE jobs SET array_created = ? WHERE id = ?")
            .bind(end as i64)
            .bind(parent.0 as i64)
            .execute(&mut *tx)
            .await?;
        let last = events::jobs_changed(&mut tx, &[&ids[..], &[parent]].concat()).await?;
        tx.commit().await?;
        self.published(last);
        Ok(ids)
    }

    async fn kill_array(&self, parent: JobId, now: f64) -> Result<Task, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let created: Option<i64> =
            sqlx::query_scalar("SELECT array_created FROM jobs WHERE id = ?")
                .bind(parent.0 as i64)
                .fetch_optional(&mut *tx)
                .await?;
        let created = created.ok_or(StoreError::JobNotFound(parent.0))?;
        let children: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE parent_id = ? AND state IN ('pending', 'running') ORDER BY id",
        )
        .bind(parent.0 as i64)
        .fetch_all(&mut *tx)
        .await?;
        let children: Vec<JobId> = children.into_iter().map(|c| JobId(c as u64)).collect();
        let mut batch = Batch::load(&mut tx, &[&[parent][..], &children].concat()).await?;
        batch.apply(parent, &Event::KillRequested, now)?;
        // Children never created count as over (killed) at once.
        batch.edit(parent, |p| {
            let remaining = p
                .requirements
                .array
                .nb_tasks
                .saturating_sub(created.max(0) as u64);
            for _ in 0..remaining {
                let _ = apply(p, &Event::ArrayChildOver { exit_code: None }, now);
            }
            p.requirements.array.nb_tasks_created = p.requirements.array.nb_tasks;
        })?;
        for c in children {
            // Pending children are over at once (and counted on the parent); running ones wait
            // for the watcher. A child already being killed is left as it is.
            match batch.apply(c, &Event::KillRequested, now) {
                Ok(_) | Err(StoreError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let p = batch.get(parent)?.clone();
        let last = batch.store(&mut tx).await?;
        sqlx::query("UPDATE jobs SET array_created = array_total WHERE id = ?")
            .bind(parent.0 as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.published(last);
        Ok(p)
    }

    async fn images(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT url FROM images ORDER BY count DESC, url")
                .fetch_all(&self.read)
                .await?,
        )
    }
}
