//! The fake executor of the original's tests (reference 4.7): no containers, results on time.
//!
//! It accepts at most `fail_on` jobs per scheduling pass and rejects the rest; a job named
//! `norun` is always rejected; a job named `testerror` fails with its node (its container is
//! reported gone: a node failure, retried per `failure_policy`). Jobs "run" for `run_seconds` of
//! the [`Clock`] it is given (the system's, or a test's hand-driven one). For fast tests of the
//! loops and for benchmarks; never a stand-in for a test of a real engine.
//!
//! Its containers are small files in a directory of their own (one JSON file per container,
//! replaced atomically), so several processes on one data directory see the same containers, as
//! they would see one engine's.

use crate::{
    Capabilities, ContainerState, ContainerStats, ExecError, Executor, ExitEvent, Labelled,
    LaunchSpec, NodeReport, Termination,
};
use async_trait::async_trait;
use god_core::clock::Clock;
use god_core::config::FakeConfig;
use god_core::JobId;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FakeContainer {
    job: JobId,
    name: String,
    server: String,
    /// Clock time at which it stops by itself.
    ends_at: f64,
    exit_code: i64,
    paused: bool,
    killed: bool,
    /// Its node failed under it: reported gone once it ends.
    node_fails: bool,
    /// Clock time at which it started, and what it asked for: its stats are derived from them.
    #[serde(default)]
    started_at: f64,
    #[serde(default)]
    cpus: u32,
    #[serde(default)]
    memory_bytes: u64,
}

/// The fake's stats at `now`: every requested cpu busy since the start (until the end), half
/// the requested memory in use.
fn fake_stats(c: &FakeContainer, now: f64) -> ContainerStats {
    let ran = (now.min(c.ends_at) - c.started_at).max(0.0);
    ContainerStats {
        cpu_seconds: ran * f64::from(c.cpus.max(1)),
        memory_bytes: c.memory_bytes / 2,
        memory_limit_bytes: (c.memory_bytes > 0).then_some(c.memory_bytes),
    }
}

pub struct FakeExecutor {
    config: FakeConfig,
    clock: Arc<dyn Clock>,
    dir: PathBuf,
    accepted_this_pass: AtomicU32,
    /// Tests turn it off to play an engine that does not answer.
    available: AtomicBool,
    watchers: Mutex<Vec<mpsc::Sender<ExitEvent>>>,
}

