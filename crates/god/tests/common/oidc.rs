//! A real OpenID Connect provider on loopback (`scripts/oidc-provider`: panva's certified
//! `oidc-provider` from npm, installed by `scripts/install-deps.sh`), and a browser's walk
//! through a guest login: our `/auth/oidc/login`, the provider's login and consent forms, back
//! to our callback.

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const CLIENT_ID: &str = "god-test";
pub const CLIENT_SECRET: &str = "god-test-secret";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oidc-provider")
}

/// One provider process, stopped when dropped.
pub struct Provider {
    pub issuer: String,
    child: Child,
}

impl Provider {
    /// Start on `port` with one confidential client whose redirect URI is `redirect_uri`.
    pub fn start(port: u16, redirect_uri: &str) -> Provider {
        assert!(
            dir().join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run scripts/install-deps.sh"
        );
        let mut child = Command::new("node")
            .arg(dir().join("provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", redirect_uri)
            // The provider exits when this test process dies and the pipe closes.
            .env("OIDC_EXIT_ON_STDIN_EOF", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node scripts/oidc-provider/provider.mjs");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("oidc-provider listening on ")
            .unwrap_or_else(|| panic!("provider did not start: {line:?}"))
            .to_string();
        Provider { issuer, child }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The YAML of a server whose guests log in at `issuer` and come back to `server_port`.
pub fn guest_config(issuer: &str, server_port: u16, secret: &str) -> String {
    format!(
        "guest_allow: true\nguest_bind: nobody\n\
         oidc: {{issuer: \"{issuer}\", client_id: {CLIENT_ID}, client_secret: {secret}, \
         redirect_url: \"http://127.0.0.1:{server_port}/auth/oidc/callback\"}}\n"
    )
}

/// A browser without JavaScript: no redirects followed, cookies kept by name.
struct Browser {
    http: Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn send(&mut self, req: reqwest::blocking::RequestBuilder) -> reqwest::blocking::Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req.header("cookie", cookie).send().unwrap();
        for h in r.headers().get_all("set-cookie") {
            let pair = h.to_str().unwrap().split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        r
    }
}

fn location(r: &reqwest::blocking::Response, base: &str) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "expected a redirect");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    if loc.starts_with('/') {
        format!("{base}{loc}")
    } else {
        loc
    }
}

/// Where the provider sent the browser back to us, and the cookies that browser holds.
pub struct Callback {
    pub url: String,
    pub cookies: String,
}

/// Walk a browser from `server`'s `/auth/oidc/login` through the provider's login (as `login`)
/// and consent pages, up to (not into) the callback.
pub fn walk_to_callback(server: &str, issuer: &str, login: &str) -> Callback {
    let mut b = Browser {
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        cookies: BTreeMap::new(),
    };
    let r = b.send(b.http.get(format!("{server}/auth/oidc/login")));
    let mut url = location(&r, server);
    assert!(url.starts_with(issuer), "login goes to the provider: {url}");
    for _ in 0..12 {
        if url.starts_with(server) {
            let cookies = b
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Callback { url, cookies };
        }
        if url.contains("/interaction/") {
            // The provider's development pages: a login form, then a consent form.
            let page = b.send(b.http.get(&url)).text().unwrap();
            let form: Vec<(&str, &str)> = if page.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let r = b.send(b.http.post(&url).form(&form));
            url = location(&r, issuer);
        } else {
            let r = b.send(b.http.get(&url));
            url = location(&r, issuer);
        }
    }
    panic!("the login did not come back to {server}");
}

/// Open the callback (asking for JSON), with the browser's cookies or without them.
pub fn open_callback(cb: &Callback, with_cookies: bool) -> (StatusCode, Value) {
    let mut req = Client::new()
        .get(&cb.url)
        .header("accept", "application/json");
    if with_cookies {
        req = req.header("cookie", &cb.cookies);
    }
    let r = req.send().unwrap();
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

/// A whole login as `login`: what our callback answered.
pub fn browser_login(server: &str, issuer: &str, login: &str) -> (StatusCode, Value) {
    open_callback(&walk_to_callback(server, issuer, login), true)
}
