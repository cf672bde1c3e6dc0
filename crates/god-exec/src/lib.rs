//! Executors: the edge where jobs meet a container engine.
//!
//! An [`Executor`] creates, inspects, kills, pauses and removes the container of one job attempt,
//! described by a [`LaunchSpec`] that `god-core` derived from the task. Executors hold no job
//! state of their own that matters: the database is the truth, and every call is idempotent on the
//! container name, so a restarted server can pick up where a killed one stopped.

pub mod docker;
pub mod error;
pub mod fake;
pub mod helper;
pub mod jobdir;
pub mod native;

pub use error::ExecError;
pub use god_core::launch::LaunchSpec;

use async_trait::async_trait;
use god_core::JobId;
use tokio::sync::mpsc;

/// Resources jobs may use on an executor, in total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    pub cpus: f64,
    /// GB.
    pub ram: f64,
    /// Name of the node (for `container.meta.Node.Name`).
    pub node: &'static str,
}

/// What the engine says about a container.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    /// Created but not started (a crash between create and start).
    Created,
    Running,
    Paused,
    Exited {
        exit_code: i64,
        /// The engine killed it for exceeding its memory limit.
        oom_killed: bool,
        /// The engine's error message, if it could not run the container at all.
        error: Option<String>,
    },
    /// No such container.
    Gone,
}

/// A container carrying our labels, found on the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub container_id: String,
    pub name: String,
    pub job: Option<JobId>,
    pub state: ContainerState,
}

#[async_trait]
pub trait Executor: Send + Sync {
    /// The name used in `executors` and `requirements.executor`.
    fn name(&self) -> &'static str;

    /// Resources available to jobs (total, not free).
    async fn capacity(&self) -> Result<Capacity, ExecError>;

    /// Called once at the start of each scheduling pass (the fake executor's `fail_on` counts
    /// per pass).
    fn begin_pass(&self) {}

    /// Create and start the container of one attempt; returns the container id. Idempotent on
    /// `spec.name`: an existing container of that name is started if needed and its id returned.
    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError>;

    /// State of a container, by id or name.
    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError>;

    /// Kill a container. A container that is already gone or stopped is not an error.
    async fn kill(&self, container: &str) -> Result<(), ExecError>;

    async fn pause(&self, container: &str) -> Result<(), ExecError>;

    async fn unpause(&self, container: &str) -> Result<(), ExecError>;

    /// Remove a container (after its result was collected). Gone is not an error.
    async fn remove(&self, container: &str) -> Result<(), ExecError>;

    /// Every container labelled with `server_id` (recovery).
    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError>;

    /// Send the id of every job whose container stops, as it happens, until the receiver is
    /// dropped. Wakes the watcher; the watcher's periodic pass covers anything missed.
    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<JobId>);
}
