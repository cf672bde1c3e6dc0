//! The `swarm-mode` executor on a real multi-node Swarm on this machine: the host Engine as
//! (drained) manager and three worker Engines, each in a network namespace of its own with
//! `godocker.cpus=1` (`scripts/start-swarm.sh`; workers listed in `$GOD_SWARM_DIR/nodes`).
//! The tests change the cluster (drain a node, kill one), so they run one at a time and put it
//! back as they found it. Set `GOD_SKIP_SWARM=1` to skip them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One test at a time: they share, and change, the cluster.
static CLUSTER: Mutex<()> = Mutex::new(());

fn swarm_skipped() -> bool {
    if std::env::var("GOD_SKIP_SWARM").as_deref() == Ok("1") {
        eprintln!("GOD_SKIP_SWARM=1: skipping a Swarm test");
        return true;
    }
    false
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Worker {
    name: String,
    node_id: String,
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
            })
        })
        .collect()
}

fn script(name: &str, args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo().join("scripts").join(name))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The ids of the services carrying `label` (`name=value`), one per line.
fn services(label: &str) -> String {
    let out = Command::new("docker")
        .args(["service", "ls", "-q", "--filter"])
        .arg(format!("label={label}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Takes the cluster for one test and checks it is whole; gives it back whole (every worker
/// active and ready) even when the test fails.
struct Cluster {
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Cluster {
    fn take() -> Cluster {
        let turn = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
        script("start-swarm.sh", &[]);
        Cluster { _turn: turn }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for w in workers() {
            let _ = Command::new("docker")
                .args(["node", "update", "--availability", "active", &w.node_id])
                .output();
        }
        let _ = Command::new("bash")
            .arg(repo().join("scripts/start-swarm.sh"))
            .output();
    }
}

fn config(extra: &str) -> String {
    format!(
        "executors: [swarm-mode]\ntick_seconds: 0.5\n\
         swarm: {{node_timeout: 20}}\n\
         failure_policy: {{strategy: 2}}\n\
         constraints: [{{name: god.node, value: 'n1,n2,n3'}}]\n\
         default_images: [{{name: minimal, url: '{MINIMAL_IMAGE}', interactive: false, default: true}}]\n\
         {extra}"
    )
}

fn node_of(job: &Value) -> String {
    job["container"]["meta"]["Node"]["Name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Wait until every job of `ids` runs at the same time; their nodes.
fn all_running(api: &Api, ids: &[u64], secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let jobs: Vec<Value> = ids.iter().map(|id| api.job(*id)).collect();
        if jobs
            .iter()
            .all(|j| j["status"]["primary"] == "running" && !j["container"]["id"].is_null())
        {
            return jobs.iter().map(node_of).collect();
        }
        assert!(Instant::now() < deadline, "not all running: {jobs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Three one-cpu nodes run three one-cpu jobs at once, one each, and a fourth job waits; a
/// label constraint lands on the labelled node only; a drained node gets nothing.
#[test]
fn jobs_are_placed_across_the_nodes() {
    if swarm_skipped() {
        return;
    }
    let _cluster = Cluster::take();
    let srv = Server::start("swarm-place", &config(""));
    let key = srv.add_user("sam", 2801, 2801, &[]);
    let sam = srv.client("sam", &key);

    let ids: Vec<u64> = (0..3)
        .map(|_| sam.submit(MINIMAL_IMAGE, "sleep 4", json!({})))
        .collect();
    let fourth = sam.submit(MINIMAL_IMAGE, "true", json!({}));
    let nodes: HashSet<String> = all_running(&sam, &ids, 60).into_iter().collect();
    let names: HashSet<String> = workers().into_iter().map(|w| w.name).collect();
    assert_eq!(nodes, names, "one job on each node");
    let waiting = sam.job(fourth);
    assert_eq!(waiting["status"]["primary"], "pending", "{waiting}");
    for id in ids.iter().chain([&fourth]) {
        let j = sam.wait_over(*id, 60);
        assert_eq!(j["status"]["exitcode"], 0, "{j}");
    }

    // requirements.label → only the node carrying it.
    let labelled = sam.submit(
        MINIMAL_IMAGE,
        "true",
        json!({"requirements": {"label": ["god.node==n2"]}}),
    );
    let j = sam.wait_over(labelled, 60);
    assert_eq!(
        (node_of(&j).as_str(), &j["status"]["exitcode"]),
        ("gdn2", &json!(0)),
        "{j}"
    );

    // A drained node takes nothing: two jobs share the two others.
    let drained = &workers()[0];
    docker(&[
        "node",
        "update",
        "--availability",
        "drain",
        &drained.node_id,
    ]);
    // The scheduler sees it within a second or two (it publishes what it sees).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, nodes) = srv.admin().get("/api/1.0/nodes");
        let state = nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == drained.name.as_str())
            .map(|n| n["state"].clone());
        if state == Some(json!("drained")) {
            break;
        }
        assert!(Instant::now() < deadline, "{nodes}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ids: Vec<u64> = (0..2)
        .map(|_| sam.submit(MINIMAL_IMAGE, "sleep 2", json!({})))
        .collect();
    let placed = all_running(&sam, &ids, 60);
    assert!(!placed.contains(&drained.name), "{placed:?}");
    for id in ids {
        sam.wait_over(id, 60);
    }
}

/// A job submitted with godocker-cli runs on a worker node as its user, and its result is
/// collected.
#[test]
fn godocker_cli_jobs_run_on_the_workers() {
    if swarm_skipped() {
        return;
    }
    let bin = std::env::var_os("GOD_PYCLIENT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/pyclient"))
        .join("bin");
    assert!(
        bin.join("godjob").exists(),
        "godocker-cli missing in {}",
        bin.display()
    );
    let _cluster = Cluster::take();
    let srv = Server::start("swarm-pyclient", &config(""));
    let key = srv.add_user("pia", 2802, 2802, &[]);
    let home = temp_dir("swarm-pyhome");
    let run = |cmd: &str, args: &[&str]| {
        let out = Command::new(bin.join(cmd))
            .args(args)
            .env("HOME", &home)
            .current_dir(&home)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run("godlogin", &["-a", &key, "-l", "pia", "-s", &srv.url]);
    let out = run(
        "godjob",
        &[
            "create",
            "-n",
            "onswarm",
            "-i",
            MINIMAL_IMAGE,
            "--cmd",
            "id -u; id -g",
            "--wait",
        ],
    );
    let id: u64 = out
        .rsplit("Job id is ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let j = srv.client("pia", &key).job(id);
    assert_eq!(j["status"]["exitcode"], 0, "{j}");
    let names: Vec<String> = workers().into_iter().map(|w| w.name).collect();
    assert!(names.contains(&node_of(&j)), "ran on a worker: {j}");
    assert_eq!(
        std::fs::read_to_string(srv.job_dir(id).join("god.log")).unwrap(),
        "2802\n2802\n"
    );
}

/// Killing the node under a running job (every process of its namespace, SIGKILL): the old
/// attempt's service is removed, the job is retried on another node, and exactly one attempt
/// completes, also once the node is back.
#[test]
fn a_job_whose_node_dies_is_retried_elsewhere_once() {
    if swarm_skipped() {
        return;
    }
    let _cluster = Cluster::take();
    let srv = Server::start("swarm-nodedeath", &config(""));
    let key = srv.add_user("nia", 2803, 2803, &[]);
    let nia = srv.client("nia", &key);
    let id = nia.submit(
        MINIMAL_IMAGE,
        "echo start >> attempts\nsleep 8\necho done >> attempts",
        json!({"requirements": {"failure_policy": 1}}),
    );
    let first = node_of(&nia.wait_running(id, 60));
    let attempts = srv.job_dir(id).join("attempts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&attempts)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the first attempt never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed_at = Instant::now();
    script("stop-swarm.sh", &["--kill", &first]);

    // Retried elsewhere, after the manager marked the node down.
    let deadline = Instant::now() + Duration::from_secs(120);
    let second = loop {
        let j = nia.job(id);
        let node = node_of(&j);
        if j["status"]["primary"] == "running" && node != first && !j["container"]["id"].is_null() {
            break node;
        }
        assert!(
            j["status"]["primary"] != "over",
            "ended instead of retried: {}",
            j["status"]
        );
        assert!(Instant::now() < deadline, "not retried: {j}");
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!(
        "job {id}: node {first} killed, retried on {second} after {:.1} s",
        killed_at.elapsed().as_secs_f64()
    );
    let j = nia.wait_over(id, 120);
    assert_eq!(j["status"]["exitcode"], 0, "{j}");
    // The node comes back: its old attempt is not run again.
    script("start-swarm.sh", &[]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        std::fs::read_to_string(&attempts).unwrap(),
        "start\nstart\ndone\n",
        "one attempt killed with its node, one completed"
    );
    assert_eq!(
        services(&format!("godocker.job={id}")),
        "",
        "no service left"
    );
}

/// SIGKILL the server while jobs run on every node: after a restart each completes once,
/// none is lost or run twice.
#[test]
fn a_server_killed_with_jobs_on_every_node_loses_nothing() {
    if swarm_skipped() {
        return;
    }
    let _cluster = Cluster::take();
    let mut srv = Server::start("swarm-crash", &config(""));
    let key = srv.add_user("kim", 2804, 2804, &[]);
    let kim = srv.client("kim", &key);
    let ids: Vec<u64> = (0..3)
        .map(|_| kim.submit(MINIMAL_IMAGE, "echo run >> runs\nsleep 4", json!({})))
        .collect();
    let queued: Vec<u64> = (0..2)
        .map(|_| kim.submit(MINIMAL_IMAGE, "echo run >> runs", json!({})))
        .collect();
    all_running(&kim, &ids, 60);
    srv.kill9();
    std::thread::sleep(Duration::from_secs(1));
    srv.restart();
    let kim = srv.client("kim", &key);
    for id in ids.iter().chain(&queued) {
        let j = kim.wait_over(*id, 120);
        assert_eq!(j["status"]["exitcode"], 0, "{j}");
        assert_eq!(
            std::fs::read_to_string(srv.job_dir(*id).join("runs")).unwrap(),
            "run\n",
            "job {id} ran once"
        );
    }
    let left = services(&format!("godocker.server={}", srv.server_id));
    assert_eq!(left, "", "no service left");
}

/// One server with a Swarm, the host Engine and the host itself: each job runs on the executor
/// it names, and every node is listed with its executor.
#[test]
fn a_mixed_site_runs_each_job_on_its_executor() {
    if swarm_skipped() || docker_skipped() {
        return;
    }
    let _cluster = Cluster::take();
    let srv = Server::start(
        "swarm-mixed",
        &config("executors: [swarm-mode, docker, native]\nnative: {cpus: 1, ram: 4}\n"),
    );
    let key = srv.add_user("max", 2805, 2805, &[]);
    let max = srv.client("max", &key);
    let on = |executor: &str| {
        let mut extra = json!({});
        if !executor.is_empty() {
            extra = json!({"requirements": {"executor": executor}});
        }
        max.submit(MINIMAL_IMAGE, "id -u", extra)
    };
    let cases = [
        ("", "swarm-mode/gd"),
        ("docker", "docker/"),
        ("native", "native/"),
    ];
    for (executor, node) in cases {
        let id = on(executor);
        let j = max.wait_over(id, 60);
        assert_eq!(j["status"]["exitcode"], 0, "{executor}: {j}");
        assert!(node_of(&j).starts_with(node), "{executor}: {}", node_of(&j));
        assert_eq!(
            std::fs::read_to_string(srv.job_dir(id).join("god.log")).unwrap(),
            "2805\n",
            "{executor}"
        );
    }
    let (_, nodes) = srv.admin().get("/api/1.0/nodes");
    let mut executors: Vec<String> = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["state"] == "ready")
        .map(|n| {
            format!(
                "{}:{}",
                n["executor"].as_str().unwrap(),
                n["name"].as_str().unwrap()
            )
        })
        .collect();
    executors.sort();
    let mut want: Vec<String> = workers()
        .into_iter()
        .map(|w| format!("swarm-mode:swarm-mode/{}", w.name))
        .chain([
            "docker:docker/localhost".into(),
            "native:native/localhost".into(),
        ])
        .collect();
    want.sort();
    assert_eq!(executors, want, "{nodes}");
}

/// The host Engine as a `docker` executor while it is also an active node of the Swarm: its
/// capacity would count twice, so the server refuses to start, naming both.
#[test]
fn an_engine_counted_twice_is_refused_at_start_up() {
    if swarm_skipped() || docker_skipped() {
        return;
    }
    let _cluster = Cluster::take();
    let manager = String::from_utf8(
        Command::new("docker")
            .args(["info", "--format", "{{.Swarm.NodeID}}"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let manager = manager.trim();
    docker(&["node", "update", "--availability", "active", manager]);
    let dir = temp_dir("swarm-twice");
    std::fs::write(
        dir.join("go-d.yml"),
        config("executors: [swarm-mode, docker]\n"),
    )
    .unwrap();
    let out = Command::new(god_bin())
        .args(["up", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("go-d.yml"))
        .output()
        .unwrap();
    // Drained again before anything is asserted (Cluster's drop does it too).
    docker(&["node", "update", "--availability", "drain", manager]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("executors swarm-mode and docker both run jobs on the Swarm node")
            && stderr.contains(manager),
        "{stderr}"
    );
}
