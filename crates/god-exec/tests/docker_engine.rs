#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Docker executor against the real Engine and the local test images
//! (`scripts/build-test-images.sh`): the conformance suite, then what is Docker's own (images,
//! signals from the engine, containers left created, capacity). A missing Engine or image is a
//! failure; set `GOD_SKIP_DOCKER=1` to skip these tests.

mod conformance;

use conformance::{exited, read, Backend, Dirs, Fixture, Traits};
use god_core::config::DockerConfig;
use god_core::JobId;
use god_exec::docker::DockerExecutor;
use god_exec::{ContainerState, ExecError, Executor};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MINIMAL: &str = "god-test/minimal:latest";
const DEBIAN: &str = "god-test/debian:bookworm";

struct Docker {
    exec: Arc<DockerExecutor>,
    image: &'static str,
}

impl Backend for Docker {
    type Exec = DockerExecutor;

    fn exec(&self) -> &Arc<DockerExecutor> {
        &self.exec
    }

    fn traits(&self) -> Traits {
        Traits {
            runs_scripts: true,
            enforces_memory: true,
            image: self.image,
            own_passwd: true,
            kill_removes: false,
            mounts_volumes: true,
        }
    }

    fn dir_inside(&self, _host: &Path) -> String {
        god_core::launch::JOB_MOUNT.to_string()
    }

    /// Remove the test's containers (its server's and the other one of `recovery_listing`) with
    /// the CLI.
    fn backstop(&self, dirs: &Dirs) {
        conformance::remove_left_with_cli(dirs, &["ps", "-aq"], &["rm", "-f"]);
    }
}

/// A fixture whose jobs run on `image`; `None` when `GOD_SKIP_DOCKER=1`.
async fn fixture_on(test: &str, image: &'static str) -> Option<Fixture<Docker>> {
    if std::env::var("GOD_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!("{test}: skipped (GOD_SKIP_DOCKER=1)");
        return None;
    }
    let exec = DockerExecutor::connect(&DockerConfig::default())
        .await
        .unwrap_or_else(|e| {
            panic!("{e}: start dockerd (or set GOD_SKIP_DOCKER=1 to skip these tests)")
        });
    assert!(
        has_image(&exec, MINIMAL).await,
        "{MINIMAL} is missing: run scripts/build-test-images.sh"
    );
    let dirs = Dirs::new("t", test, &std::env::temp_dir());
    let exec = Arc::new(exec);
    Some(Fixture::new(dirs, Docker { exec, image }))
}

async fn fixture(test: &str) -> Option<Fixture<Docker>> {
    fixture_on(test, MINIMAL).await
}

async fn has_image(exec: &DockerExecutor, image: &str) -> bool {
    let client = exec.client().await.unwrap();
    client.inspect_image(image).await.is_ok()
}

conformance::suite!(fixture);

/// Identity on Debian too (its own `id`, `/etc/passwd`), over the default bridge network.
#[tokio::test]
async fn user_job_runs_on_debian_too() {
    let Some(mut f) = fixture_on("debian", DEBIAN).await else {
        return;
    };
    if !has_image(f.exec(), DEBIAN).await {
        eprintln!("user_job_runs_on_debian_too: skipped ({DEBIAN} is absent; scripts/build-test-images.sh builds it)");
        return;
    }
    f.config.network.disabled = false;
    conformance::checks::identity(&f).await;
    f.cleanup().await;
}

/// A terminal on Debian too (GNU bash, grep and stty rather than busybox's).
#[tokio::test]
async fn terminal_on_debian_too() {
    let Some(f) = fixture_on("terminal-debian", DEBIAN).await else {
        return;
    };
    if !has_image(f.exec(), DEBIAN).await {
        eprintln!("terminal_on_debian_too: skipped ({DEBIAN} is absent; scripts/build-test-images.sh builds it)");
        return;
    }
    conformance::checks::terminal(&f).await;
    f.cleanup().await;
}

#[tokio::test]
async fn signals_are_forwarded_to_the_script() {
    let Some(f) = fixture("signal").await else {
        return;
    };
    let t = f.task(
        551,
        "#!/bin/sh\ntrap 'echo got TERM; exit 7' TERM\necho ready > ready\nwhile true; do sleep 0.1; done\n",
    );
    let (id, _, dir) = f.start_ready(&t).await;
    let options = bollard::query_parameters::KillContainerOptions {
        signal: "SIGTERM".into(),
    };
    let client = f.exec().client().await.unwrap();
    client.kill_container(&id, Some(options)).await.unwrap();
    assert_eq!(f.wait_exit(&id, Duration::from_secs(20)).await, exited(7));
    assert_eq!(read(&dir, "god.log"), "got TERM\n");
    // The signal came from outside the container: the init helper said so, in a root-owned file.
    assert_eq!(god_exec::jobdir::outside_signal(&dir), Some(15));
    f.cleanup().await;
}

