//! The web UI's weight and idle cost, against the real `god up`: a page of the job list (50
//! rows) weighs at most 100 KB; the first page anyone loads (the login page, its style and
//! script) is at most 150 KB compressed; 100 idle live streams cost under 1 % of a core. (How
//! fast the list answers with 100,000 jobs is `god bench web`, on the release build.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::json;
use std::time::{Duration, Instant};

/// CPU time (user + system) of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A browser session of `user` (cookie header value).
fn web_session(srv: &Server, user: &str, key: &str) -> String {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{}/app/login", srv.url)).send().unwrap();
    let nonce_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("god_login="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let nonce = nonce_cookie.trim_start_matches("god_login=").to_string();
    let r = http
        .post(format!("{}/app/login", srv.url))
        .header("cookie", &nonce_cookie)
        .form(&[
            ("user", user),
            ("secret", key),
            ("method", "apikey"),
            ("nonce", &nonce),
        ])
        .send()
        .unwrap();
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("god_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string()
}

#[test]
fn pages_are_light_and_idle_live_streams_cost_nothing() {
    let srv = Server::start(
        "web-speed",
        "executors: [fake]\nfake: {fail_on: 0, run_seconds: 3600}\napi_rate_limit: 0\n",
    );
    let key = srv.add_user("uma", 4101, 4101, &[]);
    let uma = srv.client("uma", &key);
    let total = 1_000;
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..4 {
            let uma = &uma;
            s.spawn(move || {
                for i in (t..total).step_by(4) {
                    uma.submit(
                        "img",
                        "true",
                        json!({"meta": {"name": format!("job {i}"), "tags": ["speed"]}}),
                    );
                }
            });
        }
    });
    eprintln!(
        "{total} jobs submitted in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cookie = web_session(&srv, "uma", &key);
    let http = Client::new();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let r = http
            .get(format!("{}/app/jobs?state=all", srv.url))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let body = r.bytes().unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        size = body.len();
        assert_eq!(
            String::from_utf8_lossy(&body)
                .matches("data-testid=\"state-")
                .count(),
            50,
            "a page of 50 rows"
        );
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    eprintln!("job list at {total} jobs: median {median:.1} ms (of {times:.1?}), {size} bytes");
    assert!(size <= 100_000, "the job list weighs {size} bytes");

    // The first page: the login page and what it loads, compressed as browsers ask.
    let mut first = 0;
    let login = http
        .get(format!("{}/app/login", srv.url))
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    let html = {
        let r = reqwest::blocking::Client::builder()
            .build()
            .unwrap()
            .get(format!("{}/app/login", srv.url))
            .send()
            .unwrap();
        r.text().unwrap()
    };
    first += login.bytes().unwrap().len();
    for asset in html
        .split("href=\"")
        .chain(html.split("src=\""))
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|u| u.starts_with("/app/static/"))
    {
        let r = http
            .get(format!("{}{asset}", srv.url))
            .header("accept-encoding", "gzip")
            .send()
            .unwrap();
        first += r.bytes().unwrap().len();
    }
    eprintln!("first page with its assets: {first} bytes compressed");
    assert!(first <= 150_000, "the first page weighs {first} bytes");

    // 100 idle live streams: the server idle first (every job killed), measured without them,
    // then with them (no change happens while they are measured).
    let (s, v) = uma.delete("/api/1.0/user/uma/task");
    assert!(s.is_success(), "{v}");
    let pid = srv.pid().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle = cpu_seconds(pid) - before;
    let streams: Vec<reqwest::blocking::Response> = (0..100)
        .map(|_| {
            let r = Client::builder()
                .timeout(None)
                .build()
                .unwrap()
                .get(format!("{}/app/events?topic=jobs", srv.url))
                .header("cookie", &cookie)
                .send()
                .unwrap();
            assert!(r.status().is_success());
            r
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let used = cpu_seconds(pid) - before;
    eprintln!("idle server: {idle:.3} s of cpu in 10 s; with 100 idle streams: {used:.3} s");
    assert!(
        used - idle < 0.1,
        "100 idle streams cost {:.3} s of cpu in 10 s",
        used - idle
    );
    drop(streams);
}
