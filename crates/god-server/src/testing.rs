//! The loops in-process, without any container engine: a temporary SQLite store, a clock that
//! moves only when the test says so, and the fake executor on that clock. A test submits jobs,
//! steps scheduler / watcher / recovery / archiver passes one at a time and looks at the store.

use crate::executors::ExecutorSet;
use crate::scheduler::{CapacityCache, ReasonClock};
use crate::state::{LoopState, Paths};
use crate::{archiver, recovery, scheduler, watcher};
use god_core::clock::{Clock, ManualClock};
use god_core::config::ExecutorKind;
use god_core::testing::TaskBuilder;
use god_core::transition::Event;
use god_core::{launch, JobId, Task};
use god_exec::fake::FakeExecutor;
use god_exec::{jobdir, Executor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// When every test's clock starts.
pub const T0: f64 = 1_800_000_000.0;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestEnv {
    pub state: LoopState,
    pub clock: Arc<ManualClock>,
    pub fake: Arc<FakeExecutor>,
    reasons: ReasonClock,
    capacity: CapacityCache,
    dir: PathBuf,
}

impl TestEnv {
    /// A service on a fresh data directory with the configuration `yaml` (the fake executor
    /// unless it says otherwise: without a `fake:` key, it accepts every job and its containers
    /// run until the test ends them), start-up recovery done.
    pub async fn new(yaml: &str) -> TestEnv {
        let env = Self::before_recovery(yaml).await;
        env.state.recovered.open();
        env
    }

    /// The same, before start-up recovery has run (the scheduler's gate is closed).
    pub async fn before_recovery(yaml: &str) -> TestEnv {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("god-loops-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let yaml = if yaml.contains("fake:") {
            format!("executors: [fake]\n{yaml}")
        } else {
            format!("executors: [fake]\nfake: {{fail_on: 0, run_seconds: 1e9}}\n{yaml}")
        };
        let config = god_core::config::load(&yaml, &[]).expect("config").config;
        let store = crate::open_store(&dir, &config).await.expect("store");
        let shared_dir = dir.join("shared");
        std::fs::create_dir_all(&shared_dir).expect("shared dir");
        let clock = Arc::new(ManualClock::at(T0));
        let fake = Arc::new(
            FakeExecutor::new(config.fake.clone(), clock.clone(), &dir.join("fake"))
                .expect("fake executor"),
        );
        let paths = Paths {
            data_dir: dir.clone(),
            shared_dir,
            init_helper: dir.join("bin/god-init"),
        };
        let exec: Arc<dyn Executor> = fake.clone();
        let execs = ExecutorSet::single("fake", ExecutorKind::Fake, exec);
        let (state, _) = crate::assemble(config, store, paths, execs, clock.clone())
            .await
            .expect("assemble");
        TestEnv {
            state,
            clock,
            fake,
            reasons: ReasonClock::default(),
            capacity: CapacityCache::default(),
            dir,
        }
    }

    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Store a job as the API would (submitted now); its id.
    pub async fn submit(&self, job: TaskBuilder) -> JobId {
        let task = job.submitted_at(self.now()).build();
        let ids = self.state.store.insert_jobs(&[task]).await.expect("insert");
        ids[0]
    }

    pub async fn job(&self, id: JobId) -> Task {
        self.state
            .store
            .get_job(id)
            .await
            .expect("read")
            .expect("the job exists")
    }

    /// One scheduling pass (the executor's capacity asked afresh); how many jobs started.
    pub async fn schedule(&mut self) -> usize {
        self.capacity.expire();
        scheduler::pass(&self.state, &mut self.capacity, &mut self.reasons)
            .await
            .expect("scheduler pass")
    }

    /// One periodic watcher pass: requests, plugins, ended containers.
    pub async fn watch(&self) {
        watcher::pass(&self.state).await.expect("watcher pass");
    }

    pub async fn recover(&self) -> recovery::Report {
        recovery::reconcile(&self.state)
            .await
            .expect("recovery")
            .report
    }

    pub async fn archive(&self) -> usize {
        archiver::pass(&self.state).await.expect("archiver pass")
    }

    pub async fn event(&self, id: JobId, event: Event) -> Task {
        self.state
            .store
            .transition(id, &event, self.now())
            .await
            .expect("transition")
    }

    /// Mark a pending job running under a container name, as the scheduler's first step does,
    /// without going further (a crash right after).
    pub async fn mark_dispatched(&self, id: JobId) -> Task {
        let event = Event::Dispatch {
            node: "fake-laptop".into(),
            container_name: launch::container_name(&self.state.server_id, id, "crash"),
            shared_dir: self.shared_dir().to_string_lossy().into_owned(),
        };
        self.event(id, event).await
    }

    /// Create and start the container of a dispatched job, without recording it.
    pub async fn start_container(&self, task: &Task) -> String {
        let dir = jobdir::path(self.shared_dir(), task);
        let spec = launch::spec(
            task,
            &self.state.config,
            &self.state.server_id,
            &dir.to_string_lossy(),
            "/nonexistent/god-init",
        );
        self.fake.start(&spec).await.expect("fake start")
    }

    pub fn shared_dir(&self) -> &Path {
        &self.state.paths.shared_dir
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
