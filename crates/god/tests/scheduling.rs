//! Fair, bounded scheduling end to end through the API, on the native executor (jobs run on the
//! host as the user; real processes, no containers): quotas, rate limits, dependencies, arrays,
//! retries, maxlifespan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn native_with(cpus: u32, extra: &str) -> String {
    format!("executors: [native]\ntick_seconds: 0.3\nnative: {{cpus: {cpus}, ram: 8}}\n{extra}")
}

fn native(extra: &str) -> String {
    native_with(4, extra)
}

fn reason(j: &Value) -> String {
    j["status"]["reason"].as_str().unwrap_or("").to_string()
}

#[test]
fn user_quotas_hold_jobs_with_a_reason_and_refuse_jobs_too_big_alone() {
    let srv = Server::start("quota", &native(""));
    let key = srv.add_user("quinn", 2701, 2701, &[]);
    let admin = srv.admin();
    let (_, mut u) = admin.get("/api/1.0/user/quinn");
    u["usage"]["quota_cpu"] = json!(1);
    let (s, v) = admin.put("/api/1.0/user/quinn", &u);
    assert_eq!(s, StatusCode::OK, "{v}");
    let quinn = srv.client("quinn", &key);
    let (s, v) = quinn.put("/api/1.0/user/quinn", &u);
    assert_eq!(s, StatusCode::OK, "unchanged quotas are not a change: {v}");
    let mut raise = u.clone();
    raise["usage"]["quota_cpu"] = json!(100);
    assert_eq!(
        quinn.put("/api/1.0/user/quinn", &raise).0,
        StatusCode::FORBIDDEN,
        "users cannot raise their quota"
    );

    let (s, v) = quinn.try_submit("native", "true", json!({"requirements": {"cpu": 2}}));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], "requirements.cpu");

    let first = quinn.submit("native", "sleep 2", json!({}));
    quinn.wait_running(first, 30);
    let second = quinn.submit("native", "true", json!({}));
    let j = quinn.wait_for(second, 10, "held by quota", |j| reason(j).contains("quota"));
    assert_eq!(reason(&j), "user cpu quota 1 reached: 1 in use");
    assert_eq!(j["status"]["primary"], "pending");
    let j = quinn.wait_over(second, 30);
    assert_eq!(j["status"]["exitcode"], 0);
}

#[test]
fn project_quotas_and_membership() {
    let srv = Server::start("projquota", &native(""));
    let kp = srv.add_user("pam", 2711, 2711, &[]);
    let ko = srv.add_user("otto", 2712, 2712, &[]);
    let admin = srv.admin();
    let (s, v) = admin.post("/api/1.0/project", &json!({"id": "lab", "description": "the lab", "prio": 60, "quota_cpu": 1, "members": ["pam"]}));
    assert_eq!(s, StatusCode::OK, "{v}");
    let pam = srv.client("pam", &kp);
    let otto = srv.client("otto", &ko);
    let (s, v) = otto.try_submit("native", "true", json!({"user": {"project": "lab"}}));
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["field"], "user.project");
    let (_, projects) = pam.get("/api/1.0/user/pam/project");
    assert!(projects
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "lab"));
    let a = pam.submit("native", "sleep 2", json!({"user": {"project": "lab"}}));
    pam.wait_running(a, 30);
    let b = pam.submit("native", "true", json!({"user": {"project": "lab"}}));
    let j = pam.wait_for(b, 10, "held by the project quota", |j| {
        reason(j).contains("quota")
    });
    assert_eq!(reason(&j), "project cpu quota 1 reached: 1 in use");
    pam.wait_over(b, 30);
    let (s, usage) = pam.get("/api/1.0/project/lab/usage");
    assert_eq!(s, StatusCode::OK);
    assert!(usage[0]["time"].as_f64().unwrap() >= 2.0, "{usage}");
}

