//! Galaxy's GoDocker job runner (`galaxy/jobs/runners/godocker.py` of the `galaxy-app` package),
//! unchanged, against our server and the real Docker Engine: submit with its payload, watch,
//! collect stdout, stderr and exit code from the `go-docker` volume, stop a running job, recover
//! after a Galaxy restart. `tests/galaxy/runner_harness.py` stands in for the rest of Galaxy.
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

#[test]
fn galaxy_godocker_runner_works_unchanged() {
    if docker_skipped() {
        return;
    }
    let python = venv().join("bin/python");
    assert!(
        python.exists(),
        "no venv at {} (scripts/install-deps.sh)",
        python.display()
    );
    let work = temp_dir("galaxy-work");
    let config = docker_config(&format!(
        "volumes: [{{name: galaxy, acl: rw, path: '{}'}}]\n",
        work.display()
    ));
    let srv = Server::start("galaxy", &config);
    let key = srv.add_user("galaxy", 2401, 2401, &[]);
    let (s, v) = srv.admin().post(
        "/api/1.0/project",
        &json!({"id": "galaxy", "description": "Galaxy's jobs", "prio": 50, "members": ["galaxy"]}),
    );
    assert!(s.is_success(), "project: {v}");

    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/galaxy/runner_harness.py"
        ))
        .args([
            &srv.url,
            "galaxy",
            &key,
            "galaxy",
            work.to_str().unwrap(),
            "galaxy",
        ])
        .env("GOD_TEST_UID", "2401")
        .env("GOD_TEST_IMAGE", MINIMAL_IMAGE)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("ALL OK"),
        "Galaxy's runner:\n{stdout}\n{stderr}\nserver:\n{}",
        srv.stderr()
    );

    // What the runner read is what the server says: the go-docker volume is the job directory.
    let api = srv.client("galaxy", &key);
    let job = api.job(1);
    let volumes = job["container"]["volumes"].as_array().unwrap();
    let job_volume = volumes.iter().find(|v| v["name"] == "go-docker").unwrap();
    assert_eq!(job_volume["path"], srv.job_dir(1).display().to_string());
    assert_eq!(job_volume["mount"], "/mnt/go-docker");
    assert_eq!(job["user"]["project"], "galaxy");
    assert_eq!(job["meta"]["tags"], json!(["galaxy", "cat1"]));
    let status = api.get("/api/1.0/task/1/status").1;
    assert_eq!(status["primary"], "over", "the top level stays: {status}");
    assert_eq!(
        status["status"]["primary"], "over",
        "Galaxy's key: {status}"
    );
    assert_eq!(status["exitcode"], 0);
    let _ = std::fs::remove_dir_all(&work);
}
