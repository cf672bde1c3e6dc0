//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one connection (SQLite has one writer anyway), each in a `BEGIN IMMEDIATE`
//! transaction so that a second process on the same file waits instead of failing; reads use a
//! small pool of their own.

use crate::{JobQuery, PendingRow, Store, StoreError, UserRecord};
use async_trait::async_trait;
use god_core::transition::{apply, Event};
use god_core::{JobId, Primary, Task};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

const BEGIN: &str = "BEGIN IMMEDIATE";

fn doc_of(task: &Task) -> Result<String, StoreError> {
    serde_json::to_string(task).map_err(|source| StoreError::Corrupt {
        id: task.id.0,
        source,
    })
}

fn task_of(id: i64, doc: &str) -> Result<Task, StoreError> {
    let mut t: Task = serde_json::from_str(doc).map_err(|source| StoreError::Corrupt {
        id: id as u64,
        source,
    })?;
    t.id = JobId(id as u64);
    Ok(t)
}

fn deps_of(task: &Task) -> String {
    task.requirements
        .tasks
        .iter()
        .filter_map(|v| v.as_u64())
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn secondary_of(task: &Task) -> Option<&'static str> {
    task.status.secondary.map(|s| s.as_str())
}

fn user_of(row: &sqlx::sqlite::SqliteRow) -> Result<UserRecord, StoreError> {
    let sgids: String = row.try_get("sgids")?;
    Ok(UserRecord {
        login: row.try_get("login")?,
        uid: row.try_get::<i64, _>("uid")? as u32,
        gid: row.try_get::<i64, _>("gid")? as u32,
        sgids: sgids
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        home: row.try_get("home")?,
        email: row.try_get("email")?,
        admin: row.try_get::<i64, _>("admin")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        apikey_hash: row.try_get("apikey_hash")?,
        key_version: row.try_get("key_version")?,
        public_key: row.try_get("public_key")?,
        created: row.try_get("created")?,
    })
}

impl SqliteStore {
    /// Open (creating if needed) the database file and run migrations.
    /// `durable_commits`: fsync at every commit (`synchronous = FULL`).
    pub async fn open(path: &Path, durable_commits: bool) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if durable_commits {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.clone())
            .await
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.read_only(true))
            .await?;
        Ok(SqliteStore { write, read })
    }

    async fn tasks(&self, rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<Vec<Task>, StoreError> {
        rows.iter()
            .map(|r| task_of(r.try_get("id")?, r.try_get::<&str, _>("doc")?))
            .collect()
    }
}