#[test]
fn rate_limits_refuse_with_429() {
    let srv = Server::start(
        "rate",
        &native_with(1, "rate_limit: 2\napi_rate_limit: 30\napi_rate_burst: 30\n"),
    );
    let key = srv.add_user("rita", 2721, 2721, &[]);
    let rita = srv.client("rita", &key);
    let running = rita.submit("native", "sleep 30", json!({}));
    rita.wait_running(running, 30);
    rita.submit("native", "true", json!({}));
    rita.submit("native", "true", json!({}));
    let (s, v) = rita.try_submit("native", "true", json!({}));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(v["error"].as_str().unwrap().contains("pending"), "{v}");
    std::thread::sleep(Duration::from_secs(2));
    // The request bucket: 30 per second, burst 30.
    let mut limited = None;
    for _ in 0..200 {
        let r = rita
            .http
            .get(format!("{}/api/1.0/task/active", rita.base))
            .bearer_auth(&rita.token)
            .send()
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(
                r.headers()
                    .get("retry-after")
                    .map(|h| h.to_str().unwrap().to_string()),
            );
            break;
        }
    }
    let retry_after = limited.expect("the request bucket never emptied");
    assert!(retry_after.is_some(), "429 without Retry-After");
    rita.delete(&format!("/api/1.0/task/{running}"));
}

#[test]
fn dependencies_with_conditions_and_failure_propagation() {
    let srv = Server::start("deps", &native(""));
    let key = srv.add_user("dan", 2731, 2731, &[]);
    let dan = srv.client("dan", &key);
    let ok = dan.submit("native", "sleep 1", json!({}));
    let bad = dan.submit("native", "sleep 1; exit 2", json!({}));
    let deps = |d: Value| json!({"requirements": {"tasks": d}});
    let after_ok = dan.submit("native", "echo ran", deps(json!([ok])));
    let after_ok_bad = dan.submit("native", "echo never", deps(json!([bad.to_string()])));
    let after_any_bad = dan.submit(
        "native",
        "echo ran",
        deps(json!([format!("afterany:{bad}")])),
    );
    let after_notok_bad = dan.submit(
        "native",
        "echo ran",
        deps(json!([{"id": bad, "condition": "afternotok"}])),
    );
    let after_notok_ok = dan.submit(
        "native",
        "echo never",
        deps(json!([format!("afternotok:{ok}")])),
    );
    let chained = dan.submit("native", "echo never", deps(json!([after_ok_bad])));
    // The parent sleeps a second: the next scheduling pass writes why the child waits.
    let want = format!("waiting for job {ok} (afterok)");
    let j = dan.wait_for(after_ok, 10, "waiting with a reason", |j| reason(j) == want);
    assert_eq!(j["status"]["primary"], "pending");
    for id in [after_ok, after_any_bad, after_notok_bad] {
        let j = dan.wait_over(id, 60);
        assert_eq!(j["status"]["exitcode"], 0, "{j}");
    }
    for (id, parent) in [
        (after_ok_bad, bad),
        (after_notok_ok, ok),
        (chained, after_ok_bad),
    ] {
        let j = dan.wait_over(id, 60);
        assert_eq!(j["status"]["secondary"], "dependency failed", "{j}");
        assert!(reason(&j).contains(&format!("job {parent}")), "{j}");
        assert!(j["status"]["date_running"].is_null() || j["status"].get("date_running").is_none());
    }
    let (s, v) = dan.try_submit("native", "true", deps(json!([99999])));
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("requirements.tasks[0]"))
    );
    let key2 = srv.add_user("eve", 2732, 2732, &[]);
    let eve = srv.client("eve", &key2);
    let (s, _) = eve.try_submit("native", "true", deps(json!([ok])));
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "someone else's job is not a parent"
    );
}

