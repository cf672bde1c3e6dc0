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
pub mod swarm;
pub mod terminal;

pub use error::ExecError;
pub use god_core::launch::LaunchSpec;
pub use terminal::{
    SessionEnd, Terminal, TerminalControl, TerminalInput, TerminalOutput, TerminalRequest,
    TerminalSize,
};

use async_trait::async_trait;
pub use god_core::ending::Termination;
use god_core::JobId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How much of a command's stdout, and of its stderr, [`Executor::exec`] keeps (the rest is
/// dropped and [`ExecOutput::truncated`] set).
pub const EXEC_OUTPUT_LIMIT: usize = 1 << 20;

pub use god_core::node::{NodeReport, NodeState};

/// Who decides on which node a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The scheduler places each job on one of [`Executor::nodes`] (best fit, labels,
    /// reservations, backfill) and the executor runs it there (Docker, Swarm, native).
    OnNodes,
    /// The engine places jobs itself (a batch system's queue): the scheduler orders jobs and
    /// applies quotas against the executor's nodes pooled into one
    /// (`god_core::node::pooled`), and hands them over; the engine's queue places them.
    Delegated,
}

/// What the engine says about a container.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    /// Created but not started (a crash between create and start).
    Created,
    Running,
    Paused,
    /// It ended, and how.
    Exited(Termination),
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

/// What an executor's exit stream says as it happens ([`Executor::watch_exits`]): it wakes the
/// watcher, whose periodic pass covers anything missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitEvent {
    /// A job's container stopped: its result can be collected.
    Exited(JobId),
    /// The node under a job failed (or the engine lost the job): look at it now.
    Lost(JobId),
    /// The engine's stream broke, so ends may have been missed: look at every running job of
    /// this executor now (sent once per outage).
    StreamBroken { why: String },
}

impl ExitEvent {
    /// The job it is about, if one.
    pub fn job(&self) -> Option<JobId> {
        match self {
            ExitEvent::Exited(job) | ExitEvent::Lost(job) => Some(*job),
            ExitEvent::StreamBroken { .. } => None,
        }
    }
}

/// From how many containers [`Executor::inspect_many`] lists them all at once rather than
/// inspecting each.
pub const INSPECT_MANY_LISTS: usize = 8;

/// What an executor can do beyond starting, inspecting, killing and removing containers, so
/// callers ask rather than assume every engine can (a cluster engine may not pause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// [`Executor::pause`] / [`Executor::unpause`] work.
    pub pause: bool,
    /// [`Executor::stats`] answers.
    pub stats: bool,
    /// [`Executor::exec`] runs commands inside a running container.
    pub exec: bool,
    /// [`Executor::terminal`] opens interactive sessions (a TTY) inside a running container.
    pub terminal: bool,
}

/// What a running container uses now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContainerStats {
    /// Cumulative CPU time of its processes, in seconds.
    pub cpu_seconds: f64,
    /// Memory in use (without the inactive file cache where the engine tells it apart).
    pub memory_bytes: u64,
    /// Its memory limit, if it has one.
    pub memory_limit_bytes: Option<u64>,
}

/// A non-interactive command to run inside a job's running container, as the job's user.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    /// Never 0: the command runs as the job's user, not as root.
    pub uid: u32,
    pub gid: u32,
    pub env: Vec<(String, String)>,
    /// After this the command's output so far is returned and its exit code is unknown.
    pub timeout: Duration,
}

/// What a command run by [`Executor::exec`] printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// `None` when it did not end within the request's timeout.
    pub exit_code: Option<i64>,
    /// At most [`EXEC_OUTPUT_LIMIT`] bytes each.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Some output was dropped (over the limit).
    pub truncated: bool,
}

