//! The JSON answer of every route, recorded: a scripted session against the real server (fake
//! executor) whose answers must stay exactly as recorded in `tests/golden/api.txt`, every key
//! and every `null` that existing clients read (reference §7.3) included. Values that change
//! from run to run (dates, tokens, keys, container names, temporary paths) are masked.
//!
//! After an intended change: `GOD_GOLDEN=update cargo test -p god --test api_golden`, then read
//! the diff of `tests/golden/api.txt` like code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::fmt::Write;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/api.txt");

/// Keys whose values differ from run to run.
const VOLATILE: &[&str] = &[
    "token",
    "apikey",
    "date",
    "date_running",
    "date_over",
    "duration",
    "expires",
    "last",
];

struct Session<'a> {
    srv: &'a Server,
    http: Client,
    out: String,
}

impl Session<'_> {
    fn call(&mut self, who: (&str, &str), method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.srv.url);
        let mut req = match method {
            "GET" => self.http.get(&url),
            "POST" => self.http.post(&url),
            "PUT" => self.http.put(&url),
            "DELETE" => self.http.delete(&url),
            _ => unreachable!(),
        };
        if !who.1.is_empty() {
            req = req.bearer_auth(who.1);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let mut shown = value.clone();
        self.mask(&mut shown);
        writeln!(self.out, "## {method} {path} as {}", who.0).unwrap();
        if let Some(mut b) = body {
            self.mask(&mut b);
            writeln!(self.out, "> {b}").unwrap();
        }
        writeln!(self.out, "{status} {ct}").unwrap();
        writeln!(
            self.out,
            "{}\n",
            serde_json::to_string_pretty(&shown).unwrap()
        )
        .unwrap();
        value
    }

    fn mask(&self, v: &mut Value) {
        let data = self.srv.dir.display().to_string();
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if VOLATILE.contains(&k.as_str()) && !v.is_null() {
                        *v = json!("<varies>");
                    } else if k == "name" && v.as_str().is_some_and(|s| s.starts_with("god-")) {
                        *v = json!("<container name>");
                    } else if k == "id" && v.as_str().is_some_and(|s| s.starts_with("god-")) {
                        *v = json!("<container id>");
                    } else {
                        self.mask(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.mask(i)),
            Value::String(s) if s.contains(&data) => *s = s.replace(&data, "<dir>"),
            _ => {}
        }
    }
}

