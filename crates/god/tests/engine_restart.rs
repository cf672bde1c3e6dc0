//! The container engine going away under the service, on a private Docker Engine of the test's
//! own (own data root, exec root, socket and pid file; no bridge, no iptables; in a network
//! namespace of its own, since a dockerd started with `--bridge none` deletes the host's
//! `docker0`), never the Engine the other tests share: an Engine restart under a running job is a node failure with a reason
//! (retried when the job and the server allow it), a script that exits 143 by itself is not, and
//! an Engine that is down when `god up` starts is a reason for jobs to wait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A dockerd of the test's own.
struct PrivateEngine {
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateEngine {
    fn start(dir: &Path) -> PrivateEngine {
        let mut e = PrivateEngine {
            dir: dir.to_path_buf(),
            child: None,
        };
        e.up();
        e
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("d.sock")
    }

    fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn up(&mut self) {
        let d = &self.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        // `unshare --net`, not `ip netns exec` (which remounts /sys and hides the cgroups).
        let child = Command::new("unshare")
            .args(["--net", "--", "dockerd"])
            .arg("--data-root")
            .arg(d.join("root"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("d.pid"))
            .arg("-H")
            .arg(self.url())
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd (scripts/install-deps.sh installs docker.io)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the private dockerd did not answer: {}",
                std::fs::read_to_string(d.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn answers(&self) -> bool {
        self.docker(&["info"]).status.success()
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.url())
            .args(args)
            .output()
            .unwrap()
    }

    /// Stop it as an operator would (SIGTERM: it stops its containers, then exits).
    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(60));
        }
    }

    /// Give it an image of the shared Engine (no registry here).
    fn load(&self, image: &str) {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let load = Command::new("docker")
            .arg("-H")
            .arg(self.url())
            .arg("load")
            .stdin(save.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(save.wait().unwrap().success(), "docker save {image}");
        assert!(load.status.success(), "docker load: {load:?}");
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if self.child.is_some() {
            let out = self.docker(&["ps", "-aq"]);
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.docker(&args);
            }
        }
        self.down();
        if !std::thread::panicking() {
            // Its overlay mounts are gone with it; what stays is plain files.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn config(engine: &PrivateEngine, extra: &str) -> String {
    format!(
        "executors: [docker]\ntick_seconds: 0.5\ndocker: {{url: '{}'}}\n{extra}",
        engine.url()
    )
}

/// Job fields for the private Engine: no network (it has no bridge), plus `extra`.
fn no_network(extra: serde_json::Value) -> serde_json::Value {
    let mut doc = json!({"container": {"network": false}});
    merge(&mut doc, extra);
    doc
}

#[test]
fn engine_restart_under_a_running_job_is_a_node_failure_with_a_reason() {
    if docker_skipped() {
        return;
    }
    let mut engine = PrivateEngine::start(&temp_dir("private-dockerd"));
    engine.load(MINIMAL_IMAGE);
    let srv = Server::start(
        "engine-restart",
        &config(&engine, "failure_policy: {strategy: 1}\n"),
    );
    let key = srv.add_user("alice", 2001, 2001, &[]);
    let api = srv.client("alice", &key);

    // A script that exits 143 by itself is its own business.
    let own = api.submit(MINIMAL_IMAGE, "kill -TERM $$", no_network(json!({})));
    let j = api.wait_over(own, 60);
    assert_eq!(j["status"]["exitcode"], 143, "{j}");
    assert!(j["status"]["reason"].is_null(), "not the engine: {j}");
    assert!(j["status"]["failure"]["reason"].is_null(), "{j}");

    // Two jobs running when the Engine restarts: one without retries, one with one retry.
    let plain = api.submit(
        MINIMAL_IMAGE,
        "echo started; sleep 60",
        no_network(json!({})),
    );
    let retried = api.submit(
        MINIMAL_IMAGE,
        "if [ -f first-attempt ]; then echo second attempt; exit 0; fi; touch first-attempt; sleep 60",
        no_network(json!({"requirements": {"failure_policy": 1}})),
    );
    api.wait_running(plain, 60);
    api.wait_running(retried, 60);
    engine.down();
    engine.up();

    let j = api.wait_over(plain, 60);
    let reason = j["status"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("the container engine stopped the container"),
        "the engine stop is the reason: {j}"
    );
    assert_eq!(j["status"]["exitcode"], 143, "{j}");
    assert_eq!(j["status"]["failure"]["count"], 1, "a node failure: {j}");

    let j = api.wait_over(retried, 60);
    assert_eq!(
        j["status"]["exitcode"], 0,
        "retried after the node failure: {j}"
    );
    assert_eq!(j["status"]["failure"]["count"], 1, "{j}");
    assert_eq!(j["status"]["attempts"], 2, "{j}");
    let (_, log) = api.file(retried, "god.log");
    assert_eq!(log, "second attempt\n");
}

#[test]
fn an_engine_down_at_start_up_is_a_reason_to_wait() {
    if docker_skipped() {
        return;
    }
    let mut engine = PrivateEngine::start(&temp_dir("private-dockerd-down"));
    engine.load(MINIMAL_IMAGE);
    engine.down();
    let srv = Server::start("engine-down", &config(&engine, ""));
    let warned = srv.stderr();
    assert!(
        warned.contains("does not answer") && warned.contains("executors: [native]"),
        "god up starts and says what to do: {warned}"
    );
    let key = srv.add_user("alice", 2001, 2001, &[]);
    let api = srv.client("alice", &key);
    let id = api.submit(MINIMAL_IMAGE, "echo ran", no_network(json!({})));
    let j = api.wait_for(id, 30, "waiting with a reason", |j| {
        j["status"]["reason"].as_str().is_some_and(|r| {
            r.contains("waiting for the executor") && r.contains("does not answer")
        })
    });
    assert_eq!(j["status"]["primary"], "pending", "{j}");

    engine.up();
    let j = api.wait_over(id, 60);
    assert_eq!(j["status"]["exitcode"], 0, "{j}");
    let (_, log) = api.file(id, "god.log");
    assert_eq!(log, "ran\n");
}
