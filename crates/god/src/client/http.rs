//! HTTP plumbing of the client: where the credentials live, how a token is obtained (and cached),
//! and how the server's errors are turned into one readable line.

use super::raw::Raw;
use anyhow::{anyhow, bail, Context, Result};
use god_core::api::{ErrorBody, LoginRequest, TokenAnswer};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where `god up` listens unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:6543";

/// Name of the token cache, beside the credentials file.
const TOKEN_CACHE: &str = "token-cache.json";

/// What `god login` stores: `{server, user, apikey}`. After a password login there is no API
/// key: `session` is set and the cached token is used until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Credentials {
    pub server: String,
    pub user: String,
    pub apikey: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
}

/// The credentials file: `$GOD_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/god/client.json`, else
/// `~/.config/god/client.json`. `env` looks a variable up (empty values count as unset).
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(p) = var("GOD_CLIENT_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let base = match var("XDG_CONFIG_HOME") {
        Some(x) => PathBuf::from(x),
        None => match var("HOME") {
            Some(h) => Path::new(&h).join(".config"),
            None => {
                bail!("cannot tell where to keep the credentials: set HOME or GOD_CLIENT_CONFIG")
            }
        },
    };
    Ok(base.join("god").join("client.json"))
}

/// The process environment, as `config_path` and `settings` want it.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Normalize a server address: `host:port` gets `http://`, trailing slashes go.
pub fn normalize_server(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        bail!("the server address is empty");
    }
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let url =
        Url::parse(&with_scheme).map_err(|e| anyhow!("{raw:?} is not a server address: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        bail!("{raw:?}: the server address must start with http:// or https://");
    }
    Ok(with_scheme.trim_end_matches('/').to_string())
}

/// Read the credentials file, if there is one.
pub fn read_credentials(path: &Path) -> Result<Option<Credentials>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let c: Credentials = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a credentials file (run `god login` again)",
                    path.display()
                )
            })?;
            Ok(Some(c))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("reading {}: {e}", path.display())),
    }
}

/// Write `contents` to `path` readable by the owner only, atomically (temporary file + rename).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "client.json".into());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("writing {}: {e}", path.display())
    })
}

/// Where to talk to and as whom: the credentials file, overridden by `GOD_SERVER`, `GOD_USER`
/// and `GOD_APIKEY`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub server: String,
    pub user: String,
    pub apikey: String,
    /// The credentials file (whether or not it exists): the token cache lives beside it.
    pub path: PathBuf,
}

pub fn settings(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
    let path = config_path(env)?;
    let file = read_credentials(&path)?.unwrap_or_default();
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let apikey = var("GOD_APIKEY")
        .or_else(|| Some(file.apikey.clone()).filter(|k| !k.is_empty()))
        .or_else(|| file.session.then(String::new));
    let Some(apikey) = apikey else {
        bail!(
            "not logged in: run `god login` (no API key in {}), or set GOD_APIKEY",
            path.display()
        );
    };
    let server = var("GOD_SERVER")
        .or_else(|| Some(file.server.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let user = var("GOD_USER")
        .or_else(|| Some(file.user.clone()).filter(|s| !s.is_empty()))
        .or_else(|| var("USER"))
        .ok_or_else(|| anyhow!("no user name: run `god login --user LOGIN` or set GOD_USER"))?;
    Ok(Settings {
        server: normalize_server(&server)?,
        user,
        apikey,
        path,
    })
}

/// A refusal from the server: its `{"error", "field"}` body and the HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
    pub field: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) if !field.is_empty() => {
                write!(f, "{field}: {} (HTTP {})", self.error, self.status)
            }
            _ => write!(f, "{} (HTTP {})", self.error, self.status),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Decode an error body; anything that is not the server's JSON still gives a readable line.
    pub fn from_body(status: StatusCode, body: &[u8]) -> ApiError {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let field = parsed.as_ref().and_then(|p| p.field.clone());
        let error = parsed.map(|p| p.error).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("");
            let reason = status.canonical_reason().unwrap_or("error");
            if first.is_empty() {
                reason.to_string()
            } else {
                format!("{reason}: {}", crate::client::output::truncate(first, 200))
            }
        });
        ApiError {
            status: status.as_u16(),
            error,
            field,
        }
    }
}

