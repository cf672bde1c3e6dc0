#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Swarm-mode executor against a real Swarm: the host Engine as (drained) manager and worker
//! Engines in network namespaces of their own (`scripts/start-swarm.sh`, which writes the
//! workers into `$GOD_SWARM_DIR/nodes`). The conformance suite, then what is the Swarm's own
//! (nodes and their labels, pinning). A missing Swarm is a failure; set `GOD_SKIP_SWARM=1` to
//! skip these tests.

mod conformance;

use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use conformance::{exited, Backend, Dirs, Fixture, Traits};
use god_core::config::SwarmConfig;
use god_exec::swarm::SwarmExecutor;
use god_exec::{Executor, NodeState};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MINIMAL: &str = "god-test/minimal:latest";

/// A worker of the test Swarm, as `start-swarm.sh` wrote it.
struct Worker {
    name: String,
    node_id: String,
    socket: String,
}

fn workers() -> Vec<Worker> {
    let dir = std::env::var("GOD_SWARM_DIR").unwrap_or_else(|_| "/var/lib/god-swarm".into());
    let listed = std::fs::read_to_string(Path::new(&dir).join("nodes")).unwrap_or_else(|e| {
        panic!("{dir}/nodes: {e}: run scripts/start-swarm.sh (or set GOD_SKIP_SWARM=1)")
    });
    listed
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(Worker {
                name: f.next()?.into(),
                node_id: f.next()?.into(),
                socket: f.next()?.into(),
            })
        })
        .collect()
}

struct Swarm {
    exec: Arc<SwarmExecutor>,
}

impl Backend for Swarm {
    type Exec = SwarmExecutor;

    fn exec(&self) -> &Arc<SwarmExecutor> {
        &self.exec
    }

    fn traits(&self) -> Traits {
        Traits {
            runs_scripts: true,
            enforces_memory: true,
            image: MINIMAL,
            own_passwd: true,
            kill_removes: true,
            mounts_volumes: true,
        }
    }

    fn dir_inside(&self, _host: &Path) -> String {
        god_core::launch::JOB_MOUNT.to_string()
    }

    /// Remove the test's services (its server's and the other one of `recovery_listing`) with
    /// the CLI.
    fn backstop(&self, dirs: &Dirs) {
        conformance::remove_left_with_cli(dirs, &["service", "ls", "-q"], &["service", "rm"]);
    }
}

fn config(node_urls: bool) -> SwarmConfig {
    SwarmConfig {
        node_urls: if node_urls {
            workers()
                .into_iter()
                .map(|w| (w.name, format!("unix://{}", w.socket)))
                .collect()
        } else {
            Default::default()
        },
        // Unpinned test jobs may wait for each other's reservations (2 cpus a node).
        node_timeout: 60.0,
        ..SwarmConfig::default()
    }
}

async fn fixture_with(test: &str, cfg: &SwarmConfig) -> Option<Fixture<Swarm>> {
    if std::env::var("GOD_SKIP_SWARM").as_deref() == Ok("1") {
        eprintln!("{test}: skipped (GOD_SKIP_SWARM=1)");
        return None;
    }
    let exec = SwarmExecutor::new(cfg).unwrap();
    let nodes = exec.nodes().await.unwrap_or_else(|e| {
        panic!("{e}: run scripts/start-swarm.sh (or set GOD_SKIP_SWARM=1 to skip these tests)")
    });
    assert!(
        nodes.iter().any(|n| n.state == NodeState::Ready),
        "no worker is ready: {nodes:?}; run scripts/start-swarm.sh"
    );
    let dirs = Dirs::new("w", test, &std::env::temp_dir());
    Some(Fixture::new(
        dirs,
        Swarm {
            exec: Arc::new(exec),
        },
    ))
}

/// With the Engine of every worker (pause, stats, exec, terminal).
async fn fixture(test: &str) -> Option<Fixture<Swarm>> {
    fixture_with(test, &config(true)).await
}

conformance::suite!(fixture);

fn manager() -> bollard::Docker {
    bollard::Docker::connect_with_local_defaults().unwrap()
}

/// The node the task of `service` ran on.
async fn node_of(service: &str) -> Option<String> {
    let options = ListTasksOptions {
        filters: Some(HashMap::from([(
            "service".to_string(),
            vec![service.to_string()],
        )])),
    };
    let tasks = manager().list_tasks(Some(options)).await.unwrap();
    tasks.into_iter().find_map(|t| t.node_id)
}

/// Every worker is reported ready with its `godocker.cpus` override and its labels; the
/// drained manager takes no jobs; without node Engines, pause/stats/exec/terminal are off.
#[tokio::test]
async fn nodes_come_from_the_swarm_with_their_labels() {
    let Some(f) = fixture_with("nodes", &config(false)).await else {
        return;
    };
    let nodes = f.exec().nodes().await.unwrap();
    for w in workers() {
        let n = nodes
            .iter()
            .find(|n| n.name == w.name)
            .unwrap_or_else(|| panic!("{} not in {nodes:?}", w.name));
        assert_eq!(n.state, NodeState::Ready, "{n:?}");
        assert_eq!(n.cpus, 1.0, "godocker.cpus overrides: {n:?}");
        let label = format!("god.node=={}", w.name.trim_start_matches("gd"));
        assert!(n.labels.contains(&label), "{label} in {n:?}");
    }
    assert!(
        nodes.iter().any(|n| n.state == NodeState::Drained),
        "the manager is drained: {nodes:?}"
    );
    let caps = f.exec().capabilities();
    assert!(
        !caps.pause && !caps.stats && !caps.exec && !caps.terminal,
        "{caps:?}"
    );
    let mut ids = f.exec().swarm_node_ids().await.unwrap();
    ids.sort();
    let mut want: Vec<String> = workers().into_iter().map(|w| w.node_id).collect();
    want.sort();
    assert_eq!(ids, want, "the drained manager is not counted");
}

/// A job placed on a node runs there, and only there.
#[tokio::test]
async fn a_job_runs_on_the_node_it_is_pinned_to() {
    let Some(f) = fixture("pinned").await else {
        return;
    };
    for (k, w) in workers().iter().enumerate() {
        let t = f.task(301 + k as u64, "#!/bin/sh\nexit 0\n");
        let (mut spec, _) = f.spec(&t);
        spec.node = Some(w.name.clone());
        let id = f.exec().start(&spec).await.unwrap();
        assert_eq!(f.wait_exit(&id, Duration::from_secs(60)).await, exited(0));
        assert_eq!(node_of(&id).await.as_deref(), Some(w.node_id.as_str()));
        f.exec().remove(&id).await.unwrap();
    }
    // A node that left the Swarm is a reason to wait, not a failure of the job.
    let (mut spec, _) = f.spec(&f.task(309, "#!/bin/sh\nexit 0\n"));
    spec.node = Some("no-such-node".into());
    let err = f.exec().start(&spec).await.unwrap_err();
    assert!(matches!(err, god_exec::ExecError::Rejected(_)), "{err:?}");
    let listed = manager()
        .list_services(Some(ListServicesOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![format!("godocker.server={}", f.server())],
            )])),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    f.cleanup().await;
}
