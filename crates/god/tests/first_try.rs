//! The first hour of a new site, as a newcomer meets it: the README's five lines run as written
//! from a fresh directory with the defaults (no `--data`, no configuration file: everything
//! relative to the working directory), and several processes opening one fresh data directory at
//! the same moment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// The lines of the README's "A first job, in five lines" block, comments taken out.
fn readme_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("## A first job, in five lines")
        .nth(1)
        .expect("the README has its five-line section");
    let block = section
        .split("```bash\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```bash block in that section");
    block
        .lines()
        .map(|l| match l.find("  #") {
            Some(i) => l[..i].trim_end().to_string(),
            None => l.trim_end().to_string(),
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// A shell in a fresh directory, as a newcomer's: `god` on the PATH, its own HOME, nothing of
/// ours in the environment.
struct Newcomer {
    dir: PathBuf,
    path: String,
    listen: String,
}

impl Newcomer {
    fn new(name: &str) -> Newcomer {
        let bin_dir = Path::new(god_bin()).parent().unwrap().display().to_string();
        Newcomer {
            dir: temp_dir(name),
            path: format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()),
            listen: format!("127.0.0.1:{}", free_port()),
        }
    }

    fn port(&self) -> &str {
        self.listen.rsplit(':').next().unwrap()
    }

    fn shell(&self, line: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c").arg(line).current_dir(&self.dir).env_clear();
        c.env("PATH", &self.path)
            .env("HOME", &self.dir)
            // The README's `god up` listens on 6543; ours on a free port of the test's.
            .env("GOD_LISTEN", &self.listen);
        c
    }

    fn run(&self, line: &str) -> Output {
        let out = self.shell(line).output().unwrap();
        assert!(
            out.status.success(),
            "`{line}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        terminate(&mut self.0, Duration::from_secs(5));
    }
}

/// Read `god up`'s standard output until it says where its data is; returns the lines.
fn wait_started(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let last = line.starts_with("data directory:");
        seen.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    seen
}

fn readme_first_job(image: &str) {
    if docker_skipped() {
        return;
    }
    assert!(
        image_exists(image),
        "{image} missing: run scripts/build-test-images.sh"
    );
    let lines = readme_lines();
    assert_eq!(lines.len(), 5, "five lines: {lines:?}");
    let me = Newcomer::new("first-try");

    // 1. `god up &`: in the background, as the README has it.
    let up = lines[0]
        .strip_suffix('&')
        .expect("god up runs in the background");
    let mut child = me
        .shell(&format!("exec {up}"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(me.dir.join("up.log")).unwrap())
        .spawn()
        .unwrap();
    // 2. at once, while `god up` starts on the same fresh data directory.
    let key = me.run(&lines[1]).stdout;
    let key = String::from_utf8(key).unwrap().trim().to_string();
    assert!(
        !key.is_empty() && !key.contains(char::is_whitespace),
        "one key: {key:?}"
    );
    let started = wait_started(&mut child);
    let server = Running(child);
    assert!(
        started
            .iter()
            .any(|l| l.contains("administrator: admin API key")),
        "the first start prints the admin key although alice came first: {started:?}"
    );
    let data_line = format!("data directory: {}", me.dir.join("god-data").display());
    assert!(
        started.contains(&data_line),
        "data in ./god-data, printed absolute: {started:?}"
    );

    // 3.-5. as written, with alice's key and the test's port.
    let login = lines[2]
        .replace("<KEY>", &key)
        .replace(":6543", &format!(":{}", me.port()));
    me.run(&login);
    let submit = lines[3].replace(MINIMAL_IMAGE, image);
    let out = String::from_utf8(me.run(&submit).stdout).unwrap();
    assert!(out.contains("over, exit code 0"), "{out}");
    let out = String::from_utf8(me.run(&lines[4]).stdout).unwrap();
    assert!(
        out.contains("uid=2001(alice) gid=2001"),
        "god logs 1: {out}"
    );
    assert!(out.ends_with("hello\n"), "god files 1 result.txt: {out}");
    assert!(
        out.contains(" id "),
        "the job is named after its program: {out}"
    );

    let result = me
        .dir
        .join("god-data/shared")
        .join(god_core::pairtree::task_dir("1"))
        .join("result.txt");
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "hello\n");
    let meta = std::fs::metadata(&result).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (2001, 2001), "owned by alice");
    drop(server);
    let _ = std::fs::remove_dir_all(&me.dir);
}

#[test]
fn readme_five_lines_on_the_minimal_image() {
    readme_first_job(MINIMAL_IMAGE);
}

#[test]
fn readme_five_lines_on_the_debian_image() {
    readme_first_job(DEBIAN_IMAGE);
}

/// Four processes open one fresh data directory at the same moment: two servers and two
/// `god user add`. All of them start; the database is migrated once; one administrator key is
/// printed; both users exist. Repeated, since a race shows only sometimes.
#[test]
fn four_processes_start_on_one_fresh_directory() {
    for round in 0..4 {
        let dir = temp_dir("concurrent-start");
        let config = dir.join("go-d.yml");
        std::fs::write(&config, "executors: [fake]\ntick_seconds: 0.5\n").unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let mut handles = Vec::new();
        for i in 0..4 {
            let (barrier, dir, config) = (barrier.clone(), dir.clone(), config.clone());
            handles.push(std::thread::spawn(move || {
                let mut c = Command::new(god_bin());
                if i < 2 {
                    c.args(["up", "--listen", "127.0.0.1:0"]);
                } else {
                    let login = format!("user{i}");
                    c.args(["user", "add", &login, "--uid", "3000", "--gid", "3000"]);
                }
                c.arg("--config")
                    .arg(&config)
                    .current_dir(&dir)
                    .env("GOD_DATA", "data");
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                barrier.wait();
                let mut child = c.spawn().unwrap();
                if i < 2 {
                    let lines = wait_started(&mut child);
                    (lines, Some(Running(child)))
                } else {
                    let out = child.wait_with_output().unwrap();
                    assert!(
                        out.status.success(),
                        "round {round}: user add failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    (vec![String::from_utf8(out.stdout).unwrap()], None)
                }
            }));
        }
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let servers: Vec<&Vec<String>> = results[..2].iter().map(|(l, _)| l).collect();
        for lines in &servers {
            assert!(
                lines.iter().any(|l| l.starts_with("data directory:")),
                "round {round}: a server did not start: {lines:?}"
            );
        }
        let admin_keys = servers
            .iter()
            .flat_map(|l| l.iter())
            .filter(|l| l.contains("administrator: admin API key"))
            .count();
        assert_eq!(
            admin_keys, 1,
            "round {round}: one administrator: {servers:?}"
        );
        let list = Command::new(god_bin())
            .args(["user", "list", "--config"])
            .arg(&config)
            .current_dir(&dir)
            .env("GOD_DATA", "data")
            .output()
            .unwrap();
        let list = String::from_utf8(list.stdout).unwrap();
        for login in ["admin", "user2", "user3"] {
            assert!(
                list.contains(login),
                "round {round}: {login} missing: {list}"
            );
        }
        drop(results);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A site coming from the original keeps its `go-d.ini` (YAML inside): read when there is no
/// `go-d.yml`, and every key or `GODOCKER_*` variable this version does not use is named at
/// start-up (never a silent no-op).
#[test]
fn the_originals_go_d_ini_is_read_and_unused_keys_are_named() {
    let dir = temp_dir("go-d-ini");
    std::fs::write(
        dir.join("go-d.ini"),
        "executors: [fake, native]\nclean_old: 30\nnetwork: {use_cni: true, cni_plugin: weave}\n\
         failure_policy: {strategy: 1, skip_failed_nodes: true}\nlive_events: false\n",
    )
    .unwrap();
    let start = |dir: &Path| {
        let log = dir.join(format!("up-{}.log", free_port()));
        let mut child = Command::new(god_bin())
            .arg("up")
            .current_dir(dir)
            .env("GOD_LISTEN", "127.0.0.1:0")
            .env("GODOCKER_MONGO_URL", "mongodb://old-site:27017/")
            .env("GODOCKER_SHARED_DIRR", "/typo")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let lines = wait_started(&mut child);
        drop(Running(child));
        (lines, std::fs::read_to_string(&log).unwrap())
    };
    let (lines, log) = start(&dir);
    assert!(
        lines.iter().any(|l| l.starts_with("data directory:")),
        "{lines:?}"
    );
    for warned in [
        "clean_old: recognised, not used by this version",
        "network.use_cni: recognised, not used by this version",
        "network.cni_plugin: recognised, not used by this version",
        "failure_policy.skip_failed_nodes: recognised, not used by this version",
        "GODOCKER_MONGO_URL: recognised, not used by this version",
        "GODOCKER_SHARED_DIRR: unknown environment variable",
    ] {
        assert!(log.contains(warned), "no warning {warned:?} in:\n{log}");
    }
    assert!(
        !log.contains("live_events"),
        "false asks for nothing: {log}"
    );
    // go-d.yml, when there is one, is the file.
    std::fs::write(dir.join("go-d.yml"), "executors: [fake]\n").unwrap();
    let (_, log) = start(&dir);
    assert!(!log.contains("clean_old"), "go-d.yml first: {log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A configuration with several mistakes names each of them, one line each with its key, and
/// `god up` stops before it creates anything (exit status not 0).
#[test]
fn every_configuration_problem_is_named_and_nothing_starts() {
    let dir = temp_dir("bad-config");
    std::fs::write(
        dir.join("go-d.yml"),
        "scheduler_policy: lifo\nexecutors: [docker, sge]\ndocker: {tls: 3}\ntick_seconds: 0\n",
    )
    .unwrap();
    let mut child = Command::new(god_bin())
        .arg("up")
        .current_dir(&dir)
        .env("GOD_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("god up started with a broken configuration");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (key, says) in [
        ("docker.tls", "expected a boolean"),
        ("executors[1]", "unknown executor \"sge\""),
        (
            "scheduler_policy",
            "unknown policy \"lifo\" (expected FiFo, FairShare or fairshare)",
        ),
        ("tick_seconds", "must be between 0 and 3600"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("configuration: {key}: ")))
            .unwrap_or_else(|| panic!("no line for {key} in:\n{stderr}"));
        assert!(line.contains(says), "{key}: {line}");
        assert!(line.starts_with("god: "), "{line}");
    }
    assert!(
        stderr.contains("the configuration is not usable: 4 problems above"),
        "{stderr}"
    );
    assert!(!dir.join("god-data").exists(), "nothing created");
    let _ = std::fs::remove_dir_all(&dir);
}
