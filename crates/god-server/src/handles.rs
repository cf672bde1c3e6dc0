//! What API handlers may reach of the engines. Handlers hold no executor (see [`crate::state`]):
//! besides requests written into jobs for the loops, they get only these narrow, read-mostly
//! handles, each bound to one running job of the caller (the handler has checked that the caller
//! may see it) and to one capability of the executor:
//!
//! - [`JobStats`]: what a running (or suspended) job's container uses now;
//! - [`JobExec`]: a non-interactive command inside a running job's container, as the job's user
//!   (never root). Interactive sessions (a TTY attached) come with the SSH/interactive issue.
//!
//! Neither can start, stop or change a job: that stays with the scheduler and the watcher.

use crate::error::ApiError;
use crate::executors::ExecutorSet;
use god_core::{Primary, Secondary, Task};
use god_exec::{Capabilities, ContainerStats, ExecError, ExecOutput, ExecRequest};
use std::sync::Arc;
use std::time::Duration;

/// How long a command run through [`JobExec`] may take before its output so far is returned.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a handle refused. Not an error of the service: an answer to the client (see the
/// conversion into [`ApiError`]).
#[derive(Debug)]
pub enum HandleError {
    /// The executor cannot do this at all (see [`Capabilities`]).
    NotCapable {
        what: &'static str,
        executor: &'static str,
    },
    /// The job has no running container (pending, over, suspended for an exec).
    NotRunning { why: String },
    /// The executor failed or refused.
    Exec(ExecError),
}

impl From<HandleError> for ApiError {
    fn from(e: HandleError) -> Self {
        match e {
            HandleError::NotCapable { what, executor } => ApiError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                format!("the {executor} executor cannot {what}"),
            ),
            HandleError::NotRunning { why } => ApiError::conflict(why),
            // The container stopped between the job's reading and the engine's answer.
            HandleError::Exec(ExecError::Refused(why)) => ApiError::conflict(why),
            HandleError::Exec(
                e @ (ExecError::Unsupported { .. } | ExecError::NoNodeEngine { .. }),
            ) => ApiError::new(axum::http::StatusCode::NOT_IMPLEMENTED, e.to_string()),
            HandleError::Exec(e) => {
                tracing::warn!("executor: {e}");
                ApiError::unavailable("the container engine does not answer; try again later")
            }
        }
    }
}

/// The container of `task` if it is running (suspended too when `suspended_ok`).
fn running_container(task: &Task, suspended_ok: bool) -> Result<&str, HandleError> {
    let not_running = |state: &str| HandleError::NotRunning {
        why: format!("job {} is {state}, not running", task.id),
    };
    if task.status.primary != Primary::Running {
        return Err(not_running(task.status.primary.as_str()));
    }
    if !suspended_ok && task.status.secondary == Some(Secondary::Suspended) {
        return Err(not_running("suspended"));
    }
    task.container
        .id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| not_running("starting"))
}

/// The original's `executor_features` of `GET /api/1.0/config`: `kill` always, `pause` when the
/// executor can (stats and exec are ours, told by their routes' answers).
pub fn executor_features(c: Capabilities) -> Vec<&'static str> {
    let mut features = vec!["kill"];
    if c.pause {
        features.push("pause");
    }
    features
}

/// A job's resource usage, from its executor.
#[derive(Clone)]
pub struct JobStats {
    execs: Arc<ExecutorSet>,
}

impl JobStats {
    pub(crate) fn new(execs: Arc<ExecutorSet>) -> Self {
        JobStats { execs }
    }

    /// What the container of a running (or suspended) job uses now.
    pub async fn stats(&self, task: &Task) -> Result<ContainerStats, HandleError> {
        let exec = &self.execs.of(task).exec;
        if !exec.capabilities().stats {
            return Err(HandleError::NotCapable {
                what: "give a job's resource usage",
                executor: exec.name(),
            });
        }
        let container = running_container(task, true)?;
        exec.stats(container).await.map_err(HandleError::Exec)
    }
}