#[test]
fn arrays_run_each_index_and_close_the_parent() {
    let srv = Server::start("array", &native(""));
    let key = srv.add_user("ana", 2741, 2741, &[]);
    let ana = srv.client("ana", &key);
    let script = "echo \"$GODOCKER_TASK_ID $GOGOCKER_TASK_ID $GODOCKER_TASK_FIRST $GODOCKER_TASK_LAST $GODOCKER_TASK_STEP\"";
    let parent = ana.submit(
        "native",
        script,
        json!({"requirements": {"array": {"values": "1:9:3"}}}),
    );
    let p = ana.wait_over(parent, 60);
    assert_eq!(p["status"]["exitcode"], 0, "{p}");
    assert_eq!(p["requirements"]["array"]["nb_tasks"], 3);
    assert_eq!(p["requirements"]["array"]["nb_tasks_over"], 3);
    let kids: Vec<u64> = p["requirements"]["array"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_u64().unwrap())
        .collect();
    assert_eq!(kids.len(), 3);
    let mut outputs = Vec::new();
    for k in &kids {
        assert!(*k > parent);
        let j = ana.job(*k);
        assert_eq!(j["parent_task_id"], parent);
        outputs.push(ana.file(*k, "god.log").1.trim().to_string());
    }
    assert_eq!(
        outputs,
        vec!["1 1 1 9 3", "4 4 1 9 3", "7 7 1 9 3"],
        "1:9:3 is 1, 4, 7 with the range in the environment"
    );
    assert!(
        srv.job_dir(parent).join("4").join("god.log").exists(),
        "children run in the parent's directory"
    );
}