fn push_ids(qb: &mut QueryBuilder<'_, Sqlite>, ids: &[JobId]) {
    qb.push("(");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.0 as i64);
    }
    qb.push(")");
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_jobs(&self, jobs: &[Task]) -> Result<Vec<JobId>, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let mut ids = Vec::with_capacity(jobs.len());
        for t in jobs {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO jobs (user_id, project, state, secondary, cpu, ram, deps, date_over, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&t.user.id)
            .bind(&t.user.project)
            .bind(t.status.primary.as_str())
            .bind(secondary_of(t))
            .bind(i64::from(t.requirements.cpu))
            .bind(t.requirements.ram)
            .bind(deps_of(t))
            .bind(t.status.date_over)
            .bind(doc_of(t)?)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(JobId(id as u64));
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn get_job(&self, id: JobId) -> Result<Option<Task>, StoreError> {
        let row = sqlx::query("SELECT id, doc FROM jobs WHERE id = ?")
            .bind(id.0 as i64)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => Ok(Some(task_of(
                r.try_get("id")?,
                r.try_get::<&str, _>("doc")?,
            )?)),
            None => Ok(None),
        }
    }

    async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Task>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, doc FROM jobs WHERE 1 = 1");
        if let Some(user) = &q.user {
            qb.push(" AND user_id = ").push_bind(user.clone());
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
        qb.push(if q.newest_first {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id ASC"
        });
        let limit = if q.limit == 0 { -1 } else { q.limit as i64 };
        qb.push(" LIMIT ").push_bind(limit);
        qb.push(" OFFSET ").push_bind(q.skip as i64);
        let rows = qb.build().fetch_all(&self.read).await?;
        self.tasks(rows).await
    }

    async fn transition(&self, id: JobId, event: &Event, now: f64) -> Result<Task, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM jobs WHERE id = ?")
            .bind(id.0 as i64)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(doc) = doc else {
            return Err(StoreError::JobNotFound(id.0));
        };
        let mut task = task_of(id.0 as i64, &doc)?;
        apply(&mut task, event, now)?;
        sqlx::query(
            "UPDATE jobs SET state = ?, secondary = ?, date_over = ?, doc = ?,
                 archive_requested = CASE WHEN ? = 'over' THEN archive_requested ELSE 0 END
             WHERE id = ?",
        )
        .bind(task.status.primary.as_str())
        .bind(secondary_of(&task))
        .bind(task.status.date_over)
        .bind(doc_of(&task)?)
        .bind(task.status.primary.as_str())
        .bind(id.0 as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(task)
    }

    async fn pending(&self, limit: u64) -> Result<Vec<PendingRow>, StoreError> {
        let limit = if limit == 0 { -1 } else { limit as i64 };
        let rows = sqlx::query(
            "SELECT id, cpu, ram, deps, json_extract(doc, '$.status.reason') AS reason
             FROM jobs WHERE state = 'pending' ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let deps: &str = r.try_get("deps")?;
                Ok(PendingRow {
                    id: JobId(r.try_get::<i64, _>("id")? as u64),
                    cpu: r.try_get::<i64, _>("cpu")? as u32,
                    ram: r.try_get("ram")?,
                    deps: deps
                        .split(',')
                        .filter_map(|d| d.parse().ok())
                        .map(JobId)
                        .collect(),
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    async fn set_reasons(&self, reasons: &[(JobId, String)]) -> Result<(), StoreError> {
        if reasons.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin_with(BEGIN).await?;
        for (id, reason) in reasons {
            sqlx::query(
                "UPDATE jobs SET doc = json_set(doc, '$.status.reason', ?)
                 WHERE id = ? AND state = 'pending'",
            )
            .bind(reason)
            .bind(id.0 as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn states(&self, ids: &[JobId]) -> Result<Vec<(JobId, Primary)>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, state FROM jobs WHERE id IN ");
            push_ids(&mut qb, chunk);
            for r in qb.build().fetch_all(&self.read).await? {
                let state: &str = r.try_get("state")?;
                if let Some(p) = Primary::parse(state) {
                    out.push((JobId(r.try_get::<i64, _>("id")? as u64), p));
                }
            }
        }
        Ok(out)
    }

    async fn running_usage(&self) -> Result<(f64, f64), StoreError> {
        let row = sqlx::query(
            "SELECT CAST(ifnull(sum(cpu), 0) AS REAL) AS cpu, CAST(ifnull(sum(ram), 0) AS REAL) AS ram
             FROM jobs WHERE state = 'running'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((row.try_get("cpu")?, row.try_get("ram")?))
    }

    async fn running(&self) -> Result<Vec<Task>, StoreError> {
        let rows = sqlx::query("SELECT id, doc FROM jobs WHERE state = 'running' ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        self.tasks(rows).await
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
        self.tasks(rows).await
    }

    async fn delete_job(&self, id: JobId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE id = ? AND state IN ('over', 'archived')")
            .bind(id.0 as i64)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn image_used(&self, url: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO images (url, count) VALUES (?, 1)
             ON CONFLICT (url) DO UPDATE SET count = count + 1",
        )
        .bind(url)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn images(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT url FROM images ORDER BY count DESC, url")
                .fetch_all(&self.read)
                .await?,
        )
    }

    async fn add_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let sgids = u
            .sgids
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let res = sqlx::query(
            "INSERT INTO users (login, uid, gid, sgids, home, email, admin, disabled, apikey_hash,
                                key_version, public_key, created)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (login) DO NOTHING",
        )
        .bind(&u.login)
        .bind(i64::from(u.uid))
        .bind(i64::from(u.gid))
        .bind(sgids)
        .bind(&u.home)
        .bind(&u.email)
        .bind(i64::from(u.admin))
        .bind(i64::from(u.disabled))
        .bind(&u.apikey_hash)
        .bind(u.key_version.max(1))
        .bind(&u.public_key)
        .bind(u.created)
        .execute(&self.write)
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::UserExists(u.login.clone()));
        }
        Ok(())
    }

    async fn get_user(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE login = ?")
            .bind(login)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_of).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY login")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(user_of).collect()
    }

    async fn set_apikey(&self, login: &str, apikey_hash: &str) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET apikey_hash = ?, key_version = key_version + 1 WHERE login = ?
             RETURNING key_version",
        )
        .bind(apikey_hash)
        .bind(login)
        .fetch_optional(&self.write)
        .await?;
        v.ok_or_else(|| StoreError::UserNotFound(login.to_string()))
    }

    async fn meta_get_or_init(&self, key: &str, init: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(init)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&self.write)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (SqliteStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "god-store-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let s = SqliteStore::open(&dir.join("god.db"), false).await.unwrap();
        (s, dir)
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    fn job(user: &str) -> Task {
        let mut t = Task::default();
        t.user.id = user.into();
        t.user.project = "default".into();
        t.requirements.cpu = 1;
        t.requirements.ram = 1.0;
        t.command.cmd = "true".into();
        t
    }

    #[tokio::test]
    async fn ids_increase_and_transitions_persist() {
        let (s, dir) = store().await;
        let ids = s.insert_jobs(&[job("a"), job("b")]).await.unwrap();
        assert!(ids[0] < ids[1]);
        let ev = Event::Dispatch {
            node: "n".into(),
            container_name: "c".into(),
        };
        let t = s.transition(ids[0], &ev, 10.0).await.unwrap();
        assert_eq!(t.status.primary, Primary::Running);
        assert!(
            s.transition(ids[0], &ev, 11.0).await.is_err(),
            "second dispatch refused"
        );
        let back = s.get_job(ids[0]).await.unwrap().unwrap();
        assert_eq!(back, t);
        assert_eq!(s.running_usage().await.unwrap(), (1.0, 1.0));
        let pending = s.pending(0).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, ids[1]);
        let q = JobQuery {
            user: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(s.list_jobs(&q).await.unwrap().len(), 1);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn reopening_keeps_everything() {
        let (s, dir) = store().await;
        let ids = s.insert_jobs(&[job("a")]).await.unwrap();
        let secret = s.meta_get_or_init("k", "v1").await.unwrap();
        drop(s);
        let s = SqliteStore::open(&dir.join("god.db"), true).await.unwrap();
        assert!(s.get_job(ids[0]).await.unwrap().is_some());
        assert_eq!(s.meta_get_or_init("k", "v2").await.unwrap(), secret);
        let more = s.insert_jobs(&[job("a")]).await.unwrap();
        assert!(more[0] > ids[0]);
        std::fs::remove_dir_all(dir).ok();
    }
}
