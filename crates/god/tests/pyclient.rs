//! The original PyPI client, `godocker-cli` 1.0.25, used unchanged against our server and the real
//! Docker Engine. `scripts/install-deps.sh` installs it in a venv (`$GOD_PYCLIENT_VENV`, default
//! `target/pyclient`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv() -> PathBuf {
    std::env::var_os("GOD_PYCLIENT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyclient"))
}

struct Py {
    bin: PathBuf,
    home: PathBuf,
}

impl Py {
    /// Run a client command; returns stdout, panics on a non-zero exit.
    fn run(&self, cmd: &str, args: &[&str]) -> String {
        let out = Command::new(self.bin.join(cmd))
            .args(args)
            .env("HOME", &self.home)
            .current_dir(&self.home)
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap_or_else(|e| panic!("{cmd}: {e} (run scripts/install-deps.sh)"));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "{cmd} {args:?} failed:\n{stdout}\n{stderr}"
        );
        assert!(
            !stderr.contains("Traceback"),
            "{cmd} {args:?} crashed:\n{stderr}"
        );
        stdout
    }
}

fn job_id_of(out: &str) -> u64 {
    out.rsplit("Job id is ")
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no job id in {out:?}"))
}

#[test]
fn godocker_cli_works_unchanged() {
    if docker_skipped() {
        return;
    }
    let bin = venv().join("bin");
    assert!(
        bin.join("godjob").exists(),
        "godocker-cli is not installed in {} (scripts/install-deps.sh)",
        bin.display()
    );
    let config = docker_config(&format!(
        "default_images: [{{name: minimal, url: '{MINIMAL_IMAGE}', interactive: false, default: true}}]\n"
    ));
    let srv = Server::start("pyclient", &config);
    let key = srv.add_user("erin", 2301, 2301, &[]);
    let py = Py {
        bin,
        home: temp_dir("pyhome"),
    };

    py.run("godlogin", &["-a", &key, "-l", "erin", "-s", &srv.url]);
    let out = py.run(
        "godjob",
        &[
            "create",
            "-n",
            "pyjob",
            "-i",
            MINIMAL_IMAGE,
            "--cmd",
            "echo hello from python; id -u",
            "--wait",
        ],
    );
    let id = job_id_of(&out);
    let api = srv.client("erin", &key);
    let j = api.job(id);
    assert_eq!(
        j["status"]["primary"], "over",
        "--wait returned before the end: {j}"
    );
    assert_eq!(j["status"]["exitcode"], 0);

    let over = py.run("godjob", &["list", "over"]);
    assert!(over.contains("pyjob"), "{over}");
    // Plain `godjob show` cannot work on Python 3 whatever the server says: it hands
    // `tags.encode('utf-8')` (bytes) to terminaltables, which fails on bytes. Its XML view works.
    py.run("godjob", &["show", "-x", &id.to_string()]);
    let show = std::fs::read_to_string(py.home.join("jobs_infos.xml")).unwrap();
    assert!(show.contains("pyjob") && show.contains("over"), "{show}");

    let files = py.run("godfile", &["list", &id.to_string()]);
    assert!(files.contains("god.log"), "{files}");
    let dest = temp_dir("pydl");
    py.run(
        "godfile",
        &[
            "download",
            &id.to_string(),
            "god.log",
            dest.to_str().unwrap(),
        ],
    );
    let got = std::fs::read_to_string(dest.join(format!("god_{id}.log"))).unwrap();
    assert_eq!(got, "hello from python\n2301\n");

    let out = py.run(
        "godjob",
        &[
            "create",
            "-n",
            "sleeper",
            "-i",
            MINIMAL_IMAGE,
            "--cmd",
            "sleep 300",
        ],
    );
    let sleeper = job_id_of(&out);
    api.wait_running(sleeper, 60);
    let active = py.run("godjob", &["list", "active"]);
    assert!(active.contains("sleeper"), "{active}");
    py.run("godjob", &["kill", &sleeper.to_string()]);
    let j = api.wait_over(sleeper, 60);
    assert_eq!(j["status"]["secondary"], "killed");

    let me = py.run("goduser", &["show"]);
    assert!(me.contains("erin"), "{me}");
    let images = py.run("godimage", &["list"]);
    assert!(images.contains(MINIMAL_IMAGE), "{images}");
    let _ = json!({});
}

/// `godproject`, unchanged, as an administrator and as a member (no container needed).
#[test]
fn godproject_works_unchanged() {
    let bin = venv().join("bin");
    assert!(
        bin.join("godproject").exists(),
        "godocker-cli is not installed in {} (scripts/install-deps.sh)",
        bin.display()
    );
    let srv = Server::start("pyproject", "executors: [fake]\n");
    let erin_key = srv.add_user("erin", 2301, 2301, &[]);
    srv.add_user("fred", 2302, 2302, &[]);
    srv.add_user("gina", 2303, 2303, &[]);
    let admin = Py {
        bin: bin.clone(),
        home: temp_dir("pyproject-admin"),
    };
    admin.run(
        "godlogin",
        &["-a", &srv.admin_key, "-l", "admin", "-s", &srv.url],
    );
    let erin = Py {
        bin,
        home: temp_dir("pyproject-erin"),
    };
    erin.run("godlogin", &["-a", &erin_key, "-l", "erin", "-s", &srv.url]);

    let out = admin.run(
        "godproject",
        &[
            "create",
            "-n",
            "lab",
            "-d",
            "The lab",
            "-p",
            "60",
            "-c",
            "4",
            "-r",
            "8",
            "-m",
            "erin,fred",
        ],
    );
    assert!(out.contains("project lab was created"), "{out}");
    let api = srv.admin();
    let (_, p) = api.get("/api/1.0/project/lab");
    assert_eq!(
        (
            p["prio"].clone(),
            p["quota_cpu"].clone(),
            p["members"].clone()
        ),
        (json!(60), json!(4.0), json!(["erin", "fred"])),
        "{p}"
    );
    assert!(admin.run("godproject", &["listall"]).contains("lab"));
    assert!(admin
        .run("godproject", &["list", "-l", "erin"])
        .contains("lab"));
    let shown = admin.run("godproject", &["show", "lab"]);
    assert!(shown.contains("fred"), "{shown}");
    // A member sees it through her own project list.
    let shown = erin.run("godproject", &["show", "lab"]);
    assert!(shown.contains("The lab"), "{shown}");

    admin.run("godproject", &["addmember", "lab", "gina"]);
    admin.run("godproject", &["deletemember", "lab", "fred"]);
    admin.run(
        "godproject",
        &[
            "volume", "lab", "--add", "-n", "data", "-p", "/srv/lab", "-m", "rw",
        ],
    );
    let (_, p) = api.get("/api/1.0/project/lab");
    assert_eq!(p["members"], json!(["erin", "gina"]), "{p}");
    assert_eq!(
        p["volumes"],
        json!([{"name": "data", "path": "/srv/lab", "mount": "/srv/lab", "acl": "rw"}])
    );
    let out = admin.run("godproject", &["quota-reset", "lab"]);
    assert!(out.contains("quota reset done"), "{out}");
    admin.run("godproject", &["delete", "lab"]);
    assert_eq!(
        api.get("/api/1.0/project/lab").0,
        reqwest::StatusCode::NOT_FOUND
    );
    // `godproject update` cannot work on Python 3 whatever the server says: it compares every
    // option with `>= 0`, and None or a string against an int raises TypeError.
}
