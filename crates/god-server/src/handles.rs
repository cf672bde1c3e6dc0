//! What API handlers may reach of the engines. Handlers hold no executor (see [`crate::state`]):
//! besides requests written into jobs for the loops, they get only these narrow, read-mostly
//! handles, each bound to one running job of the caller (the handler has checked that the caller
//! may see it) and to one capability of the executor:
//!
//! - [`JobStats`]: what a running (or suspended) job's container uses now;
//! - [`JobExec`]: a non-interactive command inside a running job's container, as the job's user
//!   (never root);
//! - [`JobTerminal`]: an interactive shell on a TTY inside a running job's container, as the
//!   job's user, in its job directory (never in a job that runs as root).
//!
//! None can start, stop or change a job: that stays with the scheduler and the watcher.

use crate::error::ApiError;
use crate::executors::ExecutorSet;
use god_core::config::{Config, ExecutorKind};
use god_core::launch::{self, View};
use god_core::{JobId, Primary, Secondary, Task};
use god_exec::{
    Capabilities, ContainerStats, ExecError, ExecOutput, ExecRequest, Terminal, TerminalRequest,
    TerminalSize,
};
use std::path::{Path, PathBuf};
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
    /// The job runs as root: no terminal opens in it.
    RunsAsRoot { job: JobId },
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
            HandleError::RunsAsRoot { job } => {
                ApiError::forbidden(format!("job {job} runs as root: no terminal opens in it"))
            }
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
/// executor can (stats, exec and terminals are ours, told by their routes' answers).
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

/// Interactive sessions inside a running job's container, as the job's user.
#[derive(Clone)]
pub struct JobTerminal {
    execs: Arc<ExecutorSet>,
    /// What rebuilds a job's launch, for its paths and variables as the job sees them.
    config: Arc<Config>,
    server_id: Arc<String>,
    shared_dir: PathBuf,
    init_helper: PathBuf,
}

impl JobTerminal {
    pub(crate) fn new(
        execs: Arc<ExecutorSet>,
        config: Arc<Config>,
        server_id: Arc<String>,
        shared_dir: &Path,
        init_helper: &Path,
    ) -> Self {
        JobTerminal {
            execs,
            config,
            server_id,
            shared_dir: shared_dir.to_path_buf(),
            init_helper: init_helper.to_path_buf(),
        }
    }

    /// Open an interactive shell ([`god_exec::terminal::SHELL`]) of `size` in the running (not
    /// suspended) job's container, as `task.user.uid:gid`, in its job directory, with `HOME`,
    /// `USER`, `LOGNAME` and the `GODOCKER_*` variables the job's script has. A job that runs
    /// as root (`container.root`), or whose user is root, is refused. The caller hangs the
    /// session up when done (see [`god_exec::TerminalControl::hang_up`]).
    pub async fn open(&self, task: &Task, size: TerminalSize) -> Result<Terminal, HandleError> {
        let member = self.execs.of(task);
        let exec = &member.exec;
        if !exec.capabilities().terminal {
            return Err(HandleError::NotCapable {
                what: "open a terminal in a job",
                executor: exec.name(),
            });
        }
        if task.container.root || task.user.uid == 0 || task.user.gid == 0 {
            return Err(HandleError::RunsAsRoot { job: task.id });
        }
        let container = running_container(task, false)?;
        let request = self.request(task, view_of(member.kind), size);
        exec.terminal(container, &request)
            .await
            .map_err(HandleError::Exec)
    }

    /// The shell's request: the job's identity, directory and variables as it sees them.
    fn request(&self, task: &Task, view: View, size: TerminalSize) -> TerminalRequest {
        let spec = launch::spec(
            task,
            &self.config,
            &self.server_id,
            &launch::job_dir(&self.shared_dir, task).to_string_lossy(),
            &self.init_helper.to_string_lossy(),
        );
        let login = spec.who.login.clone();
        let mut env = vec![
            ("HOME".to_string(), spec.home_in(view).to_string()),
            ("USER".to_string(), login.clone()),
            ("LOGNAME".to_string(), login),
        ];
        // The job's own variables (the original's misspelt array ones too), not god-init's.
        env.extend(
            spec.env(view)
                .into_iter()
                .filter(|(k, _)| k.starts_with("GODOCKER_") || k.starts_with("GOGOCKER_")),
        );
        TerminalRequest {
            env,
            working_dir: Some(spec.job_dir_in(view).to_string()),
            ..TerminalRequest::shell(task.user.uid, task.user.gid, size)
        }
    }
}

