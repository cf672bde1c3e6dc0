//! The web UI (`/app/`) in a real browser: Debian's headless Chromium driven through
//! chromedriver (common/browser.rs), against the real `god up` with the native executor (jobs
//! are real processes run as their user). Each test keeps screenshots of its key moments in
//! `target/ui-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::browser::{keys, Browser, WAIT};
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// A server whose jobs run on this host as their user.
fn native(extra: &str) -> String {
    format!("executors: [native]\ntick_seconds: 0.3\nnative: {{cpus: 4, ram: 8}}\n{extra}")
}

/// A server, a user with an API key and a password.
fn server_with_user(name: &str, login: &str, uid: u32, extra: &str) -> (Server, String) {
    let srv = Server::start(name, &native(extra));
    let key = srv.add_user(login, uid, uid, &[]);
    let (s, v) = srv.admin().post(
        &format!("/api/1.0/user/{login}/password"),
        &json!({"password": PASSWORD}),
    );
    assert_eq!(s, StatusCode::OK, "set the password: {v}");
    (srv, key)
}

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn log_in_with_a_password_or_an_api_key_and_out() {
    let (srv, key) = server_with_user("ui-login", "ann", 2801, "");
    let Some(b) = Browser::start("login") else {
        return;
    };

    // A page asked for before logging in comes back after it.
    b.goto(&format!("{}/app/jobs?state=over", srv.url));
    b.wait_for("[data-testid=login]");
    assert!(b.path().starts_with("/app/login?next="), "{}", b.path());
    b.fill("#user", "ann");
    b.fill("#secret", "not the password");
    b.click("[data-testid=login]");
    let error = b.wait_text("[data-testid=login-error]", "the refusal", |t| {
        !t.is_empty()
    });
    assert_eq!(error, "wrong user or password");
    assert_eq!(b.attr_now("#user", "value").as_deref(), Some("ann"));
    b.screenshot("wrong-password");

    b.fill("#secret", PASSWORD);
    b.click("[data-testid=login]");
    b.wait_text_contains("[data-testid=whoami]", "ann");
    assert_eq!(b.path(), "/app/jobs?state=over");
    b.wait_for("[data-testid=no-jobs]");
    b.screenshot("logged-in-with-password");

    // Logging out: back to the login page, and the old cookie opens nothing.
    let old = b.cookie("god_session").expect("a session cookie");
    b.click("[data-testid=logout]");
    b.wait_for("[data-testid=login]");
    assert_eq!(b.path(), "/app/login");
    assert_eq!(b.cookie("god_session"), None, "the cookie is removed");
    b.set_cookie("god_session", &old);
    b.goto(&format!("{}/app/jobs", srv.url));
    b.wait_for("[data-testid=login]");
    assert!(b.path().starts_with("/app/login"), "{}", b.path());
    b.screenshot("old-cookie-refused");

    // With the API key instead.
    b.login_apikey(&srv.url, "ann", &key);
    assert_eq!(b.path(), "/app/jobs");
    b.screenshot("logged-in-with-api-key");
}

/// Jobs killed through the API when the test ends, however it ends (native jobs outlive their
/// server by design: a test's must not).
struct KillAtEnd<'a>(&'a Api, Vec<u64>);

impl Drop for KillAtEnd<'_> {
    fn drop(&mut self) {
        for id in &self.1 {
            let _ = self.0.delete(&format!("/api/1.0/task/{id}"));
        }
    }
}

