#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Docker executor against the real Engine and the local test images
//! (`scripts/build-test-images.sh`). A missing Engine or image is a failure; set
//! `GOD_SKIP_DOCKER=1` to skip these tests.

use god_core::config::{Config, DockerConfig};
use god_core::launch::{self, LaunchSpec};
use god_core::{JobId, Task};
use god_exec::docker::DockerExecutor;
use god_exec::{helper, jobdir, ContainerState, ExecError, ExecRequest, Executor};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const MINIMAL: &str = "god-test/minimal:latest";
const DEBIAN: &str = "god-test/debian:bookworm";

fn skipped(test: &str) -> bool {
    if std::env::var("GOD_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!("{test}: skipped (GOD_SKIP_DOCKER=1)");
        return true;
    }
    false
}

/// One test's world: its own server id (container label), job directories and helper.
struct Fixture {
    server: String,
    root: PathBuf,
    shared: PathBuf,
    helper: PathBuf,
    config: Config,
    exec: Arc<DockerExecutor>,
}

impl Fixture {
    async fn new(test: &str) -> Fixture {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let server = format!("t{}-{nanos}-{}", std::process::id(), test.replace('_', "-"));
        let root = std::env::temp_dir().join(format!("god-exec-{server}"));
        let shared = root.join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let helper = helper::install(&root.join("helper")).unwrap();
        let exec = DockerExecutor::connect(&DockerConfig::default())
            .await
            .unwrap_or_else(|e| {
                panic!("{e}: start dockerd (or set GOD_SKIP_DOCKER=1 to skip these tests)")
            });
        let mut config = Config::default();
        config.network.disabled = true;
        let f = Fixture {
            server,
            root,
            shared,
            helper,
            config,
            exec: Arc::new(exec),
        };
        assert!(
            f.has_image(MINIMAL).await,
            "{MINIMAL} is missing: run scripts/build-test-images.sh"
        );
        f
    }

    async fn has_image(&self, image: &str) -> bool {
        self.exec
            .client()
            .await
            .unwrap()
            .inspect_image(image)
            .await
            .is_ok()
    }

    /// A job of alice (uid 2001, gid 2002, secondary group 2003) running `cmd`.
    fn task(&self, id: u64, cmd: &str) -> Task {
        let mut t = Task {
            id: JobId(id),
            ..Default::default()
        };
        t.meta.name = format!("job{id}");
        t.user.id = "alice".into();
        t.user.uid = 2001;
        t.user.gid = 2002;
        t.user.sgids = vec![2003];
        t.requirements.cpu = 1;
        t.requirements.ram = 0.256;
        t.container.image = MINIMAL.into();
        t.status.attempts = 1;
        t.command.cmd = cmd.into();
        t
    }

    fn spec(&self, task: &Task) -> (LaunchSpec, PathBuf) {
        let dir = jobdir::prepare(&self.shared, task).unwrap();
        let spec = launch::spec(
            task,
            &self.config,
            &self.server,
            dir.to_str().unwrap(),
            self.helper.to_str().unwrap(),
        );
        (spec, dir)
    }

