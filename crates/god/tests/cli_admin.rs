#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `god` client's administration commands (`god project`, `god account`), job arrays,
//! dependency conditions and `god update`, against the real server with the fake executor.
//!
//! Each test is a transcript (`common/transcript.rs`): the commands, what they print and how
//! they exit, compared whole with `tests/transcripts/cli_admin_*.txt`. `UPDATE_EXPECT=1`
//! rewrites them; read the diff before committing it. A failing command must also exit 1
//! with one line `god: …` on standard error (checked by `Transcript::fails` on every run).

mod common;
use common::transcript::Transcript;
use common::*;

use expect_test::expect_file;
use serde_json::json;

const FAST: &str = "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.2}\ntick_seconds: 0.5\n";

/// The id in `Job 12 submitted…`.
fn submitted_id(out: &str) -> u64 {
    out.trim_start_matches("Job ")
        .split_whitespace()
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no job id in {out:?}"))
}

#[test]
fn projects_membership_and_quotas() {
    let srv = Server::start("cliadmin-projects", FAST);
    let mut t = Transcript::new(&srv);
    let admin = t.user(&srv, "admin", &srv.admin_key);
    let alice_key = srv.add_user("alice", 3101, 3101, &[]);
    let bob_key = srv.add_user("bob", 3102, 3102, &[]);
    let alice = t.user(&srv, "alice", &alice_key);
    let bob = t.user(&srv, "bob", &bob_key);

    t.ok(
        &admin,
        &[
            "project",
            "create",
            "genomics",
            "--description",
            "Genome assembly",
            "--members",
            "alice",
            "--prio",
            "60",
        ],
    );
    t.ok(&admin, &["project", "show", "genomics"]);
    t.fails(&admin, &["project", "create", "genomics"]);

    t.note("Administrators see every project; members theirs (and default).");
    t.ok(&admin, &["project", "list"]);
    t.ok(&alice, &["project", "list"]);
    t.ok(&bob, &["project", "list"]);
    let ids: Vec<String> = t
        .json(&alice, &["project", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["default", "genomics"]);
    t.ok(&alice, &["project", "show", "genomics"]);

    t.note("A member submits to the project; a non-member is refused in one line.");
    let id = submitted_id(&t.ok(&alice, &["submit", "--project", "genomics", "--", "true"]));
    t.ok_grep(&alice, &["show", &id.to_string()], &["User:"]);
    let job = t.json(&alice, &["show", &id.to_string(), "--json"]);
    assert_eq!(job["user"]["project"], "genomics", "{job}");
    t.fails(&bob, &["submit", "--project", "genomics", "--", "true"]);
    t.note("A project that does not exist looks, to a user, like one they are not in.");
    t.fails(&bob, &["submit", "--project", "secret-lab", "--", "true"]);
    t.note("Members must be users.");
    t.fails(
        &admin,
        &["project", "add-member", "genomics", "no-such-person"],
    );
    // Usage of a project that does not exist cannot be reset.
    let (s, _) = srv.admin().delete("/api/1.0/project/no-such-project/quota");
    assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
    t.note("Only administrators change projects.");
    t.fails(&alice, &["project", "set", "genomics", "--prio", "90"]);
    t.fails(&alice, &["project", "create", "mine"]);

    t.note("Members one at a time; a login that was not a member fails the command.");
    t.ok(
        &admin,
        &["project", "add-member", "genomics", "bob", "alice"],
    );
    let bobs = submitted_id(&t.ok(&bob, &["submit", "--project", "genomics", "--", "true"]));
    t.fails(
        &admin,
        &["project", "remove-member", "genomics", "bob", "nobody"],
    );
    t.ok_grep(&admin, &["project", "show", "genomics"], &["Members:"]);

    t.note("Quotas: a job asking for more than the project's CPU quota is refused.");
    t.ok(
        &admin,
        &[
            "project",
            "set",
            "genomics",
            "--quota-cpu",
            "2",
            "--quota-time",
            "1h",
        ],
    );
    t.note("The rest (description, priority) is kept.");
    t.ok(&admin, &["project", "show", "genomics"]);
    let p = t.json(&admin, &["project", "show", "genomics", "--json"]);
    assert_eq!(
        (
            p["quota_cpu"].as_f64(),
            p["quota_time"].as_f64(),
            &p["prio"]
        ),
        (Some(2.0), Some(3600.0), &json!(60)),
        "{p}"
    );
    t.fails(
        &alice,
        &[
            "submit",
            "--project",
            "genomics",
            "--cpu",
            "4",
            "--",
            "true",
        ],
    );
    t.fails(&admin, &["project", "set", "genomics"]);

    t.note("Usage: members and administrators; an empty usage is said so.");
    // Both jobs of the project over, so no usage comes in after the reset below.
    srv.client("alice", &alice_key).wait_over(id, 30);
    srv.client("bob", &bob_key).wait_over(bobs, 30);
    let usage = t.json(&alice, &["project", "usage", "genomics", "--json"]);
    assert!(usage.is_array(), "{usage}");
    t.ok_unstable(&alice, &["project", "usage", "genomics"]);
    t.ok(&admin, &["project", "reset-usage", "genomics"]);
    t.ok(&admin, &["project", "usage", "genomics"]);

    t.ok(&admin, &["project", "delete", "genomics"]);
    t.fails(&admin, &["project", "show", "genomics"]);
    t.note("Deleted: to a former member it is a project they are not in.");
    t.fails(&alice, &["submit", "--project", "genomics", "--", "true"]);

    t.check(expect_file!["transcripts/cli_admin_projects.txt"]);
}

#[test]
fn accounts_show_set_usage_renew() {
    let srv = Server::start("cliadmin-accounts", FAST);
    let mut t = Transcript::new(&srv);
    let admin = t.user(&srv, "admin", &srv.admin_key);
    let carol_key = srv.add_user("carol", 3201, 3201, &[]);
    let dave_key = srv.add_user("dave", 3202, 3202, &[]);
    t.replace(&dave_key, "<key:dave>");
    let carol = t.user(&srv, "carol", &carol_key);

    t.ok(
        &admin,
        &[
            "account",
            "set",
            "carol",
            "--quota-cpu",
            "4",
            "--quota-ram",
            "8",
            "--prio",
            "70",
        ],
    );
    t.ok(&admin, &["account", "show", "carol"]);
    t.ok(&carol, &["account", "show", "carol"]);
    let u = t.json(&carol, &["account", "show", "--json"]);
    assert_eq!(u["id"], "carol");
    assert_eq!(
        (
            u["usage"]["quota_cpu"].as_f64(),
            u["usage"]["quota_ram"].as_f64(),
            u["usage"]["prio"].as_f64()
        ),
        (Some(4.0), Some(8.0), Some(70.0)),
        "{u}"
    );
    t.note("`whoami` is `account show` for oneself.");
    let shown = t.ok(&carol, &["account", "show"]);
    assert_eq!(t.ok(&carol, &["whoami"]), shown);
    t.note("The quota is enforced at submission.");
    t.fails(&carol, &["submit", "--cpu", "5", "--", "true"]);
    t.note("Setting the same value again changes nothing.");
    t.ok(&admin, &["account", "set", "carol", "--quota-cpu", "4"]);

    t.note("Non-administrators: not someone else's account, not their own quotas.");
    t.fails(&carol, &["account", "set", "dave", "--quota-cpu", "1"]);
    t.fails(&carol, &["account", "show", "dave"]);
    t.fails(&carol, &["account", "set", "--quota-cpu", "100"]);
    t.fails(&carol, &["account", "set", "--admin", "true"]);
    t.ok_grep(&admin, &["account", "show", "dave"], &["Quotas:"]);
    t.fails(&admin, &["account", "show", "nobody"]);

    t.note("One's own SSH key; a private key is refused before anything is sent.");
    let pubkey = carol.home.join("id.pub");
    let key_line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtestkeytestkeytestkey carol@laptop";
    std::fs::write(&pubkey, format!("{key_line}\n")).unwrap();
    t.ok(
        &carol,
        &["account", "set", "--ssh-key", pubkey.to_str().unwrap()],
    );
    let me = t.json(&carol, &["account", "show", "--json"]);
    assert_eq!(me["credentials"]["public"], key_line);
    let private = carol.home.join("id");
    std::fs::write(&private, "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n").unwrap();
    t.fails(
        &carol,
        &["account", "set", "--ssh-key", private.to_str().unwrap()],
    );
    t.ok(&carol, &["account", "set", "--no-ssh-key"]);
    t.ok_grep(&carol, &["account", "show"], &["SSH key:"]);
    let me = t.json(&carol, &["account", "show", "--json"]);
    assert!(me["credentials"]["public"].is_null(), "{me}");

    t.note("Administrators disable and enable accounts.");
    t.ok(&admin, &["account", "set", "dave", "--disabled", "true"]);
    t.ok_grep(&admin, &["account", "show", "dave"], &["User:"]);
    let d = t.json(&admin, &["account", "show", "dave", "--json"]);
    assert_eq!(d["disabled"], true, "{d}");
    t.ok(&admin, &["account", "set", "dave", "--disabled", "false"]);

    t.note("Usage: a list (per day), and one line when there is none.");
    let id = submitted_id(&t.ok(&carol, &["submit", "--", "true"]));
    srv.client("carol", &carol_key).wait_over(id, 30);
    let usage = t.json(&carol, &["account", "usage", "--json"]);
    assert!(usage.is_array(), "{usage}");
    t.ok(&admin, &["account", "usage", "dave"]);

    t.note("A new key for oneself: printed, saved where `god login` put the old one.");
    let saved_carol = carol.without("GOD_APIKEY", "carol(saved)");
    t.ok(
        &saved_carol,
        &[
            "login", "--server", &srv.url, "--user", "carol", "--apikey", &carol_key,
        ],
    );
    let new_key = t.ok(&saved_carol, &["account", "renew-key"]);
    let new_key = new_key.trim().to_string();
    assert!(!new_key.is_empty() && new_key != carol_key);
    t.replace(&new_key, "<new key:carol>");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(carol.home.join("client.json")).unwrap()).unwrap();
    assert_eq!(saved["apikey"], new_key.as_str());
    t.ok(&saved_carol, &["whoami"]);
    t.note("The old key no longer works.");
    t.fails(&carol, &["whoami"]);

    t.note("An administrator renews someone else's key: printed, nothing saved.");
    let out = t.ok(&admin, &["account", "renew-key", "dave", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], "dave");
    let daves = v["apikey"].as_str().unwrap();
    t.replace(daves, "<new key:dave>");
    let dave = t.user(&srv, "dave", daves);
    t.ok_grep(&dave, &["whoami"], &["User:"]);
    t.fails(&dave, &["account", "renew-key", "carol"]);

    t.note("The server-side `god user` commands are still there.");
    let server = t.person("server");
    t.ok(
        &server,
        &["user", "list", "--data", srv.data.to_str().unwrap()],
    );

    t.check(expect_file!["transcripts/cli_admin_accounts.txt"]);
}

