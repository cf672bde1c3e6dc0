//! Durable state: jobs, users, projects, usage, server identity.
//!
//! [`Store`] is the interface the server uses (jobs in [`JobStore`], accounts in
//! [`AccountStore`], the change log in [`ChangeLog`]); [`SqliteStore`] is the embedded implementation (one file in the data
//! directory, WAL). A PostgreSQL implementation fills the same traits with the same SQL where the
//! dialects agree.
//!
//! Architecture invariant: every job state change is one database transaction that reads the row,
//! applies `god_core::transition::apply`, writes document and indexed columns together, and
//! performs its consequences in the same transaction (the usage record of a run that ended, the
//! counter of an array parent). No counter lives outside the tables it counts.

mod error;
mod sqlite;

pub use error::StoreError;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use god_core::audit::AuditAction;
use god_core::ending::RunOutcome;
use god_core::node::{NodeView, NodeViews};
use god_core::schedule::ReasonKind;
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
    pub limits: Limits,
    /// Argon2 hash of a local password, if the user has one.
    pub password_hash: Option<String>,
    /// Set for guests: users of an OpenID Connect provider, not of the site's directory.
    pub guest: Option<Guest>,
}

/// What makes a user a guest (reference 5.4): who the identity provider says they are, and
/// whether an administrator has let them in yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Guest {
    /// `<issuer> <sub>`: the provider's stable identity of this person.
    pub subject: String,
    /// Guests run nothing (and see nothing) until an administrator activates them.
    pub active: bool,
}

impl UserRecord {
    /// A guest an administrator has not activated (or has deactivated).
    pub fn inactive_guest(&self) -> bool {
        self.guest.as_ref().is_some_and(|g| !g.active)
    }
}

/// Priority (0–100) and quotas (0 = unlimited) of a user or project.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub prio: u32,
    /// Concurrent CPUs.
    pub quota_cpu: f64,
    /// Concurrent GB of RAM.
    pub quota_ram: f64,
    /// Wall seconds within the usage window.
    pub quota_time: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            prio: 50,
            quota_cpu: 0.0,
            quota_ram: 0.0,
            quota_time: 0.0,
        }
    }
}

impl Limits {
    /// The quotas the scheduling pass and the submission check read.
    pub fn quotas(&self) -> god_core::schedule::Quotas {
        god_core::schedule::Quotas {
            cpu: self.quota_cpu.max(0.0).floor() as u32,
            ram: self.quota_ram,
            time: self.quota_time,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectRecord {
    pub id: String,
    pub description: String,
    pub limits: Limits,
    pub members: Vec<String>,
    /// Volumes offered to the project's members.
    pub volumes: Vec<god_core::config::VolumeConfig>,
}

impl ProjectRecord {
    /// The project `default`: everybody's, no quota, no volume.
    pub fn default_project() -> ProjectRecord {
        ProjectRecord {
            id: god_core::names::DEFAULT_PROJECT.into(),
            description: god_core::names::DEFAULT_PROJECT_DESCRIPTION.into(),
            ..Default::default()
        }
    }
}

/// What one finished run consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub job: JobId,
    pub user: String,
    pub project: String,
    pub cpu: f64,
    pub ram: f64,
    pub wall_seconds: f64,
    pub ended: f64,
    /// How the run ended (`Unknown` for runs recorded before this was).
    pub outcome: RunOutcome,
}

/// Whose usage records to read.
#[derive(Debug, Clone, PartialEq)]
pub enum UsageOwner {
    User(String),
    Project(String),
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only this user's jobs (`None`: everybody's).
    pub user: Option<String>,
    /// Only jobs of these projects (empty: any).
    pub projects: Vec<String>,
    pub states: Vec<Primary>,
    pub skip: u64,
    /// 0 = no limit.
    pub limit: u64,
    /// Newest first (over lists) instead of oldest first.
    pub newest_first: bool,
    /// Only jobs over before this time (archive by age).
    pub over_before: Option<f64>,
    /// Only children of this array parent.
    pub parent: Option<JobId>,
}

/// Whose jobs a listing may show.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum JobScope {
    /// One user's.
    User(String),
    /// A user's, and every job of these projects (those whose members see each other's jobs:
    /// `share_project_tasks`).
    UserAndProjects { user: String, projects: Vec<String> },
    /// Everybody's (administrators).
    #[default]
    All,
}