impl ExecOutput {
    /// Keep `chunk` of stdout (`err == false`) or stderr, up to [`EXEC_OUTPUT_LIMIT`].
    pub fn push(&mut self, err: bool, chunk: &[u8]) {
        let buf = if err {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        let room = EXEC_OUTPUT_LIMIT.saturating_sub(buf.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        buf.extend(chunk.iter().take(room));
    }
}

#[async_trait]
pub trait Executor: Send + Sync {
    /// The name used in `executors` and `requirements.executor`.
    fn name(&self) -> &'static str;

    /// The nodes jobs are placed onto (see [`NodeReport`]).
    async fn nodes(&self) -> Result<Vec<NodeReport>, ExecError>;

    /// Who places its jobs on its nodes.
    fn placement(&self) -> Placement {
        Placement::OnNodes
    }

    /// How long an answer of [`Executor::nodes`] may be reused (asking an Engine costs
    /// milliseconds, which an idle system's first job would otherwise pay): a single machine's capacity
    /// hardly changes, a cluster's nodes are drained and come and go.
    fn nodes_valid_for(&self) -> Duration {
        Duration::from_secs(15)
    }

    /// The Docker Swarm node ids whose resources [`Executor::nodes`] counts: start-up refuses
    /// two executors that count one machine twice (a Docker Engine that is also an active node
    /// of a Swarm another executor places onto).
    async fn swarm_node_ids(&self) -> Result<Vec<String>, ExecError> {
        Ok(Vec::new())
    }

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

    /// What this executor can do (fixed for its lifetime).
    fn capabilities(&self) -> Capabilities;

    async fn pause(&self, container: &str) -> Result<(), ExecError>;

    async fn unpause(&self, container: &str) -> Result<(), ExecError>;

    /// Remove a container (after its result was collected). Gone is not an error.
    async fn remove(&self, container: &str) -> Result<(), ExecError>;

    /// Every container labelled with `server_id` (recovery).
    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError>;

    /// The state of each of `containers` (ids or names of `server_id`'s containers), in order.
    /// For many, one listing answers for all (the running ones need no call of their own);
    /// for a few, one `inspect` each.
    async fn inspect_many(
        &self,
        server_id: &str,
        containers: &[String],
    ) -> Result<Vec<ContainerState>, ExecError> {
        if containers.len() < INSPECT_MANY_LISTS {
            let mut states = Vec::with_capacity(containers.len());
            for c in containers {
                states.push(self.inspect(c).await?);
            }
            return Ok(states);
        }
        let listed = self.list_labelled(server_id).await?;
        let mut by_key: HashMap<&str, &ContainerState> = HashMap::new();
        for l in &listed {
            by_key.insert(l.container_id.as_str(), &l.state);
            by_key.insert(l.name.as_str(), &l.state);
        }
        Ok(containers
            .iter()
            .map(|c| {
                by_key
                    .get(c.as_str())
                    .map_or(ContainerState::Gone, |s| (*s).clone())
            })
            .collect())
    }

    /// Tell, as it happens, of every job of `server_id` whose container stops or is lost, and
    /// of a broken stream, until the receiver is dropped (see [`ExitEvent`]).
    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<ExitEvent>);

    /// What a running container uses now (executors with [`Capabilities::stats`]).
    async fn stats(&self, _container: &str) -> Result<ContainerStats, ExecError> {
        Err(ExecError::Unsupported {
            what: "give container stats",
            executor: self.name(),
        })
    }

    /// Run a non-interactive command inside a running container as `request.uid:gid` (never
    /// root), collecting its output (executors with [`Capabilities::exec`]). Interactive
    /// sessions are [`Executor::terminal`]'s.
    async fn exec(
        &self,
        _container: &str,
        _request: &ExecRequest,
    ) -> Result<ExecOutput, ExecError> {
        Err(ExecError::Unsupported {
            what: "run commands in a job",
            executor: self.name(),
        })
    }

    /// Open an interactive session on a TTY inside a running container as `request.uid:gid`
    /// (never root nor its group, never privileged), in `request.working_dir` (executors with
    /// [`Capabilities::terminal`]; see [`crate::terminal`]).
    async fn terminal(
        &self,
        _container: &str,
        _request: &TerminalRequest,
    ) -> Result<Terminal, ExecError> {
        Err(ExecError::Unsupported {
            what: "open a terminal in a job",
            executor: self.name(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_output_is_bounded_per_stream() {
        let mut out = ExecOutput::default();
        out.push(false, &vec![b'a'; EXEC_OUTPUT_LIMIT - 1]);
        out.push(true, b"err");
        assert!(!out.truncated);
        out.push(false, b"bc");
        assert_eq!(out.stdout.len(), EXEC_OUTPUT_LIMIT);
        assert_eq!(out.stdout.last(), Some(&b'b'));
        assert_eq!(out.stderr, b"err");
        assert!(out.truncated);
    }
}