#[test]
fn arrays_dependencies_and_updates() {
    let srv = Server::start("cliadmin-arrays", FAST);
    let mut t = Transcript::new(&srv);
    let key = srv.add_user("erin", 3301, 3301, &[]);
    let erin = t.user(&srv, "erin", &key);

    let out = t.ok(
        &erin,
        &[
            "submit",
            "--array",
            "1:9:3",
            "--name",
            "sweep",
            "--wait",
            "--",
            "echo $GODOCKER_TASK_ID",
        ],
    );
    let parent = submitted_id(&out);

    t.note("One line for the whole array; --expand lists its tasks.");
    t.ok(&erin, &["list", "--over"]);
    t.ok(&erin, &["list", "--over", "--expand"]);
    let raw = t.json(&erin, &["list", "--over", "--json"]);
    assert_eq!(
        raw.as_array().unwrap().len(),
        4,
        "--json is the server's list"
    );
    t.note("Filtered lists: newest first, an array one line counted by the server.");
    t.ok(&erin, &["list", "--over", "--name", "SWEEP"]);
    t.ok(
        &erin,
        &["list", "--over", "--name", "sweep", "--limit", "1"],
    );
    t.ok(&erin, &["list", "--tag", "none-has-it"]);
    t.fails(&erin, &["list", "--state", "over"]);
    t.ok_grep(&erin, &["show", &parent.to_string()], &["Array:"]);
    t.fails(&erin, &["submit", "--array", "9:1", "--", "true"]);

    t.note("Dependency conditions reach the server as written.");
    let first = submitted_id(&t.ok(&erin, &["submit", "--", "true"]));
    let second = submitted_id(&t.ok(&erin, &["submit", "--", "true"]));
    let dep = submitted_id(&t.ok(
        &erin,
        &[
            "submit",
            "--after",
            &first.to_string(),
            "--after-any",
            &second.to_string(),
            "--after-notok",
            &format!("{first},{second}"),
            "--",
            "true",
        ],
    ));
    let job = t.json(&erin, &["show", &dep.to_string(), "--json"]);
    assert_eq!(
        job["requirements"]["tasks"],
        json!([
            first,
            format!("afterany:{second}"),
            format!("afternotok:{first}"),
            format!("afternotok:{second}")
        ]),
        "{job}"
    );
    t.ok_grep(&erin, &["show", &dep.to_string()], &["Requires:"]);
    t.fails(&erin, &["submit", "--after-any", "999999", "--", "true"]);

    t.note("Other requirements: GPUs, retries, maximum run time; then change the latter.");
    let pending = submitted_id(&t.ok(
        &erin,
        &[
            "submit",
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
        ],
    ));
    let job = t.json(&erin, &["show", &pending.to_string(), "--json"]);
    assert_eq!(job["requirements"]["failure_policy"], 2, "{job}");
    assert_eq!(job["requirements"]["maxlifespan"], "1h", "{job}");
    t.ok_grep(
        &erin,
        &["show", &pending.to_string()],
        &["Requires:", "Retries:"],
    );
    t.ok(
        &erin,
        &["update", &pending.to_string(), "--maxlifespan", "2h"],
    );
    t.ok_grep(&erin, &["show", &pending.to_string()], &["Requires:"]);
    t.fails(
        &erin,
        &["update", &pending.to_string(), "--maxlifespan", "soon"],
    );
    t.fails(&erin, &["update", "999999", "--maxlifespan", "2h"]);
    t.note("A label the server does not offer is refused by the server, in one line.");
    t.fails(&erin, &["submit", "--label", "disk==ssd", "--", "true"]);
    t.fails(&erin, &["submit", "--label", "disk=ssd", "--", "true"]);
    t.ok_unstable(&erin, &["kill", &pending.to_string()]);

    t.check(expect_file!["transcripts/cli_admin_arrays.txt"]);
}