/// Which jobs of a listing, as to arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobLevel {
    /// Every job, array children included.
    #[default]
    Any,
    /// Array children hidden (their parent stands for them, with [`JobPage::children`]).
    TopLevel,
    /// The children of one array parent.
    ChildrenOf(JobId),
}

/// The one job list query (API lists, the web UI): every condition given must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFilter {
    pub scope: JobScope,
    /// Any of these states (empty: any state).
    pub states: Vec<Primary>,
    pub project: Option<String>,
    /// Jobs carrying this tag.
    pub tag: Option<String>,
    /// In the name or the description, ignoring ASCII case.
    pub text: Option<String>,
    /// Exactly this image.
    pub image: Option<String>,
    /// Submitted at or after (seconds since the epoch).
    pub since: Option<f64>,
    /// Submitted before.
    pub until: Option<f64>,
    pub level: JobLevel,
}

/// How many children of an array parent are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    pub pending: u64,
    pub running: u64,
    pub over: u64,
    pub archived: u64,
    /// Not created yet (children are created as the pending ones leave).
    pub not_created: u64,
}

/// One page of a job listing, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobPage {
    pub jobs: Vec<Task>,
    /// For each array parent in `jobs`: its children by state.
    pub children: std::collections::HashMap<JobId, ChildCounts>,
    /// The cursor of the next page (the last id of this one), `None` when this is the last.
    pub next: Option<JobId>,
}

/// The scheduler's light view of a pending job.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    pub id: JobId,
    pub user: String,
    pub project: String,
    pub cpu: u32,
    pub ram: f64,
    /// Compact dependency list (`god_core::deps::decode`).
    pub deps: String,
    pub date: f64,
    /// `status.reason`, the text users read.
    pub reason: Option<String>,
    /// The kind of `reason` when the scheduler wrote it (`None`: it did not, or there is none).
    pub reason_kind: Option<ReasonKind>,
    pub gpus: u32,
    /// Label constraints `name==value`.
    pub labels: Vec<String>,
    /// The job's own `maxlifespan`, if any.
    pub maxlifespan: Option<String>,
    /// `requirements.executor`: the executor that runs it.
    pub executor: Option<String>,
}

/// Why a pending job waits, as the scheduler records it: the text users read
/// (`status.reason`) and its kind (stored beside it, not shown).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitReason {
    pub id: JobId,
    pub kind: ReasonKind,
    pub text: String,
}

