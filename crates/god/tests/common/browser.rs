//! A real browser for the web UI's tests: Debian's headless Chromium driven through its own
//! `chromedriver` (WebDriver, fantoccini) on loopback.
//!
//! ```ignore
//! let srv = Server::start("ui-x", &config);
//! let Some(b) = Browser::start("login") else { return }; // no Chromium here: skipped locally
//! b.login_password(&srv.url, "ann", "a long password");
//! b.wait_attr("[data-testid=job-7]", "data-state", |s| s == "running");
//! b.screenshot("running"); // target/ui-screenshots/login-running.png
//! ```
//!
//! Everything is synchronous (the tests are, like the rest of the harness): the browser owns a
//! small tokio runtime and blocks on each WebDriver command. Elements are found again by CSS at
//! each step, never held across steps: live pages replace them. Every wait has a deadline and
//! polls; on a timeout the page's screenshot is kept and the panic says what the page showed.
//! A test's console is read at each screenshot and at the end: a Content-Security-Policy
//! violation or an uncaught script error fails it.
//!
//! Without `chromium` and `chromedriver` (scripts/install-deps.sh installs them) a test is
//! skipped with a message, except under CI (`CI` set), where it fails.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a wait lasts unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(15);

/// WebDriver's codes of the keys a test presses.
pub mod keys {
    pub const TAB: char = '\u{e004}';
    pub const ENTER: char = '\u{e007}';
    pub const SPACE: char = ' ';
    pub const SHIFT: char = '\u{e008}';
    pub const CTRL: char = '\u{e009}';
}

/// Where the tests keep their screenshots: `<target>/ui-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program of `PATH` (or the path in `$var`).
fn program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// One Chromium, its chromedriver and its WebDriver session; all stopped when dropped.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    driver_url: String,
    session: String,
    dir: PathBuf,
    /// The test's name: its screenshots are `<test>-<name>.png`.
    test: String,
    shots: std::cell::Cell<u32>,
}

