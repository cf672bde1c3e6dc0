//! End to end on the real Docker Engine: a user submits jobs over HTTP to the real `god` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn job_runs_as_the_user_with_output_files_and_exit_code() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("identity", &docker_config(""));
    let key = srv.add_user("alice", 2001, 2002, &["--sgids", "2003"]);
    let alice = srv.client("alice", &key);
    let script = "id -u; id -g; id -G; id -un; echo \"jid=$GODOCKER_JID\"; pwd; echo data > out.txt; echo oops >&2";
    for image in [MINIMAL_IMAGE, DEBIAN_IMAGE] {
        if image == DEBIAN_IMAGE && !image_exists(image) {
            eprintln!(
                "{image} absent: skipping that image (scripts/build-test-images.sh builds it)"
            );
            continue;
        }
        let id = alice.submit(image, script, json!({}));
        let j = alice.wait_over(id, 60);
        assert_eq!(j["status"]["exitcode"], 0, "{j}");
        assert_eq!(j["container"]["meta"]["State"]["ExitCode"], 0);
        let (s, log) = alice.file(id, "god.log");
        assert_eq!(s, StatusCode::OK);
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines[0], "2001", "{image}: {log}");
        assert_eq!(lines[1], "2002");
        assert!(
            lines[2].split_whitespace().any(|g| g == "2003"),
            "secondary group: {log}"
        );
        assert_eq!(lines[3], "alice", "{image}: id -un shows the login");
        assert_eq!(lines[4], format!("jid={id}"));
        assert_eq!(lines[5], "/mnt/go-docker");
        assert_eq!(alice.file(id, "god.err").1.trim(), "oops");
        let out = srv.job_dir(id).join("out.txt");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "data\n");
        assert_eq!(
            owner(&out),
            (2001, 2002),
            "file written by the job belongs to the user"
        );
        assert!(j["status"]["duration"].as_f64().unwrap() >= 0.0);
    }
    // Symlinks the job makes cannot lead the files API out of its directory.
    let id = alice.submit(
        MINIMAL_IMAGE,
        "ln -s /etc/shadow shadow; ln -s ../../../../../../../../../etc/passwd passwd; ln -s / root",
        json!({}),
    );
    alice.wait_over(id, 60);
    for path in ["shadow", "passwd", "root/etc/shadow", "root/etc/"] {
        let (s, body) = alice.file(id, path);
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
            "{path}: {s} {body}"
        );
        assert!(!body.contains("root:"), "{path} leaked host data");
    }

    let id = alice.submit(MINIMAL_IMAGE, "echo before; exit 3", json!({}));
    let j = alice.wait_over(id, 60);
    assert_eq!(j["status"]["exitcode"], 3, "{j}");
    assert_eq!(j["status"]["primary"], "over");
    assert!(j["status"]["secondary"].is_null());
}

#[test]
fn memory_limit_is_enforced_and_reported() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("memory", &docker_config(""));
    let admin = srv.admin();
    // 0.064 GB limit; the script holds about 200 MB in a shell variable.
    let id = admin.submit(
        MINIMAL_IMAGE,
        "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}",
        json!({"requirements": {"ram": 0.064}}),
    );
    let j = admin.wait_over(id, 120);
    assert_eq!(j["status"]["exitcode"], 137, "{j}");
    let reason = j["status"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("memory limit"), "reason: {reason}");
}