/// The HTTP status of a failed call, if the server answered.
pub fn status_of(e: &anyhow::Error) -> Option<u16> {
    e.downcast_ref::<ApiError>().map(|a| a.status)
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A cached token, beside the credentials file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
struct CachedToken {
    server: String,
    user: String,
    /// A fingerprint of the API key the token was obtained with (not the key).
    key: String,
    token: String,
    exp: f64,
}

fn key_fingerprint(apikey: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    apikey.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The expiry (`exp`, seconds since the epoch) a server token carries, if it can be read. The
/// token is `base64url(JSON claims).signature`; only the claims are looked at.
pub fn token_expiry(token: &str) -> Option<f64> {
    let (body, _) = token.split_once('.')?;
    #[derive(Deserialize)]
    struct Claims {
        exp: f64,
    }
    let claims: Claims = serde_json::from_slice(&base64url_decode(body)?).ok()?;
    Some(claims.exp)
}

/// Decode unpadded (or padded) base64url.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A connection to the server as one user.
pub struct Api {
    client: Client,
    pub server: String,
    pub user: String,
    apikey: String,
    token: Option<String>,
    /// Whether `token` came from the cache (and so may be stale).
    token_from_cache: bool,
    cache: Option<PathBuf>,
}

pub fn http_client() -> Result<Client> {
    Client::builder()
        .user_agent(concat!("god/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .context("setting up the HTTP client")
}

/// Turn a transport failure into a line that says which server could not be reached.
fn transport_error(server: &str, e: reqwest::Error) -> anyhow::Error {
    if e.is_connect() {
        anyhow!("cannot reach the server at {server} (is it running? `god up` starts one)")
    } else if e.is_timeout() {
        anyhow!("the server at {server} did not answer in time")
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        anyhow!("talking to {server}: {msg}")
    }
}

/// Check a response's status: a success is handed back, anything else becomes an [`ApiError`].
pub fn check(resp: Response) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
    Err(ApiError::from_body(status, &body).into())
}

/// `POST /api/1.0/authenticate` → the token.
pub fn authenticate(client: &Client, server: &str, user: &str, apikey: &str) -> Result<String> {
    login_with(
        client,
        server,
        &LoginRequest {
            user: user.into(),
            apikey: Some(apikey.into()),
            password: None,
        },
    )
}

/// `POST /api/1.0/authenticate {user, password}` → the token (checked by the server's
/// authentication policy: local password, system account, LDAP).
pub fn authenticate_password(
    client: &Client,
    server: &str,
    user: &str,
    password: &str,
) -> Result<String> {
    login_with(
        client,
        server,
        &LoginRequest {
            user: user.into(),
            apikey: None,
            password: Some(password.into()),
        },
    )
}

/// Check a session token obtained elsewhere (a guest's browser login) by reading the user's
/// own account with it.
pub fn check_token(client: &Client, server: &str, user: &str, token: &str) -> Result<()> {
    let resp = client
        .get(format!("{server}/api/1.0/user/{user}"))
        .bearer_auth(token)
        .send()
        .map_err(|e| transport_error(server, e))?;
    check(resp)?;
    Ok(())
}

fn login_with(client: &Client, server: &str, body: &LoginRequest) -> Result<String> {
    let resp = client
        .post(format!("{server}/api/1.0/authenticate"))
        .json(body)
        .send()
        .map_err(|e| transport_error(server, e))?;
    let bytes = check(resp)?
        .bytes()
        .map_err(|e| transport_error(server, e))?;
    let answer: TokenAnswer = Raw::parse(&bytes, &format!("the server at {server}"))?
        .read("the login")
        .map_err(|_| anyhow!("the server at {server} answered the login without a token"))?;
    Ok(answer.token)
}

impl Api {
    /// Connect with the saved credentials and the environment overrides. No request is made
    /// until the first call.
    pub fn connect() -> Result<Api> {
        let s = settings(&process_env)?;
        let cache = s.path.parent().map(|d| d.join(TOKEN_CACHE));
        Ok(Api {
            client: http_client()?,
            server: s.server,
            user: s.user,
            apikey: s.apikey,
            token: None,
            token_from_cache: false,
            cache,
        })
    }

    /// Remember a token obtained elsewhere (by `god login`).
    pub fn store_token(cache_dir: &Path, server: &str, user: &str, apikey: &str, token: &str) {
        let entry = CachedToken {
            server: server.to_string(),
            user: user.to_string(),
            key: key_fingerprint(apikey),
            token: token.to_string(),
            exp: token_expiry(token).unwrap_or_else(|| now() + 300.0),
        };
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            // The cache is an optimisation: failing to write it is not an error.
            let _ = write_private(&cache_dir.join(TOKEN_CACHE), &bytes);
        }
    }

    fn cached_token(&self) -> Option<String> {
        let path = self.cache.as_ref()?;
        let text = std::fs::read_to_string(path).ok()?;
        let c: CachedToken = serde_json::from_str(&text).ok()?;
        let fresh = c.exp > now() + 30.0;
        (fresh
            && c.server == self.server
            && c.user == self.user
            && c.key == key_fingerprint(&self.apikey))
        .then_some(c.token)
    }

    fn token(&mut self) -> Result<String> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        if let Some(t) = self.cached_token() {
            self.token = Some(t.clone());
            self.token_from_cache = true;
            return Ok(t);
        }
        if self.apikey.is_empty() {
            bail!(
                "your session (password login) has expired: run `god login --user {}` again",
                self.user
            );
        }
        let t = authenticate(&self.client, &self.server, &self.user, &self.apikey)
            .map_err(|e| anyhow!("logging in to {} as {}: {e:#}", self.server, self.user))?;
        // Cache only where the credentials directory already exists (not for env-only use).
        if let Some(dir) = self
            .cache
            .as_ref()
            .and_then(|c| c.parent())
            .filter(|d| d.is_dir())
        {
            Api::store_token(dir, &self.server, &self.user, &self.apikey, &t);
        }
        self.token = Some(t.clone());
        self.token_from_cache = false;
        Ok(t)
    }

    /// The full URL of an API path such as `/api/1.0/task/3`.
    pub fn url(&self, path: &str) -> Result<Url> {
        Url::parse(&format!("{}{path}", self.server))
            .map_err(|e| anyhow!("bad URL {}{path}: {e}", self.server))
    }

    /// `path` followed by `segments`, each percent-encoded as one path segment (empty ones are
    /// skipped).
    pub fn url_with(&self, path: &str, segments: &[&str]) -> Result<Url> {
        let mut url = self.url(path)?;
        url.path_segments_mut()
            .map_err(|_| anyhow!("{} cannot take a path", self.server))?
            .pop_if_empty()
            .extend(segments.iter().filter(|s| !s.is_empty()));
        Ok(url)
    }

    /// GET a URL built with [`Api::url_with`], as JSON.
    pub fn get_url(&mut self, url: Url) -> Result<Raw> {
        let resp = self.send(Method::GET, url, &|r| r)?;
        self.json_of(resp)
    }

    /// Send an authenticated request; `build` adds what the request needs beyond the token (it
    /// may run twice: a cached token the server refuses is replaced once). A failure status is
    /// returned as an [`ApiError`].
    pub fn send(
        &mut self,
        method: Method,
        url: Url,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let token = self.token()?;
        let resp = self.send_with(&token, method.clone(), url.clone(), build)?;
        if resp.status() == StatusCode::UNAUTHORIZED && self.token_from_cache {
            self.token = None;
            // The cached token was refused (key renewed, server secret changed): get a new one.
            if let Some(c) = &self.cache {
                let _ = std::fs::remove_file(c);
            }
            let token = self.token()?;
            return check(self.send_with(&token, method, url, build)?);
        }
        check(resp)
    }

    fn send_with(
        &self,
        token: &str,
        method: Method,
        url: Url,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let req = self.client.request(method, url).bearer_auth(token);
        build(req)
            .send()
            .map_err(|e| transport_error(&self.server, e))
    }

    /// The answer's body, as received (see [`Raw`]).
    pub fn json_of(&self, resp: Response) -> Result<Raw> {
        let bytes = resp.bytes().map_err(|e| transport_error(&self.server, e))?;
        Raw::parse(&bytes, "the server")
    }

    /// GET `path` and read the answer as `T` (a type of `god_core::api`, or the task).
    pub fn get_as<T: serde::de::DeserializeOwned>(&mut self, path: &str) -> Result<T> {
        self.get(path)?.read(path)
    }

    pub fn call(&mut self, method: Method, path: &str) -> Result<Raw> {
        let url = self.url(path)?;
        let resp = self.send(method, url, &|r| r)?;
        self.json_of(resp)
    }

    pub fn get(&mut self, path: &str) -> Result<Raw> {
        self.call(Method::GET, path)
    }

    /// POST a request of the API's vocabulary; the answer as received.
    pub fn post<B: Serialize + ?Sized>(&mut self, path: &str, body: &B) -> Result<Raw> {
        let url = self.url(path)?;
        let resp = self.send(Method::POST, url, &|r| r.json(body))?;
        self.json_of(resp)
    }

    /// PUT a request of the API's vocabulary; the answer as received.
    pub fn put<B: Serialize + ?Sized>(&mut self, path: &str, body: &B) -> Result<Raw> {
        let url = self.url(path)?;
        self.call_url(Method::PUT, url, Some(body))
    }

    /// Call a URL built with [`Api::url_with`], with an optional JSON body; the reply as JSON.
    pub fn call_url<B: Serialize + ?Sized>(
        &mut self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Raw> {
        let resp = match body {
            Some(b) => self.send(method, url, &|r| r.json(b))?,
            None => self.send(method, url, &|r| r)?,
        };
        self.json_of(resp)
    }

    /// A route that needs no token (`/api/1.0/config`).
    pub fn get_public(&self, path: &str) -> Result<Raw> {
        let resp = self
            .client
            .get(self.url(path)?)
            .send()
            .map_err(|e| transport_error(&self.server, e))?;
        self.json_of(check(resp)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn config_path_resolution() {
        let p = |pairs: &[(&str, &str)]| config_path(&env_of(pairs)).ok();
        assert_eq!(
            p(&[
                ("GOD_CLIENT_CONFIG", "/x/c.json"),
                ("XDG_CONFIG_HOME", "/xdg"),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/x/c.json"))
        );
        assert_eq!(
            p(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/h")]),
            Some(PathBuf::from("/xdg/god/client.json"))
        );
        assert_eq!(
            p(&[("HOME", "/h")]),
            Some(PathBuf::from("/h/.config/god/client.json"))
        );
        assert_eq!(
            p(&[
                ("GOD_CLIENT_CONFIG", ""),
                ("XDG_CONFIG_HOME", ""),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/h/.config/god/client.json")),
            "empty variables count as unset"
        );
        assert_eq!(p(&[]), None);
    }

    #[test]
    fn settings_env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("god-client-test-{}", std::process::id()));
        let path = dir.join("client.json");
        let creds = Credentials {
            server: "http://filehost:1".into(),
            user: "alice".into(),
            apikey: "filekey".into(),
            session: false,
        };
        write_private(&path, &serde_json::to_vec(&creds).unwrap()).unwrap();
        let path_s = path.to_string_lossy().to_string();
        let s = settings(&env_of(&[("GOD_CLIENT_CONFIG", &path_s), ("USER", "bob")])).unwrap();
        assert_eq!(
            (s.server.as_str(), s.user.as_str(), s.apikey.as_str()),
            ("http://filehost:1", "alice", "filekey")
        );
        let s = settings(&env_of(&[
            ("GOD_CLIENT_CONFIG", &path_s),
            ("GOD_SERVER", "otherhost:2/"),
            ("GOD_USER", "carol"),
            ("GOD_APIKEY", "envkey"),
        ]))
        .unwrap();
        assert_eq!(
            (s.server.as_str(), s.user.as_str(), s.apikey.as_str()),
            ("http://otherhost:2", "carol", "envkey")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();

        let missing = dir.join("nothing.json").to_string_lossy().to_string();
        let err = settings(&env_of(&[("GOD_CLIENT_CONFIG", &missing)])).unwrap_err();
        assert!(err.to_string().contains("god login"), "{err}");
        let s = settings(&env_of(&[
            ("GOD_CLIENT_CONFIG", &missing),
            ("GOD_APIKEY", "k"),
            ("USER", "dave"),
        ]))
        .unwrap();
        assert_eq!(
            (s.server.as_str(), s.user.as_str()),
            (DEFAULT_SERVER, "dave")
        );
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            normalize_server("localhost:6543").unwrap(),
            "http://localhost:6543"
        );
        assert_eq!(
            normalize_server("https://god.example.org/").unwrap(),
            "https://god.example.org"
        );
        assert!(normalize_server("ftp://x").is_err());
        assert!(normalize_server("").is_err());
    }

    #[test]
    fn error_bodies() {
        let e = ApiError::from_body(
            StatusCode::BAD_REQUEST,
            br#"{"error": "-2 GB: must be more than 0", "field": "requirements.ram"}"#,
        );
        assert_eq!(
            e.to_string(),
            "requirements.ram: -2 GB: must be more than 0 (HTTP 400)"
        );
        let e = ApiError::from_body(
            StatusCode::NOT_FOUND,
            br#"{"error": "job 9 does not exist", "field": null}"#,
        );
        assert_eq!(e.to_string(), "job 9 does not exist (HTTP 404)");
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, b"<html>\n<h1>upstream down</h1>");
        assert_eq!(e.to_string(), "Bad Gateway: <html> (HTTP 502)");
        let e = ApiError::from_body(StatusCode::INTERNAL_SERVER_ERROR, b"");
        assert_eq!(e.to_string(), "Internal Server Error (HTTP 500)");
        let any: anyhow::Error = e.into();
        assert_eq!(status_of(&any), Some(500));
    }

    #[test]
    fn token_expiry_is_read_from_the_claims() {
        // base64url of {"sub":"a","exp":1234.5,"kv":0}
        let body = "eyJzdWIiOiJhIiwiZXhwIjoxMjM0LjUsImt2IjowfQ";
        assert_eq!(token_expiry(&format!("{body}.sig")), Some(1234.5));
        assert_eq!(token_expiry("garbage"), None);
        assert_eq!(base64url_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64url_decode("aGk=").unwrap(), b"hi");
        assert!(base64url_decode("a+b").is_none());
    }
}
