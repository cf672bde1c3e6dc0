//! Durable state: jobs, users, server identity.
//!
//! [`Store`] is the interface the server uses; [`SqliteStore`] is the embedded implementation
//! (one file in the data directory, WAL). A PostgreSQL implementation fills the same trait with the
//! same SQL where the dialects agree.
//!
//! Architecture invariant: every job state change is one database transaction that reads the row,
//! applies `god_core::transition::apply`, and writes document and indexed columns together. No
//! counter lives outside the job table: pending counts, running sums and queues are queries.

mod error;
mod sqlite;

pub use error::StoreError;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use god_core::transition::Event;
use god_core::{JobId, Primary, Task};

/// A user known to the server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserRecord {
    pub login: String,
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub home: Option<String>,
    pub email: Option<String>,
    pub admin: bool,
    pub disabled: bool,
    /// Hex SHA-256 of the API key (keys are random and long: a fast hash is enough).
    pub apikey_hash: String,
    pub key_version: i64,
    pub public_key: Option<String>,
    pub created: f64,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only this user's jobs (`None`: everybody's).
    pub user: Option<String>,
    pub states: Vec<Primary>,
    pub skip: u64,
    /// 0 = no limit.
    pub limit: u64,
    /// Newest first (over lists) instead of oldest first.
    pub newest_first: bool,
    /// Only jobs over before this time (archive by age).
    pub over_before: Option<f64>,
}

/// The scheduler's light view of a pending job.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    pub id: JobId,
    pub cpu: u32,
    pub ram: f64,
    pub deps: Vec<JobId>,
    pub reason: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Insert new jobs in one transaction; returns their ids, in order, increasing.
    async fn insert_jobs(&self, jobs: &[Task]) -> Result<Vec<JobId>, StoreError>;
    async fn get_job(&self, id: JobId) -> Result<Option<Task>, StoreError>;
    async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Task>, StoreError>;
    /// Apply `event` to one job in one transaction; returns the job as written.
    async fn transition(&self, id: JobId, event: &Event, now: f64) -> Result<Task, StoreError>;
    /// Pending jobs in submission order, light rows for the scheduling pass.
    async fn pending(&self, limit: u64) -> Result<Vec<PendingRow>, StoreError>;
    /// Record why pending jobs wait (only rows whose reason changed are written).
    async fn set_reasons(&self, reasons: &[(JobId, String)]) -> Result<(), StoreError>;
    /// States of the given jobs (missing ids are absent).
    async fn states(&self, ids: &[JobId]) -> Result<Vec<(JobId, Primary)>, StoreError>;
    /// CPUs and GB of RAM held by running jobs.
    async fn running_usage(&self) -> Result<(f64, f64), StoreError>;
    /// Running jobs (watcher, recovery).
    async fn running(&self) -> Result<Vec<Task>, StoreError>;
    /// Mark over jobs for the archiver. Returns how many were marked.
    async fn request_archive(&self, ids: &[JobId]) -> Result<u64, StoreError>;
    /// Jobs waiting for the archiver.
    async fn archive_queue(&self, limit: u64) -> Result<Vec<Task>, StoreError>;
    /// Delete an over or archived job's row (purge).
    async fn delete_job(&self, id: JobId) -> Result<(), StoreError>;
    /// Count an image as used.
    async fn image_used(&self, url: &str) -> Result<(), StoreError>;
    async fn images(&self) -> Result<Vec<String>, StoreError>;

    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn get_user(&self, login: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Replace a user's API key hash and bump its key version (old tokens stop working).
    async fn set_apikey(&self, login: &str, apikey_hash: &str) -> Result<i64, StoreError>;

    /// A server-wide value (`server_id`, `token_secret`), set once: the first writer wins.
    async fn meta_get_or_init(&self, key: &str, init: &str) -> Result<String, StoreError>;
}
