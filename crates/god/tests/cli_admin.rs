#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `god` client's administration commands (`god project`, `god account`), job arrays,
//! dependency conditions and `god update`, against the real server with the fake executor.

mod common;
use common::*;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const FAST: &str = "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.2}\ntick_seconds: 0.5\n";

/// Runs `god` as one user against the test server.
struct Cli {
    url: String,
    user: String,
    key: String,
    home: PathBuf,
}

impl Cli {
    fn new(srv: &Server, user: &str, key: &str) -> Cli {
        Cli {
            url: srv.url.clone(),
            user: user.into(),
            key: key.into(),
            home: temp_dir(&format!("cliadmin-{user}")),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(god_bin());
        c.args(args)
            .env("GOD_SERVER", &self.url)
            .env("GOD_USER", &self.user)
            .env("GOD_APIKEY", &self.key)
            .env("GOD_CLIENT_CONFIG", self.home.join("client.json"))
            .env("GOD_IMAGE", "debian:stable")
            .env("HOME", &self.home)
            .env_remove("COLUMNS");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "god {args:?} as {}: {}{}",
            self.user,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("god {args:?}: {e}: {out}"))
    }

    /// The command fails with exit status 1 and one line on stderr, `god: …`; returns it.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "god {args:?} as {} should fail: {}{}",
            self.user,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        assert!(err.starts_with("god: "), "{err}");
        err.trim_end().to_string()
    }

    /// `god submit …` → the job id.
    fn submit(&self, args: &[&str]) -> u64 {
        let mut all = vec!["submit", "--json"];
        all.extend_from_slice(args);
        self.json(&all)["id"].as_u64().unwrap()
    }
}