/// A crash between create and start left a created container: start() starts that one.
#[tokio::test]
async fn start_starts_a_container_left_created() {
    let Some(f) = fixture("created").await else {
        return;
    };
    let (spec, _dir) = f.spec(&f.task(602, "#!/bin/sh\nexit 4\n"));
    let out = std::process::Command::new("docker")
        .args(["create", "--name", &spec.name])
        .args(["--label", &format!("godocker.server={}", f.server())])
        .args(["--label", "godocker.job=602", MINIMAL])
        .args(["/bin/sh", "-c", "exit 9"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let created = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let state = f.exec().inspect(&created).await.unwrap();
    assert_eq!(state, ContainerState::Created);
    let started = f.exec().start(&spec).await.unwrap();
    assert_eq!(started, created);
    let state = f.wait_exit(&started, Duration::from_secs(20)).await;
    assert_eq!(state, exited(9));
    let found = f.exec().list_labelled(f.server()).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].job, &found[0].state),
        (Some(JobId(602)), &exited(9))
    );
    f.cleanup().await;
}

#[tokio::test]
async fn a_missing_image_is_reported_not_retried() {
    let Some(f) = fixture("noimage").await else {
        return;
    };
    let mut t = f.task(701, "#!/bin/sh\ntrue\n");
    t.container.image = "god-test/no-such-image:latest".into();
    let (spec, _dir) = f.spec(&t);
    let t0 = Instant::now();
    let err = f.exec().start(&spec).await.unwrap_err();
    eprintln!("missing image reported in {:?}: {err}", t0.elapsed());
    match err {
        ExecError::ImageMissing { image, .. } => {
            assert_eq!(image, "god-test/no-such-image:latest")
        }
        other => panic!("expected ImageMissing, got {other:?}"),
    }
    assert!(f.exec().list_labelled(f.server()).await.unwrap().is_empty());
    f.cleanup().await;
}

#[tokio::test]
async fn capacity_comes_from_the_engine_unless_configured() {
    let Some(f) = fixture("capacity").await else {
        return;
    };
    let [c] = &f.exec().nodes().await.unwrap()[..] else {
        panic!("one node")
    };
    assert!(c.cpus >= 1.0 && c.ram > 0.1, "{c:?}");
    assert_eq!(f.exec().name(), "docker");
    let cfg = DockerConfig {
        cpus: Some(3),
        ram: Some(1.5),
        ..Default::default()
    };
    let exec = DockerExecutor::connect(&cfg).await.unwrap();
    let [c] = &exec.nodes().await.unwrap()[..] else {
        panic!("one node")
    };
    assert_eq!((c.cpus, c.ram, c.name.as_str()), (3.0, 1.5, "localhost"));
}

#[tokio::test]
async fn a_container_that_cannot_start_is_refused_and_removed() {
    let Some(f) = fixture("nostart").await else {
        return;
    };
    let (mut spec, _dir) = f.spec(&f.task(801, "#!/bin/sh\ntrue\n"));
    // An init helper that cannot be executed: the runtime cannot start the container.
    let not_init = f.dirs.root.join("not-init");
    std::fs::write(&not_init, "not a program").unwrap();
    spec.init_helper = not_init.to_string_lossy().into_owned();
    match f.exec().start(&spec).await {
        Err(ExecError::Refused(m)) => assert!(m.contains("god-init"), "{m}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(f.exec().list_labelled(f.server()).await.unwrap().is_empty());
    assert_eq!(
        f.exec().inspect(&spec.name).await.unwrap(),
        ContainerState::Gone
    );
    f.cleanup().await;
}

/// god-init sets no_new_privs itself: a container started without Docker's no-new-privileges
/// (as a Swarm service or another engine would start it) still gives the script none.
#[tokio::test]
async fn god_init_sets_no_new_privs_whatever_the_engine_asked() {
    let Some(f) = fixture("nnp").await else {
        return;
    };
    let dir = f.dirs.root.join("job");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cmd.sh"),
        "#!/bin/sh\ngrep -E '^NoNewPrivs:' /proc/self/status | tr -d ' \\t'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dir.join("cmd.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/.godocker/god-init",
        ])
        .arg("-v")
        .arg(format!(
            "{}:/.godocker/god-init:ro",
            f.dirs.helper.display()
        ))
        .arg("-v")
        .arg(format!("{}:/job", dir.display()))
        .args([
            "-e",
            "GOD_INIT_LOGIN=nnp",
            "-e",
            "GOD_INIT_UID=2001",
            "-e",
            "GOD_INIT_GID=2001",
            "-e",
            "GOD_INIT_GROUPS=",
            "-e",
            "GOD_INIT_HOME=/tmp",
            "-e",
            "GOD_INIT_DIR=/job",
            MINIMAL,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.join("god.log")).unwrap();
    assert_eq!(
        log.trim(),
        "NoNewPrivs:1",
        "god.err: {:?}",
        std::fs::read_to_string(dir.join("god.err"))
    );
    let _ = std::fs::remove_dir_all(&f.dirs.root);
}
