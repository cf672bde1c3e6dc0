#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fake executor through the conformance suite. It runs no scripts: a job "runs" until the
//! test ends it (`FakeExecutor::finish`, the `Backend::script_ends` of this file), so the
//! checks of what a script sees or does (identity, memory, escape) are skipped; the lifecycle
//! ones (exit codes, kill, pause, restart safety, recovery listing, stats, watching) apply.

mod conformance;

use conformance::{Backend, Dirs, Fixture, Traits};
use god_core::clock::Clock;
use god_core::config::FakeConfig;
use god_exec::fake::FakeExecutor;
use std::path::Path;
use std::sync::Arc;

/// The wall clock: a fake job's stats grow with it.
struct Wall;

impl Clock for Wall {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }
}

struct Fake {
    exec: Arc<FakeExecutor>,
}

impl Backend for Fake {
    type Exec = FakeExecutor;

    fn exec(&self) -> &Arc<FakeExecutor> {
        &self.exec
    }

    fn traits(&self) -> Traits {
        Traits {
            runs_scripts: false,
            enforces_memory: false,
            image: "img",
            own_passwd: false,
            kill_removes: false,
            mounts_volumes: false,
        }
    }

    fn dir_inside(&self, host: &Path) -> String {
        host.display().to_string()
    }

    fn script_ends(&self, container: &str, code: i64) {
        self.exec.finish(container, code).unwrap();
    }
}

async fn fixture(test: &str) -> Option<Fixture<Fake>> {
    let dirs = Dirs::new("f", test, &std::env::temp_dir());
    let config = FakeConfig {
        fail_on: 0,
        cpus: 8,
        ram: 16.0,
        run_seconds: 3600.0, // until the test ends it
    };
    let exec = FakeExecutor::new(config, Arc::new(Wall), &dirs.root.join("fake")).unwrap();
    let exec = Arc::new(exec);
    Some(Fixture::new(dirs, Fake { exec }))
}

conformance::suite!(fixture);