#[test]
fn killing_an_array_kills_every_child() {
    let srv = Server::start("arraykill", &native_with(2, ""));
    let admin = srv.admin();
    let t0 = Instant::now();
    let parent = admin.submit(
        "native",
        "sleep 60",
        json!({"requirements": {"array": {"values": "100000"}}}),
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a 100,000-task array is accepted fast"
    );
    let p = admin.wait_for(parent, 30, "running children", |p| {
        p["status"]["primary"] == "running"
    });
    let created = p["requirements"]["array"]["nb_tasks_created"]
        .as_u64()
        .unwrap();
    assert!(
        created < 100_000,
        "children are created as needed, not up front ({created})"
    );
    let running_children = || {
        let (_, active) = admin.get("/api/1.0/task/active");
        active
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["status"]["primary"] == "running" && j["parent_task_id"] == parent)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while running_children() < 2 {
        assert!(Instant::now() < deadline, "children never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(running_children(), 2, "two cpus: two children run");
    let (s, _) = admin.delete(&format!("/api/1.0/task/{parent}"));
    assert_eq!(s, StatusCode::OK);
    let p = admin.wait_over(parent, 60);
    assert_eq!(p["status"]["secondary"], "killed");
    assert_eq!(p["requirements"]["array"]["nb_tasks_over"], 100_000);
    let (_, active) = admin.get("/api/1.0/task/active");
    assert!(
        active.as_array().unwrap().is_empty(),
        "children still active: {active}"
    );
}

#[test]
fn maxlifespan_kills_long_jobs_and_can_be_changed_while_running() {
    let srv = Server::start("lifespan", &native(""));
    let admin = srv.admin();
    let own = admin.submit(
        "native",
        "sleep 60",
        json!({"requirements": {"maxlifespan": "2s"}}),
    );
    let later = admin.submit("native", "sleep 60", json!({}));
    admin.wait_running(later, 30);
    let (s, v) = admin.put(
        &format!("/api/1.0/task/{later}"),
        &json!({"name": "maxlifespan", "value": "1s"}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    for id in [own, later] {
        let j = admin.wait_over(id, 30);
        assert_eq!(j["status"]["secondary"], "killed", "{j}");
        assert!(reason(&j).starts_with("Max duration reached"), "{j}");
    }
    let (s, v) = admin.put(
        &format!("/api/1.0/task/{own}"),
        &json!({"name": "cpu", "value": "9"}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Changing an array's parent changes the children it already created.
    let parent = admin.submit(
        "native",
        "sleep 60",
        json!({"requirements": {"array": {"values": "1:2"}, "maxlifespan": "1h"}}),
    );
    let p = admin.wait_for(parent, 30, "with both children", |p| {
        p["requirements"]["array"]["tasks"]
            .as_array()
            .is_some_and(|t| t.len() == 2)
    });
    let kids: Vec<u64> = p["requirements"]["array"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_u64().unwrap())
        .collect();
    for k in &kids {
        admin.wait_running(*k, 30);
    }
    let (s, v) = admin.put(
        &format!("/api/1.0/task/{parent}"),
        &json!({"name": "maxlifespan", "value": "1s"}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    for k in kids {
        let j = admin.wait_over(k, 30);
        assert_eq!(j["requirements"]["maxlifespan"], "1s", "{j}");
        assert!(reason(&j).starts_with("Max duration reached"), "{j}");
    }
    admin.wait_over(parent, 30);
}

#[test]
fn node_failures_are_retried_up_to_the_policy() {
    // The fake executor's `testerror` job loses its node; the failure policy retries it.
    let srv = Server::start("retry", "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.1}\ntick_seconds: 0.2\nfailure_policy: {strategy: 2}\n");
    let admin = srv.admin();
    let id = admin.submit(
        "img",
        "true",
        json!({"meta": {"name": "testerror"}, "requirements": {"failure_policy": 5}}),
    );
    let j = admin.wait_over(id, 30);
    assert_eq!(
        j["status"]["attempts"], 3,
        "two retries (capped by the configuration), then over: {j}"
    );
    assert_eq!(j["status"]["failure"]["count"], 3);
    assert!(reason(&j).contains("disappeared"), "{j}");
    let none = admin.submit("img", "true", json!({"meta": {"name": "testerror"}}));
    let j = admin.wait_over(none, 30);
    assert_eq!(j["status"]["attempts"], 1, "no retry asked: {j}");
}

#[test]
fn disk_quota_holds_jobs_until_old_ones_are_archived() {
    let srv = Server::start("disk", &native("disk_default_quota: '100k'\n"));
    let key = srv.add_user("dina", 2751, 2751, &[]);
    let dina = srv.client("dina", &key);
    let big = dina.submit("native", "head -c 200000 /dev/zero > blob", json!({}));
    let j = dina.wait_over(big, 30);
    assert!(
        j["container"]["meta"]["disk_size"].as_u64().unwrap() >= 200_000,
        "{j}"
    );
    let next = dina.submit("native", "echo ran", json!({}));
    let j = dina.wait_for(next, 10, "held by the disk quota", |j| {
        reason(j).contains("disk quota")
    });
    assert_eq!(j["status"]["primary"], "pending");
    assert!(srv.job_dir(big).join("blob").exists());
    let (s, _) = dina.get(&format!("/api/1.0/task/{big}/archive"));
    assert_eq!(s, StatusCode::OK);
    let j = dina.wait_over(next, 30);
    assert_eq!(j["status"]["exitcode"], 0, "archiving freed the quota: {j}");
    assert!(!srv.job_dir(big).exists());
}

/// Several executors in one server: a job runs on the one it names (`requirements.executor`),
/// else on the first; each executor's node is its own (capacity counted apart), the node views
/// say so, and an executor the server does not have is refused by name.
#[test]
fn jobs_run_on_the_executor_they_name() {
    let config = "executors: [native, fake]\ntick_seconds: 0.3\nnative: {cpus: 1, ram: 8}\n\
                  fake: {fail_on: 0, run_seconds: 2}\n";
    let srv = Server::start("mixed", config);
    let key = srv.add_user("mia", 2741, 2741, &[]);
    let mia = srv.client("mia", &key);

    // One native cpu: a second native job waits, while a fake one runs beside it.
    let native = mia.submit("native", "sleep 1; echo native > out.txt", json!({}));
    let queued = mia.submit(
        "native",
        "true",
        json!({"requirements": {"executor": "native"}}),
    );
    let fake = mia.submit(
        "native",
        "true",
        json!({"requirements": {"executor": "fake"}}),
    );
    let j = mia.wait_running(fake, 30);
    assert!(
        j["container"]["meta"]["Node"]["Name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("fake/"),
        "{j}"
    );
    let j = mia.wait_running(native, 30);
    assert!(
        j["container"]["meta"]["Node"]["Name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("native/"),
        "{j}"
    );
    assert_eq!(j["requirements"]["executor"], "native");
    assert_eq!(mia.job(queued)["status"]["primary"], "pending");

    // The nodes as the scheduler published them, with what runs on each (administrators).
    assert_eq!(mia.get("/api/1.0/nodes").0, StatusCode::FORBIDDEN);
    let (s, nodes) = srv.admin().get("/api/1.0/nodes");
    assert_eq!(s, StatusCode::OK, "{nodes}");
    let native_node = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["executor"] == "native")
        .unwrap_or_else(|| panic!("{nodes}"));
    assert_eq!(native_node["jobs"], 1, "{nodes}");
    assert_eq!(native_node["used_cpus"], 1.0, "{nodes}");
    assert_eq!(
        native_node["labels"],
        json!(["executor==native"]),
        "{nodes}"
    );
    let out = std::process::Command::new(god_bin())
        .args(["nodes"])
        .env("GOD_SERVER", &srv.url)
        .env("GOD_USER", "admin")
        .env("GOD_APIKEY", &srv.admin_key)
        .env("HOME", temp_dir("nodeshome"))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("native/") && l.contains(" ready ")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("fake/")), "{table}");

    for id in [native, queued, fake] {
        assert_eq!(mia.wait_over(id, 30)["status"]["exitcode"], 0, "job {id}");
    }
    assert_eq!(
        mia.file(native, "out.txt").1,
        "native\n",
        "the native job ran for real"
    );
    assert_eq!(
        mia.file(fake, "out.txt").0,
        StatusCode::NOT_FOUND,
        "the fake executor runs no script"
    );

    // The command line chooses with --executor.
    let out = std::process::Command::new(god_bin())
        .args([
            "submit",
            "--image",
            "none",
            "--executor",
            "fake",
            "--wait",
            "--",
            "true",
        ])
        .env("GOD_SERVER", &srv.url)
        .env("GOD_USER", "mia")
        .env("GOD_APIKEY", &key)
        .env("HOME", temp_dir("mixedhome"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, over) = mia.get("/api/1.0/task/over/0/100");
    assert!(
        over.as_array()
            .unwrap()
            .iter()
            .any(|j| j["requirements"]["executor"] == "fake" && j["command"]["cmd"] == "true"),
        "{over}"
    );

    let (s, v) = mia.try_submit(
        "native",
        "true",
        json!({"requirements": {"executor": "docker"}}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], "requirements.executor");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("native, fake"),
        "{v}"
    );
}

/// An executor that does not answer holds only its own jobs, saying why; the others run.
#[test]
fn an_executor_that_is_down_holds_only_its_jobs() {
    let config = "executors: [fake, docker]\ntick_seconds: 0.3\n\
                  fake: {fail_on: 0, run_seconds: 1}\n\
                  docker: {url: 'unix:///nonexistent/docker.sock'}\n";
    let srv = Server::start("down", config);
    let key = srv.add_user("dina", 2742, 2742, &[]);
    let dina = srv.client("dina", &key);
    let stuck = dina.submit(
        "native",
        "true",
        json!({"requirements": {"executor": "docker"}}),
    );
    let runs = dina.submit("native", "true", json!({}));
    assert_eq!(dina.wait_over(runs, 30)["status"]["exitcode"], 0);
    let j = dina.wait_for(stuck, 10, "a reason", |j| {
        reason(j).starts_with("waiting for the executor docker:")
    });
    assert_eq!(j["status"]["primary"], "pending");
    let (_, views) = srv.admin().get("/api/1.0/config");
    assert_eq!(
        views["executors"],
        json!([{"name": "fake", "features": ["kill", "pause"]},
               {"name": "docker", "features": ["kill", "pause"]}]),
        "{views}"
    );
    assert_eq!(views["executor_features"], json!(["kill", "pause"]));
}

/// Run `god` (the client) as `user` against `srv`; its standard output, and whether it
/// succeeded.
fn god_client(srv: &Server, user: &str, key: &str, args: &[&str]) -> (bool, String) {
    let home = temp_dir("client-home");
    let out = std::process::Command::new(god_bin())
        .args(args)
        .env("GOD_SERVER", &srv.url)
        .env("GOD_USER", user)
        .env("GOD_APIKEY", key)
        .env("HOME", &home)
        .env("GOD_CLIENT_CONFIG", home.join("client.json"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Maintenance mode, switched with `god maintenance`: a running job goes on, a new one waits
/// saying why (with the administrator's message), through a restart of the server; off again,
/// it runs. Users may read it, not switch it.
#[test]
fn maintenance_mode_holds_jobs_with_a_reason_until_it_is_off() {
    let mut srv = Server::start("maintenance", &native(""));
    let key = srv.add_user("maud", 2751, 2751, &[]);
    let maud = srv.client("maud", &key);
    let running = maud.submit("native", "sleep 2; echo done > out.txt", json!({}));
    maud.wait_running(running, 30);

    let (ok, out) = god_client(
        &srv,
        "admin",
        &srv.admin_key,
        &["maintenance", "on", "--message", "new disks until 14:00"],
    );
    assert!(ok, "{out}");
    assert!(out.starts_with("maintenance mode: on since "), "{out}");
    assert!(out.contains("(by admin): new disks until 14:00"), "{out}");
    let (ok, out) = god_client(&srv, "maud", &key, &["maintenance", "off"]);
    assert!(!ok && out.contains("administrators only"), "{out}");
    let (ok, out) = god_client(&srv, "maud", &key, &["maintenance", "status"]);
    assert!(ok && out.starts_with("maintenance mode: on"), "{out}");

    let held = maud.submit("native", "echo ran > out.txt", json!({}));
    let want = "maintenance mode (new disks until 14:00): no job starts until an administrator \
                ends it";
    let j = maud.wait_for(held, 10, "held by maintenance", |j| reason(j) == want);
    assert_eq!(j["status"]["primary"], "pending");
    assert_eq!(
        maud.wait_over(running, 30)["status"]["exitcode"],
        0,
        "a running job goes on"
    );
    assert_eq!(maud.file(running, "out.txt").1, "done\n");

    // It is kept in the database: a restart does not end it.
    srv.restart();
    let maud = srv.client("maud", &key);
    let (s, m) = maud.get("/api/1.0/maintenance");
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        (m["on"].clone(), m["message"].clone(), m["by"].clone()),
        (json!(true), json!("new disks until 14:00"), json!("admin"))
    );
    std::thread::sleep(Duration::from_secs(1));
    let j = maud.job(held);
    assert_eq!(j["status"]["primary"], "pending", "{j}");
    assert_eq!(reason(&j), want);

    let (ok, out) = god_client(&srv, "admin", &srv.admin_key, &["maintenance", "off"]);
    assert!(ok && out.starts_with("maintenance mode: off"), "{out}");
    let started = Instant::now();
    assert_eq!(maud.wait_over(held, 30)["status"]["exitcode"], 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "released at once"
    );
    assert_eq!(maud.file(held, "out.txt").1, "ran\n");
    // Both switches are in the audit log.
    let (s, log) = srv.admin().get("/api/1.0/audit?action=maintenance_on");
    assert_eq!(s, StatusCode::OK, "{log}");
    assert_eq!(log["entries"][0]["actor"], "admin", "{log}");
    assert_eq!(
        log["entries"][0]["detail"], "new disks until 14:00",
        "{log}"
    );
}

/// Usage per day with how each run ended (`?days=N`), of a user and of a project, on the
/// native executor's real runs; and the quotas with what is used of them.
#[test]
fn usage_says_how_runs_ended_and_quotas_what_is_used() {
    let srv = Server::start("outcomes", &native(""));
    let key = srv.add_user("olly", 2761, 2761, &[]);
    let admin = srv.admin();
    let (s, v) = admin.post(
        "/api/1.0/project",
        &json!({"id": "lab", "members": ["olly"], "quota_cpu": 4}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, mut u) = admin.get("/api/1.0/user/olly");
    u["usage"]["quota_cpu"] = json!(3);
    u["usage"]["quota_time"] = json!(36000);
    assert_eq!(admin.put("/api/1.0/user/olly", &u).0, StatusCode::OK);
    let olly = srv.client("olly", &key);
    let ok = olly.submit("native", "true", json!({"user": {"project": "lab"}}));
    let failed = olly.submit("native", "exit 3", json!({}));
    let limited = olly.submit(
        "native",
        "sleep 60",
        json!({"requirements": {"maxlifespan": "1s"}}),
    );
    let killed = olly.submit("native", "sleep 60", json!({}));
    olly.wait_running(killed, 30);
    olly.delete(&format!("/api/1.0/task/{killed}"));
    for id in [ok, failed, limited, killed] {
        olly.wait_over(id, 30);
    }
    let running = olly.submit("native", "sleep 60", json!({"user": {"project": "lab"}}));
    olly.wait_running(running, 30);

    let (s, days) = olly.get("/api/1.0/user/olly/usage?days=2");
    assert_eq!(s, StatusCode::OK, "{days}");
    assert_eq!(days.as_array().unwrap().len(), 2, "{days}");
    let today = &days[0];
    assert_eq!(
        today["jobs"],
        json!({"ok": 1, "failed": 1, "killed": 1, "node_failure": 0, "limit_reached": 1,
               "unknown": 0}),
        "{today}"
    );
    assert!(today["wall_hours"].as_f64().unwrap() > 0.0, "{today}");
    assert_eq!(days[1]["jobs"]["ok"], 0, "yesterday: {days}");
    // The original's answer has the original's keys.
    let (_, original) = olly.get("/api/1.0/user/olly/usage");
    let keys: Vec<&String> = original[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cpu", "date", "ram", "time"], "{original}");
    let (_, lab) = olly.get("/api/1.0/project/lab/usage?days=1");
    assert_eq!(lab[0]["jobs"]["ok"], 1, "{lab}");
    assert_eq!(lab[0]["jobs"]["failed"], 0, "{lab}");
    let (s, v) = olly.get("/api/1.0/user/olly/usage?days=0");
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("days"))
    );

    let (s, q) = olly.get("/api/1.0/user/olly/quota");
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(
        (
            q["user"]["quota_cpu"].clone(),
            q["user"]["used_cpu"].clone(),
            q["user"]["running"].clone()
        ),
        (json!(3.0), json!(1.0), json!(1)),
        "{q}"
    );
    assert!(q["user"]["used_time"].as_f64().unwrap() > 1.0, "{q}");
    assert_eq!(q["projects"][0]["id"], "lab", "{q}");
    assert_eq!(q["projects"][0]["quota_cpu"], 4.0, "{q}");
    assert_eq!(q["projects"][0]["used_cpu"], 1.0, "{q}");
    assert_eq!(q["window_days"], 30, "{q}");
    let other = srv.add_user("otto", 2762, 2762, &[]);
    let (s, _) = srv.client("otto", &other).get("/api/1.0/user/olly/quota");
    assert_eq!(s, StatusCode::FORBIDDEN);
    olly.delete(&format!("/api/1.0/task/{running}"));
}
