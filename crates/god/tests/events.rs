//! `GET /api/1.0/events`: a caller follows the changes they may see, live, resumes after the last
//! id they saw, and is cut off when their API key is renewed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: Value,
}

/// A stream read by a thread; events arrive on a channel.
struct Follow {
    rx: mpsc::Receiver<Sse>,
}

impl Follow {
    fn open(srv: &Server, token: &str, last_event_id: Option<u64>) -> Follow {
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .unwrap();
        let mut req = client
            .get(format!("{}/api/1.0/events", srv.url))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut current = Sse {
                id: None,
                event: "message".into(),
                data: Value::Null,
            };
            for line in BufReader::new(resp).lines() {
                let Ok(line) = line else { return };
                if line.is_empty() {
                    if current.data != Value::Null && tx.send(current.clone()).is_err() {
                        return;
                    }
                    current = Sse {
                        id: None,
                        event: "message".into(),
                        data: Value::Null,
                    };
                } else if let Some(v) = line.strip_prefix("id:") {
                    current.id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    current.event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    let v = v.trim();
                    current.data = serde_json::from_str(v).unwrap_or(Value::String(v.into()));
                }
            }
        });
        Follow { rx }
    }

    /// Events until `done` says stop (or `secs` pass: panic).
    fn until(&self, secs: u64, what: &str, done: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) => got.push(e),
                Err(_) => panic!("never saw {what}; got {got:?}"),
            }
        }
        got
    }
}

fn job_states(events: &[Sse], job: u64) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event == "job" && e.data["job"] == job)
        .map(|e| e.data["body"]["primary"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_user_follows_their_changes_resumes_and_is_cut_off_when_their_key_changes() {
    let srv = Server::start(
        "events",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 0.3}\ntick_seconds: 0.2\n",
    );
    let alice_key = srv.add_user("alice", 2001, 2001, &[]);
    let bob_key = srv.add_user("bob", 2002, 2002, &[]);
    let alice = srv.client("alice", &alice_key);
    let bob = srv.client("bob", &bob_key);

    let follow = Follow::open(&srv, &alice.token, None);
    let mine = alice.submit("img", "true", json!({}));
    let theirs = bob.submit("img", "true", json!({}));
    let seen = follow.until(20, "alice's job over", |got| {
        job_states(got, mine).last().map(String::as_str) == Some("over")
    });
    let states = job_states(&seen, mine);
    assert_eq!(
        states.first().map(String::as_str),
        Some("pending"),
        "{seen:?}"
    );
    assert!(states.contains(&"running".to_string()), "{states:?}");
    assert!(
        job_states(&seen, theirs).is_empty(),
        "bob's job is not alice's to see: {seen:?}"
    );
    let first = seen[0].clone();
    assert_eq!(first.data["body"]["user"], "alice");
    assert_eq!(first.data["body"]["id"], mine);
    let ids: Vec<u64> = seen.iter().filter_map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "increasing ids: {ids:?}"
    );

    // Resume after the first event: the rest again, in order, nothing before it.
    let again = Follow::open(&srv, &alice.token, first.id);
    let replay = again.until(10, "the replay", |got| got.len() >= seen.len() - 1);
    let replayed: Vec<u64> = replay.iter().filter_map(|e| e.id).collect();
    assert_eq!(replayed, ids[1..].to_vec());

    // The API key renewed: both streams end at once, saying why.
    let (s, _) = srv.admin().post("/api/1.0/user/alice/apikey", &json!({}));
    assert!(s.is_success());
    for f in [&follow, &again] {
        let end = f.until(10, "the end of the stream", |got| {
            got.last().is_some_and(|e| e.event == "end")
        });
        let why = end.last().unwrap().data.to_string();
        assert!(why.contains("API key was renewed"), "{why}");
    }
}