impl Browser {
    /// A fresh browser (new profile) for test `test`; `None` when Chromium is not installed
    /// and this is not CI.
    pub fn start(test: &str) -> Option<Browser> {
        let driver = program("GOD_CHROMEDRIVER", &["chromedriver"]);
        let chromium = program("GOD_CHROMIUM", &["chromium"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let why = "the browser tests need Debian's chromium and chromium-driver \
                       (scripts/install-deps.sh installs them)";
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipping browser test {test}: {why}");
            return None;
        };
        let dir = super::temp_dir(&format!("browser-{test}"));
        let mut last = String::new();
        // A free port can be taken between its choice and chromedriver's bind: try again.
        for _ in 0..3 {
            let port = super::free_port();
            let log = std::fs::File::create(dir.join("chromedriver.log")).unwrap();
            let mut child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
            let url = format!("http://127.0.0.1:{port}");
            if wait_listening(port, &mut child) {
                match Self::session(&url, &chromium, &dir) {
                    Ok((rt, client, session)) => {
                        return Some(Browser {
                            rt,
                            client: Some(client),
                            driver: child,
                            driver_url: url,
                            session,
                            dir,
                            test: test.to_string(),
                            shots: std::cell::Cell::new(0),
                        })
                    }
                    Err(e) => last = e,
                }
            } else {
                last = "chromedriver did not listen".into();
            }
            let log = std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default();
            last = format!("{last}\nchromedriver's log:\n{log}");
            eprintln!("browser for {test}: no session, trying again: {last}");
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("chromedriver and chromium did not start: {last}");
    }

    fn session(
        url: &str,
        chromium: &Path,
        dir: &Path,
    ) -> Result<(tokio::runtime::Runtime, Client, String), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = dir.join("profile");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // CI and these machines run as root.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    // Nothing but the server under test: this machine's network is closed and
                    // Chromium's own connections would be refused.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            // The console, read to fail a test on a CSP violation or a script error.
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = rt
            .block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(60),
                    ClientBuilder::new(connector)
                        .capabilities(caps)
                        .connect(url),
                )
                .await
            })
            .map_err(|_| "no WebDriver session after 60 s".to_string())?
            .map_err(|e| format!("WebDriver session: {e}"))?;
        let session = rt
            .block_on(client.session_id())
            .map_err(|e| e.to_string())?
            .ok_or("no session id")?;
        Ok((rt, client, session))
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Open `url` (absolute).
    pub fn goto(&self, url: &str) {
        self.block(self.c().goto(url))
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Go back one page in the history.
    pub fn back(&self) {
        self.block(self.c().back()).unwrap();
    }

    /// Reload the page.
    pub fn reload(&self) {
        self.block(self.c().refresh()).unwrap();
    }

    pub fn url(&self) -> String {
        self.block(self.c().current_url()).unwrap().to_string()
    }

    /// The path and query of the current page (`/app/jobs?state=over`).
    pub fn path(&self) -> String {
        let u = self.block(self.c().current_url()).unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// Run `script` in the page (`arguments[i]` are `args`) and return what it returns.
    pub fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.block(self.c().execute(script, args))
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Scroll the first element that matches `css` into view (for a screenshot).
    pub fn scroll_to(&self, css: &str) {
        self.js(
            "var e = document.querySelector(arguments[0]); if (e) e.scrollIntoView()",
            vec![json!(css)],
        );
    }

    /// Does an element match `css` now?
    pub fn exists(&self, css: &str) -> bool {
        self.js(
            "return document.querySelector(arguments[0]) !== null",
            vec![json!(css)],
        )
        .as_bool()
        .unwrap_or(false)
    }

    /// The text of the first element that matches `css` now.
    pub fn text_now(&self, css: &str) -> Option<String> {
        self.js(
            "var e = document.querySelector(arguments[0]); return e ? e.textContent : null",
            vec![json!(css)],
        )
        .as_str()
        .map(String::from)
    }

    /// An attribute of the first element that matches `css` now.
    pub fn attr_now(&self, css: &str, name: &str) -> Option<String> {
        self.js(
            "var e = document.querySelector(arguments[0]); \
             return e ? e.getAttribute(arguments[1]) : null",
            vec![json!(css), json!(name)],
        )
        .as_str()
        .map(String::from)
    }

    /// Poll `probe` until it gives something, for at most `timeout`; on a timeout, keep a
    /// screenshot and panic saying what was awaited and what the page shows.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("TIMEOUT");
                let body = self.text_now("body").unwrap_or_default();
                let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let body: String = body.chars().take(2000).collect();
                panic!(
                    "waited {timeout:?} for {what} at {}\nthe page says: {body}\nscreenshot: {}",
                    self.url(),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for an element matching `css`.
    pub fn wait_for(&self, css: &str) {
        self.wait_until(&format!("an element {css}"), WAIT, |b| {
            b.exists(css).then_some(())
        })
    }

    /// Wait until nothing matches `css`.
    pub fn wait_gone(&self, css: &str) {
        self.wait_until(&format!("no element {css}"), WAIT, |b| {
            (!b.exists(css)).then_some(())
        })
    }

    /// Wait until the text of `css` satisfies `pred`; returns it.
    pub fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_text_for(css, what, WAIT, pred)
    }

    pub fn wait_text_for(
        &self,
        css: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_until(&format!("the text of {css} to be {what}"), timeout, |b| {
            b.text_now(css).filter(|t| pred(t))
        })
    }

    /// Wait until the text of `css` contains `needle`; returns the text.
    pub fn wait_text_contains(&self, css: &str, needle: &str) -> String {
        self.wait_text(css, &format!("with {needle:?}"), |t| t.contains(needle))
    }

    /// Wait until attribute `name` of `css` satisfies `pred`; returns it.
    pub fn wait_attr(&self, css: &str, name: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_attr_for(css, name, WAIT, pred)
    }

    pub fn wait_attr_for(
        &self,
        css: &str,
        name: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_until(&format!("attribute {name} of {css}"), timeout, |b| {
            b.attr_now(css, name).filter(|v| pred(v))
        })
    }

    /// Wait until the page's path (and query) satisfies `pred`; returns it.
    pub fn wait_path(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_until(&format!("the page to be {what}"), WAIT, |b| {
            Some(b.path()).filter(|p| pred(p))
        })
    }

    /// Click the element `css` as a person would (WebDriver's click: scrolled into view, a real
    /// mouse event), once it is there and clickable.
    pub fn click(&self, css: &str) {
        self.wait_until(&format!("{css} to be clicked"), WAIT, |b| {
            let c = b.c();
            b.block(async {
                let e = c.find(Locator::Css(css)).await.ok()?;
                e.click().await.ok()
            })
        })
    }

    /// Replace the value of the field `css` by typing `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        self.wait_until(&format!("{css} to be filled"), WAIT, |b| {
            let c = b.c();
            b.block(async {
                let e = c.find(Locator::Css(css)).await.ok()?;
                e.clear().await.ok()?;
                e.send_keys(text).await.ok()
            })
        })
    }

    /// Press keys on whatever has the focus (each character is one key: down, then up), as a
    /// keyboard does: nothing is clicked or focused for the test.
    pub fn press(&self, keys: &str) {
        let mut seq = KeyActions::new("keyboard".into());
        for k in keys.chars() {
            seq = seq
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.block(self.c().perform_actions(seq))
            .unwrap_or_else(|e| panic!("keys {keys:?}: {e}"));
    }

    /// Press keys together (a chord such as Ctrl+A): all down in order, then up in reverse.
    pub fn chord(&self, keys: &[char]) {
        let mut seq = KeyActions::new("keyboard".into());
        for &k in keys {
            seq = seq.then(KeyAction::Down { value: k });
        }
        for &k in keys.iter().rev() {
            seq = seq.then(KeyAction::Up { value: k });
        }
        self.block(self.c().perform_actions(seq))
            .unwrap_or_else(|e| panic!("chord {keys:?}: {e}"));
    }

    /// What has the focus: its `data-testid`, else its id, else its tag and name.
    pub fn focused(&self) -> String {
        self.js(
            "var e = document.activeElement; if (!e) return ''; \
             return e.getAttribute('data-testid') || e.id || \
                    (e.tagName.toLowerCase() + (e.name ? '[' + e.name + ']' : ''))",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Press Tab until `pred` holds for the focused element (its description as
    /// [`Browser::focused`] gives it), at most `max` times; returns how many presses it took.
    pub fn tab_to(&self, what: &str, max: usize, pred: impl Fn(&str) -> bool) -> usize {
        for n in 1..=max {
            self.press(&keys::TAB.to_string());
            if pred(&self.focused()) {
                return n;
            }
        }
        let shot = self.screenshot("TAB-NOT-FOUND");
        panic!(
            "{max} presses of Tab never reached {what} (last: {}); screenshot {}",
            self.focused(),
            shot.display()
        );
    }

    /// Log in through the login page with a password.
    pub fn login_password(&self, base: &str, user: &str, password: &str) {
        self.login(base, user, password, false);
    }

    /// Log in through the login page with an API key.
    pub fn login_apikey(&self, base: &str, user: &str, key: &str) {
        self.login(base, user, key, true);
    }

    fn login(&self, base: &str, user: &str, secret: &str, apikey: bool) {
        self.goto(&format!("{base}/app/login"));
        self.fill("#user", user);
        if apikey {
            self.click("[data-testid=method-apikey]");
        }
        self.fill("#secret", secret);
        self.click("[data-testid=login]");
        self.wait_until(&format!("{user} to be logged in"), WAIT, |b| {
            if b.exists("[data-testid=login-error]") {
                let e = b.text_now("[data-testid=login-error]").unwrap_or_default();
                panic!("login as {user} refused: {e}");
            }
            b.text_now("[data-testid=whoami]")
                .filter(|w| w.starts_with(user))
                .map(|_| ())
        });
    }

    /// The value of cookie `name` for the current page's site (`HttpOnly` ones too).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.block(self.c().get_named_cookie(name))
            .ok()
            .map(|c| c.value().to_string())
    }

    /// When cookie `name` of the current page's site expires (seconds since 1970; `None`: no
    /// such cookie, or one that lasts as long as the browser).
    pub fn cookie_expiry(&self, name: &str) -> Option<f64> {
        self.driver(reqwest::Method::GET, &format!("cookie/{name}"), None)["value"]["expiry"]
            .as_f64()
    }

    /// Set cookie `name` for the current page's site (on `/`, `HttpOnly`; host-only, as the
    /// server sets it).
    pub fn set_cookie(&self, name: &str, value: &str) {
        // Straight to chromedriver: fantoccini sends `domain: null`, which it refuses.
        let cookie = json!({"name": name, "value": value, "path": "/", "httpOnly": true});
        let r = self.driver(
            reqwest::Method::POST,
            "cookie",
            Some(json!({ "cookie": cookie })),
        );
        assert!(r["value"].is_null(), "set cookie {name}: {r}");
    }

    /// A WebDriver command of this session sent to chromedriver directly (those fantoccini
    /// lacks).
    fn driver(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}/{path}", self.driver_url, self.session);
        let mut req = reqwest::blocking::Client::new()
            .request(method, url)
            .timeout(Duration::from_secs(10));
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().and_then(|r| r.json::<Value>()) {
            Ok(v) => v,
            Err(e) => json!({"value": {"error": e.to_string()}}),
        }
    }

    /// Resize the window (its outer size).
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.block(self.c().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("window size {width}x{height}: {e}"));
    }

    /// Open a new tab and switch to it; returns the handle of the tab we were in.
    pub fn new_tab(&self) -> fantoccini::wd::WindowHandle {
        let was = self.block(self.c().window()).unwrap();
        let new = self.block(self.c().new_window(true)).unwrap();
        self.block(self.c().switch_to_window(new.handle)).unwrap();
        was
    }

    pub fn switch_to(&self, handle: fantoccini::wd::WindowHandle) {
        self.block(self.c().switch_to_window(handle)).unwrap();
    }

    /// Keep a PNG of the page as `<target>/ui-screenshots/<test>-<name>.png`; the console is
    /// checked at the same time.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.shots.set(self.shots.get() + 1);
        let path = screenshot_dir().join(format!("{}-{name}.png", self.test));
        match self.block(self.c().screenshot()) {
            Ok(png) => std::fs::write(&path, png).unwrap(),
            Err(e) => eprintln!("screenshot {name}: {e}"),
        }
        if name != "TIMEOUT" && name != "TAB-NOT-FOUND" {
            self.check_console();
        }
        path
    }

    /// The browser's console since it was last read (chromedriver's log endpoint).
    pub fn console(&self) -> Vec<Value> {
        let v = self.driver(
            reqwest::Method::POST,
            "se/log",
            Some(json!({"type": "browser"})),
        );
        match v["value"].as_array() {
            Some(entries) => entries.clone(),
            None => {
                eprintln!("the browser's console could not be read: {v}");
                Vec::new()
            }
        }
    }

    /// Fail on a Content-Security-Policy violation or an uncaught script error in the console.
    pub fn check_console(&self) {
        let bad: Vec<String> = self
            .console()
            .iter()
            .filter_map(|e| e["message"].as_str())
            .filter(|m| {
                m.contains("Content Security Policy")
                    || m.contains("Uncaught")
                    || m.contains("SyntaxError")
            })
            .map(String::from)
            .collect();
        assert!(
            bad.is_empty(),
            "the page's console has errors:\n{}",
            bad.join("\n")
        );
    }
}

/// Wait (at most 20 s) until chromedriver accepts connections on `port`.
fn wait_listening(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Browser {
    fn drop(&mut self) {
        let unwinding = std::thread::panicking();
        // Read the console before the browser goes; fail only once it is gone.
        let console = (!unwinding && self.client.is_some()).then(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.check_console()))
        });
        if let Some(c) = self.client.take() {
            // Ends the session: chromedriver stops its Chromium.
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
        super::terminate(&mut self.driver, Duration::from_secs(2));
        if !unwinding {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if let Some(Err(e)) = console {
            std::panic::resume_unwind(e);
        }
    }
}