impl FakeExecutor {
    /// Containers are kept in `dir` (created if needed).
    pub fn new(config: FakeConfig, clock: Arc<dyn Clock>, dir: &Path) -> Result<Self, ExecError> {
        std::fs::create_dir_all(dir).map_err(|source| ExecError::JobDir {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(FakeExecutor {
            config,
            clock,
            dir: dir.to_path_buf(),
            accepted_this_pass: AtomicU32::new(0),
            available: AtomicBool::new(true),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// Play an engine that stops (`false`) or starts (`true`) answering.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// End a container now with `exit_code` (tests).
    /// Its watchers are told, as an engine's would be.
    pub fn finish(&self, container: &str, exit_code: i64) -> Result<(), ExecError> {
        let now = self.clock.now();
        let mut job = None;
        self.update(container, |c| {
            c.ends_at = now;
            c.exit_code = exit_code;
            job = Some(c.job);
        })?;
        if let Some(job) = job {
            self.notify_later(job, Duration::ZERO);
        }
        Ok(())
    }

    /// Make a container vanish, as an engine that lost it (tests).
    pub fn vanish(&self, container: &str) -> Result<(), ExecError> {
        self.remove_file(container)
    }

    fn answering(&self) -> Result<(), ExecError> {
        if self.available.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ExecError::Unavailable(
                "the fake engine does not answer".into(),
            ))
        }
    }

    fn path(&self, container: &str) -> Result<PathBuf, ExecError> {
        let safe = !container.is_empty()
            && container
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !container.starts_with('.');
        if !safe {
            return Err(ExecError::Refused(format!(
                "{container:?} is not a container name"
            )));
        }
        Ok(self.dir.join(format!("{container}.json")))
    }

    fn io(&self, what: &Path, source: std::io::Error) -> ExecError {
        ExecError::Unavailable(format!("fake engine, {}: {source}", what.display()))
    }

    fn read(&self, container: &str) -> Result<Option<FakeContainer>, ExecError> {
        let path = self.path(container)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.io(&path, std::io::Error::other(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(&path, e)),
        }
    }

    fn write(&self, c: &FakeContainer) -> Result<(), ExecError> {
        let path = self.path(&c.name)?;
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", c.name, std::process::id()));
        let bytes = serde_json::to_vec(c).map_err(|e| self.io(&path, std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes).map_err(|e| self.io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.io(&path, e))
    }

    fn update(&self, container: &str, f: impl FnOnce(&mut FakeContainer)) -> Result<(), ExecError> {
        if let Some(mut c) = self.read(container)? {
            f(&mut c);
            self.write(&c)?;
        }
        Ok(())
    }

    fn remove_file(&self, container: &str) -> Result<(), ExecError> {
        let path = self.path(container)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(&path, e)),
        }
    }

    fn state_of(&self, c: &FakeContainer) -> ContainerState {
        if c.killed {
            ContainerState::Exited(Termination::Killed)
        } else if c.paused {
            ContainerState::Paused
        } else if self.clock.now() < c.ends_at {
            ContainerState::Running
        } else if c.node_fails {
            // The original's `testerror`: a node failure under the job.
            ContainerState::Gone
        } else {
            ContainerState::Exited(Termination::Exited { code: c.exit_code })
        }
    }

    /// A running (or paused) container; an ended or unknown one is refused, as an engine
    /// refuses to pause it or give its stats.
    fn live(&self, container: &str) -> Result<FakeContainer, ExecError> {
        self.answering()?;
        match self.read(container)? {
            Some(c)
                if matches!(
                    self.state_of(&c),
                    ContainerState::Running | ContainerState::Paused
                ) =>
            {
                Ok(c)
            }
            _ => Err(ExecError::Refused(format!(
                "container {container} is not running"
            ))),
        }
    }

    fn set_paused(&self, container: &str, paused: bool) -> Result<(), ExecError> {
        self.live(container)?;
        self.update(container, |c| c.paused = paused)
    }

    /// Wake the watchers of this process after `after` (a hint: their periodic pass covers
    /// containers of other processes and a clock that tests move).
    fn notify_later(&self, job: JobId, after: Duration) {
        let senders = match self.watchers.lock() {
            Ok(mut w) => {
                w.retain(|tx| !tx.is_closed());
                w.clone()
            }
            Err(_) => return,
        };
        if senders.is_empty() {
            return;
        }
        tokio::spawn(async move {
            if !after.is_zero() {
                tokio::time::sleep(after).await;
            }
            for tx in senders {
                let _ = tx.send(ExitEvent::Exited(job)).await;
            }
        });
    }
}

#[async_trait]
impl Executor for FakeExecutor {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn nodes(&self) -> Result<Vec<NodeReport>, ExecError> {
        self.answering()?;
        Ok(vec![NodeReport::ready(
            "fake-laptop",
            f64::from(self.config.cpus),
            self.config.ram,
        )])
    }

    fn begin_pass(&self) {
        self.accepted_this_pass.store(0, Ordering::SeqCst);
    }

    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        self.answering()?;
        if spec.job_name == "norun" {
            return Err(ExecError::Rejected(
                "the fake executor does not run jobs named norun".into(),
            ));
        }
        if self.read(&spec.name)?.is_some() {
            return Ok(spec.name.clone()); // an earlier attempt got this far
        }
        let fail_on = self.config.fail_on;
        if fail_on > 0 && self.accepted_this_pass.fetch_add(1, Ordering::SeqCst) >= fail_on {
            return Err(ExecError::Rejected("Not enough resources available".into()));
        }
        let run = self.config.run_seconds.max(0.0);
        let server = spec
            .labels
            .iter()
            .find(|(k, _)| k == god_core::launch::LABEL_SERVER)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        self.write(&FakeContainer {
            job: spec.job,
            name: spec.name.clone(),
            server,
            ends_at: self.clock.now() + run,
            exit_code: 0,
            paused: false,
            killed: false,
            node_fails: spec.job_name == "testerror",
            started_at: self.clock.now(),
            cpus: spec.cpus,
            memory_bytes: spec.memory_bytes,
        })?;
        self.notify_later(spec.job, Duration::from_secs_f64(run));
        Ok(spec.name.clone())
    }

    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError> {
        self.answering()?;
        Ok(match self.read(container)? {
            None => ContainerState::Gone,
            Some(c) => self.state_of(&c),
        })
    }

    async fn kill(&self, container: &str) -> Result<(), ExecError> {
        self.answering()?;
        let mut job = None;
        self.update(container, |c| {
            c.killed = true;
            job = Some(c.job);
        })?;
        if let Some(job) = job {
            self.notify_later(job, Duration::ZERO);
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pause: true,
            stats: true,
            exec: false,
            terminal: false,
        }
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats, ExecError> {
        let c = self.live(container)?;
        Ok(fake_stats(&c, self.clock.now()))
    }

    async fn pause(&self, container: &str) -> Result<(), ExecError> {
        self.set_paused(container, true)
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecError> {
        self.set_paused(container, false)
    }

    async fn remove(&self, container: &str) -> Result<(), ExecError> {
        self.answering()?;
        self.remove_file(container)
    }

    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError> {
        self.answering()?;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_suffix(".json").filter(|n| !n.starts_with('.')) else {
                continue;
            };
            let Some(c) = self.read(name)? else { continue };
            if c.server != server_id {
                continue;
            }
            let state = match self.state_of(&c) {
                ContainerState::Gone => continue,
                s => s,
            };
            found.push(Labelled {
                container_id: c.name.clone(),
                name: c.name,
                job: Some(c.job),
                state,
            });
        }
        Ok(found)
    }

    async fn watch_exits(&self, _server_id: &str, tx: mpsc::Sender<ExitEvent>) {
        if let Ok(mut w) = self.watchers.lock() {
            w.push(tx.clone());
        }
        tx.closed().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use god_core::clock::ManualClock;

    fn spec(name: &str) -> LaunchSpec {
        LaunchSpec {
            job: JobId(3),
            name: name.into(),
            memory_bytes: 1 << 30,
            ..god_core::testing::launch_spec()
        }
    }

    #[tokio::test]
    async fn stats_follow_the_clock_and_the_request() {
        let dir = std::env::temp_dir().join(format!("god-fake-stats-{}", std::process::id()));
        let clock = Arc::new(ManualClock::at(1000.0));
        let config = FakeConfig {
            fail_on: 0,
            cpus: 8,
            ram: 16.0,
            run_seconds: 100.0,
        };
        let fake = FakeExecutor::new(config, clock.clone(), &dir).unwrap();
        assert_eq!(
            fake.capabilities(),
            Capabilities {
                pause: true,
                stats: true,
                exec: false,
                terminal: false
            }
        );
        let c = fake.start(&spec("god-x-3-1")).await.unwrap();
        clock.advance(10.0);
        let stats = fake.stats(&c).await.unwrap();
        assert_eq!(
            stats,
            ContainerStats {
                cpu_seconds: 20.0,
                memory_bytes: 1 << 29,
                memory_limit_bytes: Some(1 << 30),
            }
        );
        // Over: no stats, and no exec ever.
        clock.advance(100.0);
        assert!(matches!(fake.stats(&c).await, Err(ExecError::Refused(_))));
        assert!(matches!(
            fake.stats("god-none").await,
            Err(ExecError::Refused(_))
        ));
        let request = crate::ExecRequest {
            argv: vec!["id".into()],
            uid: 1000,
            gid: 1000,
            env: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            fake.exec(&c, &request).await,
            Err(ExecError::Unsupported {
                what: _,
                executor: "fake"
            })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