/// An array parent that still has children to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayFill {
    pub parent: JobId,
    pub created: u64,
    pub total: u64,
    /// Its children currently pending.
    pub pending: u64,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Insert new jobs in one transaction; returns their ids, in order, increasing.
    async fn insert_jobs(&self, jobs: &[Task]) -> Result<Vec<JobId>, StoreError>;
    async fn get_job(&self, id: JobId) -> Result<Option<Task>, StoreError>;
    /// Several jobs at once (missing ids are absent), by id.
    async fn get_jobs(&self, ids: &[JobId]) -> Result<Vec<Task>, StoreError>;
    async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Task>, StoreError>;
    /// The jobs `filter` matches, newest first, with ids below `after` (the cursor: the last
    /// id seen), at most `limit` (0: all), with the child counts of the array parents shown.
    async fn list_page(
        &self,
        filter: &JobFilter,
        after: Option<JobId>,
        limit: u64,
    ) -> Result<JobPage, StoreError>;
    /// How many jobs `filter` matches (a bulk action's confirmation).
    async fn count_matching(&self, filter: &JobFilter) -> Result<u64, StoreError>;
    /// Apply `event` to one job in one transaction; returns the job as written.
    async fn transition(&self, id: JobId, event: &Event, now: f64) -> Result<Task, StoreError>;
    /// Apply several transitions in one transaction (one commit); each may be refused alone.
    async fn transition_many(
        &self,
        items: &[(JobId, Event)],
        now: f64,
    ) -> Result<Vec<Result<Task, StoreError>>, StoreError>;
    /// Pending jobs in submission order, light rows for the scheduling pass (array parents,
    /// which never run themselves, are left out).
    async fn pending(&self, limit: u64) -> Result<Vec<PendingRow>, StoreError>;
    /// How many jobs are pending (of `user`, or all).
    async fn count_pending(&self, user: Option<&str>) -> Result<u64, StoreError>;
    /// Record why pending jobs wait, text and kind (jobs no longer pending are left alone).
    async fn set_reasons(&self, reasons: &[WaitReason]) -> Result<(), StoreError>;
    /// States and exit codes of the given jobs (missing ids are absent).
    async fn states(&self, ids: &[JobId])
        -> Result<Vec<(JobId, Primary, Option<i64>)>, StoreError>;
    /// Running jobs (watcher, recovery, scheduler).
    async fn running(&self) -> Result<Vec<Task>, StoreError>;
    /// Mark over jobs for the archiver. Returns how many were marked.
    async fn request_archive(&self, ids: &[JobId]) -> Result<u64, StoreError>;
    /// Jobs waiting for the archiver.
    async fn archive_queue(&self, limit: u64) -> Result<Vec<Task>, StoreError>;
    /// Bytes of job directories each user keeps (over jobs' `container.meta.disk_size`;
    /// archived jobs hold none).
    async fn disk_usage(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Delete an over or archived job's row (purge).
    async fn delete_job(&self, id: JobId) -> Result<(), StoreError>;
    /// Array parents with children still to create.
    async fn arrays_to_fill(&self) -> Result<Vec<ArrayFill>, StoreError>;
    /// Create up to `count` more children of an array parent (one transaction); the parent
    /// becomes running with its first children. Returns the new ids.
    async fn create_children(
        &self,
        parent: JobId,
        count: u64,
        now: f64,
    ) -> Result<Vec<JobId>, StoreError>;
    /// Kill an array: the parent, its pending children (over at once), its running children
    /// (kill requested) and the children not created yet (never created). One transaction.
    async fn kill_array(&self, parent: JobId, now: f64) -> Result<Task, StoreError>;
    async fn images(&self) -> Result<Vec<String>, StoreError>;
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn get_user(&self, login: &str) -> Result<Option<UserRecord>, StoreError>;
    /// The guest whose identity provider subject is `subject` (see [`Guest::subject`]).
    async fn get_guest(&self, subject: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Write profile fields, limits, flags (not the API key: see `set_apikey`).
    async fn update_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn delete_user(&self, login: &str) -> Result<(), StoreError>;
    /// Replace a user's API key hash and bump its key version (old tokens stop working).
    async fn set_apikey(&self, login: &str, apikey_hash: &str) -> Result<i64, StoreError>;

    async fn put_project(&self, project: &ProjectRecord) -> Result<(), StoreError>;
    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError>;
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError>;
    async fn delete_project(&self, id: &str) -> Result<(), StoreError>;

    /// Usage records of runs that ended at or after `since`.
    async fn usage_since(&self, since: f64) -> Result<Vec<UsageRecord>, StoreError>;
    /// Usage records of one user's or one project's runs that ended at or after `since`.
    async fn usage_of(
        &self,
        owner: &UsageOwner,
        since: f64,
    ) -> Result<Vec<UsageRecord>, StoreError>;
    /// Forget a project's usage (`DELETE /api/1.0/project/<id>/quota`).
    async fn reset_project_usage(&self, project: &str) -> Result<(), StoreError>;

    /// A server-wide value (`server_id`, `token_secret`), set once: the first writer wins.
    async fn meta_get_or_init(&self, key: &str, init: &str) -> Result<String, StoreError>;
}

/// Maintenance mode as stored: while `on`, the scheduler starts no job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Maintenance {
    pub on: bool,
    /// The administrator's words, shown with it.
    pub message: Option<String>,
    /// Who switched it last, and when (`None`: nobody ever did).
    pub by: Option<String>,
    pub at: Option<f64>,
}

/// One entry of the audit log: who did what to whom, when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Seconds since the epoch.
    pub at: f64,
    pub actor: String,
    pub action: AuditAction,
    /// A login, a project id, or empty for the whole service (see `god_core::audit`).
    pub target: String,
    pub detail: String,
}

/// An entry as the log holds it, with its id (increasing).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: u64,
    pub entry: AuditEntry,
}

