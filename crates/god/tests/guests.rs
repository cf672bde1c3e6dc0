//! Guests (`guest_allow`): people who log in through a real OpenID Connect provider on loopback
//! (panva's `oidc-provider`, scripts/oidc-provider), mapped onto `guest_bind` (nobody here),
//! inactive until an administrator activates them, then running jobs in the Docker Engine as
//! guest_bind with their own home; root only with `guest_allow_root`; disabled like anyone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::oidc::{
    browser_login, guest_config, open_callback, walk_to_callback, Provider, CLIENT_SECRET,
};
use common::*;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

/// A server with guests, its provider, and where guests' homes are.
fn guest_server(name: &str, extra: &str, secret: &str) -> (Server, Provider, std::path::PathBuf) {
    let (oidc_port, port) = (free_port(), free_port());
    let homes = temp_dir(&format!("{name}-homes"));
    let issuer = format!("http://127.0.0.1:{oidc_port}");
    let cfg = format!(
        "{}{}guest_home_root: {}\nvolumes: [{{name: home, acl: rw, path: \"\"}}]\n{extra}",
        docker_config(""),
        guest_config(&issuer, port, secret),
        homes.display()
    );
    let srv = Server::start_at(name, &cfg, Some(port));
    let provider = Provider::start(oidc_port, &format!("{}/auth/oidc/callback", srv.url));
    assert_eq!(provider.issuer, issuer);
    (srv, provider, homes)
}

fn as_token(srv: &Server, token: &str) -> Api {
    Api {
        base: srv.url.clone(),
        token: token.to_string(),
        http: Client::new(),
    }
}