#[test]
fn kill_suspend_resume_reschedule_archive() {
    if docker_skipped() {
        return;
    }
    // One CPU for jobs: the second job stays pending behind the first.
    let srv = Server::start("control", &docker_config("docker: {cpus: 1}\n"));
    let key = srv.add_user("bob", 2010, 2010, &[]);
    let bob = srv.client("bob", &key);

    let counter = "i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.1; done";
    let running = bob.submit(MINIMAL_IMAGE, counter, json!({}));
    bob.wait_running(running, 60);
    let pending = bob.submit(MINIMAL_IMAGE, "echo never", json!({}));
    let p = bob.wait_for(pending, 10, "waiting for a cpu", |p| {
        p["status"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("no node with 1 cpu free")
    });
    assert_eq!(p["status"]["primary"], "pending");

    // Kill of a pending job: over at once, exit 137, nothing ran.
    let (s, _) = bob.delete(&format!("/api/1.0/task/{pending}"));
    assert_eq!(s, StatusCode::OK);
    let p = bob.job(pending);
    assert_eq!(p["status"]["primary"], "over");
    assert_eq!(p["status"]["secondary"], "killed");
    assert_eq!(p["status"]["exitcode"], 137);

    // Suspend: the counter stops moving; resume: it moves again.
    let count = |id: u64| -> u64 { bob.file(id, "count").1.trim().parse().unwrap_or(0) };
    std::thread::sleep(Duration::from_millis(500));
    let (s, v) = bob.get(&format!("/api/1.0/task/{running}/suspend"));
    assert_eq!(s, StatusCode::OK, "{v}");
    bob.wait_for(running, 30, "suspended", |j| {
        j["status"]["secondary"] == "suspended"
    });
    let c1 = count(running);
    std::thread::sleep(Duration::from_millis(800));
    let c2 = count(running);
    assert_eq!(c1, c2, "a suspended job does not progress");
    let (s, v) = bob.get(&format!("/api/1.0/task/{pending}/suspend"));
    assert_eq!(s, StatusCode::CONFLICT, "suspending an over job: {v}");
    let (s, _) = bob.get(&format!("/api/1.0/task/{running}/resume"));
    assert_eq!(s, StatusCode::OK);
    bob.wait_for(running, 30, "resumed", |j| {
        j["status"]["secondary"] == "resumed"
    });
    // It progresses again (polled: a loaded machine may take a while to run it).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(running) <= c2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(count(running) > c2, "a resumed job progresses");

    // Reschedule: the job goes back to the queue and runs again in a new container.
    let first_container = bob.job(running)["container"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = bob.get(&format!("/api/1.0/task/{running}/reschedule"));
    assert_eq!(s, StatusCode::OK);
    let j = bob.wait_for(running, 60, "running again", |j| {
        j["status"]["primary"] == "running"
            && j["container"]["id"].is_string()
            && j["container"]["id"].as_str() != Some(first_container.as_str())
    });
    assert_eq!(j["status"]["attempts"], 2);

    // Kill of a running job.
    let (s, _) = bob.delete(&format!("/api/1.0/task/{running}"));
    assert_eq!(s, StatusCode::OK);
    let j = bob.wait_over(running, 60);
    assert_eq!(j["status"]["secondary"], "killed");
    assert_eq!(j["status"]["exitcode"], 137);

    // Archive removes the job directory.
    let dir = srv.job_dir(running);
    assert!(dir.exists());
    let (s, _) = bob.get(&format!("/api/1.0/task/{running}/archive"));
    assert_eq!(s, StatusCode::OK);
    bob.wait_for(running, 30, "archived", |j| {
        j["status"]["primary"] == "archived"
    });
    assert!(!dir.exists(), "archiving removes the job directory");
    let (s, _) = bob.get(&format!("/api/1.0/task/{running}/files/god.log"));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[test]
fn missing_image_ends_the_job_with_a_reason() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("noimage", &docker_config(""));
    let admin = srv.admin();
    let id = admin.submit("god-test/does-not-exist:1", "true", json!({}));
    let j = admin.wait_over(id, 60);
    let reason = j["status"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("god-test/does-not-exist:1"), "{j}");
    assert_ne!(j["status"]["exitcode"], 0);
}

#[test]
fn idle_system_starts_a_job_quickly() {
    if docker_skipped() {
        return;
    }
    // The tick is long: only the wake-up on submission can start the job fast.
    let srv = Server::start("wake", "executors: [docker]\ntick_seconds: 30\n");
    let admin = srv.admin();
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let id = admin.submit(MINIMAL_IMAGE, "true", json!({}));
    admin.wait_for(id, 10, "running or over", |j| {
        j["status"]["primary"] != "pending"
    });
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
    let j = admin.wait_over(id, 10);
    assert_eq!(j["status"]["exitcode"], 0);
}

#[test]
fn names_tags_and_commands_reach_the_container_as_data() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("literal", &docker_config(""));
    let admin = srv.admin();
    let id = admin.submit(
        MINIMAL_IMAGE,
        "echo '$(touch injected)' \"a \\\"quoted\\\" word\" `echo ticks`",
        json!({"meta": {"name": "$(touch name-ran); echo", "description": "`touch desc-ran`",
                        "tags": ["'; touch tag-ran; '", "$(id)"]}}),
    );
    let j = admin.wait_over(id, 60);
    assert_eq!(j["status"]["exitcode"], 0, "{j}");
    assert_eq!(j["meta"]["name"], "$(touch name-ran); echo");
    let log = admin.file(id, "god.log").1;
    assert_eq!(log, "$(touch injected) a \"quoted\" word ticks\n");
    let dir = srv.job_dir(id);
    for f in ["injected", "name-ran", "desc-ran", "tag-ran"] {
        assert!(!dir.join(f).exists(), "{f} was executed");
    }
}

#[test]
fn a_lost_container_is_a_node_failure_retried_per_policy() {
    if docker_skipped() {
        return;
    }
    let mut srv = Server::start("retry", &docker_config("failure_policy: {strategy: 1}\n"));
    let admin = srv.admin();
    let id = admin.submit(
        MINIMAL_IMAGE,
        "sleep 300",
        json!({"requirements": {"failure_policy": 3}}),
    );
    let lose = |srv: &mut Server, attempt: u64| {
        let admin = srv.admin();
        let j = admin.wait_for(id, 60, "running", |j| {
            j["status"]["primary"] == "running"
                && j["container"]["id"].is_string()
                && j["status"]["attempts"] == attempt
        });
        // While the server is down, the engine loses the container.
        srv.kill9();
        let cid = j["container"]["id"].as_str().unwrap().to_string();
        let rm = std::process::Command::new("docker")
            .args(["rm", "-f", &cid])
            .output()
            .unwrap();
        assert!(rm.status.success());
        srv.restart();
    };
    lose(&mut srv, 1);
    lose(&mut srv, 2);
    let admin = srv.admin();
    let j = admin.wait_over(id, 60);
    assert_eq!(
        j["status"]["attempts"], 2,
        "one retry (the configuration caps the job's 3): {j}"
    );
    assert_eq!(j["status"]["failure"]["count"], 2);
    assert!(
        j["status"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("gone"),
        "{j}"
    );
}

#[test]
fn a_running_jobs_stats_for_those_who_may_see_it() {
    if docker_skipped() {
        return;
    }
    // One CPU for jobs: the second job stays pending behind the first.
    let srv = Server::start("stats", &docker_config("docker: {cpus: 1}\n"));
    let alice = srv.client("alice", &srv.add_user("alice", 2020, 2020, &[]));
    let eve = srv.client("eve", &srv.add_user("eve", 2021, 2021, &[]));
    let (s, config) = alice.get("/api/1.0/config");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(config["executor_features"], json!(["kill", "pause"]));

    let busy = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo ready > ready; sleep 300";
    let running = alice.submit(MINIMAL_IMAGE, busy, json!({}));
    alice.wait_running(running, 60);
    let pending = alice.submit(MINIMAL_IMAGE, "echo never", json!({}));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !srv.job_dir(running).join("ready").exists() {
        assert!(Instant::now() < deadline, "the job never got ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let (s, v) = alice.get(&format!("/api/1.0/task/{running}/stats"));
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], running);
    assert!(v["cpu_seconds"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["memory_bytes"].as_u64().unwrap() > 0, "{v}");
    assert!(v["memory_limit_bytes"].as_u64().unwrap() > 0, "{v}");
    let (s, v) = srv.admin().get(&format!("/api/1.0/task/{running}/stats"));
    assert_eq!(s, StatusCode::OK, "an administrator sees it too: {v}");

    // Another user's job does not exist for eve.
    let (s, v) = eve.get(&format!("/api/1.0/task/{running}/stats"));
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Not running: a conflict saying so.
    let (s, v) = alice.get(&format!("/api/1.0/task/{pending}/stats"));
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains("pending"), "{v}");
    assert!(v["field"].is_null());
    let (s, _) = alice.delete(&format!("/api/1.0/task/{running}"));
    assert_eq!(s, StatusCode::OK);
    alice.wait_over(running, 60);
    let (s, v) = alice.get(&format!("/api/1.0/task/{running}/stats"));
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains("over"), "{v}");
}