#[test]
fn projects_membership_and_quotas() {
    let srv = Server::start("cliadmin-projects", FAST);
    let admin = Cli::new(&srv, "admin", &srv.admin_key);
    let alice_key = srv.add_user("alice", 3101, 3101, &[]);
    let bob_key = srv.add_user("bob", 3102, 3102, &[]);
    let alice = Cli::new(&srv, "alice", &alice_key);
    let bob = Cli::new(&srv, "bob", &bob_key);

    let out = admin.ok(&[
        "project",
        "create",
        "genomics",
        "--description",
        "Genome assembly",
        "--members",
        "alice",
        "--prio",
        "60",
    ]);
    assert_eq!(out, "project genomics created\n");
    let p = admin.json(&["project", "show", "genomics", "--json"]);
    assert_eq!(p["members"], serde_json::json!(["alice"]), "{p}");
    assert_eq!(p["prio"], 60, "{p}");
    assert_eq!(p["description"], "Genome assembly", "{p}");
    let err = admin.fails(&["project", "create", "genomics"]);
    assert!(
        err.contains("already exists") && err.contains("409"),
        "{err}"
    );

    // Administrators see every project; members theirs (and default).
    let table = admin.ok(&["project", "list"]);
    assert!(
        table.contains("genomics") && table.contains("default"),
        "{table}"
    );
    let mine = alice.json(&["project", "list", "--json"]);
    let ids: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["default", "genomics"]);
    let theirs = bob.json(&["project", "list", "--json"]);
    assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");
    let show = alice.ok(&["project", "show", "genomics"]);
    assert!(show.contains("Members:     alice"), "{show}");

    // A member submits to the project; a non-member is refused in one line.
    let id = alice.submit(&["--project", "genomics", "--", "true"]);
    let job = alice.json(&["show", &id.to_string(), "--json"]);
    assert_eq!(job["user"]["project"], "genomics", "{job}");
    let err = bob.fails(&["submit", "--project", "genomics", "--", "true"]);
    assert!(
        err.contains("not a member of project genomics") && err.contains("HTTP 403"),
        "{err}"
    );
    // A project that does not exist looks, to a user, like one they are not in.
    let err = bob.fails(&["submit", "--project", "secret-lab", "--", "true"]);
    assert!(
        err.contains("not a member of project secret-lab") && err.contains("HTTP 403"),
        "{err}"
    );
    // Members must be users; usage of a project that does not exist cannot be reset.
    let err = admin.fails(&["project", "add-member", "genomics", "no-such-person"]);
    assert!(err.contains("\"no-such-person\" is not a user"), "{err}");
    let (s, _) = srv.admin().delete("/api/1.0/project/no-such-project/quota");
    assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
    // Only administrators change projects.
    let err = alice.fails(&["project", "set", "genomics", "--prio", "90"]);
    assert!(err.contains("403"), "{err}");
    let err = alice.fails(&["project", "create", "mine"]);
    assert!(err.contains("administrators only"), "{err}");

    // Members one at a time.
    let out = admin.ok(&["project", "add-member", "genomics", "bob", "alice"]);
    assert_eq!(out, "project genomics: members alice, bob\n");
    let bobs = bob.submit(&["--project", "genomics", "--", "true"]);
    let out = admin.run(&["project", "remove-member", "genomics", "bob", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "a login that was not a member");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "god: nobody is not a member of project genomics\n"
    );
    let p = admin.json(&["project", "show", "genomics", "--json"]);
    assert_eq!(p["members"], serde_json::json!(["alice"]), "{p}");

    // Quotas: a job asking for more than the project's CPU quota is refused.
    let out = admin.ok(&[
        "project",
        "set",
        "genomics",
        "--quota-cpu",
        "2",
        "--quota-time",
        "1h",
    ]);
    assert_eq!(
        out,
        "project genomics: quota_cpu 0 → 2, quota_time 0 → 3600\n"
    );
    let p = admin.json(&["project", "show", "genomics", "--json"]);
    assert_eq!(
        (p["quota_cpu"].as_f64(), p["quota_time"].as_f64()),
        (Some(2.0), Some(3600.0))
    );
    assert_eq!(p["description"], "Genome assembly", "the rest is kept: {p}");
    assert_eq!(p["prio"], 60, "{p}");
    let err = alice.fails(&[
        "submit",
        "--project",
        "genomics",
        "--cpu",
        "4",
        "--",
        "true",
    ]);
    assert!(err.contains("project cpu quota"), "{err}");
    let err = admin.fails(&["project", "set", "genomics"]);
    assert!(err.contains("nothing to change"), "{err}");

    // Usage: members and administrators; an empty usage is said so.
    // Both jobs of the project over, so no usage comes in after the reset below.
    srv.client("alice", &alice_key).wait_over(id, 30);
    srv.client("bob", &bob_key).wait_over(bobs, 30);
    let usage = alice.json(&["project", "usage", "genomics", "--json"]);
    assert!(usage.is_array(), "{usage}");
    alice.ok(&["project", "usage", "genomics"]);
    admin.ok(&["project", "reset-usage", "genomics"]);
    let out = admin.ok(&["project", "usage", "genomics"]);
    assert_eq!(out, "Project genomics has no usage in the last 30 days.\n");

    admin.ok(&["project", "delete", "genomics"]);
    let err = admin.fails(&["project", "show", "genomics"]);
    assert!(
        err.contains("does not exist") && err.contains("404"),
        "{err}"
    );
    // Deleted: to a former member it is a project they are not in.
    let err = alice.fails(&["submit", "--project", "genomics", "--", "true"]);
    assert!(err.contains("not a member of project genomics"), "{err}");
}

