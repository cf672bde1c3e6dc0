//! What the parts of the service share. [`AppState`] is what the API handlers get: the store,
//! the configuration, the wake-ups, and no executor (a handler writes a request into the job and
//! wakes the loop that owns it), only the narrow handles of [`crate::handles`] on a running job
//! and what the executor can do ([`AppState::capabilities`]). [`LoopState`] is what the scheduler, watcher and recovery get:
//! the same plus the executor.

use crate::handles::{JobExec, JobStats, JobTerminal};
use crate::submit::SubmitQueue;
use god_core::config::Config;
use god_core::node::NodeViews;
use god_exec::Capabilities;
use god_store::{Store, StoreError, UserRecord};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Wake-up signals between the API and the loops, so an idle system reacts in milliseconds.
#[derive(Default)]
pub struct Wake {
    pub scheduler: Notify,
    pub watcher: Notify,
    pub archiver: Notify,
}

/// A short-lived cache of users, so authenticating a request does not always read the database.
/// Entries expire after a second; the API drops an entry when it changes the user.
#[derive(Default)]
pub struct UserCache {
    entries: Mutex<HashMap<String, (UserRecord, Instant)>>,
}

const USER_TTL: Duration = Duration::from_secs(1);

impl UserCache {
    pub async fn get(
        &self,
        store: &Arc<dyn Store>,
        login: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        if let Ok(map) = self.entries.lock() {
            if let Some((u, at)) = map.get(login) {
                if at.elapsed() < USER_TTL {
                    return Ok(Some(u.clone()));
                }
            }
        }
        let user = store.get_user(login).await?;
        if let (Some(u), Ok(mut map)) = (&user, self.entries.lock()) {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(login.to_string(), (u.clone(), Instant::now()));
        }
        Ok(user)
    }

    pub fn forget(&self, login: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(login);
        }
    }
}

/// A token bucket per user on the API, so one client cannot starve the others.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64) -> Self {
        RateLimiter {
            per_second,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `login`; `Err(seconds to wait)` when the bucket is empty.
    pub fn take(&self, login: &str) -> Result<(), f64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let (tokens, at) = map.entry(login.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + at.elapsed().as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.per_second)
        }
    }
}

/// Paths the service uses on the host.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub shared_dir: PathBuf,
    /// The static init helper mounted into job containers.
    pub init_helper: PathBuf,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub secret: Arc<String>,
    pub server_id: Arc<String>,
    pub paths: Arc<Paths>,
    pub wake: Arc<Wake>,
    pub users: Arc<UserCache>,
    pub submit: SubmitQueue,
    pub limiter: Arc<RateLimiter>,
    /// The authentication policy (`auth_policy`) and the failed-login rate limiter.
    pub auth: Arc<crate::auth::Auth>,
    /// Watcher plugins (`watchers`), e.g. `maxlifespan`.
    pub plugins: Arc<Vec<Box<dyn god_core::watchers::WatcherPlugin>>>,
    /// Open once start-up recovery has run: the scheduler dispatches nothing before.
    pub recovered: Arc<RecoveryGate>,
    /// Where the loops and job submissions get `now` (the system's; a hand-driven one in the
    /// loop tests).
    pub clock: Arc<dyn god_core::clock::Clock>,
    /// The change log, broadcast to this process's followers.
    pub feed: Arc<crate::feed::ChangeFeed>,
    /// The nodes as the scheduler last published them.
    pub nodes: Arc<NodeViewCache>,
    /// A running job's resource usage (the only way handlers reach the engine for it).
    pub stats: JobStats,
    /// Commands inside a running job's container, as its user.
    pub exec_in_job: JobExec,
    /// Interactive shells (a TTY) inside a running job's container, as its user.
    pub terminal: JobTerminal,
    /// What each executor can do (configured name, capabilities), the primary first; copied
    /// at assembly.
    pub(crate) executors: Arc<Vec<(String, Capabilities)>>,
    /// This process serves the web UI under `/app/` (set at start-up): `/` and the guests'
    /// login lead there.
    pub web_ui: bool,
}

impl AppState {
    /// What the executor can do (pause, stats, exec, terminal), for the API to tell clients.
    pub fn capabilities(&self) -> Capabilities {
        self.executors.first().map(|(_, c)| *c).unwrap_or_default()
    }

    /// Every executor by its configured name and what it can do, the primary first.
    pub fn executors(&self) -> &[(String, Capabilities)] {
        &self.executors
    }

    /// What the executor that runs `task` can do (the one its `requirements.executor` names,
    /// as `ExecutorSet::of` finds it; the primary's otherwise).
    pub fn capabilities_of(&self, task: &god_core::Task) -> Capabilities {
        use god_core::config::ExecutorKind;
        let kind = task
            .requirements
            .executor
            .as_deref()
            .and_then(ExecutorKind::of);
        self.executors
            .iter()
            .find(|(name, _)| kind.is_some() && ExecutorKind::of(name) == kind)
            .or(self.executors.first())
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

/// What the loops that talk to the engines share: the API's state and the executors. Only the
/// scheduler, the watcher and start-up recovery are given one.
#[derive(Clone)]
pub struct LoopState {
    pub app: AppState,
    /// Every configured executor; a job's own is `execs.of(&task)`.
    pub execs: Arc<crate::executors::ExecutorSet>,
}

impl std::ops::Deref for LoopState {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

/// On which executors start-up recovery has run. Until it has on one (it did not answer at
/// start-up), the scheduler starts nothing there: a job it dispatched could be taken by recovery
/// for one a crash left half-dispatched. The others go on.
#[derive(Default)]
pub struct RecoveryGate {
    all: std::sync::atomic::AtomicBool,
    executors: Mutex<std::collections::HashSet<String>>,
}

impl RecoveryGate {
    /// Open for every executor (a process without a watcher; tests).
    pub fn open(&self) {
        self.all.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Recovery has run on `executor`.
    pub fn open_for(&self, executor: &str) {
        if let Ok(mut set) = self.executors.lock() {
            set.insert(executor.to_string());
        }
    }

    pub fn is_open_for(&self, executor: &str) -> bool {
        self.all.load(std::sync::atomic::Ordering::Acquire)
            || self
                .executors
                .lock()
                .is_ok_and(|set| set.contains(executor))
    }
}

/// The node views the scheduler published, read from the store at most every few seconds (an
/// API process never asks an engine).
#[derive(Default)]
pub struct NodeViewCache {
    cached: tokio::sync::Mutex<Option<(Instant, NodeViews)>>,
}

const NODES_TTL: Duration = Duration::from_secs(5);

impl NodeViewCache {
    pub async fn get(&self, store: &Arc<dyn Store>) -> Result<NodeViews, StoreError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, views)) = &*cached {
            if at.elapsed() < NODES_TTL {
                return Ok(views.clone());
            }
        }
        let views = store.node_views().await?;
        *cached = Some((Instant::now(), views.clone()));
        Ok(views)
    }
}