/// Start recording, in the page, every `data-state` each job row takes (`window.__states`,
/// by job id) and leave a marker that a reload would lose.
const RECORD_ROWS: &str = "
    window.__marker = 'not reloaded';
    window.__states = {};
    function look() {
      document.querySelectorAll('tr[data-testid^=job-]').forEach(function (r) {
        var id = r.id.replace('job-', ''), s = r.getAttribute('data-state');
        var seen = window.__states[id] || (window.__states[id] = []);
        if (seen[seen.length - 1] !== s) seen.push(s);
      });
    }
    look();
    new MutationObserver(look).observe(document.body,
      {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
";

fn marker(b: &Browser) -> serde_json::Value {
    b.js("return window.__marker || null", vec![])
}

fn recorded(b: &Browser, id: u64) -> Vec<String> {
    let v = b.js(
        "return (window.__states || {})[arguments[0]] || []",
        vec![json!(id.to_string())],
    );
    serde_json::from_value(v).unwrap()
}

/// The job id of a job page's URL.
fn job_of(path: &str) -> Option<u64> {
    path.strip_prefix("/app/jobs/")?.parse().ok()
}

#[test]
fn a_job_submitted_from_the_form_goes_pending_running_over_in_the_list_without_reload() {
    let (srv, key) = server_with_user("ui-submit", "bob", 2802, "");
    let bob = srv.client("bob", &key);
    // Holds the new job pending until the test lets it go.
    let blocker = bob.submit("native", "sleep 60", json!({"meta": {"name": "blocker"}}));
    let _cleanup = KillAtEnd(&bob, vec![blocker]);
    bob.wait_running(blocker, 30);
    let Some(b) = Browser::start("submit") else {
        return;
    };
    b.login_password(&srv.url, "bob", PASSWORD);
    let row = |id: u64| format!("tr[data-testid=job-{id}]");
    b.wait_attr(&row(blocker), "data-state", |s| s == "running");
    b.js(RECORD_ROWS, vec![]);

    // The form, in another tab.
    let list_tab = b.new_tab();
    b.goto(&format!("{}/app/submit", srv.url));
    b.fill("#f-name", "from-the-form");
    b.fill("#f-image", "native");
    b.fill("#f-depends", &format!("afterany:{blocker}"));
    b.fill("#f-command", "echo from the form\nsleep 2\n");
    b.screenshot("form");
    b.click("[data-testid=submit]");
    let path = b.wait_path("a job's page", |p| job_of(p).is_some());
    let id = job_of(&path).unwrap();
    assert_eq!(
        b.text_now("[data-testid=job-state]").as_deref(),
        Some("pending")
    );
    b.wait_text_contains(
        "[data-testid=job-reason]",
        &format!("waiting for job {blocker}"),
    );
    b.screenshot("job-page-pending");

    // Back in the list: the row came without a reload, and follows the job.
    b.switch_to(list_tab);
    b.wait_attr(&row(id), "data-state", |s| s == "pending");
    b.wait_text_contains(&format!("[data-testid=reason-{id}]"), "waiting for job");
    b.screenshot("row-added-pending");
    let (s, v) = bob.delete(&format!("/api/1.0/task/{blocker}"));
    assert_eq!(s, StatusCode::OK, "{v}");
    b.wait_attr(&row(id), "data-state", |s| s == "running");
    b.screenshot("row-running");
    b.wait_attr_for(&row(id), "data-state", Duration::from_secs(30), |s| {
        s == "ok"
    });
    b.screenshot("row-over");
    assert_eq!(recorded(&b, id), ["pending", "running", "ok"]);
    assert_eq!(
        recorded(&b, blocker).last().map(String::as_str),
        Some("killed")
    );
    assert_eq!(marker(&b), json!("not reloaded"), "the list was reloaded");
    assert_eq!(
        b.text_now(&format!("[data-testid=state-{id}]")).as_deref(),
        Some("done")
    );
    let job = bob.job(id);
    assert_eq!(job["meta"]["name"], "from-the-form");
    assert_eq!(bob.file(id, "god.log").1, "from the form\n");
}

#[test]
fn a_running_jobs_page_follows_its_output() {
    let (srv, key) = server_with_user("ui-log", "cleo", 2803, "");
    let cleo = srv.client("cleo", &key);
    let id = cleo.submit(
        "native",
        "for i in $(seq 1 100); do echo line $i; sleep 0.5; done",
        json!({}),
    );
    let _cleanup = KillAtEnd(&cleo, vec![id]);
    cleo.wait_running(id, 30);
    let Some(b) = Browser::start("log") else {
        return;
    };
    b.login_password(&srv.url, "cleo", PASSWORD);
    b.goto(&format!("{}/app/jobs/{id}", srv.url));
    let log = r#"pre[data-testid="log-god.log"]"#;
    let first = b.wait_text(log, "a line", |t| t.contains("line "));
    b.js("window.__marker = 'not reloaded'", vec![]);
    let last = |t: &str| -> u32 {
        t.lines()
            .rev()
            .find_map(|l| l.strip_prefix("line ")?.parse().ok())
            .unwrap_or(0)
    };
    let n = last(&first);
    // Three more lines at least (1.5 s of output; the page gets news every 2 s).
    let later = b.wait_text(log, "three more lines", |t| last(t) >= n + 3);
    let expected: Vec<String> = (1..=last(&later)).map(|i| format!("line {i}")).collect();
    assert_eq!(
        later.lines().collect::<Vec<_>>(),
        expected,
        "every line once, in order"
    );
    assert_eq!(marker(&b), json!("not reloaded"), "the page was reloaded");
    b.scroll_to(log);
    b.screenshot("growing");
    // Its own kill button ends it; the page says so.
    b.click("[data-testid=job-kill]");
    b.wait_text("[data-testid=job-state]", "killed", |t| t == "killed");
    b.screenshot("killed");
}

#[test]
fn kill_a_running_job_from_the_list() {
    let (srv, key) = server_with_user("ui-kill", "dan", 2804, "");
    let dan = srv.client("dan", &key);
    let id = dan.submit("native", "sleep 60", json!({}));
    let other = dan.submit("native", "sleep 60", json!({}));
    let _cleanup = KillAtEnd(&dan, vec![id, other]);
    dan.wait_running(id, 30);
    dan.wait_running(other, 30);
    let Some(b) = Browser::start("kill") else {
        return;
    };
    b.login_password(&srv.url, "dan", PASSWORD);
    let row = format!("tr[data-testid=job-{id}]");
    b.wait_attr(&row, "data-state", |s| s == "running");
    b.js("window.__marker = 'not reloaded'", vec![]);
    b.screenshot("running");
    b.click(&format!("[data-testid=kill-{id}]"));
    // The row stays in view and says how the job ended, though it left the active jobs.
    b.wait_attr(&row, "data-state", |s| s == "killed");
    assert_eq!(
        b.text_now(&format!("[data-testid=state-{id}]")).as_deref(),
        Some("killed")
    );
    assert!(
        !b.exists(&format!("[data-testid=kill-{id}]")),
        "no kill button left"
    );
    assert_eq!(marker(&b), json!("not reloaded"), "the list was reloaded");
    b.screenshot("killed");
    let job = dan.wait_over(id, 30);
    assert_eq!(job["status"]["secondary"], "killed", "{job}");

    // A refusal is said on the page, which stays.
    b.js(
        "document.querySelectorAll('#job-' + arguments[0] + ' input[name=csrf]')\
           .forEach(function (i) { i.value = 'stale'; })",
        vec![json!(other)],
    );
    b.click(&format!("[data-testid=kill-{other}]"));
    let said = b.wait_text_contains("[data-testid=flash]", "expired");
    assert!(said.contains("reload the page"), "{said}");
    assert_eq!(marker(&b), json!("not reloaded"));
    assert_eq!(dan.job(other)["status"]["primary"], "running");
    b.screenshot("refused");
}

#[test]
fn a_list_left_and_come_back_to_is_live_again() {
    let (srv, key) = server_with_user("ui-back", "max", 2813, "");
    let max = srv.client("max", &key);
    let id = max.submit("native", "sleep 60", json!({}));
    let _cleanup = KillAtEnd(&max, vec![id]);
    max.wait_running(id, 30);
    let Some(b) = Browser::start("back") else {
        return;
    };
    b.login_password(&srv.url, "max", PASSWORD);
    let row = format!("tr[data-testid=job-{id}]");
    b.wait_attr(&row, "data-state", |s| s == "running");
    b.js("window.__marker = 'kept'", vec![]);
    b.click(&format!("{row} a[href='/app/jobs/{id}']"));
    b.wait_for("[data-testid=job-state]");
    b.back();
    b.wait_for(&row);
    // Kept whole by the browser (back/forward cache) or drawn again: live either way.
    let kept = marker(&b) == json!("kept");
    let (s, v) = max.delete(&format!("/api/1.0/task/{id}"));
    assert_eq!(s, StatusCode::OK, "{v}");
    b.wait_attr(&row, "data-state", |s| s == "killed");
    assert_eq!(marker(&b) == json!("kept"), kept, "the list was reloaded");
    eprintln!("the list came back from the back/forward cache: {kept}");
    b.screenshot("live-again");
}

#[test]
fn pending_jobs_say_why_they_wait() {
    let (srv, key) = server_with_user("ui-reasons", "eve", 2805, "");
    let (s, v) = srv
        .admin()
        .put("/api/1.0/user/eve", &json!({"usage": {"quota_cpu": 1}}));
    assert_eq!(s, StatusCode::OK, "{v}");
    let eve = srv.client("eve", &key);
    let first = eve.submit("native", "sleep 60", json!({}));
    let _cleanup = KillAtEnd(&eve, vec![first]);
    eve.wait_running(first, 30);
    let after = eve.submit(
        "native",
        "true",
        json!({"requirements": {"tasks": [first]}}),
    );
    let over_quota = eve.submit("native", "true", json!({}));
    let Some(b) = Browser::start("reasons") else {
        return;
    };
    b.login_password(&srv.url, "eve", PASSWORD);
    let reason = |id: u64| format!("[data-testid=reason-{id}]");
    let dep = b.wait_text_contains(&reason(after), &format!("waiting for job {first}"));
    assert_eq!(dep, format!("waiting for job {first} (afterok)"));
    let quota = b.wait_text_contains(&reason(over_quota), "quota");
    assert_eq!(quota, "user cpu quota 1 reached: 1 in use");
    assert!(!b.exists(&reason(first)), "a running job waits for nothing");
    b.screenshot("list");
    b.click(&format!(
        "tr[data-testid=job-{over_quota}] a[href='/app/jobs/{over_quota}']"
    ));
    b.wait_text_contains("[data-testid=job-reason]", "user cpu quota 1 reached");
    b.screenshot("job-page");
}

#[test]
fn keyboard_only_from_the_login_page_to_a_submitted_job() {
    let (srv, _) = server_with_user("ui-keys", "fay", 2806, "");
    let Some(b) = Browser::start("keyboard") else {
        return;
    };
    let enter = keys::ENTER.to_string();
    b.goto(&format!("{}/app/login", srv.url));
    b.wait_for("[data-testid=login]");
    // The user field has the focus; Tab goes to the chosen method, then to the secret.
    assert_eq!(b.focused(), "user");
    b.press("fay");
    b.tab_to("the password field", 3, |f| f == "secret");
    b.press(PASSWORD);
    b.press(&enter);
    b.wait_text_contains("[data-testid=whoami]", "fay");

    // To the form: the skip link, the brand, the tabs.
    b.tab_to("the Submit tab", 6, |f| f == "nav-submit");
    b.press(&enter);
    b.wait_path("the form", |p| p == "/app/submit");
    b.tab_to("the name field", 10, |f| f == "f-name");
    b.press("typed");
    b.tab_to("the image field", 6, |f| f == "f-image");
    b.chord(&[keys::CTRL, 'a']);
    b.press("native");
    b.tab_to("the script", 15, |f| f == "f-command");
    b.chord(&[keys::CTRL, 'a']);
    b.press("echo typed at the keyboard");
    b.tab_to("the submit button", 3, |f| f == "submit");
    b.screenshot("form");
    b.press(&enter);
    let path = b.wait_path("a job's page", |p| job_of(p).is_some());
    let id = job_of(&path).unwrap();
    b.wait_text("[data-testid=job-state]", "done", |t| t == "done");
    b.screenshot("job");
    let out = b.wait_text_contains(r#"pre[data-testid="log-god.log"]"#, "typed");
    assert_eq!(out, "typed at the keyboard\n");
    assert!(b
        .text_now("h1")
        .unwrap_or_default()
        .contains(&format!("Job {id}: typed")));
}

#[test]
fn an_expired_session_ends_the_live_stream() {
    let (srv, _) = server_with_user("ui-expiry", "gus", 2807, "session_timeout: 60\n");
    let Some(b) = Browser::start("expiry") else {
        return;
    };
    let logged_in = Instant::now();
    b.login_password(&srv.url, "gus", PASSWORD);
    b.wait_for("[data-testid=jobs]");
    assert!(!b.exists("[data-testid=live-ended]"));
    let said = b.wait_text_for(
        "[data-testid=live-ended]",
        "the end of the live view",
        Duration::from_secs(80),
        |t| !t.is_empty(),
    );
    let after = logged_in.elapsed();
    assert!(said.contains("expired"), "{said}");
    assert!(
        after >= Duration::from_secs(59) && after < Duration::from_secs(70),
        "the stream ended {after:?} after the login, not at the session's expiry (60 s)"
    );
    b.screenshot("ended");
    // The page offers to log in again, and comes back.
    b.click("[data-testid=live-login]");
    b.wait_for("[data-testid=login]");
    assert_eq!(b.path(), "/app/login?next=%2Fapp%2Fjobs");
    b.fill("#user", "gus");
    b.fill("#secret", PASSWORD);
    b.click("[data-testid=login]");
    b.wait_for("[data-testid=jobs]");
    assert_eq!(b.path(), "/app/jobs");
}

#[test]
fn a_session_in_use_holds_in_the_browser_too() {
    // Sessions of 60 s move forward when used 6 s (a tenth) after they last did.
    let (srv, _) = server_with_user("ui-keep", "kim", 2810, "session_timeout: 60\n");
    let Some(b) = Browser::start("keep") else {
        return;
    };
    b.login_password(&srv.url, "kim", PASSWORD);
    let first = b
        .cookie_expiry("god_session")
        .expect("a cookie with an expiry");
    std::thread::sleep(Duration::from_secs(7));
    b.goto(&format!("{}/app/submit", srv.url));
    b.wait_for("[data-testid=submit-form]");
    let later = b.cookie_expiry("god_session").unwrap();
    assert!(
        later >= first + 6.0,
        "the browser's cookie was not kept with the session: it expired at {first}, now {later}"
    );
}

#[test]
fn logging_out_in_another_tab_ends_the_live_stream_at_once() {
    let (srv, _) = server_with_user("ui-logout", "hal", 2808, "");
    let Some(b) = Browser::start("logout-tab") else {
        return;
    };
    b.login_password(&srv.url, "hal", PASSWORD);
    b.wait_attr("[data-testid=jobs]", "data-stream", |s| s == "open");
    let cookie = format!("god_session={}", b.cookie("god_session").unwrap());
    let first = b.new_tab();
    b.goto(&format!("{}/app/jobs", srv.url));
    b.click("[data-testid=logout]");
    b.wait_for("[data-testid=login]");
    b.switch_to(first);
    let t = Instant::now();
    let said = b.wait_text_for(
        "[data-testid=live-ended]",
        "the end of the live view",
        Duration::from_secs(5),
        |t| !t.is_empty(),
    );
    assert!(said.contains("you have logged out"), "{said}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        b.attr_now("[data-testid=jobs]", "data-stream").as_deref(),
        Some("ended")
    );
    b.screenshot("ended");

    // A page whose stream comes back after its session ended is told so by the stream (not
    // sent to the login page, which an EventSource takes for an error and tries again).
    let r = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{}/app/events?topic=jobs", srv.url))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-god-session"], "ended");
    let body = r.text().unwrap();
    assert!(
        body.contains("event: end") && body.contains("your session has ended"),
        "{body}"
    );
}

#[test]
fn a_guest_logs_in_through_the_provider_waits_then_submits() {
    let (srv, _idp, issuer) = guest_server("ui-guest");
    let Some(b) = Browser::start("guest") else {
        return;
    };
    guest_login(&b, &srv.url, &issuer, "gina");
    let waiting = b.wait_text_contains("[data-testid=waiting]", "waiting for an administrator");
    assert!(waiting.contains("activate"), "{waiting}");
    assert!(b.url().starts_with(&srv.url));
    b.screenshot("waiting");
    // Nothing else is open to them yet.
    b.goto(&format!("{}/app/submit", srv.url));
    b.wait_for("[data-testid=waiting]");

    let out = std::process::Command::new(god_bin())
        .args(["account", "set", "guest-gina", "--active", "true"])
        .env("GOD_SERVER", &srv.url)
        .env("GOD_USER", "admin")
        .env("GOD_APIKEY", &srv.admin_key)
        .env("HOME", srv.dir.join("admin-home"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "god account set --active: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.reload();
    b.wait_for("[data-testid=submit-form]");
    b.wait_text_contains("[data-testid=whoami]", "guest-gina");
    b.fill("#f-image", "native");
    b.fill("#f-command", "id -u");
    b.click("[data-testid=submit]");
    let path = b.wait_path("a job's page", |p| job_of(p).is_some());
    let id = job_of(&path).unwrap();
    b.wait_text_for(
        "[data-testid=job-state]",
        "done",
        Duration::from_secs(30),
        |t| t == "done",
    );
    b.screenshot("job");
    let admin = srv.admin();
    let job = admin.job(id);
    assert_eq!(job["user"]["id"], "guest-gina");
    assert_eq!(admin.file(id, "god.log").1, "65534\n", "runs as guest_bind");
}

const WAIT_LONG: Duration = Duration::from_secs(30);

/// A guest's login in the browser: our login page's guest link, the provider's login form (any
/// password) and its consent form, back to us.
fn guest_login(b: &Browser, server: &str, issuer: &str, login: &str) {
    b.goto(&format!("{server}/app/login"));
    b.click("[data-testid=guest-login]");
    b.wait_until("the provider's login form", WAIT_LONG, |b| {
        (b.url().starts_with(issuer) && b.exists("input[name=login]")).then_some(())
    });
    b.fill("input[name=login]", login);
    b.fill("input[name=password]", "any");
    b.screenshot("provider-login");
    b.click("button[type=submit]");
    // Then its consent form (the login form gone), unless it sends the browser back at once.
    let consent = b.wait_until("the consent form or our pages", WAIT_LONG, |b| {
        if b.url().starts_with(server) {
            Some(false)
        } else if !b.exists("input[name=login]") && b.exists("button[type=submit]") {
            Some(true)
        } else {
            None
        }
    });
    if consent {
        b.screenshot("provider-consent");
        b.click("button[type=submit]");
    }
}

/// A server with guests (native executor) on its own port, and its provider.
fn guest_server(name: &str) -> (Server, common::oidc::Provider, String) {
    use common::oidc::{guest_config, Provider, CLIENT_SECRET};
    let (oidc_port, port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{oidc_port}");
    let cfg = native(&guest_config(&issuer, port, CLIENT_SECRET));
    let srv = Server::start_at(name, &cfg, Some(port));
    let idp = Provider::start(oidc_port, &format!("{}/auth/oidc/callback", srv.url));
    (srv, idp, issuer)
}

#[test]
fn an_administrator_activates_a_waiting_guest_from_the_admin_page() {
    let (srv, _idp, issuer) = guest_server("ui-activate");
    let Some(guest) = Browser::start("activate-guest") else {
        return;
    };
    guest_login(&guest, &srv.url, &issuer, "hugo");
    guest.wait_for("[data-testid=waiting]");

    let Some(admin) = Browser::start("activate-admin") else {
        return;
    };
    admin.login_apikey(&srv.url, "admin", &srv.admin_key);
    admin.goto(&format!("{}/app/admin/users", srv.url));
    admin.wait_text_contains("[data-testid=awaiting]", "1 guest awaiting activation");
    admin.click("[data-testid=awaiting]");
    admin.wait_text("[data-testid=status-guest-hugo]", "inactive", |t| {
        t != "active"
    });
    assert!(!admin.exists("[data-testid=user-admin]"), "only who awaits");
    admin.screenshot("awaiting");
    admin.click("[data-testid=activate-guest-hugo]");
    admin.wait_text("[data-testid=status-guest-hugo]", "active", |t| {
        t == "active"
    });
    admin.screenshot("activated");

    // The guest's next page is theirs, and their job runs.
    guest.reload();
    guest.wait_for("[data-testid=jobs]");
    guest.wait_text_contains("[data-testid=whoami]", "guest-hugo");
    guest.screenshot("in");
    guest.goto(&format!("{}/app/submit", srv.url));
    guest.fill("#f-image", "native");
    guest.fill("#f-command", "id -u");
    guest.click("[data-testid=submit]");
    guest.wait_text_for(
        "[data-testid=job-state]",
        "done",
        Duration::from_secs(30),
        |t| t == "done",
    );
    guest.screenshot("job");
}

#[test]
fn the_pages_run_no_inline_script() {
    let (srv, key) = server_with_user("ui-csp", "ida", 2809, "");
    let Some(b) = Browser::start("csp") else {
        return;
    };
    b.login_apikey(&srv.url, "ida", &key);
    b.wait_for("[data-testid=jobs]");
    // app.js runs (the page is live), an injected inline script does not.
    b.js(
        "var s = document.createElement('script'); s.textContent = 'window.__inline = 1'; \
         document.body.appendChild(s);",
        vec![],
    );
    assert_eq!(b.js("return window.__inline || null", vec![]), json!(null));
    let mut console = Vec::new();
    b.wait_until("the refusal in the console", WAIT_LONG, |b| {
        console.extend(b.console());
        console
            .iter()
            .any(|e| {
                e["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Content Security Policy")
            })
            .then_some(())
    });
}

#[test]
fn a_terminal_in_a_running_job_is_its_users_shell() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("ui-terminal", &docker_config(""));
    let key = srv.add_user("tess", 2811, 2811, &[]);
    let tess = srv.client("tess", &key);
    let id = tess.submit(MINIMAL_IMAGE, "sleep 120", json!({}));
    let _cleanup = KillAtEnd(&tess, vec![id]);
    tess.wait_running(id, 60);
    let Some(b) = Browser::start("terminal") else {
        return;
    };
    b.login_apikey(&srv.url, "tess", &key);
    b.goto(&format!("{}/app/jobs/{id}", srv.url));
    b.click("[data-testid=terminal-open]");
    b.wait_text("[data-testid=terminal-state]", "connected", |t| {
        t == "connected"
    });
    // What the terminal shows, line by line (xterm's buffer).
    let screen = |b: &Browser| -> String {
        b.js(
            "var t = window.__terminal, b = t.buffer.active, out = []; \
             for (var i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true)); \
             return out.join('\\n')",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    };
    // Typed at the keyboard into the terminal, which has the focus.
    b.press("id -u; echo done-$((6*7))");
    b.press(&keys::ENTER.to_string());
    let shown = b.wait_until("the command's output", WAIT, |b| {
        Some(screen(b)).filter(|s| s.contains("done-42"))
    });
    assert!(
        shown.lines().any(|l| l.trim() == "2811"),
        "the shell runs as the job's user:\n{shown}"
    );
    b.scroll_to("[data-testid=terminal]");
    b.screenshot("shell");

    // A narrower window: the terminal fits it and the shell is told.
    let cols_before = b.js("return window.__terminal.cols", vec![]);
    b.set_window_size(900, 1000);
    let cols = b.wait_until("the terminal to fit the window", WAIT, |b| {
        let c = b.js("return window.__terminal.cols", vec![]);
        (c != cols_before).then_some(c)
    });
    b.press("stty size");
    b.press(&keys::ENTER.to_string());
    let rows = b.js("return window.__terminal.rows", vec![]);
    let size = format!("{} {}", rows, cols);
    b.wait_until(&format!("stty to say {size}"), WAIT, |b| {
        screen(b).lines().any(|l| l.trim() == size).then_some(())
    });

    // The job's end closes it.
    let (s, v) = tess.delete(&format!("/api/1.0/task/{id}"));
    assert_eq!(s, StatusCode::OK, "{v}");
    b.wait_text_for("[data-testid=terminal-state]", "closed", WAIT_LONG, |t| {
        t.starts_with("closed")
    });
    b.screenshot("closed");
}

/// Links to pages that are not built yet: each must still answer 404 (when one is built, this
/// test says so, and it leaves the list).
const NOT_BUILT_YET: &[&str] = &[];

#[test]
fn every_page_an_administrator_can_reach_opens_cleanly() {
    let (srv, _) = server_with_user("ui-crawl", "lou", 2812, "");
    let admin = srv.admin();
    let done = admin.submit("native", "echo hello; mkdir out; echo x > out/f", json!({}));
    admin.wait_over(done, 30);
    let Some(b) = Browser::start("crawl") else {
        return;
    };
    b.login_apikey(&srv.url, "admin", &srv.admin_key);
    let cookie = format!("god_session={}", b.cookie("god_session").unwrap());
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Every page of this site that a page links to, breadth first, each opened in the browser
    // (its console checked) and asked over HTTP (its status).
    let mut queue = std::collections::VecDeque::from(["/app/jobs".to_string()]);
    let mut seen = std::collections::BTreeSet::new();
    let mut shot = std::collections::BTreeSet::new();
    let mut broken = Vec::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || seen.len() > 60 {
            continue;
        }
        let status = http
            .get(format!("{}{path}", srv.url))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status();
        let unbuilt = NOT_BUILT_YET.contains(&path.as_str());
        match (status.as_u16(), unbuilt) {
            (404, true) => continue,
            (_, true) => broken.push(format!("{path}: {status}, but listed as not built yet")),
            (200..=399, false) => {}
            _ => broken.push(format!("{path}: {status}")),
        }
        // A page opens at once, however many pages were opened before it.
        let t = Instant::now();
        b.goto(&format!("{}{path}", srv.url));
        if t.elapsed() > Duration::from_secs(5) {
            broken.push(format!("{path}: took {:?} to open", t.elapsed()));
        }
        // Each page kept to look at, once per path (its console checked with it); files shown
        // as plain text are not pages (and headless Chromium may not draw them for a
        // screenshot).
        let page = path.split('?').next().unwrap();
        let html = b.js("return document.contentType", vec![]) == json!("text/html");
        if html && shot.insert(page.to_string()) {
            let name: String = page
                .trim_start_matches("/app/")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            b.screenshot(&format!("page-{name}"));
        } else {
            b.check_console();
        }
        let links = b.js(
            "return Array.prototype.map.call(document.querySelectorAll('a[href^=\"/app/\"]'), \
             function (a) { return a.getAttribute('href'); })",
            vec![],
        );
        for href in links.as_array().unwrap() {
            let href = href
                .as_str()
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .to_string();
            // Downloads, assets and further pages of a list are not pages of their own.
            if href.contains("download=1") || href.starts_with("/app/static/") {
                continue;
            }
            if href.contains("after=") || href.split('?').next().unwrap().ends_with(".csv") {
                continue;
            }
            queue.push_back(href);
        }
    }
    assert!(
        broken.is_empty(),
        "pages that do not open:\n{}",
        broken.join("\n")
    );
    for p in [
        "/app/jobs",
        "/app/submit",
        "/app/me",
        "/app/usage",
        "/app/admin/users",
    ] {
        assert!(seen.contains(p), "{p} was not reached: {seen:?}");
    }
    assert!(seen.contains(&format!("/app/jobs/{done}")), "{seen:?}");
}

#[test]
fn an_administrator_creates_a_project_and_its_member_sees_it() {
    let (srv, _key) = server_with_user("ui-project", "ivy", 2810, "");
    let Some(admin) = Browser::start("project-admin") else {
        return;
    };
    admin.login_apikey(&srv.url, "admin", &srv.admin_key);
    admin.goto(&format!("{}/app/admin/projects", srv.url));
    admin.fill("[data-testid=project-id]", "genomics");
    admin.fill("[data-testid=project-members]", "ivy");
    admin.screenshot("form");
    admin.click("[data-testid=create-project]");
    admin.wait_for("[data-testid=project-genomics]");
    admin.screenshot("created");

    // The member submits to it from the form, and finds it on their account page.
    let Some(ivy) = Browser::start("project-member") else {
        return;
    };
    ivy.login_password(&srv.url, "ivy", PASSWORD);
    ivy.goto(&format!("{}/app/submit", srv.url));
    ivy.wait_for("#f-project option[value=genomics]");
    ivy.js(
        "document.getElementById('f-project').value = 'genomics'; return null;",
        vec![],
    );
    ivy.fill("#f-name", "in the project");
    ivy.fill("#f-image", "native");
    ivy.fill("#f-command", "true");
    ivy.screenshot("submit");
    ivy.click("[data-testid=submit]");
    ivy.wait_text_contains("[data-testid=job-state]", "done");
    ivy.wait_text_contains("p.sub", "project genomics");
    ivy.goto(&format!("{}/app/me", srv.url));
    ivy.wait_text_contains("[data-testid=account]", "genomics");
    ivy.screenshot("account");
}

#[test]
fn maintenance_mode_holds_a_job_back_and_releases_it() {
    let (srv, key) = server_with_user("ui-maintenance", "max", 2811, "");
    let Some(admin) = Browser::start("maintenance-admin") else {
        return;
    };
    admin.login_apikey(&srv.url, "admin", &srv.admin_key);
    admin.goto(&format!("{}/app/admin/system", srv.url));
    admin.fill("[data-testid=maintenance-message]", "disk swap until noon");
    admin.click("[data-testid=maintenance-on]");
    admin.wait_text_contains("[data-testid=maintenance-state]", "disk swap until noon");
    admin.screenshot("on");

    // The user sees the banner and a job that waits for it, live.
    let Some(b) = Browser::start("maintenance-user") else {
        return;
    };
    b.login_password(&srv.url, "max", PASSWORD);
    b.wait_text_contains("[data-testid=banner]", "disk swap until noon");
    let max = srv.client("max", &key);
    let id = max.submit("native", "true", json!({}));
    let reason = format!("[data-testid=reason-{id}]");
    b.wait_text_contains(&reason, "maintenance");
    b.screenshot("held");
    // Held for real: still pending a while later.
    std::thread::sleep(Duration::from_secs(2));
    let (_, job) = max.get(&format!("/api/1.0/task/{id}"));
    assert_eq!(job["status"]["primary"], "pending", "{job}");

    admin.click("[data-testid=maintenance-off]");
    admin.wait_text_contains("[data-testid=maintenance-state]", "Off");
    // The banner goes and the job runs, without the user reloading.
    b.wait_attr(&format!("tr[data-testid=job-{id}]"), "data-state", |s| {
        s == "ok"
    });
    b.wait_until("the banner to go", WAIT, |b| {
        (b.js("return document.getElementById('banner').hidden;", vec![]) == json!(true))
            .then_some(())
    });
    b.screenshot("released");
}
