//! The executor conformance suite: what every backend must do, written once against
//! `impl Executor` and run for each backend (`docker_engine.rs`, `native_host.rs`,
//! `fake_executor.rs`). A backend file describes itself with a [`Backend`], gives a function
//! `async fn fixture(test: &str) -> Option<Fixture<_>>` (`None`: skipped on this host) and calls
//! [`suite!`]; each check is one function of `checks.rs`, skipped by the backend's [`Traits`]
//! or [`god_exec::Capabilities`] where it does not apply.
#![allow(dead_code)]

pub mod checks;

use god_core::config::Config;
use god_core::launch::{self, LaunchSpec};
use god_core::testing::TaskBuilder;
use god_core::Task;
use god_exec::{helper, jobdir, ContainerState, Executor, ExitEvent, Termination};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What a backend does that the checks must know.
#[derive(Debug, Clone, Copy)]
pub struct Traits {
    /// Jobs are real processes running their script (identity, memory, progress checks apply).
    pub runs_scripts: bool,
    /// A job over its ram is killed as out of memory.
    pub enforces_memory: bool,
    /// The image jobs ask for ("none": the host).
    pub image: &'static str,
    /// Jobs run in an image of their own, whose `/etc/passwd` god-init gives the user's name.
    pub own_passwd: bool,
    /// Killing a job removes it (a Swarm service): it is gone rather than ended with 137.
    pub kill_removes: bool,
    /// Granted volumes are mounted where the job asked, read-only when so granted (a native
    /// job sees the host's filesystem instead).
    pub mounts_volumes: bool,
}

/// How to reach the executor under test and what it does.
pub trait Backend {
    type Exec: Executor + 'static;
    fn exec(&self) -> &Arc<Self::Exec>;
    fn traits(&self) -> Traits;
    /// The job directory as the script sees it (its working directory and HOME).
    fn dir_inside(&self, host: &Path) -> String;
    /// A backend that runs no scripts plays the end of one that would end with `code` now.
    fn script_ends(&self, _container: &str, _code: i64) {}
    /// Backstop for a failed test: end and remove what is left of `dirs.server`'s jobs.
    fn backstop(&self, _dirs: &Dirs) {}
}

/// One test's own server id (the container label) and directories, under `base`.
pub struct Dirs {
    pub server: String,
    pub root: PathBuf,
    /// Where job directories go.
    pub shared: PathBuf,
    /// god-init, installed from the binary.
    pub helper: PathBuf,
}

impl Dirs {
    pub fn new(prefix: &str, test: &str, base: &Path) -> Dirs {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let server = format!(
            "{prefix}{}-{nanos}-{}",
            std::process::id(),
            test.replace('_', "-")
        );
        let root = base.join(format!("god-exec-{server}"));
        let shared = root.join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        // GOD_NATIVE_HELPER: another build of god-init (a musl one, say) to measure.
        let helper = match std::env::var_os("GOD_NATIVE_HELPER") {
            Some(h) => PathBuf::from(h),
            None => helper::install(&root.join("helper")).unwrap(),
        };
        Dirs {
            server,
            root,
            shared,
            helper,
        }
    }
}

/// One test's world: its directories, the configuration jobs are launched with, the backend.
pub struct Fixture<B: Backend> {
    pub dirs: Dirs,
    pub config: Config,
    pub backend: B,
}

impl<B: Backend> Fixture<B> {
    pub fn new(dirs: Dirs, backend: B) -> Self {
        let mut config = Config::default();
        config.network.disabled = true;
        Fixture {
            dirs,
            config,
            backend,
        }
    }

    pub fn exec(&self) -> &B::Exec {
        self.backend.exec()
    }

    pub fn traits(&self) -> Traits {
        self.backend.traits()
    }

    pub fn server(&self) -> &str {
        &self.dirs.server
    }

    /// A job of alice (uid 2001, gid 2002, secondary group 2003) running `cmd`.
    pub fn task(&self, id: u64, cmd: &str) -> Task {
        let mut t = TaskBuilder::new()
            .id(id)
            .name(&format!("job{id}"))
            .user("alice", 2001)
            .cmd(cmd)
            .image(self.traits().image)
            .ram(0.256)
            .build();
        t.user.gid = 2002;
        t.user.sgids = vec![2003];
        t.status.attempts = 1;
        t
    }

    /// Prepare `task`'s job directory and its launch spec (for `server`, this test's own).
    pub fn spec_for(&self, task: &Task, server: &str) -> (LaunchSpec, PathBuf) {
        let dir = jobdir::prepare(&self.dirs.shared, task).unwrap();
        let spec = launch::spec(
            task,
            &self.config,
            server,
            dir.to_str().unwrap(),
            self.dirs.helper.to_str().unwrap(),
        );
        (spec, dir)
    }

    pub fn spec(&self, task: &Task) -> (LaunchSpec, PathBuf) {
        self.spec_for(task, self.server())
    }

