//! Test harness: start the real `god` binary on a free port with its own data directory and talk
//! to it over HTTP, the way users do.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod browser;
pub mod oidc;
pub mod transcript;

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const MINIMAL_IMAGE: &str = "god-test/minimal:latest";
pub const DEBIAN_IMAGE: &str = "god-test/debian:bookworm";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn god_bin() -> &'static str {
    env!("CARGO_BIN_EXE_god")
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("god-it-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Server {
    pub dir: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
    pub url: String,
    pub admin_key: String,
    /// `godocker.server` label of this server's containers.
    pub server_id: String,
    child: Option<Child>,
    stderr_log: PathBuf,
}

impl Server {
    /// Start `god up` with `config` (YAML) in a new directory.
    pub fn start(name: &str, config: &str) -> Server {
        Self::start_at(name, config, None)
    }

    /// Start on a given port (see [`free_port`]), for configurations that name the server's own
    /// address (e.g. `oidc.redirect_url`).
    pub fn start_at(name: &str, config: &str, port: Option<u16>) -> Server {
        let dir = temp_dir(name);
        let cfg = dir.join("go-d.yml");
        std::fs::write(&cfg, config).unwrap();
        let mut s = Server {
            data: dir.join("data"),
            config: cfg,
            dir,
            url: String::new(),
            admin_key: String::new(),
            server_id: String::new(),
            child: None,
            stderr_log: PathBuf::new(),
        };
        s.launch(port);
        s
    }

    /// (Re)start the process on the same data directory; `port` keeps the old address.
    fn launch(&mut self, port: Option<u16>) {
        let listen = format!("127.0.0.1:{}", port.unwrap_or(0));
        self.stderr_log = self.dir.join(format!(
            "stderr-{}.log",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let stderr = std::fs::File::create(&self.stderr_log).unwrap();
        let mut child = Command::new(god_bin())
            .args(["up", "--listen", &listen, "--data"])
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .env("GOD_LOG", "info,god_server=debug")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start god up");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "god up exited early; stderr:\n{}",
                    std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
                );
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                self.url = format!("http://{}", rest.split_whitespace().next().unwrap());
            }
            if let Some(rest) = line.strip_prefix("server id: ") {
                self.server_id = rest.trim().to_string();
            }
            if let Some(rest) = line.split("API key: ").nth(1) {
                self.admin_key = rest.trim().to_string();
            }
            if line.starts_with("data directory:") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        assert!(!self.url.is_empty(), "no listening line");
    }

    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL the server, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Start again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill9();
        let port = self.port();
        self.launch(Some(port));
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// `god user add`: returns the API key.
    pub fn add_user(&self, login: &str, uid: u32, gid: u32, extra: &[&str]) -> String {
        let out = Command::new(god_bin())
            .args([
                "user",
                "add",
                login,
                "--uid",
                &uid.to_string(),
                "--gid",
                &gid.to_string(),
                "--data",
            ])
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn client(&self, login: &str, key: &str) -> Api {
        Api::login(&self.url, login, key)
    }

    pub fn admin(&self) -> Api {
        self.client("admin", &self.admin_key)
    }

    pub fn shared_dir(&self) -> PathBuf {
        self.data.join("shared")
    }

    /// Host path of a job's directory.
    pub fn job_dir(&self, id: u64) -> PathBuf {
        self.shared_dir()
            .join(god_core::pairtree::task_dir(&id.to_string()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        // Jobs outlive their server by design; a test's must not outlive the test.
        if !self.server_id.is_empty() {
            let filter = format!("label=godocker.server={}", self.server_id);
            if let Ok(out) = Command::new("docker")
                .args(["ps", "-aq", "--filter", &filter])
                .output()
            {
                let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                if !ids.is_empty() {
                    let _ = Command::new("docker")
                        .args(["rm", "-f"])
                        .args(&ids)
                        .output();
                }
            }
        }
        // A passing test leaves nothing behind; a failing one keeps its directory (data, config,
        // server log) to look at.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Server {
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(5));
        }
    }
}

/// Stop a process as an operator would: SIGTERM, then SIGKILL if it is still there after `grace`.
pub fn terminate(c: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

pub struct Api {
    pub base: String,
    pub token: String,
    pub http: Client,
}

impl Api {
    pub fn login(base: &str, user: &str, key: &str) -> Api {
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let r = http
            .post(format!("{base}/api/1.0/authenticate"))
            .json(&json!({"user": user, "apikey": key}))
            .send()
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "login {user}: {}",
            r.text().unwrap_or_default()
        );
        let token = r.json::<Value>().unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        Api {
            base: base.to_string(),
            token,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        decode(r)
    }

    pub fn get_raw(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.bytes().unwrap().to_vec())
    }

    pub fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap();
        decode(r)
    }

    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .unwrap();
        decode(r)
    }

    pub fn delete(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .delete(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        decode(r)
    }

    pub fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap();
        decode(r)
    }

    /// Submit a job; panics unless accepted. Returns its id.
    pub fn submit(&self, image: &str, cmd: &str, extra: Value) -> u64 {
        let (s, v) = self.try_submit(image, cmd, extra);
        assert_eq!(s, StatusCode::OK, "submit: {v}");
        v["id"].as_u64().unwrap()
    }

    pub fn try_submit(&self, image: &str, cmd: &str, extra: Value) -> (StatusCode, Value) {
        let mut doc = json!({
            "meta": {"name": "test", "description": "", "tags": []},
            "requirements": {"cpu": 1, "ram": 0.25},
            "container": {"image": image, "volumes": [], "root": false},
            "command": {"cmd": cmd, "interactive": false},
        });
        merge(&mut doc, extra);
        self.post("/api/1.0/task", &doc)
    }

    pub fn job(&self, id: u64) -> Value {
        let (s, v) = self.get(&format!("/api/1.0/task/{id}"));
        assert_eq!(s, StatusCode::OK, "job {id}: {v}");
        v
    }

    /// Wait until `pred` holds on the job document, or panic after `secs`.
    pub fn wait_for(&self, id: u64, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let j = self.job(id);
            if pred(&j) {
                return j;
            }
            if Instant::now() > deadline {
                panic!("job {id} never became {what}: {j}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_over(&self, id: u64, secs: u64) -> Value {
        self.wait_for(id, secs, "over", |j| j["status"]["primary"] == "over")
    }

    pub fn wait_running(&self, id: u64, secs: u64) -> Value {
        self.wait_for(id, secs, "running with a container", |j| {
            j["status"]["primary"] == "running" && j["container"]["id"].is_string()
        })
    }

    /// Download a file of a job.
    pub fn file(&self, id: u64, path: &str) -> (StatusCode, String) {
        let (s, _, body) = self.get_raw(&format!("/api/1.0/task/{id}/files/{path}"));
        (s, String::from_utf8_lossy(&body).to_string())
    }
}

fn decode(r: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// Merge `extra` into `doc` (objects recursively).
/// A port nobody listens on right now (the kernel's choice).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn merge(doc: &mut Value, extra: Value) {
    match (doc, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// Is the Docker Engine required? Set GOD_SKIP_DOCKER=1 to skip the Docker tests locally.
pub fn docker_skipped() -> bool {
    if std::env::var("GOD_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!("GOD_SKIP_DOCKER=1: skipping a Docker Engine test");
        return true;
    }
    false
}

pub fn image_exists(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Config for tests on the real Docker Engine.
pub fn docker_config(extra: &str) -> String {
    format!("executors: [docker]\ntick_seconds: 0.5\nallow_root: true\n{extra}")
}

pub fn owner(path: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.uid(), m.gid())
}