#[test]
fn a_guest_waits_for_an_administrator_then_runs_as_guest_bind() {
    if docker_skipped() {
        return;
    }
    let (srv, idp, homes) = guest_server("guests", "", CLIENT_SECRET);

    // First login: an account exists, inactive, mapped onto nobody, with its own home.
    let (s, v) = browser_login(&srv.url, &idp.issuer, "alice");
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"], "guest-alice");
    assert_eq!(v["active"], false);
    let alice = as_token(&srv, v["token"].as_str().unwrap());
    let (s, me) = alice.get("/api/1.0/user/guest-alice");
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        (me["guest"].clone(), me["active"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (me["uid"].clone(), me["gid"].clone()),
        (json!(65534), json!(65534))
    );
    assert_eq!(me["email"], "alice@example.org");
    let home = homes.join("guest-alice");
    assert_eq!(me["homeDirectory"], home.display().to_string());
    assert_eq!(owner(&home), (65534, 65534));
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // Waiting: nothing but their own account, not even a new API key or activating themselves.
    let (s, v) = alice.try_submit(MINIMAL_IMAGE, "true", json!({}));
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("waiting for an administrator"),
        "{v}"
    );
    for (method, path) in [
        ("GET", "/api/1.0/task/active"),
        ("POST", "/api/1.0/user/guest-alice/apikey"),
        ("PUT", "/api/1.0/user/guest-alice"),
    ] {
        let s = match method {
            "GET" => alice.get(path).0,
            "POST" => alice.post(path, &json!({})).0,
            _ => alice.put(path, &json!({"active": true})).0,
        };
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let admin = srv.admin();
    let (_, listed) = admin.get("/api/1.0/user");
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "guest-alice")
        .cloned()
        .unwrap();
    assert_eq!(row["active"], false);
    // `active` is for guests: a local account is enabled or disabled instead.
    let (s, v) = admin.put("/api/1.0/user/admin", &json!({"active": false}));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], "active");

    // The administrator lets her in, with the command line.
    let out = std::process::Command::new(god_bin())
        .args(["account", "set", "guest-alice", "--active", "true"])
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
    assert!(String::from_utf8_lossy(&out.stdout).contains("active false → true"));

    // Her session works now; her job runs as nobody with her home mounted.
    let id = alice.submit(
        MINIMAL_IMAGE,
        "id -u; id -g; touch /mnt/home/was-here",
        json!({"container": {"volumes": [{"name": "home", "acl": "rw"}]}}),
    );
    let job = alice.wait_over(id, 120);
    assert_eq!(job["status"]["exitcode"], 0, "{job}");
    assert_eq!(job["user"]["guest"], true);
    assert_eq!(alice.file(id, "god.log").1.trim(), "65534\n65534");
    assert_eq!(owner(&home.join("was-here")), (65534, 65534));
    // No root for guests without guest_allow_root, even where allow_root.
    let (s, v) = alice.try_submit(MINIMAL_IMAGE, "id", json!({"container": {"root": true}}));
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["field"], "container.root");
    // The command line takes the session the browser got, then gives an API key for scripts.
    let god = |args: &[&str]| {
        std::process::Command::new(god_bin())
            .args(args)
            .env("HOME", srv.dir.join("alice-home"))
            .env_remove("GOD_SERVER")
            .env_remove("GOD_USER")
            .env_remove("GOD_APIKEY")
            .output()
            .unwrap()
    };
    let out = god(&[
        "login",
        "--server",
        &srv.url,
        "--user",
        "guest-alice",
        "--token",
        &alice.token,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = god(&["whoami"]);
    let me = String::from_utf8_lossy(&out.stdout);
    assert!(me.contains("guest-alice") && me.contains("guest"), "{me}");
    let out = god(&[
        "login",
        "--server",
        &srv.url,
        "--user",
        "guest-alice",
        "--token",
        "forged.token",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid token"));
    // An activated guest may get an API key and use the Go-Docker 1.0 login.
    let (s, key) = alice.post("/api/1.0/user/guest-alice/apikey", &json!({}));
    assert_eq!(s, StatusCode::OK, "{key}");
    let by_key = srv.client("guest-alice", key["apikey"].as_str().unwrap());
    assert_eq!(by_key.get("/api/1.0/task/active").0, StatusCode::OK);

    // Logging in again finds the same account; a login taken locally gets a suffix.
    let (s, v) = browser_login(&srv.url, &idp.issuer, "alice");
    assert_eq!(
        (s, v["user"].clone(), v["active"].clone()),
        (StatusCode::OK, json!("guest-alice"), json!(true))
    );
    srv.add_user("guest-carol", 4100, 4100, &[]);
    let (s, v) = browser_login(&srv.url, &idp.issuer, "carol");
    assert_eq!(
        (s, v["user"].clone()),
        (StatusCode::OK, json!("guest-carol-2")),
        "{v}"
    );
    // A directory password login cannot take over a guest's account either.
    let r = Client::new()
        .post(format!("{}/api/1.0/authenticate", srv.url))
        .json(&json!({"user": "guest-alice", "password": "whatever-it-is"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Deactivated, then disabled: her tokens stop working and the provider cannot log her in.
    let (s, _) = admin.put("/api/1.0/user/guest-alice", &json!({"active": false}));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_key.get("/api/1.0/task/active").0, StatusCode::FORBIDDEN);
    let (s, _) = admin.put("/api/1.0/user/guest-alice", &json!({"disabled": true}));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        alice.get("/api/1.0/user/guest-alice").0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = browser_login(&srv.url, &idp.issuer, "alice");
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
}

#[test]
fn forged_replayed_and_refused_logins_get_no_account() {
    let (srv, idp, _) = guest_server("guests-bad", "", CLIENT_SECRET);
    let http = Client::new();
    let get = |q: &str| -> (StatusCode, Value) {
        let r = http
            .get(format!("{}/auth/oidc/callback?{q}", srv.url))
            .header("accept", "application/json")
            // As if this browser had begun that login: the server still never issued it.
            .header("cookie", "god_oidc_state=forged")
            .send()
            .unwrap();
        (r.status(), r.json().unwrap_or(Value::Null))
    };
    // A state we never issued.
    let (s, v) = get("code=abc&state=forged");
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("state")),
        "{v}"
    );
    let (s, v) = get("state=x");
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("code")),
        "{v}"
    );
    // The provider said no.
    let (s, _) = get("error=access_denied&error_description=nope&state=x");
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A callback opened by another browser than the one that began the login (login CSRF:
    // someone else's code pushed onto a victim) is refused, and the login stays usable.
    let cb = walk_to_callback(&srv.url, &idp.issuer, "dora");
    let (s, v) = open_callback(&cb, false);
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("state")),
        "{v}"
    );
    let (s, v) = open_callback(&cb, true);
    assert_eq!(s, StatusCode::OK, "{v}");
    // The same callback again, even from the right browser: the state was used up.
    let (s, v) = open_callback(&cb, true);
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("state")),
        "{v}"
    );
    // The home page offers the guest login only where guests are allowed.
    let home = http.get(&srv.url).send().unwrap().text().unwrap();
    assert!(home.contains("/auth/oidc/login"), "{home}");
    // Without guest_allow, the routes do not exist.
    let plain = Server::start("guests-off", "executors: [fake]\n");
    let r = http
        .get(format!("{}/auth/oidc/login", plain.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().unwrap().contains("guest_allow"));
    let home = http.get(&plain.url).send().unwrap().text().unwrap();
    assert!(!home.contains("/auth/oidc/login"), "{home}");

    // A server whose client secret the provider does not know: the code exchange is refused,
    // and no account is created.
    let (bad, idp2, _) = guest_server("guests-secret", "", "not-the-secret");
    let (s, v) = browser_login(&bad.url, &idp2.issuer, "eve");
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (_, users) = bad.admin().get("/api/1.0/user");
    assert!(
        !users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "guest-eve"),
        "{users}"
    );
}