#[test]
fn every_route_answers_as_recorded() {
    let srv = Server::start(
        "golden",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0}\ntick_seconds: 0.2\n\
         default_images: [{name: minimal, url: 'img:1', interactive: false, default: true}]\n\
         constraints: [{name: storage, value: 'ssd,disk'}]\nnode_labels: {storage: ssd}\n\
         volumes: [{name: home, acl: rw}, {name: data, acl: ro, path: /tmp, mount: /mnt/data}]\n",
    );
    let alice_key = srv.add_user("alice", 2001, 2001, &["--home", "/tmp", "--email", "a@lab"]);
    srv.add_user("bob", 2002, 2002, &[]);
    let mut s = Session {
        srv: &srv,
        http: Client::new(),
        out: String::new(),
    };
    let admin = ("admin", srv.admin().token.clone());
    let anon = ("nobody", String::new());
    let alice_token = srv.client("alice", &alice_key).token;
    let alice = ("alice", alice_token);
    let a = (alice.0, alice.1.as_str());
    let ad = (admin.0, admin.1.as_str());
    let no = (anon.0, anon.1.as_str());

    // Public and accounts.
    s.call(no, "GET", "/api/1.0/config", None);
    // The OpenAPI document of every route, generated from the wire types.
    s.call(no, "GET", "/api/1.0/openapi.json", None);
    s.call(
        no,
        "POST",
        "/api/1.0/authenticate",
        Some(json!({"user": "alice", "apikey": alice_key})),
    );
    s.call(
        no,
        "POST",
        "/api/1.0/authenticate",
        Some(json!({"user": "alice", "apikey": "wrong"})),
    );
    s.call(no, "GET", "/api/1.0/task/active", None);
    s.call(a, "GET", "/api/1.0/image", None);
    s.call(a, "GET", "/api/1.0/user/alice", None);
    s.call(a, "GET", "/api/1.0/user/bob", None);
    s.call(ad, "GET", "/api/1.0/user", None);
    s.call(
        ad,
        "PUT",
        "/api/1.0/user/bob",
        Some(json!({"usage": {"prio": 60, "quota_cpu": 4}})),
    );
    s.call(a, "GET", "/api/1.0/user/alice/project", None);
    s.call(a, "GET", "/api/1.0/user/alice/usage", None);

    // Projects.
    let project = json!({"id": "lab", "description": "the lab", "prio": 70, "quota_cpu": 8,
                         "quota_ram": 0, "quota_time": 0, "members": ["alice"]});
    s.call(ad, "POST", "/api/1.0/project", Some(project));
    s.call(ad, "GET", "/api/1.0/project", None);
    s.call(a, "GET", "/api/1.0/project/lab", None);
    s.call(
        ad,
        "POST",
        "/api/1.0/project/lab",
        Some(json!({"id": "lab", "description": "the lab",
        "prio": 70, "quota_cpu": 8, "quota_ram": 0, "quota_time": 0, "members": ["alice", "bob"],
        "volumes": []})),
    );
    s.call(a, "GET", "/api/1.0/project/lab/usage", None);
    s.call(ad, "DELETE", "/api/1.0/project/lab/quota", None);

    // Jobs: one that runs to its end, one that never runs, their lists and requests.
    let job = json!({"meta": {"name": "first", "description": "d", "tags": ["t"]},
        "requirements": {"cpu": 1, "ram": 1, "label": ["storage==ssd"]},
        "container": {"image": "img:1", "volumes": [{"name": "home", "acl": "rw"}, {"name": "data"}]},
        "command": {"cmd": "echo hi"}, "user": {"project": "lab"}});
    s.call(a, "POST", "/api/1.0/task", Some(job));
    srv.client("alice", &alice_key).wait_over(1, 30);
    s.call(a, "GET", "/api/1.0/task/1", None);
    s.call(a, "GET", "/api/1.0/task/1/status", None);
    // Stats only of a running job (the fake's jobs here end at once): 409 over, 409 pending.
    s.call(a, "GET", "/api/1.0/task/1/stats", None);
    s.call(a, "GET", "/api/1.0/task/1/files", None);
    s.call(a, "POST", "/api/1.0/task/over/0/0", Some(json!({})));
    // Waits for ever: no node has that label.
    let waits = json!({"meta": {"name": "waits"}, "container": {"image": "img:1"},
        "requirements": {"label": ["storage==disk"]}, "command": {"cmd": "true"}});
    s.call(a, "POST", "/api/1.0/task", Some(waits));
    srv.client("alice", &alice_key)
        .wait_for(2, 30, "rejected", |j| j["status"]["reason"].is_string());
    s.call(a, "GET", "/api/1.0/task/active", None);
    s.call(ad, "GET", "/api/1.0/task/active/all", None);
    s.call(a, "GET", "/api/1.0/task/2/stats", None);
    s.call(a, "GET", "/api/1.0/task/2/suspend", None);
    s.call(a, "GET", "/api/1.0/task/2/resume", None);
    s.call(a, "GET", "/api/1.0/task/2/reschedule", None);
    s.call(
        a,
        "PUT",
        "/api/1.0/task/2",
        Some(json!({"name": "maxlifespan", "value": "2h"})),
    );
    s.call(a, "DELETE", "/api/1.0/task/2", None);
    s.call(a, "GET", "/api/1.0/task/2", None);
    s.call(ad, "POST", "/api/1.0/task/over/all/0/10", Some(json!({})));
    s.call(a, "GET", "/api/1.0/task/1/archive", None);
    srv.client("alice", &alice_key)
        .wait_for(1, 30, "archived", |j| j["status"]["primary"] == "archived");
    s.call(a, "GET", "/api/1.0/archive/0", None);
    s.call(a, "DELETE", "/api/1.0/task/2/archive", None);
    s.call(a, "DELETE", "/api/1.0/archive/0", None);
    s.call(a, "DELETE", "/api/1.0/user/alice/task", None);

    // Errors.
    s.call(a, "GET", "/api/1.0/task/abc", None);
    s.call(a, "GET", "/api/1.0/task/999", None);
    s.call(
        a,
        "POST",
        "/api/1.0/task",
        Some(json!({"command": {"cmd": "x"}, "container": {"image": "i"}, "colour": 1})),
    );
    s.call(a, "GET", "/api/1.0/user", None);
    s.call(a, "GET", "/api/1.0/nowhere", None);

    // Keys, passwords, removals.
    s.call(
        a,
        "POST",
        "/api/1.0/user/alice/password",
        Some(json!({"password": "correct horse battery"})),
    );
    s.call(a, "POST", "/api/1.0/user/alice/apikey", None);
    s.call(ad, "DELETE", "/api/1.0/project/lab", None);
    s.call(ad, "DELETE", "/api/1.0/user/bob", None);

    let got = s.out;
    if std::env::var("GOD_GOLDEN").as_deref() == Ok("update") {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    if got != want {
        let actual = std::env::temp_dir().join("god-api-golden-actual.txt");
        std::fs::write(&actual, &got).unwrap();
        let first = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("line {}: got {g:?}, recorded {w:?}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        panic!(
            "API answers differ from {GOLDEN} ({first}); this run's answers are in {}. \
             If the change is intended: GOD_GOLDEN=update cargo test -p god --test api_golden",
            actual.display()
        );
    }
}
