//! The `god` command line client against the real server and Docker Engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Output};

struct Cli<'a> {
    srv: &'a Server,
    user: String,
    key: String,
    home: std::path::PathBuf,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(god_bin())
            .args(args)
            .env("GOD_SERVER", &self.srv.url)
            .env("GOD_USER", &self.user)
            .env("GOD_APIKEY", &self.key)
            .env("GOD_CLIENT_CONFIG", self.home.join("client.json"))
            .env("HOME", &self.home)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "god {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn submit_wait_list_show_logs_files_kill() {
    if docker_skipped() {
        return;
    }
    let srv = Server::start("cli", &docker_config("docker: {cpus: 1}\n"));
    let key = srv.add_user("gina", 2501, 2501, &[]);
    let cli = Cli {
        srv: &srv,
        user: "gina".into(),
        key,
        home: temp_dir("clihome"),
    };

    let out = cli.ok(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--name",
        "hello",
        "--wait",
        "--json",
        "--",
        "echo",
        "hello world; $(not run)",
    ]);
    let job: Value = serde_json::from_str(&out).unwrap();
    let id = job["id"].as_u64().unwrap();
    assert_eq!(job["status"]["exitcode"], 0, "{job}");
    // Arguments after `--` are quoted: the shell sees them as data.
    assert_eq!(
        cli.ok(&["logs", &id.to_string()]),
        "hello world; $(not run)\n"
    );

    let failed = cli.run(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--wait",
        "--",
        "exit 3",
    ]);
    assert_eq!(
        failed.status.code(),
        Some(3),
        "the exit code of the job: {}",
        String::from_utf8_lossy(&failed.stderr)
    );

    let list: Value = serde_json::from_str(&cli.ok(&["list", "--over", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let table = cli.ok(&["list", "--over"]);
    assert!(table.contains("hello"), "{table}");
    let show = cli.ok(&["show", &id.to_string()]);
    assert!(show.contains("hello") && show.contains("over"), "{show}");
    let files = cli.ok(&["files", &id.to_string()]);
    assert!(
        files.contains("god.log") && files.contains("cmd.sh"),
        "{files}"
    );

    // `logs -f` follows a job from before it starts until it is over, told of its end by the
    // event stream, and prints every line once.
    let slow = cli.ok(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--",
        "for i in 1 2 3; do echo line $i; sleep 0.4; done",
    ]);
    let slow_id: String = slow.chars().filter(|c| c.is_ascii_digit()).collect();
    let started = std::time::Instant::now();
    assert_eq!(
        cli.ok(&["logs", "-f", &slow_id]),
        "line 1\nline 2\nline 3\n"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "logs -f returns once the job is over"
    );

    // `watch` with an id: the job's state now, each change as it is committed, and the end
    // (exit 1: the job failed).
    let failing = cli.ok(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--",
        "sleep 2; exit 2",
    ]);
    let failing_id: String = failing.chars().filter(|c| c.is_ascii_digit()).collect();
    let watched = cli.run(&["watch", &failing_id]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&watched.stdout),
        String::from_utf8_lossy(&watched.stderr)
    );
    assert_eq!(watched.status.code(), Some(1), "{text}");
    // A change that shows nothing new (the container id recorded) is not a line: no two lines
    // in a row end in the same state.
    let state_of = |l: &str| {
        l.rsplit([':', '→'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.windows(2).all(|w| state_of(w[0]) != state_of(w[1])),
        "{text}"
    );
    let last = String::from_utf8_lossy(&watched.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.contains(&format!("job {failing_id} ")) && last.ends_with(": running → over, exit 2"),
        "{text}"
    );

    // One CPU: a long job runs, the next one waits; kill both.
    let long = cli.ok(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--",
        "sleep 300",
    ]);
    let long_id: String = long.chars().filter(|c| c.is_ascii_digit()).collect();
    let waiting = cli.ok(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "0.25",
        "--",
        "true",
    ]);
    let waiting_id: String = waiting.chars().filter(|c| c.is_ascii_digit()).collect();
    let api = srv.client("gina", &cli.key);
    api.wait_running(long_id.parse().unwrap(), 60);
    cli.ok(&["kill", &long_id, &waiting_id]);
    let j = api.wait_over(long_id.parse().unwrap(), 60);
    assert_eq!(j["status"]["secondary"], "killed");

    // Errors: one readable line, non-zero exit.
    let bad = cli.run(&[
        "submit",
        "--image",
        MINIMAL_IMAGE,
        "--ram",
        "-2",
        "--",
        "true",
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("requirements.ram"), "{err}");
    let other = cli.run(&["show", "999999"]);
    assert!(!other.status.success());
}

#[test]
fn user_admin_commands_print_one_line_errors() {
    let srv = Server::start("cliusers", "executors: [fake]\n");
    let out = Command::new(god_bin())
        .args([
            "user",
            "add",
            "bad login",
            "--uid",
            "1",
            "--gid",
            "1",
            "--data",
        ])
        .arg(&srv.data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("god: ") && err.trim().lines().count() == 1,
        "{err}"
    );
    srv.add_user("hank", 2601, 2601, &[]);
    let out = Command::new(god_bin())
        .args(["user", "list", "--json", "--data"])
        .arg(&srv.data)
        .output()
        .unwrap();
    let users: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(users.as_array().unwrap().iter().any(|u| u["id"] == "hank"));
    let dup = Command::new(god_bin())
        .args(["user", "add", "hank", "--uid", "1", "--gid", "1", "--data"])
        .arg(&srv.data)
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad_config = Command::new(god_bin())
        .args(["up", "--config", "/nonexistent.yml"])
        .output()
        .unwrap();
    assert!(!bad_config.status.success());
    let dir = temp_dir("badcfg");
    std::fs::write(dir.join("go-d.yml"), "allow_root: perhaps\n").unwrap();
    let bad_value = Command::new(god_bin())
        .args(["up", "--config"])
        .arg(dir.join("go-d.yml"))
        .output()
        .unwrap();
    assert!(!bad_value.status.success());
    assert!(String::from_utf8_lossy(&bad_value.stderr).contains("allow_root"));
}