/// Where a job of `kind` sees its directories: in a container, or on the host.
fn view_of(kind: ExecutorKind) -> View {
    match kind {
        ExecutorKind::Docker | ExecutorKind::SwarmMode | ExecutorKind::Fake => View::Container,
        ExecutorKind::Native => View::Host,
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
        // Nor terminals.
        let e = env.state.terminal.open(&running, SIZE).await;
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
    }

    #[tokio::test]
    async fn capabilities_are_copied_and_tell_the_features() {
        let env = TestEnv::new("").await;
        let c = env.state.capabilities();
        assert_eq!(c, god_exec::Executor::capabilities(&*env.fake));
        assert_eq!(executor_features(c), ["kill", "pause"]);
        let no_pause = Capabilities { pause: false, ..c };
        assert_eq!(executor_features(no_pause), ["kill"]);
        // Ours (stats, exec, terminal) are not the original's features: old clients see the same.
        let all = Capabilities {
            pause: true,
            stats: true,
            exec: true,
            terminal: true,
        };
        assert_eq!(executor_features(all), ["kill", "pause"]);
    }

    const SIZE: TerminalSize = TerminalSize::DEFAULT;

    /// An engine that opens terminals: it records each request and answers a session that
    /// prints nothing.
    #[derive(Default)]
    struct Terminals {
        asked: std::sync::Mutex<Vec<(String, TerminalRequest)>>,
    }

    struct Silent;

    #[async_trait::async_trait]
    impl god_exec::TerminalControl for Silent {
        async fn resize(&self, _size: TerminalSize) -> Result<(), ExecError> {
            Ok(())
        }
        async fn hang_up(&self) -> Result<(), ExecError> {
            Ok(())
        }
        async fn end(&self) -> Result<god_exec::SessionEnd, ExecError> {
            Ok(god_exec::SessionEnd::Exited { code: 0 })
        }
    }

    #[async_trait::async_trait]
    impl god_exec::Executor for Terminals {
        fn name(&self) -> &'static str {
            "terminals"
        }
        async fn nodes(&self) -> Result<Vec<god_exec::NodeReport>, ExecError> {
            Ok(Vec::new())
        }
        async fn start(&self, _spec: &god_exec::LaunchSpec) -> Result<String, ExecError> {
            Err(ExecError::Rejected("no jobs here".into()))
        }
        async fn inspect(&self, _container: &str) -> Result<god_exec::ContainerState, ExecError> {
            Ok(god_exec::ContainerState::Running)
        }
        async fn kill(&self, _container: &str) -> Result<(), ExecError> {
            Ok(())
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                terminal: true,
                ..Capabilities::default()
            }
        }
        async fn pause(&self, _container: &str) -> Result<(), ExecError> {
            Ok(())
        }
        async fn unpause(&self, _container: &str) -> Result<(), ExecError> {
            Ok(())
        }
        async fn remove(&self, _container: &str) -> Result<(), ExecError> {
            Ok(())
        }
        async fn list_labelled(
            &self,
            _server_id: &str,
        ) -> Result<Vec<god_exec::Labelled>, ExecError> {
            Ok(Vec::new())
        }
        async fn watch_exits(
            &self,
            _server_id: &str,
            _tx: tokio::sync::mpsc::Sender<god_exec::ExitEvent>,
        ) {
        }
        async fn terminal(
            &self,
            container: &str,
            request: &TerminalRequest,
        ) -> Result<Terminal, ExecError> {
            request.check()?;
            self.asked
                .lock()
                .unwrap()
                .push((container.to_string(), request.clone()));
            Ok(Terminal {
                input: Box::pin(tokio::io::sink()),
                output: Box::pin(futures_util::stream::empty()),
                control: Arc::new(Silent),
            })
        }
    }

    fn terminals(kind: ExecutorKind) -> (JobTerminal, Arc<Terminals>) {
        let engine = Arc::new(Terminals::default());
        let execs = ExecutorSet::single("docker", kind, engine.clone());
        let handle = JobTerminal::new(
            Arc::new(execs),
            Arc::new(Config::default()),
            Arc::new("s1".to_string()),
            Path::new("/shared"),
            Path::new("/bin/god-init"),
        );
        (handle, engine)
    }

    /// A running job of alice (2001:2002) in container c7, with her home granted.
    fn alices_running_job() -> Task {
        let mut t = TaskBuilder::new()
            .id(7)
            .user("alice", 2001)
            .volume("home", "rw", "/home/alice", "/mnt/home")
            .state(Primary::Running, None)
            .container(Some("c7"))
            .build();
        t.user.gid = 2002;
        t
    }

    #[tokio::test]
    async fn a_terminal_opens_as_the_job_user_in_its_directory() {
        let (handle, engine) = terminals(ExecutorKind::Docker);
        let t = alices_running_job();
        let term = handle.open(&t, SIZE).await.unwrap();
        term.control.hang_up().await.unwrap();
        let asked = engine.asked.lock().unwrap().clone();
        let [(container, r)] = asked.as_slice() else {
            panic!("{asked:?}")
        };
        assert_eq!(container, "c7");
        assert_eq!((r.uid, r.gid, r.size), (2001, 2002, SIZE));
        assert_eq!(r.argv, god_exec::terminal::SHELL.map(String::from));
        assert_eq!(r.working_dir.as_deref(), Some(launch::JOB_MOUNT));
        let env: std::collections::HashMap<_, _> = r.env.iter().cloned().collect();
        for (k, v) in [
            ("HOME", "/mnt/home"),
            ("USER", "alice"),
            ("LOGNAME", "alice"),
            ("GODOCKER_JID", "7"),
            ("GODOCKER_PWD", launch::JOB_MOUNT),
            ("GODOCKER_HOME", "/mnt/home"),
        ] {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k} in {env:?}");
        }
        assert!(
            !env.keys().any(|k| k.starts_with("GOD_INIT_")),
            "god-init's own variables are not the user's: {env:?}"
        );

        // On the host (a native job), the paths are the host's.
        let r = handle.request(&t, view_of(ExecutorKind::Native), SIZE);
        let dir = launch::job_dir(Path::new("/shared"), &t);
        assert_eq!(r.working_dir.as_deref(), dir.to_str());
        assert!(r.env.contains(&("HOME".into(), "/home/alice".into())));
    }

    #[tokio::test]
    async fn no_terminal_as_root_in_a_job_not_running_or_suspended() {
        let (handle, engine) = terminals(ExecutorKind::SwarmMode);
        let running = alices_running_job();

        let mut root_job = running.clone();
        root_job.container.root = true;
        let mut root_user = running.clone();
        root_user.user.uid = 0;
        for t in [root_job, root_user] {
            let e = handle.open(&t, SIZE).await.unwrap_err();
            assert!(
                matches!(e, HandleError::RunsAsRoot { job: JobId(7) }),
                "{e:?}"
            );
            let api = ApiError::from(e);
            assert_eq!(api.status, axum::http::StatusCode::FORBIDDEN);
        }

        let mut suspended = running.clone();
        suspended.status.secondary = Some(Secondary::Suspended);
        let mut pending = running.clone();
        pending.status.primary = Primary::Pending;
        let mut starting = running.clone();
        starting.container.id = None;
        for t in [suspended, pending, starting] {
            let e = handle.open(&t, SIZE).await.unwrap_err();
            assert!(matches!(e, HandleError::NotRunning { .. }), "{e:?}");
        }
        assert!(engine.asked.lock().unwrap().is_empty());
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