#[test]
fn accounts_show_set_usage_renew() {
    let srv = Server::start("cliadmin-accounts", FAST);
    let admin = Cli::new(&srv, "admin", &srv.admin_key);
    let carol_key = srv.add_user("carol", 3201, 3201, &[]);
    srv.add_user("dave", 3202, 3202, &[]);
    let carol = Cli::new(&srv, "carol", &carol_key);

    let out = admin.ok(&[
        "account",
        "set",
        "carol",
        "--quota-cpu",
        "4",
        "--quota-ram",
        "8",
        "--prio",
        "70",
    ]);
    assert_eq!(
        out,
        "account carol: usage.prio 50 → 70, usage.quota_cpu 0 → 4, usage.quota_ram 0 → 8\n"
    );
    for who in [&admin, &carol] {
        let u = who.json(&["account", "show", "carol", "--json"]);
        assert_eq!(u["usage"]["quota_cpu"].as_f64(), Some(4.0), "{u}");
        assert_eq!(u["usage"]["quota_ram"].as_f64(), Some(8.0), "{u}");
        assert_eq!(u["usage"]["prio"].as_f64(), Some(70.0), "{u}");
    }
    let me = carol.json(&["account", "show", "--json"]);
    assert_eq!(me["id"], "carol");
    let text = carol.ok(&["account", "show"]);
    assert!(
        text.contains("Quotas:   cpu 4, ram 8G, time none"),
        "{text}"
    );
    assert_eq!(
        carol.ok(&["whoami"]),
        text,
        "whoami is `account show` for oneself"
    );
    // The quota is enforced at submission.
    let err = carol.fails(&["submit", "--cpu", "5", "--", "true"]);
    assert!(err.contains("user cpu quota"), "{err}");
    // Setting the same value again changes nothing.
    assert_eq!(
        admin.ok(&["account", "set", "carol", "--quota-cpu", "4"]),
        "account carol: nothing to change\n"
    );

    // Non-administrators: not someone else's account, not their own quotas.
    let err = carol.fails(&["account", "set", "dave", "--quota-cpu", "1"]);
    assert!(err.contains("403"), "{err}");
    let err = carol.fails(&["account", "show", "dave"]);
    assert!(err.contains("403"), "{err}");
    let err = carol.fails(&["account", "set", "--quota-cpu", "100"]);
    assert!(
        err.contains("only administrators change priorities and quotas"),
        "{err}"
    );
    let err = carol.fails(&["account", "set", "--admin", "true"]);
    assert!(err.contains("only administrators change admin"), "{err}");
    let d = admin.json(&["account", "show", "dave", "--json"]);
    assert_eq!(d["usage"]["quota_cpu"].as_f64(), Some(0.0), "{d}");
    let err = admin.fails(&["account", "show", "nobody"]);
    assert!(err.contains("user nobody does not exist"), "{err}");

    // One's own SSH key; a private key is refused before anything is sent.
    let pubkey = carol.home.join("id.pub");
    std::fs::write(
        &pubkey,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtestkeytestkeytestkey carol@laptop\n",
    )
    .unwrap();
    carol.ok(&["account", "set", "--ssh-key", pubkey.to_str().unwrap()]);
    let me = carol.json(&["account", "show", "--json"]);
    assert_eq!(
        me["credentials"]["public"],
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtestkeytestkeytestkey carol@laptop"
    );
    let private = carol.home.join("id");
    std::fs::write(&private, "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n").unwrap();
    let err = carol.fails(&["account", "set", "--ssh-key", private.to_str().unwrap()]);
    assert!(err.contains("private key"), "{err}");
    carol.ok(&["account", "set", "--no-ssh-key"]);
    assert!(carol.json(&["account", "show", "--json"])["credentials"]["public"].is_null());

    // Administrators disable and enable accounts.
    admin.ok(&["account", "set", "dave", "--disabled", "true"]);
    assert_eq!(
        admin.json(&["account", "show", "dave", "--json"])["disabled"],
        true
    );
    admin.ok(&["account", "set", "dave", "--disabled", "false"]);

    // Usage: a list (per day), and one line when there is none.
    let id = carol.submit(&["--", "true"]);
    srv.client("carol", &carol_key).wait_over(id, 30);
    let usage = carol.json(&["account", "usage", "--json"]);
    assert!(usage.is_array(), "{usage}");
    let usage = admin.ok(&["account", "usage", "dave"]);
    assert_eq!(usage, "dave has no usage in the last 30 days.\n");

    // A new key for oneself: printed, saved where `god login` put the old one.
    let mut login = carol.command(&[
        "login", "--server", &srv.url, "--user", "carol", "--apikey", &carol_key,
    ]);
    login.env_remove("GOD_APIKEY");
    assert!(login.output().unwrap().status.success());
    let mut renew = carol.command(&["account", "renew-key"]);
    renew.env_remove("GOD_APIKEY");
    let out = renew.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!new_key.is_empty() && new_key != carol_key);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("saved in"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(carol.home.join("client.json")).unwrap()).unwrap();
    assert_eq!(saved["apikey"], new_key.as_str());
    let mut whoami = carol.command(&["whoami", "--json"]);
    whoami.env_remove("GOD_APIKEY");
    let out = whoami.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = carol.fails(&["whoami"]);
    assert!(err.contains("401"), "the old key no longer works: {err}");

    // An administrator renews someone else's key: printed, nothing saved.
    let out = admin.ok(&["account", "renew-key", "dave", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], "dave");
    let dave = Cli::new(&srv, "dave", v["apikey"].as_str().unwrap());
    assert_eq!(dave.json(&["whoami", "--json"])["id"], "dave");
    let err = dave.fails(&["account", "renew-key", "carol"]);
    assert!(err.contains("403"), "{err}");

    // The server-side `god user` commands are still there.
    let out = Command::new(god_bin())
        .args(["user", "list", "--json", "--data"])
        .arg(&srv.data)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn arrays_dependencies_and_updates() {
    let srv = Server::start("cliadmin-arrays", FAST);
    let key = srv.add_user("erin", 3301, 3301, &[]);
    let erin = Cli::new(&srv, "erin", &key);

    let out = erin.ok(&[
        "submit",
        "--array",
        "1:9:3",
        "--name",
        "sweep",
        "--wait",
        "--",
        "echo $GODOCKER_TASK_ID",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Job ") && lines[0].ends_with(" submitted (array 1:9:3, 3 tasks)"),
        "{out}"
    );
    assert!(
        lines[1].contains(": over, exit code 0")
            && lines[1].ends_with("(array 1:9:3: 3 of 3 tasks over, 0 failed)"),
        "{out}"
    );
    let parent: u64 = lines[0]
        .trim_start_matches("Job ")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let table = erin.ok(&["list", "--over"]);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "one line for the whole array:\n{table}");
    assert!(
        rows[1].trim_start().starts_with(&format!("{parent} ")),
        "{table}"
    );
    assert!(rows[1].ends_with("array 1:9:3: 3 over"), "{table}");
    let expanded = erin.ok(&["list", "--over", "--expand"]);
    assert_eq!(expanded.lines().count(), 5, "{expanded}");
    for index in ["sweep[1]", "sweep[4]", "sweep[7]"] {
        assert!(expanded.contains(index), "{expanded}");
    }
    let raw = erin.json(&["list", "--over", "--json"]);
    assert_eq!(
        raw.as_array().unwrap().len(),
        4,
        "--json is the server's list"
    );
    let show = erin.ok(&["show", &parent.to_string()]);
    assert!(
        show.contains("Array:     1:9:3: 3 tasks, 3 created, 3 over, 0 failed"),
        "{show}"
    );
    let err = erin.fails(&["submit", "--array", "9:1", "--", "true"]);
    assert!(err.contains("--array"), "{err}");

    // Dependency conditions reach the server as written.
    let first = erin.submit(&["--", "true"]);
    let second = erin.submit(&["--", "true"]);
    let dep = erin.submit(&[
        "--after",
        &first.to_string(),
        "--after-any",
        &second.to_string(),
        "--after-notok",
        &format!("{first},{second}"),
        "--",
        "true",
    ]);
    let job = erin.json(&["show", &dep.to_string(), "--json"]);
    assert_eq!(
        job["requirements"]["tasks"],
        serde_json::json!([
            first,
            format!("afterany:{second}"),
            format!("afternotok:{first}"),
            format!("afternotok:{second}")
        ]),
        "{job}"
    );
    let show = erin.ok(&["show", &dep.to_string()]);
    assert!(
        show.contains(&format!(
            "after job {first}, after job {second} ends, after job {first} fails"
        )),
        "{show}"
    );
    let err = erin.fails(&["submit", "--after-any", "999999", "--", "true"]);
    assert!(err.contains("job 999999 does not exist"), "{err}");

    // Other requirements: GPUs, retries, maximum run time; then change the latter.
    let pending = erin.submit(&[
        "--name",
        "norun",
        "--gpus",
        "0",
        "--retry",
        "2",
        "--maxlifespan",
        "1h",
        "--",
        "true",
    ]);
    let job = erin.json(&["show", &pending.to_string(), "--json"]);
    assert_eq!(job["requirements"]["failure_policy"], 2, "{job}");
    assert_eq!(job["requirements"]["maxlifespan"], "1h", "{job}");
    let out = erin.ok(&["update", &pending.to_string(), "--maxlifespan", "2h"]);
    assert_eq!(out, format!("job {pending}: maxlifespan set to 2h\n"));
    let job = erin.json(&["show", &pending.to_string(), "--json"]);
    assert_eq!(job["requirements"]["maxlifespan"], "2h", "{job}");
    let err = erin.fails(&["update", &pending.to_string(), "--maxlifespan", "soon"]);
    assert!(err.contains("not a duration"), "{err}");
    let err = erin.fails(&["update", "999999", "--maxlifespan", "2h"]);
    assert!(err.contains("job 999999 does not exist"), "{err}");
    // A label the server does not offer is refused by the server, in one line.
    let err = erin.fails(&["submit", "--label", "disk==ssd", "--", "true"]);
    assert!(err.contains("requirements.label[0]"), "{err}");
    let err = erin.fails(&["submit", "--label", "disk=ssd", "--", "true"]);
    assert!(err.contains("NAME==VALUE"), "{err}");
    erin.ok(&["kill", &pending.to_string()]);
}