#[test]
fn login_with_a_password_keeps_a_session() {
    let srv = Server::start(
        "clipassword",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.1}\n",
    );
    let mut t = Transcript::new(&srv);
    let key = srv.add_user("pia", 2801, 2801, &[]);
    let api = srv.client("pia", &key);
    let (s, v) = api.post(
        "/api/1.0/user/pia/password",
        &json!({"password": "correct horse"}),
    );
    assert!(s.is_success(), "{v}");
    let pia = t.person("pia");
    let login = [
        "login",
        "--server",
        &srv.url,
        "--user",
        "pia",
        "--password",
        "-",
    ];
    let bad = t.run_stdin(&pia, &login, "wrong password\n");
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim().lines().count(),
        1
    );
    let ok = t.run_stdin(&pia, &login, "correct horse\n");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let saved = std::fs::read_to_string(pia.home.join("client.json")).unwrap();
    assert!(
        !saved.contains("correct horse"),
        "the password is not stored"
    );
    t.ok(&pia, &["whoami"]);
    let me = t.json(&pia, &["whoami", "--json"]);
    assert_eq!(me["id"], "pia");

    t.check(expect_file!["transcripts/cli_admin_password.txt"]);
}

/// What administrators do to others is audited (`god audit`); what users do to their own
/// things is not. Maintenance mode is switched and read with `god maintenance`.
#[test]
fn audit_log_and_maintenance_mode() {
    let srv = Server::start(
        "cliadmin-audit",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 600}\ntick_seconds: 0.5\n",
    );
    let mut t = Transcript::new(&srv);
    let admin = t.user(&srv, "admin", &srv.admin_key);
    let alice_key = srv.add_user("alice", 3401, 3401, &[]);
    srv.add_user("bob", 3402, 3402, &[]);
    let alice = t.user(&srv, "alice", &alice_key);

    t.note("Nothing yet.");
    t.ok(&admin, &["audit"]);
    t.note("alice's own kill is hers; the administrator's kill of her job is audited.");
    let own = submitted_id(&t.ok(&alice, &["submit", "--", "sleep 600"]));
    t.ok(&alice, &["kill", &own.to_string()]);
    let other = submitted_id(&t.ok(&alice, &["submit", "--", "sleep 600"]));
    t.ok(&admin, &["kill", &other.to_string()]);
    t.note("Account and project changes, maintenance mode.");
    t.ok(
        &admin,
        &[
            "account",
            "set",
            "alice",
            "--prio",
            "60",
            "--quota-cpu",
            "8",
        ],
    );
    t.ok(&admin, &["account", "set", "bob", "--disabled", "true"]);
    t.ok(
        &admin,
        &[
            "project",
            "create",
            "lab",
            "--description",
            "the lab",
            "--members",
            "alice",
        ],
    );
    t.ok(&admin, &["project", "add-member", "lab", "bob"]);
    t.ok(&admin, &["project", "set", "lab", "--quota-ram", "64"]);
    t.ok(&admin, &["project", "reset-usage", "lab"]);
    t.ok(&admin, &["project", "delete", "lab"]);
    t.ok(&alice, &["maintenance", "status"]);
    t.fails(&alice, &["maintenance", "on"]);
    t.ok_grep(
        &admin,
        &["maintenance", "on", "--message", "new disks"],
        &["maintenance", "no job"],
    );
    t.ok_grep(
        &alice,
        &["maintenance", "status"],
        &["maintenance", "no job"],
    );
    t.ok_grep(&admin, &["maintenance", "off"], &["maintenance"]);

    t.note("Newest first; filtered; paged.");
    t.ok(&admin, &["audit"]);
    t.ok(&admin, &["audit", "--target", "alice"]);
    t.ok(&admin, &["audit", "--action", "job_killed"]);
    t.ok(&admin, &["audit", "--limit", "2"]);
    let next = t.json(&admin, &["audit", "--limit", "2", "--json"])["next"]
        .as_u64()
        .unwrap();
    t.ok(
        &admin,
        &["audit", "--limit", "2", "--before", &next.to_string()],
    );
    t.fails(&admin, &["audit", "--action", "kill"]);
    t.fails(&alice, &["audit"]);
    let log = t.json(&admin, &["audit", "--json"]);
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "admin"),
        "only the administrator's actions: {log}"
    );

    t.check(expect_file!["transcripts/cli_admin_audit.txt"]);
}
