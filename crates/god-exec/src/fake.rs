//! The fake executor of the original's tests (reference 4.7): no containers, instant results.
//!
//! It accepts at most `fail_on` jobs per scheduling pass and rejects the rest; a job named
//! `norun` is always rejected; a job named `testerror` fails with its node (its container is
//! reported gone: a node failure, retried per `failure_policy`). Jobs "run" for
//! `run_seconds`. For fast tests of the scheduler and watcher loops and for benchmarks; never a
//! stand-in for a test of a real engine.

use crate::{Capacity, ContainerState, ExecError, Executor, Labelled, LaunchSpec};
use async_trait::async_trait;
use god_core::config::FakeConfig;
use god_core::JobId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct FakeContainer {
    job: JobId,
    name: String,
    server: String,
    ends_at: Instant,
    exit_code: i64,
    paused: bool,
    killed: bool,
}

#[derive(Default)]
struct State {
    containers: HashMap<String, FakeContainer>,
    accepted_this_pass: u32,
    watchers: Vec<mpsc::Sender<JobId>>,
}

pub struct FakeExecutor {
    config: FakeConfig,
    state: Mutex<State>,
}

impl FakeExecutor {
    pub fn new(config: FakeConfig) -> Self {
        FakeExecutor {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    fn notify_later(&self, job: JobId, after: Duration) {
        let senders = self.with(|s| {
            s.watchers.retain(|w| !w.is_closed());
            s.watchers.clone()
        });
        tokio::spawn(async move {
            if !after.is_zero() {
                tokio::time::sleep(after).await;
            }
            for tx in senders {
                let _ = tx.send(job).await;
            }
        });
    }
}

#[async_trait]
impl Executor for FakeExecutor {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn capacity(&self) -> Result<Capacity, ExecError> {
        Ok(Capacity {
            cpus: f64::from(self.config.cpus),
            ram: self.config.ram,
            node: "fake-laptop",
        })
    }

    fn begin_pass(&self) {
        self.with(|s| s.accepted_this_pass = 0);
    }

    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        if spec.job_name == "norun" {
            return Err(ExecError::Rejected(
                "the fake executor does not run jobs named norun".into(),
            ));
        }
        let run = Duration::from_secs_f64(self.config.run_seconds.max(0.0));
        let server = spec
            .labels
            .iter()
            .find(|(k, _)| k == god_core::launch::LABEL_SERVER)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let fail_on = self.config.fail_on;
        let outcome = self.with(|s| {
            if s.containers.contains_key(&spec.name) {
                return Ok(false);
            }
            if fail_on > 0 && s.accepted_this_pass >= fail_on {
                return Err(ExecError::Rejected("Not enough resources available".into()));
            }
            s.accepted_this_pass += 1;
            s.containers.insert(
                spec.name.clone(),
                FakeContainer {
                    job: spec.job,
                    name: spec.name.clone(),
                    server,
                    ends_at: Instant::now() + run,
                    exit_code: if spec.job_name == "testerror" { 1 } else { 0 },
                    paused: false,
                    killed: false,
                },
            );
            Ok(true)
        })?;
        if outcome {
            self.notify_later(spec.job, run);
        }
        Ok(spec.name.clone())
    }

    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError> {
        Ok(self.with(|s| match s.containers.get(container) {
            None => ContainerState::Gone,
            Some(c) if c.killed => ContainerState::Exited {
                exit_code: 137,
                oom_killed: false,
                error: None,
            },
            Some(c) if c.paused => ContainerState::Paused,
            Some(c) if Instant::now() < c.ends_at => ContainerState::Running,
            // The original's `testerror`: a node failure under the job.
            Some(c) if c.exit_code == 1 => ContainerState::Gone,
            Some(c) => ContainerState::Exited {
                exit_code: c.exit_code,
                oom_killed: false,
                error: None,
            },
        }))
    }

    async fn kill(&self, container: &str) -> Result<(), ExecError> {
        let job = self.with(|s| {
            s.containers.get_mut(container).map(|c| {
                c.killed = true;
                c.job
            })
        });
        if let Some(job) = job {
            self.notify_later(job, Duration::ZERO);
        }
        Ok(())
    }

    async fn pause(&self, container: &str) -> Result<(), ExecError> {
        self.with(|s| {
            if let Some(c) = s.containers.get_mut(container) {
                c.paused = true;
            }
        });
        Ok(())
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecError> {
        self.with(|s| {
            if let Some(c) = s.containers.get_mut(container) {
                c.paused = false;
            }
        });
        Ok(())
    }

    async fn remove(&self, container: &str) -> Result<(), ExecError> {
        self.with(|s| s.containers.remove(container));
        Ok(())
    }

    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError> {
        let now = Instant::now();
        Ok(self.with(|s| {
            s.containers
                .iter()
                .filter(|(_, c)| c.server == server_id)
                .map(|(id, c)| Labelled {
                    container_id: id.clone(),
                    name: c.name.clone(),
                    job: Some(c.job),
                    state: if c.killed || now >= c.ends_at {
                        ContainerState::Exited {
                            exit_code: if c.killed { 137 } else { c.exit_code },
                            oom_killed: false,
                            error: None,
                        }
                    } else {
                        ContainerState::Running
                    },
                })
                .collect()
        }))
    }

    async fn watch_exits(&self, _server_id: &str, tx: mpsc::Sender<JobId>) {
        self.with(|s| s.watchers.push(tx.clone()));
        tx.closed().await;
    }
}