#[test]
fn login_with_a_password_keeps_a_session() {
    let srv = Server::start(
        "clipassword",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.1}\n",
    );
    let key = srv.add_user("pia", 2801, 2801, &[]);
    let api = srv.client("pia", &key);
    let (s, v) = api.post(
        "/api/1.0/user/pia/password",
        &serde_json::json!({"password": "correct horse"}),
    );
    assert!(s.is_success(), "{v}");
    let home = temp_dir("clipassword-home");
    let god = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(god_bin())
            .args(args)
            .env("GOD_CLIENT_CONFIG", home.join("client.json"))
            .env("HOME", &home)
            .env_remove("GOD_APIKEY")
            .env_remove("GOD_SERVER")
            .env_remove("GOD_USER")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let bad = god(
        &[
            "login",
            "--server",
            &srv.url,
            "--user",
            "pia",
            "--password",
            "-",
        ],
        "wrong password\n",
    );
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim().lines().count(),
        1
    );
    let ok = god(
        &[
            "login",
            "--server",
            &srv.url,
            "--user",
            "pia",
            "--password",
            "-",
        ],
        "correct horse\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let saved = std::fs::read_to_string(home.join("client.json")).unwrap();
    assert!(
        !saved.contains("correct horse"),
        "the password is not stored"
    );
    let me = god(&["whoami", "--json"], "");
    assert!(
        me.status.success(),
        "{}",
        String::from_utf8_lossy(&me.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&me.stdout).unwrap();
    assert_eq!(v["id"], "pia");
}
