//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one connection (SQLite has one writer anyway), each in a `BEGIN IMMEDIATE`
//! transaction so that a second process on the same file waits instead of failing; reads use a
//! small pool of their own.

mod accounts;
mod admin;
mod batch;
mod events;
mod jobs;
mod lists;
mod nodes;
mod sessions;

use crate::StoreError;
use god_core::{JobId, Task};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    /// The newest change id committed by this process.
    changes: tokio::sync::watch::Sender<u64>,
}

const BEGIN: &str = "BEGIN IMMEDIATE";

impl SqliteStore {
    /// Open (creating if needed) the database file and run migrations.
    /// `durable_commits`: fsync at every commit (`synchronous = FULL`).
    ///
    /// Several processes may open one fresh file at the same moment (`god up &` then at once
    /// `god user add`): creating the file, switching it to WAL and migrating happen under an
    /// exclusive lock on `<file>.lock`, so one process migrates and the others find it done.
    pub async fn open(path: &Path, durable_commits: bool) -> Result<Self, StoreError> {
        let _migrating = lock_exclusive(path).await?;
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
        let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM events")
            .fetch_one(&read)
            .await?;
        let (changes, _) = tokio::sync::watch::channel(last.max(0) as u64);
        Ok(SqliteStore {
            write,
            read,
            changes,
        })
    }

    /// After a commit that wrote changes up to `last`: tell this process's followers.
    fn published(&self, last: Option<i64>) {
        if let Some(id) = last {
            self.changes.send_replace(id.max(0) as u64);
        }
    }
}

#[async_trait::async_trait]
impl crate::ChangeLog for SqliteStore {
    async fn changes_since(
        &self,
        after: u64,
        limit: u64,
    ) -> Result<Vec<crate::Change>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after as i64)
            .bind(limit.min(i64::MAX as u64) as i64)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(events::change_of).collect()
    }

    async fn last_change(&self) -> Result<u64, StoreError> {
        let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM events")
            .fetch_one(&self.read)
            .await?;
        Ok(last.max(0) as u64)
    }

    async fn trim_changes(&self, keep: u64) -> Result<u64, StoreError> {
        let res = sqlx::query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?")
            .bind(keep.clamp(1, i64::MAX as u64) as i64)
            .execute(&self.write)
            .await?;
        Ok(res.rows_affected())
    }

    fn watch_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// Hold an exclusive advisory lock on `<path>.lock` (released when the file is dropped).
async fn lock_exclusive(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    let shown = lock_path.display().to_string();
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()));
    locked.and_then(|r| r).map_err(|e| StoreError::Open {
        path: shown,
        detail: format!("locking for migrations: {e}"),
    })
}

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

fn push_ids(qb: &mut QueryBuilder<'_, Sqlite>, ids: &[JobId]) {
    qb.push("(");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.0 as i64);
    }
    qb.push(")");
}

#[cfg(test)]
mod tests;