/// Commands inside a running job's container, as the job's user.
#[derive(Clone)]
pub struct JobExec {
    execs: Arc<ExecutorSet>,
}

impl JobExec {
    pub(crate) fn new(execs: Arc<ExecutorSet>) -> Self {
        JobExec { execs }
    }

    /// Run `argv` in the running (not suspended) job's container as `task.user.uid:gid`, with
    /// no extra environment, for at most [`EXEC_TIMEOUT`].
    pub async fn exec(&self, task: &Task, argv: Vec<String>) -> Result<ExecOutput, HandleError> {
        let exec = &self.execs.of(task).exec;
        if !exec.capabilities().exec {
            return Err(HandleError::NotCapable {
                what: "run commands in a job",
                executor: exec.name(),
            });
        }
        let container = running_container(task, false)?;
        let request = ExecRequest {
            argv,
            uid: task.user.uid,
            gid: task.user.gid,
            env: Vec::new(),
            timeout: EXEC_TIMEOUT,
        };
        exec.exec(container, &request)
            .await
            .map_err(HandleError::Exec)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::testing::TestEnv;
    use god_core::testing::TaskBuilder;
    use god_core::transition::Event;

    #[tokio::test]
    async fn a_running_fake_job_has_stats_through_the_handle() {
        let mut env = TestEnv::new("").await;
        let id = env.submit(TaskBuilder::new().cpu(2).ram(1.0)).await;
        let pending = env.job(id).await;
        let refused = env.state.stats.stats(&pending).await;
        assert!(
            matches!(&refused, Err(HandleError::NotRunning { why }) if why.contains("pending")),
            "{refused:?}"
        );
        assert_eq!(env.schedule().await, 1);
        env.clock.advance(5.0);
        let running = env.job(id).await;
        let s = env.state.stats.stats(&running).await.unwrap();
        assert_eq!(s.cpu_seconds, 10.0, "two cpus for 5 s");
        assert_eq!(s.memory_limit_bytes, Some(1_000_000_000));
        assert_eq!(s.memory_bytes, 500_000_000);

        // Suspended: still stats, but no command would run in it.
        env.event(id, Event::SuspendRequested).await;
        env.watch().await;
        let suspended = env.job(id).await;
        assert_eq!(suspended.status.secondary, Some(Secondary::Suspended));
        assert!(env.state.stats.stats(&suspended).await.is_ok());

        // The fake executor runs no commands in jobs: refused before anything else.
        let e = env
            .state
            .exec_in_job
            .exec(&running, vec!["id".into()])
            .await;
        assert!(
            matches!(
                e,
                Err(HandleError::NotCapable {
                    executor: "fake",
                    ..
                })
            ),
            "{e:?}"
        );
        let api = ApiError::from(e.unwrap_err());
        assert_eq!(api.status, axum::http::StatusCode::NOT_IMPLEMENTED);
    }

    #[tokio::test]
    async fn capabilities_are_copied_and_tell_the_features() {
        let env = TestEnv::new("").await;
        let c = env.state.capabilities();
        assert_eq!(c, god_exec::Executor::capabilities(&*env.fake));
        assert_eq!(executor_features(c), ["kill", "pause"]);
        let no_pause = Capabilities { pause: false, ..c };
        assert_eq!(executor_features(no_pause), ["kill"]);
    }

    #[test]
    fn only_a_started_container_of_a_running_job_is_used() {
        let mut t = TaskBuilder::new()
            .state(Primary::Running, None)
            .container(Some("c1"))
            .build();
        assert_eq!(running_container(&t, false).unwrap(), "c1");
        t.status.secondary = Some(Secondary::Suspended);
        assert!(running_container(&t, false).is_err());
        assert_eq!(running_container(&t, true).unwrap(), "c1");
        t.container.id = None;
        assert!(running_container(&t, true).is_err());
        t.status.primary = Primary::Over;
        let e = running_container(&t, true).unwrap_err();
        assert!(matches!(&e, HandleError::NotRunning { why } if why.contains("over")));
        assert_eq!(ApiError::from(e).status, axum::http::StatusCode::CONFLICT);
    }
}