    pub async fn wait_exit(&self, container: &str, limit: Duration) -> ContainerState {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.exec().inspect(container).await.unwrap();
            if matches!(state, ContainerState::Exited(_) | ContainerState::Gone) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{container} still {state:?} after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Start `task`, whose script ends with `code` by itself, and wait for its end.
    pub async fn run(&self, task: &Task, code: i64) -> (ContainerState, PathBuf, String) {
        let (spec, dir) = self.spec(task);
        let id = self.exec().start(&spec).await.unwrap();
        self.backend.script_ends(&id, code);
        (self.wait_exit(&id, Duration::from_secs(60)).await, dir, id)
    }

    /// Kill `container` and check that it ended as killed (137), or is gone where killing
    /// removes.
    pub async fn kill_to_end(&self, container: &str) {
        self.exec().kill(container).await.unwrap();
        let state = self.wait_exit(container, Duration::from_secs(20)).await;
        let removed = self.traits().kill_removes && state == ContainerState::Gone;
        assert!(removed || killed(&state), "{state:?}");
    }

    /// Start `task` and, where scripts run, wait until it created `ready` in its job directory.
    pub async fn start_ready(&self, task: &Task) -> (String, LaunchSpec, PathBuf) {
        let (spec, dir) = self.spec(task);
        let id = self.exec().start(&spec).await.unwrap();
        if self.traits().runs_scripts {
            until("ready", Duration::from_secs(30), || {
                dir.join("ready").exists()
            })
            .await;
        }
        (id, spec, dir)
    }

    /// Follow `watch_exits` of this test's server.
    pub async fn watch(&self) -> (mpsc::Receiver<ExitEvent>, JoinHandle<()>) {
        watch(Arc::clone(self.backend.exec()), self.server()).await
    }

    /// Remove this test's containers (found by label) and check none is left.
    pub async fn cleanup(&self) {
        for c in self.exec().list_labelled(self.server()).await.unwrap() {
            self.exec().remove(&c.container_id).await.unwrap();
        }
        let left = self.exec().list_labelled(self.server()).await.unwrap();
        assert!(left.is_empty(), "{left:?}");
    }
}

impl<B: Backend> Drop for Fixture<B> {
    fn drop(&mut self) {
        self.backend.backstop(&self.dirs);
        let _ = std::fs::remove_dir_all(&self.dirs.root);
    }
}

/// Follow `exec.watch_exits(server)`: the receiver, and the task that returns once it is
/// dropped.
pub async fn watch<E: Executor + 'static>(
    exec: Arc<E>,
    server: &str,
) -> (mpsc::Receiver<ExitEvent>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let server = server.to_string();
    let handle = tokio::spawn(async move { exec.watch_exits(&server, tx).await });
    tokio::time::sleep(Duration::from_millis(200)).await; // subscribed before jobs start
    (rx, handle)
}

/// Remove with the `docker` CLI what a failed test of `dirs.server` left (its server's and the
/// other one of `recovery_listing`): `list` lists ids (`-q`, a label filter is added), `remove`
/// removes them.
pub fn remove_left_with_cli(dirs: &Dirs, list: &[&str], remove: &[&str]) {
    for server in [dirs.server.clone(), format!("{}-other", dirs.server)] {
        let filter = format!("label=godocker.server={server}");
        let Ok(out) = std::process::Command::new("docker")
            .args(list)
            .args(["--filter", &filter])
            .output()
        else {
            continue;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(remove)
                .args(&ids)
                .output();
        }
    }
}

pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

pub fn exited(code: i64) -> ContainerState {
    ContainerState::Exited(Termination::Exited { code })
}

/// Ended with 137: killed (by us, or by a SIGKILL the engine reports as an exit code).
pub fn killed(state: &ContainerState) -> bool {
    matches!(state, ContainerState::Exited(t) if t.exit_code() == 137)
}

/// Wait until `f` holds (or fail after `limit`).
pub async fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One `#[tokio::test]` per check, in a module `conformance_suite`, for the backend whose
/// fixtures `$fixture` makes (`async fn(&str) -> Option<Fixture<_>>`).
macro_rules! suite {
    ($fixture:ident) => {
        $crate::conformance::suite!(@tests $fixture;
            identity, no_new_privs, no_escape, volumes, root_only_when_asked, exit_codes,
            exits_are_watched, memory_limit, kill, pause, restart_safety, recovery_listing,
            stats, exec, terminal);
    };
    (@tests $fixture:ident; $($check:ident),*) => {
        mod conformance_suite {
            $(
                #[tokio::test]
                async fn $check() {
                    if let Some(f) = super::$fixture(stringify!($check)).await {
                        $crate::conformance::checks::$check(&f).await;
                        f.cleanup().await;
                    }
                }
            )*
        }
    };
}
pub(crate) use suite;