/// Administrators see how much a guest's home holds (`usage.guest_home`, the original's), in
/// the user list and the user's document; nobody else does, and other users have none.
#[test]
fn administrators_see_how_much_a_guests_home_holds() {
    let (oidc_port, port) = (free_port(), free_port());
    let homes = temp_dir("guest-home-usage");
    let issuer = format!("http://127.0.0.1:{oidc_port}");
    let cfg = format!(
        "executors: [fake]\n{}guest_home_root: {}\n",
        guest_config(&issuer, port, CLIENT_SECRET),
        homes.display()
    );
    let srv = Server::start_at("guest-home-usage", &cfg, Some(port));
    let idp = Provider::start(oidc_port, &format!("{}/auth/oidc/callback", srv.url));
    srv.add_user("dora", 2901, 2901, &["--home", homes.to_str().unwrap()]);
    let (s, v) = browser_login(&srv.url, &idp.issuer, "gail");
    assert_eq!(s, StatusCode::OK, "{v}");
    let home = homes.join("guest-gail");
    assert!(home.is_dir(), "{}", home.display());
    std::fs::create_dir_all(home.join("data")).unwrap();
    std::fs::write(home.join("data/results.bin"), vec![7u8; 1_234_567]).unwrap();
    std::fs::write(home.join("notes.txt"), "eleven byte").unwrap();

    let admin = srv.admin();
    let (s, doc) = admin.get("/api/1.0/user/guest-gail");
    assert_eq!(s, StatusCode::OK, "{doc}");
    assert_eq!(doc["usage"]["guest_home"], 1_234_578, "{doc}");
    let (_, list) = admin.get("/api/1.0/user");
    let of = |login: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == login)
            .unwrap_or_else(|| panic!("{login} in {list}"))["usage"]
            .clone()
    };
    assert_eq!(of("guest-gail")["guest_home"], 1_234_578);
    assert!(
        of("dora").get("guest_home").is_none(),
        "not a guest: no guest_home"
    );
    // The guest, active now, does not see it; the document goes back as it came.
    let (s, _) = admin.put("/api/1.0/user/guest-gail", &json!({"active": true}));
    assert_eq!(s, StatusCode::OK);
    let (_, key) = admin.post("/api/1.0/user/guest-gail/apikey", &json!({}));
    let gail = srv.client("guest-gail", key["apikey"].as_str().unwrap());
    let (s, own) = gail.get("/api/1.0/user/guest-gail");
    assert_eq!(s, StatusCode::OK, "{own}");
    assert!(own["usage"].get("guest_home").is_none(), "{own}");
    let (s, v) = admin.put("/api/1.0/user/guest-gail", &doc);
    assert_eq!(s, StatusCode::OK, "the GET document goes back: {v}");
}
