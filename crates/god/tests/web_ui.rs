//! The web UI (`/app/`) in a real browser: Debian's headless Chromium driven through
//! chromedriver (common/browser.rs), against the real `god up` with the native executor (jobs
//! are real processes run as their user). Each test keeps screenshots of its key moments in
//! `target/ui-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::browser::Browser;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

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
