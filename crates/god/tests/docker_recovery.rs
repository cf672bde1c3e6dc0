//! SIGKILL the server while jobs run and submissions arrive; restart it: every acknowledged job is
//! there, running containers are re-attached, and no job runs twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[test]
fn restart_after_sigkill_loses_nothing_and_runs_nothing_twice() {
    if docker_skipped() {
        return;
    }
    let runs = temp_dir("runs");
    std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = docker_config(&format!(
        "docker: {{cpus: 3}}\nvolumes: [{{name: runs, acl: rw, path: '{}', mount: /mnt/runs}}]\n",
        runs.display()
    ));
    let mut srv = Server::start("recovery", &config);
    let key = srv.add_user("fred", 2401, 2401, &[]);
    let fred = srv.client("fred", &key);
    let script = "echo $GODOCKER_JID >> /mnt/runs/log; sleep 3; echo done";
    let vol = json!({"container": {"volumes": [{"name": "runs", "acl": "rw"}]}});
    let mut ids: Vec<u64> = (0..8)
        .map(|_| fred.submit(MINIMAL_IMAGE, script, vol.clone()))
        .collect();
    // Three run (3 cpus), five wait.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fred
        .get("/api/1.0/task/active")
        .1
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["container"]["id"].is_string())
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "jobs never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A container that belongs to no job of ours must be removed at restart.
    srv.kill9();
    std::thread::sleep(Duration::from_millis(500));
    srv.restart();
    let fred = srv.client("fred", &key);
    ids.push(fred.submit(MINIMAL_IMAGE, script, vol.clone()));
    for id in &ids {
        let j = fred.wait_over(*id, 180);
        assert_eq!(j["status"]["exitcode"], 0, "job {id}: {j}");
        assert_eq!(
            fred.file(*id, "god.log"),
            (StatusCode::OK, "done\n".to_string())
        );
    }
    let log = std::fs::read_to_string(runs.join("log")).unwrap();
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for line in log.lines() {
        *counts.entry(line.trim().parse().unwrap()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "job {id} ran {:?} times; log:\n{log}",
            counts.get(id)
        );
    }
    let stderr = srv.stderr();
    let _ = stderr;
    let (_, all): (StatusCode, Value) = fred.post("/api/1.0/task/over/0/0", &json!({}));
    assert_eq!(all.as_array().unwrap().len(), ids.len());
}

#[test]
fn recovery_collects_finished_and_marks_vanished_containers() {
    if docker_skipped() {
        return;
    }
    let mut srv = Server::start("recovery2", &docker_config(""));
    let admin = srv.admin();
    let quick = admin.submit(MINIMAL_IMAGE, "sleep 1; exit 4", json!({}));
    let vanish = admin.submit(MINIMAL_IMAGE, "sleep 300", json!({}));
    admin.wait_running(quick, 60);
    let v = admin.wait_running(vanish, 60);
    srv.kill9();
    // While the server is down: one container finishes, the other is removed behind our back.
    let cid = v["container"]["id"].as_str().unwrap();
    let rm = std::process::Command::new("docker")
        .args(["rm", "-f", cid])
        .output()
        .unwrap();
    assert!(rm.status.success());
    // A stray labelled container that no job owns.
    let server_id = cid_server(&v);
    let stray = std::process::Command::new("docker")
        .args([
            "create",
            "--label",
            &format!("godocker.server={server_id}"),
            "--label",
            "godocker.job=999999",
            MINIMAL_IMAGE,
            "true",
        ])
        .output()
        .unwrap();
    assert!(
        stray.status.success(),
        "{}",
        String::from_utf8_lossy(&stray.stderr)
    );
    let stray_id = String::from_utf8_lossy(&stray.stdout).trim().to_string();
    std::thread::sleep(Duration::from_secs(2));
    srv.restart();
    let admin = srv.admin();
    let j = admin.wait_over(quick, 60);
    assert_eq!(j["status"]["exitcode"], 4, "{j}");
    let j = admin.wait_over(vanish, 60);
    assert!(
        j["status"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("gone"),
        "{j}"
    );
    let gone = std::process::Command::new("docker")
        .args(["inspect", &stray_id])
        .output()
        .unwrap();
    assert!(
        !gone.status.success(),
        "stray container {stray_id} was not removed"
    );
}

/// The server id is the second part of our container names: `god-<server>-<job>-<nonce>`.
fn cid_server(job: &Value) -> String {
    job["container"]["name"]
        .as_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string()
}
