//! Authentication policies on the real server: local argon2 passwords, `fake` refused unless
//! allowed, `system` (host accounts: NSS + PAM) with a user made by `useradd`, and the rate
//! limit on failed logins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use god_store::AccountStore;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FAKE: &str = "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.2}\ntick_seconds: 0.5\n";

/// `POST /authenticate` with `body`: status, `Retry-After`, body.
fn authenticate(srv: &Server, body: Value) -> (StatusCode, Option<u64>, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/1.0/authenticate", srv.url))
        .json(&body)
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    let status = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, r.json().unwrap_or(Value::Null))
}

fn password_client(srv: &Server, user: &str, password: &str) -> Api {
    let (s, _, v) = authenticate(srv, json!({"user": user, "password": password}));
    assert_eq!(s, StatusCode::OK, "password login {user}: {v}");
    Api {
        base: srv.url.clone(),
        token: v["token"].as_str().unwrap().to_string(),
        http: reqwest::blocking::Client::new(),
    }
}

fn stored_password_hash(srv: &Server, login: &str) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = god_store::SqliteStore::open(&srv.data.join("god.db"), false)
            .await
            .unwrap();
        store.get_user(login).await.unwrap().unwrap().password_hash
    })
}

#[test]
fn local_passwords_are_argon2_hashed_and_checked() {
    let srv = Server::start("local-pw", FAKE);
    let key = srv.add_user("dave", 3201, 3201, &[]);
    let erin_key = srv.add_user("erin", 3202, 3202, &[]);
    let dave = srv.client("dave", &key);
    let erin = srv.client("erin", &erin_key);

    // No password yet: password logins fail.
    let (s, _, _) = authenticate(&srv, json!({"user": "dave", "password": "whatever1"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, v) = dave.post("/api/1.0/user/dave/password", &json!({"password": "short"}));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], "password");
    assert!(v["error"].as_str().unwrap().contains("8"), "{v}");
    let (s, v) = dave.post("/api/1.0/user/dave/password", &json!({"nope": 1}));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = dave.post(
        "/api/1.0/user/dave/password",
        &json!({"password": "correct horse"}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    let phc = stored_password_hash(&srv, "dave").expect("a stored hash");
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(!phc.contains("correct horse"));

    // Only the user or an administrator.
    let (s, _) = erin.post(
        "/api/1.0/user/dave/password",
        &json!({"password": "erin was here"}),
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = srv.admin().post(
        "/api/1.0/user/erin/password",
        &json!({"password": "set by admin"}),
    );
    assert_eq!(s, StatusCode::OK);
    let (s, _) = srv.admin().post(
        "/api/1.0/user/nobody/password",
        &json!({"password": "12345678"}),
    );
    assert_eq!(s, StatusCode::NOT_FOUND);

    let d = password_client(&srv, "dave", "correct horse");
    let (s, me) = d.get("/api/1.0/user/dave");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["uid"], 3201);
    password_client(&srv, "erin", "set by admin");
    let (s, _, v) = authenticate(&srv, json!({"user": "dave", "password": "correct horsE"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _, _) = authenticate(&srv, json!({"user": "ghost", "password": "correct horse"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Neither or both credentials: 400.
    let (s, _, _) = authenticate(&srv, json!({"user": "dave"}));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = authenticate(
        &srv,
        json!({"user": "dave", "password": "correct horse", "apikey": key}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The API key still works, and a disabled user is refused either way.
    srv.client("dave", &key);
    let (s, v) = srv
        .admin()
        .put("/api/1.0/user/dave", &json!({"disabled": true}));
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, _) = authenticate(&srv, json!({"user": "dave", "password": "correct horse"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = authenticate(&srv, json!({"user": "dave", "apikey": key}));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Run `god up` with `config`; wait for it to exit (or kill it after `secs`).
fn run_up(name: &str, config: &str, secs: u64) -> (Option<i32>, String) {
    let dir = temp_dir(name);
    let cfg = dir.join("go-d.yml");
    std::fs::write(&cfg, config).unwrap();
    let mut child = Command::new(god_bin())
        .args(["up", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.code(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What only start-up can find (a CA file that gives no certificate) is a configuration
/// problem like the others: one line naming the key, exit status not 0.
#[test]
fn an_unusable_ldap_ca_cert_stops_start_up_naming_the_key() {
    let (code, stderr) = run_up(
        "ldap-no-ca",
        &format!(
            "{FAKE}auth_policy: ldap\nldap_host: 127.0.0.1\nldap_dn: dc=x\n\
             ldap: {{ssl: true, ca_cert: /nonexistent/ca.pem}}\n"
        ),
        30,
    );
    assert!(
        matches!(code, Some(c) if c != 0),
        "god up must exit non-zero: {code:?}"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("configuration: ldap.ca_cert: "))
        .unwrap_or_else(|| panic!("no ldap.ca_cert line in:\n{stderr}"));
    assert!(line.contains("/nonexistent/ca.pem"), "{line}");
    assert!(
        stderr.contains("the configuration is not usable: 1 problem above"),
        "{stderr}"
    );
}

#[test]
fn fake_policy_is_refused_at_start_up_unless_allowed() {
    let (code, stderr) = run_up("fake-refused", &format!("{FAKE}auth_policy: fake\n"), 30);
    assert!(
        matches!(code, Some(c) if c != 0),
        "god up must exit non-zero: {code:?}"
    );
    assert!(stderr.contains("auth_policy"), "{stderr}");
    assert!(stderr.contains("allow_fake_auth"), "{stderr}");

    let srv = Server::start(
        "fake-allowed",
        &format!("{FAKE}auth_policy: fake\nallow_fake_auth: true\n"),
    );
    let z = password_client(&srv, "zed-nobody", "anything");
    let (_, me) = z.get("/api/1.0/user/zed-nobody");
    assert_eq!(
        (me["uid"].clone(), me["gid"].clone()),
        (json!(1001), json!(1001))
    );
    assert_eq!(me["email"], "zed-nobody@fake.org");
    assert_eq!(me["homeDirectory"], "/home/zed-nobody");
    let id = z.submit("img", "true", json!({}));
    assert_eq!(z.job(id)["user"]["uid"], 1001);
    let (s, _, _) = authenticate(&srv, json!({"user": "zed-nobody", "password": ""}));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "empty password");
    let (s, _, _) = authenticate(&srv, json!({"user": "fake", "password": "x"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the login fake is refused");
    // A login of the host with uid 0 never becomes a Go-Docker user.
    let (s, _, v) = authenticate(&srv, json!({"user": "root", "password": "x"}));
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[test]
fn the_policy_can_veto_a_job_and_barred_accounts_jobs_wait() {
    let srv = Server::start(
        "can-run",
        "executors: [fake]\nfake: {fail_on: 0, cpus: 1, run_seconds: 30}\ntick_seconds: 0.3\n\
         auth_policy: fake\nallow_fake_auth: true\n",
    );
    // `can_run` of the policy is asked before a job starts (the fake policy refuses this tag).
    let v = password_client(&srv, "vera", "pw");
    let id = v.submit(
        "img",
        "true",
        json!({"meta": {"tags": ["fake-auth:refuse"]}}),
    );
    let job = v.wait_over(id, 30);
    let reason = job["status"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("fake authentication policy does not let this job run"),
        "{job}"
    );
    assert!(job["container"]["id"].is_null(), "never started: {job}");

    // One CPU: vera's first job runs, her second waits; disabled, it waits for that reason.
    let first = v.submit("img", "true", json!({}));
    v.wait_running(first, 30);
    let second = v.submit("img", "true", json!({}));
    let (s, _) = srv
        .admin()
        .put("/api/1.0/user/vera", &json!({"disabled": true}));
    assert_eq!(s, StatusCode::OK);
    let admin = srv.admin();
    let job = admin.wait_for(second, 30, "the disabled reason", |j| {
        j["status"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("account is disabled"))
    });
    assert_eq!(job["status"]["primary"], "pending");
}

fn sh(cmd: &str) -> (bool, String) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// A host account made for the test, removed when dropped.
struct HostUser;

const HOST_USER: &str = "godtest1";
const HOST_GROUP: &str = "godtestg1";
const HOST_PASSWORD: &str = "Tr0ub4dor&3-god";

impl HostUser {
    fn create() -> HostUser {
        Self::remove();
        let (ok, out) = sh(&format!("groupadd {HOST_GROUP} 2>&1"));
        assert!(ok, "groupadd: {out}");
        let (ok, out) = sh(&format!(
            "useradd -M -d /home/{HOST_USER} -s /bin/sh -G {HOST_GROUP} {HOST_USER} 2>&1"
        ));
        assert!(ok, "useradd: {out}");
        let (ok, out) = sh(&format!(
            "echo '{HOST_USER}:{HOST_PASSWORD}' | chpasswd 2>&1"
        ));
        assert!(ok, "chpasswd: {out}");
        HostUser
    }

    fn remove() {
        let _ = sh(&format!("userdel {HOST_USER} 2>/dev/null"));
        let _ = sh(&format!("groupdel {HOST_GROUP} 2>/dev/null"));
    }
}

impl Drop for HostUser {
    fn drop(&mut self) {
        Self::remove();
    }
}

#[test]
fn system_policy_logs_in_host_users_through_pam() {
    if sh("id -u").1 != "0" {
        eprintln!("not root: cannot create a host user; skipping");
        return;
    }
    if !Path::new("/etc/pam.d/login").is_file() {
        eprintln!("no PAM service `login` on this machine; skipping");
        return;
    }
    let _user = HostUser::create();
    let uid: u64 = sh(&format!("id -u {HOST_USER}")).1.parse().unwrap();
    let gid: u64 = sh(&format!("id -g {HOST_USER}")).1.parse().unwrap();
    let sgid: u64 = sh(&format!("getent group {HOST_GROUP} | cut -d: -f3"))
        .1
        .parse()
        .unwrap();

    let srv = Server::start(
        "system-pam",
        &format!("{FAKE}auth_policy: system\npam_service: login\n"),
    );
    let u = password_client(&srv, HOST_USER, HOST_PASSWORD);
    let (s, me) = u.get(&format!("/api/1.0/user/{HOST_USER}"));
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["uid"], uid, "{me}");
    assert_eq!(me["gid"], gid, "{me}");
    assert!(
        me["sgids"].as_array().unwrap().contains(&json!(sgid)),
        "secondary group {HOST_GROUP} ({sgid}): {me}"
    );
    assert_eq!(me["homeDirectory"], format!("/home/{HOST_USER}"));
    let id = u.submit("img", "id", json!({}));
    assert_eq!(u.job(id)["user"]["uid"], uid);

    let (s, _, v) = authenticate(
        &srv,
        json!({"user": HOST_USER, "password": "wrong-password"}),
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _, _) = authenticate(&srv, json!({"user": "no-such-host-user", "password": "x"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The record made at first login carries an API key (unseen until renewed).
    let (s, k) = u.post(&format!("/api/1.0/user/{HOST_USER}/apikey"), &json!({}));
    assert_eq!(s, StatusCode::OK);
    let by_key = srv.client(HOST_USER, k["apikey"].as_str().unwrap());
    assert_eq!(by_key.get("/api/1.0/task/active").0, StatusCode::OK);
}

#[test]
fn system_policy_without_pam_refuses_passwords_clearly() {
    // A PAM service that does not exist: password logins say why; API keys still work.
    let srv = Server::start(
        "system-nopam",
        &format!("{FAKE}auth_policy: system\npam_service: god-no-such-service\n"),
    );
    let (s, _, v) = authenticate(&srv, json!({"user": "root", "password": "whatever"}));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("API key") && err.contains("PAM"), "{err}");
    let key = srv.add_user("kim", 3301, 3301, &[]);
    srv.client("kim", &key);
}

#[test]
fn failed_logins_are_rate_limited() {
    let srv = Server::start("ratelimit", FAKE);
    let gus = srv.add_user("gus", 3401, 3401, &[]);
    let ivy = srv.add_user("ivy", 3402, 3402, &[]);
    let hal = srv.add_user("hal", 3403, 3403, &[]);

    // 5 failures of one login: the 6th attempt is refused unchecked, even with the right key.
    for i in 0..5 {
        let (s, _, v) = authenticate(&srv, json!({"user": "gus", "apikey": "wrong"}));
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}: {v}");
    }
    let (s, retry, v) = authenticate(&srv, json!({"user": "gus", "apikey": gus}));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let retry = retry.expect("Retry-After");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let (s, _, _) = authenticate(&srv, json!({"user": "GUS", "password": "wrong-pass"}));
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "logins compare case-insensitively"
    );

    // A success resets the login's count.
    for _ in 0..2 {
        for _ in 0..4 {
            let (s, _, _) = authenticate(&srv, json!({"user": "ivy", "apikey": "wrong"}));
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        srv.client("ivy", &ivy);
    }

    // 20 failures from one address (5 + 8 so far): then everybody there waits.
    srv.client("hal", &hal);
    for i in 0..7 {
        let (s, _, _) = authenticate(
            &srv,
            json!({"user": format!("x{i}"), "password": "wrong-pass"}),
        );
        assert_eq!(s, StatusCode::UNAUTHORIZED, "x{i}");
    }
    let (s, retry, v) = authenticate(&srv, json!({"user": "hal", "apikey": hal}));
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(retry.is_some());
}
