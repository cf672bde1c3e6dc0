//! The authorization matrix: every route × every kind of caller, as one table. The guest not
//! yet activated logged in through a real OpenID Connect provider (scripts/oidc-provider). `Allowed` means
//! the request got past authorization (any answer but 401/403/404: a 409 for a job in the wrong
//! state is still "allowed").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Allowed,
    NotFound,
    Forbidden,
    Unauthorized,
}
use Want::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Owner,
    Other,
    Member,
    Admin,
    /// A guest (OpenID Connect login) an administrator has not activated yet.
    Guest,
    NoToken,
    BadToken,
    Expired,
    Renewed,
}

const CALLERS: [Who; 9] = [
    Who::Owner,
    Who::Other,
    Who::Member,
    Who::Admin,
    Who::Guest,
    Who::NoToken,
    Who::BadToken,
    Who::Expired,
    Who::Renewed,
];

struct World {
    srv: Server,
    _idp: common::oidc::Provider,
    keys: std::collections::HashMap<&'static str, String>,
    http: Client,
    expired: String,
    renewed: String,
}

fn token(srv: &Server, user: &str, key: &str) -> String {
    Api::login(&srv.url, user, key).token
}

fn world(share: bool) -> World {
    let cfg = format!(
        "executors: [fake]\nfake: {{fail_on: 0, run_seconds: 30}}\ntick_seconds: 0.3\napi_rate_limit: 0\nshare_project_tasks: {share}\ntoken_ttl: 2\n"
    );
    let (idp_port, port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{idp_port}");
    let cfg = cfg + &common::oidc::guest_config(&issuer, port, common::oidc::CLIENT_SECRET);
    let srv = Server::start_at(
        if share { "authz-share" } else { "authz" },
        &cfg,
        Some(port),
    );
    let idp = common::oidc::Provider::start(idp_port, &format!("{}/auth/oidc/callback", srv.url));
    let mut keys = std::collections::HashMap::new();
    keys.insert("olga", srv.add_user("olga", 3301, 3301, &[]));
    keys.insert("oscar", srv.add_user("oscar", 3302, 3302, &[]));
    keys.insert("mia", srv.add_user("mia", 3303, 3303, &[]));
    keys.insert("rene", srv.add_user("rene", 3304, 3304, &[]));
    keys.insert("admin", srv.admin_key.clone());
    let admin = srv.admin();
    // The guest logs in once through the provider; an API key issued by an administrator gives
    // fresh tokens of the same (still inactive) account.
    let (s, v) = common::oidc::browser_login(&srv.url, &idp.issuer, "gina");
    assert_eq!(
        (s, v["user"].clone()),
        (StatusCode::OK, json!("guest-gina")),
        "{v}"
    );
    let (s, v) = admin.post("/api/1.0/user/guest-gina/apikey", &json!({}));
    assert_eq!(s, StatusCode::OK, "{v}");
    keys.insert("guest-gina", v["apikey"].as_str().unwrap().to_string());
    let (s, v) = admin.post(
        "/api/1.0/project",
        &json!({"id": "lab", "members": ["olga", "mia"]}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    // A token that expires (token_ttl: 2 s), and one of a key renewed since.
    let expired = token(&srv, "oscar", &keys["oscar"]);
    let renewed = token(&srv, "rene", &keys["rene"]);
    let (s, _) = admin.post("/api/1.0/user/rene/apikey", &json!({}));
    assert_eq!(s, StatusCode::OK);
    std::thread::sleep(Duration::from_millis(2200));
    World {
        srv,
        _idp: idp,
        keys,
        http: Client::new(),
        expired,
        renewed,
    }
}

impl World {
    fn bearer(&self, who: Who) -> Option<String> {
        let login = |u: &str| token(&self.srv, u, &self.keys[u]);
        match who {
            Who::Owner => Some(login("olga")),
            Who::Other => Some(login("oscar")),
            Who::Member => Some(login("mia")),
            Who::Admin => Some(login("admin")),
            Who::Guest => Some(login("guest-gina")),
            Who::NoToken => None,
            Who::BadToken => Some("eyJzdWIiOiJhZG1pbiJ9.Zm9yZ2Vk".into()),
            Who::Expired => Some(self.expired.clone()),
            Who::Renewed => Some(self.renewed.clone()),
        }
    }

    /// A fresh job of olga in project lab (pending: the fake executor holds `norun`).
    fn job(&self) -> u64 {
        let olga = self.srv.client("olga", &self.keys["olga"]);
        olga.submit(
            "img",
            "true",
            json!({"meta": {"name": "norun"}, "user": {"project": "lab"}}),
        )
    }

    fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> StatusCode {
        let url = format!("{}{}", self.srv.url, path);
        let mut req = match method {
            "GET" => self.http.get(&url),
            "POST" => self.http.post(&url),
            "PUT" => self.http.put(&url),
            "DELETE" => self.http.delete(&url),
            other => panic!("method {other}"),
        };
        if let Some(t) = self.bearer(who) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().unwrap().status()
    }
}

fn verdict(s: StatusCode) -> Want {
    match s.as_u16() {
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        _ => Allowed,
    }
}

/// Expected answer for `who` on a route of `kind`.
fn expect(kind: &str, who: Who, share: bool) -> Want {
    let unauth = matches!(
        who,
        Who::NoToken | Who::BadToken | Who::Expired | Who::Renewed
    );
    if unauth {
        return Unauthorized;
    }
    match (kind, who) {
        (_, Who::Admin) => Allowed,
        // An inactive guest reads their own account and nothing else.
        ("guest-self", Who::Guest) => Allowed,
        ("guest-self", _) => Forbidden,
        (_, Who::Guest) => Forbidden,
        // A job of olga's in project lab.
        ("job", Who::Owner) => Allowed,
        ("job", Who::Member) if share => Allowed,
        ("job", _) => NotFound,
        // olga's account: herself or an admin.
        ("self", Who::Owner) => Allowed,
        ("self", _) => Forbidden,
        // Changing quotas: administrators only.
        ("quota", _) => Forbidden,
        // Administrator routes.
        ("admin", _) => Forbidden,
        // Project lab: members see it.
        ("member", Who::Owner | Who::Member) => Allowed,
        ("member", _) => NotFound,
        // Routes any authenticated user may call (on their own data).
        ("user", _) => Allowed,
        (k, w) => panic!("no expectation for {k} / {w:?}"),
    }
}

type Route = (&'static str, &'static str, String, Option<Value>);

fn routes(w: &World) -> Vec<Route> {
    let j = |w: &World| w.job();
    let mut r: Vec<Route> = Vec::new();
    for (method, suffix, body) in [
        ("GET", "", None),
        ("GET", "/status", None),
        ("GET", "/stats", None),
        ("GET", "/suspend", None),
        ("GET", "/resume", None),
        ("GET", "/reschedule", None),
        (
            "PUT",
            "",
            Some(json!({"name": "maxlifespan", "value": "1h"})),
        ),
        ("GET", "/archive", None),
        ("GET", "/files/", None),
        ("GET", "/files/cmd.sh", None),
        ("DELETE", "/archive", None),
        ("DELETE", "", None),
    ] {
        r.push((
            "job",
            method,
            format!("/api/1.0/task/{}{suffix}", j(w)),
            body,
        ));
    }
    r.push(("guest-self", "GET", "/api/1.0/user/guest-gina".into(), None));
    r.push(("self", "GET", "/api/1.0/user/olga".into(), None));
    r.push(("self", "GET", "/api/1.0/user/olga/project".into(), None));
    r.push(("self", "GET", "/api/1.0/user/olga/usage".into(), None));
    r.push((
        "self",
        "GET",
        "/api/1.0/user/olga/usage?days=7".into(),
        None,
    ));
    r.push(("self", "GET", "/api/1.0/user/olga/quota".into(), None));
    r.push(("self", "DELETE", "/api/1.0/user/olga/task".into(), None));
    r.push((
        "self",
        "PUT",
        "/api/1.0/user/olga".into(),
        Some(json!({"credentials": {"public": "ssh-ed25519 AAAA test"}})),
    ));
    r.push((
        "quota",
        "PUT",
        "/api/1.0/user/olga".into(),
        Some(json!({"usage": {"quota_cpu": 77}})),
    ));
    r.push(("admin", "GET", "/api/1.0/user".into(), None));
    r.push(("admin", "GET", "/api/1.0/task/active/all".into(), None));
    r.push(("admin", "POST", "/api/1.0/task/over/all/0/10".into(), None));
    r.push(("admin", "GET", "/api/1.0/project".into(), None));
    r.push((
        "admin",
        "POST",
        "/api/1.0/project".into(),
        Some(json!({"id": "p-new"})),
    ));
    r.push((
        "admin",
        "POST",
        "/api/1.0/project/lab".into(),
        Some(json!({"description": "x"})),
    ));
    r.push(("admin", "DELETE", "/api/1.0/project/lab/quota".into(), None));
    r.push(("user", "GET", "/api/1.0/maintenance".into(), None));
    r.push((
        "admin",
        "PUT",
        "/api/1.0/maintenance".into(),
        Some(json!({"on": false, "message": "matrix"})),
    ));
    r.push(("admin", "GET", "/api/1.0/audit".into(), None));
    r.push(("member", "GET", "/api/1.0/project/lab".into(), None));
    r.push(("member", "GET", "/api/1.0/project/lab/usage".into(), None));
    r.push((
        "member",
        "GET",
        "/api/1.0/project/lab/usage?days=7".into(),
        None,
    ));
    r.push((
        "self",
        "POST",
        "/api/1.0/user/olga/password".into(),
        Some(json!({"password": "correct horse battery"})),
    ));
    r.push((
        "user",
        "POST",
        "/api/1.0/task".into(),
        Some(json!({"meta": {"name": "m"}, "container": {"image": "img"}, "command": {"cmd": "true"}})),
    ));
    r.push(("user", "GET", "/api/1.0/task/active".into(), None));
    r.push(("user", "POST", "/api/1.0/task/over/0/10".into(), None));
    r.push(("user", "GET", "/api/1.0/image".into(), None));
    r.push(("user", "GET", "/api/1.0/archive/30".into(), None));
    r
}

fn run_matrix(share: bool) {
    let w = world(share);
    let mut failures = Vec::new();
    let mut rows = 0;
    for (kind, method, path, body) in routes(&w) {
        for who in CALLERS {
            // Destructive routes get a fresh job per caller.
            let path = if kind == "job"
                && (method == "DELETE"
                    || path.ends_with("/reschedule")
                    || path.ends_with("/archive"))
            {
                let fresh = w.job();
                let old_id: String = path
                    .trim_start_matches("/api/1.0/task/")
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                path.replacen(&format!("/task/{old_id}"), &format!("/task/{fresh}"), 1)
            } else {
                path.clone()
            };
            let got = verdict(w.call(who, method, &path, body.clone()));
            let want = expect(kind, who, share);
            rows += 1;
            if got != want {
                failures.push(format!(
                    "{method} {path} as {who:?}: got {got:?}, want {want:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "share_project_tasks={share}: {} of {rows} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Public routes need no token.
    let cfg = w
        .http
        .get(format!("{}/api/1.0/config", w.srv.url))
        .send()
        .unwrap();
    assert_eq!(cfg.status(), StatusCode::OK);
    // With sharing, a member's project listing shows the owner's jobs; without, only their own.
    w.job();
    let mia = w.srv.client("mia", &w.keys["mia"]);
    let (_, listed) = mia.get("/api/1.0/task/active?project=lab");
    let others = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["user"]["id"] == "olga")
        .count();
    assert_eq!(
        others > 0,
        share,
        "project listing with share_project_tasks={share}"
    );
}

/// A browser session of the web UI: its cookie and the CSRF token its forms carry.
struct WebSession {
    cookie: String,
    csrf: String,
}

/// Log `user` in through the login form with an API key, as a browser does.
fn web_login(srv: &Server, user: &str, key: &str) -> WebSession {
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
            ("next", "/app/me"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "web login of {user}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("god_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let me = http
        .get(format!("{}/app/jobs", srv.url))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = me
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_string();
    WebSession { cookie, csrf }
}

/// Who asks a page of the web UI.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Browser {
    Owner,
    Other,
    Member,
    Admin,
    /// A guest an administrator has not activated yet: every page says to wait (403).
    Guest,
    NoSession,
    BadSession,
    LoggedOut,
}

const BROWSERS: [Browser; 8] = [
    Browser::Owner,
    Browser::Other,
    Browser::Member,
    Browser::Admin,
    Browser::Guest,
    Browser::NoSession,
    Browser::BadSession,
    Browser::LoggedOut,
];

/// The web UI's verdict: a redirect to the login page is "log in first".
fn web_verdict(r: &reqwest::blocking::Response) -> Want {
    let to_login = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/app/login"));
    if r.status() == StatusCode::SEE_OTHER && to_login {
        return Unauthorized;
    }
    // A live stream opened without a session that holds says only that it ended.
    let ended = r
        .headers()
        .get("x-god-session")
        .is_some_and(|v| v.as_bytes() == b"ended");
    if r.status() == StatusCode::OK && ended {
        return Unauthorized;
    }
    verdict(r.status())
}

fn web_expect(kind: &str, who: Browser, share: bool) -> Want {
    let who = match who {
        Browser::NoSession | Browser::BadSession | Browser::LoggedOut => return Unauthorized,
        Browser::Guest => return Forbidden,
        Browser::Owner => Who::Owner,
        Browser::Other => Who::Other,
        Browser::Member => Who::Member,
        Browser::Admin => Who::Admin,
    };
    expect(kind, who, share)
}

/// Every page and form of the web UI × every kind of browser.
fn run_web_matrix(share: bool) {
    let w = world(share);
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut sessions = std::collections::HashMap::new();
    for (who, user) in [
        (Browser::Owner, "olga"),
        (Browser::Other, "oscar"),
        (Browser::Member, "mia"),
        (Browser::Admin, "admin"),
        (Browser::Guest, "guest-gina"),
    ] {
        sessions.insert(format!("{who:?}"), web_login(&w.srv, user, &w.keys[user]));
    }
    let out = web_login(&w.srv, "oscar", &w.keys["oscar"]);
    let r = http
        .post(format!("{}/app/logout", w.srv.url))
        .header("cookie", &out.cookie)
        .form(&[("csrf", out.csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    sessions.insert(format!("{:?}", Browser::LoggedOut), out);
    sessions.insert(
        format!("{:?}", Browser::NoSession),
        WebSession {
            cookie: String::new(),
            csrf: String::new(),
        },
    );
    sessions.insert(
        format!("{:?}", Browser::BadSession),
        WebSession {
            cookie: "god_session=forged".into(),
            csrf: "forged".into(),
        },
    );
    // (kind, method, path, form fields besides csrf)
    type Page = (
        &'static str,
        &'static str,
        String,
        Vec<(&'static str, String)>,
    );
    let job = |w: &World| w.job();
    let mut pages: Vec<Page> = vec![
        ("job", "GET", format!("/app/jobs/{}", job(&w)), vec![]),
        ("job", "GET", format!("/app/jobs/{}/files", job(&w)), vec![]),
        (
            "job",
            "GET",
            format!("/app/submit?clone={}", job(&w)),
            vec![],
        ),
        (
            "job",
            "GET",
            format!("/app/events?topic=job&id={}", job(&w)),
            vec![],
        ),
        (
            "self",
            "POST",
            "/app/admin/users/olga".into(),
            vec![("prio", "50".into())],
        ),
        (
            "user",
            "POST",
            "/app/me/sshkey".into(),
            vec![("public_key", "ssh-ed25519 AAAA web".into())],
        ),
    ];
    for p in ["users", "projects", "queue", "nodes", "system", "audit"] {
        pages.push(("admin", "GET", format!("/app/admin/{p}"), vec![]));
    }
    pages.push((
        "admin",
        "POST",
        "/app/admin/projects".into(),
        vec![("id", "web-new".into())],
    ));
    pages.push((
        "admin",
        "POST",
        "/app/admin/projects/lab/act".into(),
        vec![("action", "reset".into())],
    ));
    pages.push((
        "admin",
        "POST",
        "/app/admin/maintenance".into(),
        vec![("switch", "off".into())],
    ));
    for p in [
        "/app/jobs",
        "/app/submit",
        "/app/me",
        "/app/usage",
        "/app/usage.csv",
    ] {
        pages.push(("user", "GET", p.into(), vec![]));
    }
    pages.push(("user", "GET", "/app/events?topic=jobs".into(), vec![]));
    let mut failures = Vec::new();
    let mut rows = 0;
    for (kind, method, path, fields) in &pages {
        for who in BROWSERS {
            // A request that changes a job gets a fresh one per browser.
            let (kind, path, fields) = if *kind == "self" {
                // Only administrators change someone's limits: the admin form is "quota".
                ("quota", path.clone(), fields.clone())
            } else {
                (*kind, path.clone(), fields.clone())
            };
            let session = &sessions[&format!("{who:?}")];
            let url = format!("{}{}", w.srv.url, path);
            let mut req = match *method {
                "GET" => http.get(&url),
                _ => {
                    let mut form = fields.clone();
                    form.push(("csrf", session.csrf.clone()));
                    http.post(&url).form(&form)
                }
            };
            if who != Browser::NoSession {
                req = req.header("cookie", &session.cookie);
            }
            let got = web_verdict(&req.send().unwrap());
            let want = web_expect(kind, who, share);
            rows += 1;
            if got != want {
                failures.push(format!(
                    "{method} {path} as {who:?}: got {got:?}, want {want:?}"
                ));
            }
        }
    }
    // A job's request from its page: the owner's kill works; another user's form is refused
    // as the API refuses it.
    for who in [Browser::Owner, Browser::Other] {
        let id = w.job();
        let session = &sessions[&format!("{who:?}")];
        let r = http
            .post(format!("{}/app/jobs/{id}/act", w.srv.url))
            .header("cookie", &session.cookie)
            .form(&[("csrf", session.csrf.as_str()), ("action", "kill")])
            .send()
            .unwrap();
        let want = if who == Browser::Owner {
            Allowed
        } else {
            NotFound
        };
        rows += 1;
        if web_verdict(&r) != want {
            failures.push(format!("kill from the page as {who:?}: {}", r.status()));
        }
        // Without this session's CSRF token, nothing happens.
        let r = http
            .post(format!("{}/app/jobs/{id}/act", w.srv.url))
            .header("cookie", &session.cookie)
            .form(&[("csrf", "not-the-token"), ("action", "kill")])
            .send()
            .unwrap();
        rows += 1;
        if r.status() != StatusCode::FORBIDDEN {
            failures.push(format!(
                "a form without the CSRF token as {who:?}: {}",
                r.status()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "web UI, share_project_tasks={share}: {} of {rows} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn web_ui_authorization_matrix_without_project_sharing() {
    run_web_matrix(false);
}

#[test]
fn web_ui_authorization_matrix_with_project_sharing() {
    run_web_matrix(true);
}

#[test]
fn authorization_matrix_without_project_sharing() {
    run_matrix(false);
}

#[test]
fn authorization_matrix_with_project_sharing() {
    run_matrix(true);
}
