//! `auth_policy: ldap` against a real OpenLDAP (scripts/start-slapd.sh): password logins, the
//! user's identity from the directory (uid, gid, posixGroup groups, home), no filter injection,
//! and TLS on every path (LDAPS, StartTLS, a certificate from the wrong CA refused).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/start-slapd.sh")
}

/// The directory of one slapd, stopped when dropped.
struct Slapd {
    dir: PathBuf,
}

impl Slapd {
    fn start() -> Slapd {
        let dir = temp_dir("slapd");
        let out = Command::new("bash")
            .arg(script())
            .arg(&dir)
            .output()
            .expect("run start-slapd.sh");
        assert!(
            out.status.success(),
            "start-slapd.sh: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let pidfile = stdout.lines().last().unwrap_or_default().trim().to_string();
        assert!(
            Path::new(&pidfile).is_file(),
            "pid file {pidfile:?} from start-slapd.sh"
        );
        Slapd { dir }
    }

    fn ca(&self) -> String {
        self.dir.join("tls/ca.pem").display().to_string()
    }

    fn other_ca(&self) -> String {
        self.dir.join("tls/other-ca.pem").display().to_string()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

const BASE: &str = "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.2}\ntick_seconds: 0.5\n\
    auth_policy: ldap\nldap_host: 127.0.0.1\nldap_dn: dc=example,dc=org\n\
    ldap_base_dn_filter: ou=people\nldap_admin_dn: cn=admin,dc=example,dc=org\n\
    ldap_admin_password: adminpw\n";

/// `POST /authenticate {user, password}`: status, body.
fn password_login(srv: &Server, user: &str, password: &str) -> (StatusCode, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/1.0/authenticate", srv.url))
        .json(&json!({"user": user, "password": password}))
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

/// A client logged in with a password.
fn client(srv: &Server, user: &str, password: &str) -> Api {
    let (s, v) = password_login(srv, user, password);
    assert_eq!(s, StatusCode::OK, "login {user}: {v}");
    assert!(v["expires"].as_f64().unwrap() > 0.0);
    Api {
        base: srv.url.clone(),
        token: v["token"].as_str().unwrap().to_string(),
        http: reqwest::blocking::Client::new(),
    }
}

#[test]
fn ldap_logins_identity_injection_and_tls() {
    let ldap = Slapd::start();

    // Plain LDAP: the flow, the identity, jobs, wrong passwords, injection.
    let srv = Server::start("ldap-plain", &format!("{BASE}ldap_port: 3389\n"));
    let alice = client(&srv, "alice", "alicepw");
    let (s, me) = alice.get("/api/1.0/user/alice");
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["uid"], 2101, "{me}");
    assert_eq!(me["gid"], 2101, "{me}");
    assert!(
        me["sgids"].as_array().unwrap().contains(&json!(2200)),
        "posixGroup science: {me}"
    );
    assert_eq!(me["homeDirectory"], "/home/alice");
    assert_eq!(me["email"], "alice@example.org");
    let id = alice.submit("img", "id", json!({}));
    let job = alice.job(id);
    assert_eq!(job["user"]["id"], "alice");
    assert_eq!(job["user"]["uid"], 2101, "{job}");
    assert_eq!(job["user"]["gid"], 2101, "{job}");
    alice.wait_over(id, 30);

    // The mail attribute logs in too, as the entry's uid.
    let by_mail = client(&srv, "alice@example.org", "alicepw");
    assert_eq!(by_mail.get("/api/1.0/user/alice").0, StatusCode::OK);

    let (s, v) = password_login(&srv, "alice", "wrong");
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = password_login(&srv, "alice", "");
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "empty password: no anonymous bind"
    );
    let (s, _) = password_login(&srv, "nobody", "alicepw");
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Filter injection: `(|(uid=*)(uid=*)(mail=...))` would match everybody.
    for evil in ["*)(uid=*", "*", "alice)(uid=*", "*)(|(uid=*"] {
        let (s, v) = password_login(&srv, evil, "alicepw");
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{evil}: {v}");
    }
    // bob's first login creates his account, with his own identity.
    let bob = client(&srv, "bob", "bobpw");
    let (_, b) = bob.get("/api/1.0/user/bob");
    assert_eq!(
        (b["uid"].clone(), b["gid"].clone()),
        (json!(2102), json!(2102))
    );
    assert_eq!(b["sgids"], json!([]));
    assert_eq!(bob.get("/api/1.0/user/alice").0, StatusCode::FORBIDDEN);
    // API keys still work (ours, whatever the policy).
    let (s, k) = alice.post("/api/1.0/user/alice/apikey", &json!({}));
    assert_eq!(s, StatusCode::OK);
    let by_key = srv.client("alice", k["apikey"].as_str().unwrap());
    assert_eq!(by_key.get("/api/1.0/task/active").0, StatusCode::OK);
    // Local passwords are not ours to set under LDAP.
    let (s, v) = by_key.post(
        "/api/1.0/user/alice/password",
        &json!({"password": "12345678"}),
    );
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    drop(srv);

    // LDAPS with the directory's CA.
    let srv = Server::start(
        "ldaps",
        &format!(
            "{BASE}ldap_port: 3636\nldap: {{ssl: true, ca_cert: {}}}\n",
            ldap.ca()
        ),
    );
    let a = client(&srv, "alice", "alicepw");
    assert_eq!(a.get("/api/1.0/user/alice").1["uid"], 2101);
    assert_eq!(
        password_login(&srv, "alice", "nope").0,
        StatusCode::UNAUTHORIZED
    );
    drop(srv);

    // StartTLS on the plain port.
    let srv = Server::start(
        "ldap-starttls",
        &format!(
            "{BASE}ldap_port: 3389\nldap: {{starttls: true, ca_cert: {}}}\n",
            ldap.ca()
        ),
    );
    client(&srv, "bob", "bobpw");
    assert_eq!(
        password_login(&srv, "bob", "alicepw").0,
        StatusCode::UNAUTHORIZED
    );
    drop(srv);

    // A server certificate not signed by the configured CA: no login, on either path.
    for (name, extra) in [
        (
            "ldaps-badca",
            "ldap_port: 3636\nldap: {ssl: true, ca_cert: CA}\n",
        ),
        (
            "starttls-badca",
            "ldap_port: 3389\nldap: {starttls: true, ca_cert: CA}\n",
        ),
    ] {
        let srv = Server::start(
            name,
            &format!("{BASE}{}", extra.replace("CA", &ldap.other_ca())),
        );
        let (s, v) = password_login(&srv, "alice", "alicepw");
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{name}: {v}");
        let err = v["error"].as_str().unwrap_or_default().to_lowercase();
        assert!(
            err.contains("certificate") || err.contains("tls"),
            "{name}: {err}"
        );
    }
}