    async fn wait_exit(&self, container: &str, limit: Duration) -> ContainerState {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.exec.inspect(container).await.unwrap();
            if matches!(state, ContainerState::Exited { .. } | ContainerState::Gone) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{container} still {state:?} after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start `task` and wait until its script created `ready` in the job directory.
    async fn start_ready(&self, task: &Task) -> (String, LaunchSpec, PathBuf) {
        let (spec, dir) = self.spec(task);
        let id = self.exec.start(&spec).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.join("ready").exists() {
            assert!(Instant::now() < deadline, "{}", read(&dir, "god.err"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (id, spec, dir)
    }

    /// Start `task` and wait for its end.
    async fn run(&self, task: &Task) -> (ContainerState, PathBuf) {
        let (spec, dir) = self.spec(task);
        let id = self.exec.start(&spec).await.unwrap();
        (self.wait_exit(&id, Duration::from_secs(60)).await, dir)
    }

    /// Remove this test's containers (found by label) and check none is left.
    async fn cleanup(&self) {
        for c in self.exec.list_labelled(&self.server).await.unwrap() {
            self.exec.remove(&c.container_id).await.unwrap();
        }
        assert!(self
            .exec
            .list_labelled(&self.server)
            .await
            .unwrap()
            .is_empty());
    }
}

impl Drop for Fixture {
    /// Backstop for a failed test: remove its containers with the CLI, and its directories.
    fn drop(&mut self) {
        let filter = format!("label=godocker.server={}", self.server);
        if let Ok(out) = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
        {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

fn exited(code: i64) -> ContainerState {
    ContainerState::Exited {
        exit_code: code,
        oom_killed: false,
        error: None,
    }
}

const WHO_AM_I: &str = r#"#!/bin/sh
id -u
id -g
id -G
id -un
echo "jid=$GODOCKER_JID"
pwd
echo "home=$HOME user=$USER logname=$LOGNAME"
echo "init-vars=$(env | grep -c '^GOD_INIT_')"
grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -d ' \t'
echo data > out.txt
echo "to stderr" >&2
"#;

/// Runs WHO_AM_I on `image` and checks the user, groups, environment and file ownership.
async fn check_user_job(f: &Fixture, image: &str, id: u64) {
    let mut t = f.task(id, WHO_AM_I);
    t.container.image = image.into();
    let (tx, mut rx) = mpsc::channel(8);
    let watcher = {
        let exec = Arc::clone(&f.exec);
        let server = f.server.clone();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await; // subscribed before the job starts

    let started = Instant::now();
    let (state, dir) = f.run(&t).await;
    eprintln!("{image}: user job start-to-exit {:?}", started.elapsed());
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    let log = read(&dir, "god.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines,
        vec![
            "2001",
            "2002",
            "2002 2003",
            "alice",
            &format!("jid={id}"),
            "/mnt/go-docker",
            "home=/mnt/go-docker user=alice logname=alice",
            "init-vars=0",
            "CapEff:0000000000000000",
            "NoNewPrivs:1",
        ],
        "god.err: {}",
        read(&dir, "god.err")
    );
    assert_eq!(read(&dir, "god.err"), "to stderr\n");
    for name in ["out.txt", "god.log", "god.err", "god.info"] {
        let m = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!((m.uid(), m.gid()), (2001, 2002), "{name}");
    }
    let duration = jobdir::duration(&dir).expect("god.info has start and end");
    assert!((0.0..60.0).contains(&duration), "{duration}");

    let woke = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert_eq!(
        woke.unwrap(),
        Some(JobId(id)),
        "watch_exits reports the job"
    );
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("watch_exits returns once the receiver is dropped")
        .unwrap();
}

#[tokio::test]
async fn user_job_runs_as_the_user_with_its_groups() {
    if skipped("user_job_runs_as_the_user_with_its_groups") {
        return;
    }
    let mut f = Fixture::new("user").await;
    f.config.network.disabled = false; // the default bridge works too
    check_user_job(&f, MINIMAL, 101).await;
    f.cleanup().await;
}

#[tokio::test]
async fn user_job_runs_on_debian_too() {
    if skipped("user_job_runs_on_debian_too") {
        return;
    }
    let f = Fixture::new("debian").await;
    if !f.has_image(DEBIAN).await {
        eprintln!("user_job_runs_on_debian_too: skipped ({DEBIAN} is absent; scripts/build-test-images.sh builds it)");
        return;
    }
    check_user_job(&f, DEBIAN, 102).await;
    f.cleanup().await;
}

#[tokio::test]
async fn exit_codes_pass_through() {
    if skipped("exit_codes_pass_through") {
        return;
    }
    let f = Fixture::new("exit").await;
    let t = f.task(201, "#!/bin/sh\nexit 3\n");
    let (spec, _dir) = f.spec(&t);
    let t0 = Instant::now();
    let id = f.exec.start(&spec).await.unwrap();
    let started = t0.elapsed();
    let state = f.wait_exit(&id, Duration::from_secs(30)).await;
    eprintln!(
        "trivial container: start() {started:?}, start-to-exit seen by polling {:?}",
        t0.elapsed()
    );
    assert_eq!(state, exited(3));

    // No #! line: run by /bin/sh.
    let (state, dir) = f.run(&f.task(202, "echo no shebang\nexit 5\n")).await;
    assert_eq!(state, exited(5));
    assert_eq!(read(&dir, "god.log"), "no shebang\n");

    // An interpreter the image lacks: 127 and a clear message.
    let (state, dir) = f.run(&f.task(203, "#!/usr/bin/python3\nprint(1)\n")).await;
    assert_eq!(state, exited(127));
    let err = read(&dir, "god.err");
    assert!(
        err.contains("/usr/bin/python3 is not in this image"),
        "{err}"
    );
    f.cleanup().await;
}

#[tokio::test]
async fn root_job_runs_as_root() {
    if skipped("root_job_runs_as_root") {
        return;
    }
    let f = Fixture::new("root").await;
    let mut t = f.task(251, "#!/bin/sh\nid -u\necho \"$USER\"\ntouch mine\n");
    t.container.root = true;
    let (state, dir) = f.run(&t).await;
    assert_eq!(state, exited(0), "{}", read(&dir, "god.err"));
    assert_eq!(read(&dir, "god.log"), "0\nroot\n");
    assert_eq!(std::fs::metadata(dir.join("mine")).unwrap().uid(), 0);
    f.cleanup().await;
}

#[tokio::test]
async fn memory_limit_kills_with_137_and_oom() {
    if skipped("memory_limit_kills_with_137_and_oom") {
        return;
    }
    let f = Fixture::new("oom").await;
    let mut t = f.task(
        301,
        "#!/bin/bash\nx=$(head -c 200000000 /dev/zero | tr '\\0' a)\necho survived ${#x}\n",
    );
    t.requirements.ram = 0.064;
    let (spec, _dir) = f.spec(&t);
    assert_eq!(spec.memory_bytes, 64_000_000);
    let (state, dir) = f.run(&t).await;
    assert_eq!(
        state,
        ContainerState::Exited {
            exit_code: 137,
            oom_killed: true,
            error: None
        },
        "god.log: {} god.err: {}",
        read(&dir, "god.log"),
        read(&dir, "god.err")
    );
    f.cleanup().await;
}

fn count_lines(dir: &Path) -> usize {
    read(dir, "count.txt").lines().count()
}

#[tokio::test]
async fn pause_stops_progress_and_unpause_resumes() {
    if skipped("pause_stops_progress_and_unpause_resumes") {
        return;
    }
    let f = Fixture::new("pause").await;
    let t = f.task(
        401,
        "#!/bin/sh\ni=0\nwhile true; do i=$((i+1)); echo $i >> count.txt; sleep 0.1; done\n",
    );
    let (spec, dir) = f.spec(&t);
    let id = f.exec.start(&spec).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count_lines(&dir) < 3 {
        assert!(
            Instant::now() < deadline,
            "the loop never ran: {}",
            read(&dir, "god.err")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f.exec.pause(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Paused);
    tokio::time::sleep(Duration::from_millis(200)).await; // a write in flight lands
    let frozen = count_lines(&dir);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count_lines(&dir), frozen, "no progress while paused");

    f.exec.unpause(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Running);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(count_lines(&dir) > frozen + 3, "progress resumes");

    // A paused container can be killed too.
    f.exec.pause(&id).await.unwrap();
    f.exec.kill(&id).await.unwrap();
    let state = f.wait_exit(&id, Duration::from_secs(20)).await;
    assert!(
        matches!(state, ContainerState::Exited { exit_code: 137, .. }),
        "{state:?}"
    );
    f.cleanup().await;
}

#[tokio::test]
async fn kill_stops_a_running_container_and_is_idempotent() {
    if skipped("kill_stops_a_running_container_and_is_idempotent") {
        return;
    }
    let f = Fixture::new("kill").await;
    let (spec, _dir) = f.spec(&f.task(501, "#!/bin/sh\nsleep 300\n"));
    let id = f.exec.start(&spec).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Running);
    let t0 = Instant::now();
    f.exec.kill(&id).await.unwrap();
    let state = f.wait_exit(&id, Duration::from_secs(20)).await;
    eprintln!("kill to exited: {:?}", t0.elapsed());
    assert!(
        matches!(
            state,
            ContainerState::Exited {
                exit_code: 137,
                oom_killed: false,
                ..
            }
        ),
        "{state:?}"
    );
    f.exec.kill(&id).await.unwrap(); // already stopped
    f.exec.remove(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Gone);
    f.exec.kill(&id).await.unwrap(); // gone
    f.exec.remove(&id).await.unwrap(); // gone
    f.cleanup().await;
}

#[tokio::test]
async fn signals_are_forwarded_to_the_script() {
    if skipped("signals_are_forwarded_to_the_script") {
        return;
    }
    let f = Fixture::new("signal").await;
    let t = f.task(
        551,
        "#!/bin/sh\ntrap 'echo got TERM; exit 7' TERM\necho ready > ready\nwhile true; do sleep 0.1; done\n",
    );
    let (spec, dir) = f.spec(&t);
    let id = f.exec.start(&spec).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ready").exists() {
        assert!(Instant::now() < deadline, "{}", read(&dir, "god.err"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let options = bollard::query_parameters::KillContainerOptions {
        signal: "SIGTERM".into(),
    };
    f.exec
        .client()
        .await
        .unwrap()
        .kill_container(&id, Some(options))
        .await
        .unwrap();
    assert_eq!(f.wait_exit(&id, Duration::from_secs(20)).await, exited(7));
    assert_eq!(read(&dir, "god.log"), "got TERM\n");
    // The signal came from outside the container: the init helper said so, in a root-owned file.
    assert_eq!(god_exec::jobdir::outside_signal(&dir), Some(15));
    f.cleanup().await;
}

#[tokio::test]
async fn start_is_idempotent_on_the_container_name() {
    if skipped("start_is_idempotent_on_the_container_name") {
        return;
    }
    let f = Fixture::new("twice").await;
    let (spec, _dir) = f.spec(&f.task(601, "#!/bin/sh\nsleep 300\n"));
    let first = f.exec.start(&spec).await.unwrap();
    let second = f.exec.start(&spec).await.unwrap();
    assert_eq!(first, second);
    let found = f.exec.list_labelled(&f.server).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].container_id, first);
    assert_eq!(found[0].name, spec.name);
    assert_eq!(found[0].job, Some(JobId(601)));
    assert_eq!(found[0].state, ContainerState::Running);

    // A crash between create and start left a created container: start() starts that one.
    let (spec2, _dir) = f.spec(&f.task(602, "#!/bin/sh\nexit 4\n"));
    let out = std::process::Command::new("docker")
        .args(["create", "--name", &spec2.name])
        .args(["--label", &format!("godocker.server={}", f.server)])
        .args([
            "--label",
            "godocker.job=602",
            MINIMAL,
            "/bin/sh",
            "-c",
            "exit 9",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        f.exec.inspect(&created).await.unwrap(),
        ContainerState::Created
    );
    let started = f.exec.start(&spec2).await.unwrap();
    assert_eq!(started, created);
    assert_eq!(
        f.wait_exit(&started, Duration::from_secs(20)).await,
        exited(9)
    );

    let found = f.exec.list_labelled(&f.server).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let exited_one = found.iter().find(|l| l.job == Some(JobId(602))).unwrap();
    assert_eq!(exited_one.state, exited(9));
    f.exec.kill(&first).await.unwrap();
    f.cleanup().await;
}

#[tokio::test]
async fn a_missing_image_is_reported_not_retried() {
    if skipped("a_missing_image_is_reported_not_retried") {
        return;
    }
    let f = Fixture::new("noimage").await;
    let mut t = f.task(701, "#!/bin/sh\ntrue\n");
    t.container.image = "god-test/no-such-image:latest".into();
    let (spec, _dir) = f.spec(&t);
    let t0 = Instant::now();
    let err = f.exec.start(&spec).await.unwrap_err();
    eprintln!("missing image reported in {:?}: {err}", t0.elapsed());
    match err {
        ExecError::ImageMissing { image, .. } => {
            assert_eq!(image, "god-test/no-such-image:latest")
        }
        other => panic!("expected ImageMissing, got {other:?}"),
    }
    assert!(f.exec.list_labelled(&f.server).await.unwrap().is_empty());
    f.cleanup().await;
}

#[tokio::test]
async fn capacity_comes_from_the_engine_unless_configured() {
    if skipped("capacity_comes_from_the_engine_unless_configured") {
        return;
    }
    let f = Fixture::new("capacity").await;
    let c = f.exec.capacity().await.unwrap();
    assert!(c.cpus >= 1.0 && c.ram > 0.1, "{c:?}");
    assert_eq!(f.exec.name(), "docker");
    let cfg = DockerConfig {
        cpus: Some(3),
        ram: Some(1.5),
        ..Default::default()
    };
    let exec = DockerExecutor::connect(&cfg).await.unwrap();
    let c = exec.capacity().await.unwrap();
    assert_eq!((c.cpus, c.ram, c.node), (3.0, 1.5, "localhost"));
}

#[tokio::test]
async fn a_container_that_cannot_start_is_refused_and_removed() {
    if skipped("a_container_that_cannot_start_is_refused_and_removed") {
        return;
    }
    let f = Fixture::new("nostart").await;
    let (mut spec, _dir) = f.spec(&f.task(801, "#!/bin/sh\ntrue\n"));
    spec.entrypoint = vec!["/nonexistent/init".into()];
    match f.exec.start(&spec).await {
        Err(ExecError::Refused(m)) => assert!(m.contains("/nonexistent/init"), "{m}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(f.exec.list_labelled(&f.server).await.unwrap().is_empty());
    assert_eq!(
        f.exec.inspect(&spec.name).await.unwrap(),
        ContainerState::Gone
    );
    f.cleanup().await;
}

#[tokio::test]
async fn stats_of_a_running_container() {
    if skipped("stats_of_a_running_container") {
        return;
    }
    let f = Fixture::new("stats").await;
    assert!(f.exec.capabilities().stats);
    // Burn some CPU, hold a few MB, then wait.
    let t = f.task(
        601,
        "#!/bin/sh
i=0
while [ $i -lt 100000 ]; do i=$((i+1)); done
         x=$(head -c 4000000 /dev/zero | tr '\\0' a)
echo ready > ready
sleep 300
",
    );
    let (id, spec, _dir) = f.start_ready(&t).await;
    let stats = f.exec.stats(&id).await.unwrap();
    eprintln!("{stats:?}");
    assert!(stats.cpu_seconds > 0.0, "{stats:?}");
    assert!(stats.memory_bytes > 0, "{stats:?}");
    assert_eq!(stats.memory_limit_bytes, Some(spec.memory_bytes));
    f.exec.kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(20)).await;
    assert!(matches!(
        f.exec.stats(&id).await,
        Err(ExecError::Refused(_))
    ));
    f.cleanup().await;
}

#[tokio::test]
async fn exec_runs_as_the_jobs_user_in_its_running_container() {
    if skipped("exec_runs_as_the_jobs_user_in_its_running_container") {
        return;
    }
    let f = Fixture::new("exec").await;
    assert!(f.exec.capabilities().exec);
    let t = f.task(
        701,
        "#!/bin/sh
echo ready > ready
sleep 300
",
    );
    let (id, _spec, _dir) = f.start_ready(&t).await;
    let mut request = ExecRequest {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "id -u; id -g; echo \"$GREETING\"; echo oops >&2; exit 3".into(),
        ],
        uid: t.user.uid,
        gid: t.user.gid,
        env: vec![("GREETING".into(), "hello".into())],
        timeout: Duration::from_secs(30),
    };
    let out = f.exec.exec(&id, &request).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2001\n2002\nhello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.truncated);

    // Never as root.
    request.uid = 0;
    assert!(matches!(
        f.exec.exec(&id, &request).await,
        Err(ExecError::Refused(_))
    ));
    request.uid = t.user.uid;

    // A command that outlives its timeout: what it printed, no exit code.
    let slow = ExecRequest {
        argv: vec!["sh".into(), "-c".into(), "echo started; sleep 30".into()],
        timeout: Duration::from_millis(500),
        ..request.clone()
    };
    let out = f.exec.exec(&id, &slow).await.unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.exit_code),
        (&b"started\n"[..], None)
    );

    // A stopped container runs nothing.
    f.exec.kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(20)).await;
    assert!(matches!(
        f.exec.exec(&id, &request).await,
        Err(ExecError::Refused(_))
    ));
    f.cleanup().await;
}