/// Most entries one read of the audit log returns.
pub const AUDIT_PAGE_MAX: u64 = 1000;

/// Which entries of the audit log to read: newest first, older than `before`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<AuditAction>,
    pub before: Option<u64>,
    pub limit: u64,
}

/// What administrators set for the whole service, and what they did.
#[async_trait]
pub trait AdminStore: Send + Sync {
    async fn maintenance(&self) -> Result<Maintenance, StoreError>;
    /// Switch maintenance mode on or off, by `by` at `at`: the change log (for live views) and
    /// the audit log record it in the same transaction. Returns it as stored.
    async fn set_maintenance(
        &self,
        on: bool,
        message: Option<&str>,
        by: &str,
        at: f64,
    ) -> Result<Maintenance, StoreError>;
    /// Append entries to the audit log (one transaction).
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    /// Entries matching `filter`, newest first.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;
}

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A job was created or changed (state, reason…); the body summarises it as it is now.
    Job,
    /// A job was purged.
    JobRemoved,
    /// An account was created, changed (keys, flags, limits) or removed (body `null`).
    Account,
    /// A project was created, changed or removed (body `null`).
    Project,
    /// Maintenance mode was switched on or off (body `{on, message, by, at}`).
    Maintenance,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Job => "job",
            ChangeKind::JobRemoved => "job_removed",
            ChangeKind::Account => "account",
            ChangeKind::Project => "project",
            ChangeKind::Maintenance => "maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Job,
            ChangeKind::JobRemoved,
            ChangeKind::Account,
            ChangeKind::Project,
            ChangeKind::Maintenance,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of the change log: appended in the transaction of the change it records, with an
/// increasing id, so that a client can follow changes and resume after the last it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: u64,
    /// When it was committed (the database's clock, seconds since the epoch).
    pub at: f64,
    pub kind: ChangeKind,
    pub job: Option<JobId>,
    /// The job's owner, or the account changed.
    pub user: Option<String>,
    /// The job's project, or the project changed.
    pub project: Option<String>,
    pub body: serde_json::Value,
}

#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// Changes after `after`, oldest first, at most `limit`.
    async fn changes_since(&self, after: u64, limit: u64) -> Result<Vec<Change>, StoreError>;
    /// The newest change's id (0 when there is none).
    async fn last_change(&self) -> Result<u64, StoreError>;
    /// Keep only the newest `keep` changes; returns how many were removed.
    async fn trim_changes(&self, keep: u64) -> Result<u64, StoreError>;
    /// The newest change id this process committed, updated at each commit that wrote one
    /// (other processes' changes are found by asking `changes_since`).
    fn watch_changes(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// The nodes the scheduler places onto, as it last published them for processes that never
/// talk to the engines (see `god_core::node`).
#[async_trait]
pub trait NodeStore: Send + Sync {
    /// Replace every published view by `nodes`, published at `now`.
    async fn publish_nodes(&self, nodes: &[NodeView], now: f64) -> Result<(), StoreError>;
    async fn node_views(&self) -> Result<NodeViews, StoreError>;
}

/// A browser session of the web UI. The browser holds a random id; only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSession {
    pub id_hash: String,
    pub login: String,
    /// What every form (and the terminal's WebSocket) of this session must carry.
    pub csrf: String,
    pub created: f64,
    pub last_seen: f64,
    /// It no longer holds from then on (moved forward as it is used).
    pub expires: f64,
}

/// Browser sessions, kept in the database so that any API process serves them.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Keep a new session (and forget those that had expired at its creation).
    async fn create_session(&self, session: &WebSession) -> Result<(), StoreError>;
    async fn get_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError>;
    /// The session was used at `last_seen`: it now holds until `expires`.
    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen: f64,
        expires: f64,
    ) -> Result<(), StoreError>;
    /// End a session; the change log records a change of its account (so that its live views,
    /// in any process, end).
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// End every session of `login` (disabled account); how many there were.
    async fn delete_sessions_of(&self, login: &str) -> Result<u64, StoreError>;
}

/// Everything the server needs from its database.
pub trait Store:
    JobStore + AccountStore + ChangeLog + NodeStore + SessionStore + AdminStore
{
}

impl<T: JobStore + AccountStore + ChangeLog + NodeStore + SessionStore + AdminStore> Store for T {}
