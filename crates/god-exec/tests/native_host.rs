#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The native executor on this host: real uid switching (the tests run as root; they skip with a
//! message otherwise), cgroup limits where the host allows them, recovery after a restart, and a
//! throughput measurement.

use god_core::config::Config;
use god_core::launch::{self, LaunchSpec};
use god_core::{JobId, Task};
use god_exec::native::{NativeConfig, NativeExecutor};
use god_exec::{helper, jobdir, ContainerState, Executor};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn skipped(test: &str) -> bool {
    if !is_root() {
        eprintln!("{test}: skipped (needs root to run jobs as their users)");
        return true;
    }
    false
}

struct Fixture {
    server: String,
    root: PathBuf,
    shared: PathBuf,
    helper: PathBuf,
    state_dir: PathBuf,
    config: Config,
    exec: Arc<NativeExecutor>,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        Self::new_in(test, &std::env::temp_dir())
    }

    /// A fixture whose directories (job directories, registry) are under `base`.
    fn new_in(test: &str, base: &Path) -> Fixture {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let server = format!("n{}-{nanos}-{}", std::process::id(), test.replace('_', "-"));
        let root = base.join(format!("god-exec-{server}"));
        let shared = root.join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        // GOD_NATIVE_HELPER: another build of god-init (a musl one, say) to measure.
        let helper = match std::env::var_os("GOD_NATIVE_HELPER") {
            Some(h) => PathBuf::from(h),
            None => helper::install(&root.join("helper")).unwrap(),
        };
        let state_dir = root.join("state");
        let exec = Arc::new(Self::executor(&helper, &state_dir));
        Fixture {
            server,
            root,
            shared,
            helper,
            state_dir,
            config: Config::default(),
            exec,
        }
    }

    fn executor(helper: &Path, state_dir: &Path) -> NativeExecutor {
        NativeExecutor::new(
            helper.to_path_buf(),
            NativeConfig {
                cpus: None,
                ram_gb: None,
                state_dir: state_dir.to_path_buf(),
            },
        )
        .unwrap()
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
        t.container.image = "none".into();
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
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn run(&self, task: &Task) -> (ContainerState, PathBuf, String) {
        let (spec, dir) = self.spec(task);
        let id = self.exec.start(&spec).await.unwrap();
        (self.wait_exit(&id, Duration::from_secs(60)).await, dir, id)
    }

    /// Remove every job of this test and check none is left.
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
    /// Backstop for a failed test: kill what the registry still lists, remove the directories.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.state_dir) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                for line in text.lines() {
                    if let Some(pid) = line
                        .strip_prefix("pid=")
                        .and_then(|v| v.split_whitespace().next())
                    {
                        let _ = std::process::Command::new("kill")
                            .args(["-KILL", "--", &format!("-{pid}")])
                            .output();
                    }
                    if let Some(cg) = line.strip_prefix("cgroup=") {
                        let _ = std::fs::remove_dir(cg);
                    }
                }
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

/// Wait until `f` holds (or fail after `limit`).
async fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The process `pid` is gone (or a zombie waiting for its parent).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

const WHO_AM_I: &str = r#"#!/bin/bash
id -u
id -g
id -G
echo "jid=$GODOCKER_JID"
pwd
echo "home=$HOME user=$USER pwd=$GODOCKER_PWD"
echo "init-vars=$(env | grep -c '^GOD_INIT_')"
grep -E '^NoNewPrivs:' /proc/self/status | tr -d ' \t'
echo data > out.txt
echo "to stderr" >&2
"#;

#[tokio::test]
async fn a_job_runs_as_the_user_on_the_host() {
    if skipped("a_job_runs_as_the_user_on_the_host") {
        return;
    }
    let f = Fixture::new("user");
    let passwd = std::fs::read("/etc/passwd").unwrap();
    let group = std::fs::read("/etc/group").unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let watcher = {
        let exec = Arc::clone(&f.exec);
        let server = f.server.clone();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await })
    };
    let t = f.task(101, WHO_AM_I);
    let (state, dir, id) = f.run(&t).await;
    assert_eq!(state, exited(0), "god.err: {}", read(&dir, "god.err"));
    let log = read(&dir, "god.log");
    let lines: Vec<&str> = log.lines().collect();
    let dir_s = dir.to_str().unwrap();
    assert_eq!(&lines[..3], &["2001", "2002", "2002 2003"], "{log}");
    assert_eq!(lines[3], "jid=101");
    assert_eq!(lines[4], dir_s, "the script runs in the host job directory");
    assert_eq!(
        lines[5],
        format!("home={dir_s} user=alice pwd={dir_s}"),
        "no home volume: HOME is the job directory"
    );
    assert_eq!(lines[6], "init-vars=0", "GOD_INIT_* never reach the script");
    assert_eq!(
        lines[7], "NoNewPrivs:1",
        "setuid binaries of the host give nothing"
    );
    assert_eq!(read(&dir, "god.err"), "to stderr\n");
    let out = std::fs::metadata(dir.join("out.txt")).unwrap();
    assert_eq!((out.uid(), out.gid()), (2001, 2002));
    for f in ["god.log", "god.err", "god.info"] {
        let m = std::fs::metadata(dir.join(f)).unwrap();
        assert_eq!((m.uid(), m.gid()), (2001, 2002), "{f}");
    }
    assert_eq!(read(&dir, "god.exit"), "0\n");
    assert!(jobdir::duration(&dir).is_some());
    assert_eq!(
        std::fs::read("/etc/passwd").unwrap(),
        passwd,
        "the host's /etc/passwd is never touched"
    );
    assert_eq!(std::fs::read("/etc/group").unwrap(), group);

    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an exit notification")
        .unwrap();
    assert_eq!(got, JobId(101));
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("watch_exits returns once the receiver is dropped")
        .unwrap();

    // The container id is the name; starting it again is idempotent (no second run).
    assert_eq!(id, f.spec(&t).0.name);
    std::fs::remove_file(dir.join("out.txt")).unwrap();
    assert_eq!(f.exec.start(&f.spec(&t).0).await.unwrap(), id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!dir.join("out.txt").exists(), "started twice");
    f.cleanup().await;
}

#[tokio::test]
async fn exit_codes_and_removal() {
    if skipped("exit_codes_and_removal") {
        return;
    }
    let f = Fixture::new("exit");
    let (state, dir, id) = f.run(&f.task(102, "#!/bin/sh\necho bye\nexit 3\n")).await;
    assert_eq!(state, exited(3));
    assert_eq!(read(&dir, "god.log"), "bye\n");
    let listed = f.exec.list_labelled(&f.server).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].job, Some(JobId(102)));
    assert_eq!(listed[0].state, exited(3));
    assert!(f
        .exec
        .list_labelled("another-server")
        .await
        .unwrap()
        .is_empty());

    let registry = std::fs::read_to_string(f.state_dir.join(&id)).unwrap();
    let cgroups: Vec<PathBuf> = registry
        .lines()
        .filter_map(|l| l.strip_prefix("cgroup="))
        .map(PathBuf::from)
        .collect();
    f.exec.remove(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Gone);
    assert!(!f.state_dir.join(&id).exists());
    for cg in cgroups {
        assert!(!cg.exists(), "{} is left", cg.display());
    }
    assert!(dir.join("god.log").exists(), "the job directory stays");
    f.exec.remove(&id).await.unwrap();
    f.exec.kill(&id).await.unwrap();

    // A script that cannot be executed; a second attempt in the same directory does not see
    // the first one's result.
    let mut t = f.task(103, "#!/nonexistent/interpreter\n");
    let (state, dir, _) = f.run(&t).await;
    assert_eq!(state, exited(127));
    assert!(read(&dir, "god.err").contains("interpreter"));
    t.status.attempts = 2;
    t.command.cmd = "#!/bin/sh\nsleep 0.3\nexit 4\n".into();
    let (spec, _) = f.spec(&t);
    let id2 = f.exec.start(&spec).await.unwrap();
    assert_eq!(f.exec.inspect(&id2).await.unwrap(), ContainerState::Running);
    assert_eq!(f.wait_exit(&id2, Duration::from_secs(10)).await, exited(4));
    f.cleanup().await;
}

#[tokio::test]
async fn a_root_job_runs_as_root_only_when_asked() {
    if skipped("a_root_job_runs_as_root_only_when_asked") {
        return;
    }
    let f = Fixture::new("root");
    let mut t = f.task(104, "#!/bin/sh\nid -u\n");
    t.container.root = true;
    let (state, dir, _) = f.run(&t).await;
    assert_eq!(state, exited(0));
    assert_eq!(read(&dir, "god.log"), "0\n");
    let mut t = f.task(105, "#!/bin/sh\nid -u\n");
    t.user.uid = 0;
    let (state, dir, _) = f.run(&t).await;
    assert_eq!(state, exited(126), "uid 0 without root mode is refused");
    assert!(read(&dir, "god.err").contains("refusing"));
    f.cleanup().await;
}

#[tokio::test]
async fn kill_ends_the_whole_tree() {
    if skipped("kill_ends_the_whole_tree") {
        return;
    }
    let f = Fixture::new("kill");
    let t = f.task(
        106,
        "#!/bin/bash\nsleep 300 &\necho $! > bg.pid\nsetsid sleep 300 &\necho $! > escaped.pid\nsleep 300\n",
    );
    let (spec, dir) = f.spec(&t);
    let id = f.exec.start(&spec).await.unwrap();
    until("the background jobs", Duration::from_secs(10), || {
        !read(&dir, "bg.pid").trim().is_empty() && !read(&dir, "escaped.pid").trim().is_empty()
    })
    .await;
    let bg: i32 = read(&dir, "bg.pid").trim().parse().unwrap();
    let escaped: i32 = read(&dir, "escaped.pid").trim().parse().unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Running);
    let helper: i32 = read(&dir, "god.pid")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(!gone(helper) && !gone(bg));

    f.exec.kill(&id).await.unwrap();
    let state = f.wait_exit(&id, Duration::from_secs(10)).await;
    assert!(
        matches!(state, ContainerState::Exited { exit_code: 137, .. }),
        "{state:?}"
    );
    until("the whole tree to end", Duration::from_secs(10), || {
        gone(helper) && gone(bg)
    })
    .await;
    if f.exec.cgroups().cpu || f.exec.cgroups().memory {
        until(
            "the process that left the group (setsid) to end",
            Duration::from_secs(10),
            || gone(escaped),
        )
        .await;
    } else {
        eprintln!("kill_ends_the_whole_tree: no cgroups here; a setsid escapee is not tracked");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &escaped.to_string()])
            .output();
    }
    f.exec.kill(&id).await.unwrap(); // again: not an error
    f.cleanup().await;
}

#[tokio::test]
async fn pause_stops_progress_and_unpause_resumes() {
    if skipped("pause_stops_progress_and_unpause_resumes") {
        return;
    }
    let f = Fixture::new("pause");
    let t = f.task(
        107,
        "#!/bin/bash\nfor i in $(seq 1 3000); do echo $i >> count; sleep 0.01; done\n",
    );
    let (spec, dir) = f.spec(&t);
    let id = f.exec.start(&spec).await.unwrap();
    let lines = || read(&dir, "count").lines().count();
    until("progress", Duration::from_secs(10), || lines() >= 5).await;
    f.exec.pause(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Paused);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let frozen = lines();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(lines(), frozen, "a paused job makes no progress");
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Paused);
    f.exec.unpause(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Running);
    until("progress after unpause", Duration::from_secs(10), || {
        lines() > frozen + 5
    })
    .await;
    // A paused job can be killed.
    f.exec.pause(&id).await.unwrap();
    f.exec.kill(&id).await.unwrap();
    let state = f.wait_exit(&id, Duration::from_secs(10)).await;
    assert!(
        matches!(state, ContainerState::Exited { exit_code: 137, .. }),
        "{state:?}"
    );
    assert!(
        f.exec.pause(&id).await.is_err(),
        "an ended job cannot be paused"
    );
    f.cleanup().await;
}

#[tokio::test]
async fn memory_limit_kills_with_137() {
    if skipped("memory_limit_kills_with_137") {
        return;
    }
    let f = Fixture::new("oom");
    if !f.exec.cgroups().memory {
        eprintln!("memory_limit_kills_with_137: skipped (no usable memory cgroup on this host)");
        return;
    }
    let mut t = f.task(
        108,
        "#!/bin/bash\nx=$(head -c 200000000 /dev/zero | tr '\\0' a)\necho \"survived ${#x}\"\n",
    );
    t.requirements.ram = 0.064;
    let (state, dir, _) = f.run(&t).await;
    assert_eq!(
        state,
        ContainerState::Exited {
            exit_code: 137,
            oom_killed: true,
            error: None
        },
        "god.log: {}",
        read(&dir, "god.log")
    );
    assert!(!read(&dir, "god.log").contains("survived"));

    // Within the limit all is well, and the cpu quota does not get in the way.
    let mut t = f.task(
        109,
        "#!/bin/bash\nx=$(head -c 10000000 /dev/zero | tr '\\0' a)\necho \"survived ${#x}\"\n",
    );
    t.requirements.ram = 0.064;
    let (state, dir, _) = f.run(&t).await;
    assert_eq!(state, exited(0));
    assert_eq!(read(&dir, "god.log"), "survived 10000000\n");
    f.cleanup().await;
}

#[tokio::test]
async fn a_restarted_executor_finds_its_jobs_again() {
    if skipped("a_restarted_executor_finds_its_jobs_again") {
        return;
    }
    let mut f = Fixture::new("restart");
    let (running, _) = f.spec(&f.task(110, "#!/bin/sh\nsleep 1.5\nexit 5\n"));
    let (done, _) = f.spec(&f.task(111, "#!/bin/sh\nexit 6\n"));
    let running = f.exec.start(&running).await.unwrap();
    let done = f.exec.start(&done).await.unwrap();
    f.wait_exit(&done, Duration::from_secs(10)).await;

    // The server goes away; the job does not.
    f.exec = Arc::new(Fixture::executor(&f.helper, &f.state_dir));
    let (tx, mut rx) = mpsc::channel(8);
    let _watcher = {
        let exec = Arc::clone(&f.exec);
        let server = f.server.clone();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await })
    };
    let listed = f.exec.list_labelled(&f.server).await.unwrap();
    let find = |name: &str| listed.iter().find(|l| l.name == name).unwrap().clone();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(find(&running).job, Some(JobId(110)));
    assert_eq!(find(&running).state, ContainerState::Running);
    assert_eq!(find(&done).state, exited(6));
    assert_eq!(
        f.exec.inspect(&running).await.unwrap(),
        ContainerState::Running
    );

    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the exit of a job of the previous run is noticed")
        .unwrap();
    assert_eq!(got, JobId(110));
    assert_eq!(f.exec.inspect(&running).await.unwrap(), exited(5));

    // A third executor kills a job the second one started.
    let (long, dir) = f.spec(&f.task(112, "#!/bin/sh\nsleep 300\n"));
    let long = f.exec.start(&long).await.unwrap();
    until("the job to start", Duration::from_secs(10), || {
        dir.join("god.pid").exists()
    })
    .await;
    f.exec = Arc::new(Fixture::executor(&f.helper, &f.state_dir));
    assert_eq!(
        f.exec.inspect(&long).await.unwrap(),
        ContainerState::Running
    );
    f.exec.kill(&long).await.unwrap();
    let state = f.wait_exit(&long, Duration::from_secs(10)).await;
    assert!(
        matches!(state, ContainerState::Exited { exit_code: 137, .. }),
        "{state:?}"
    );
    f.cleanup().await;
}

#[tokio::test]
async fn executors_sharing_a_registry_see_each_others_jobs() {
    if skipped("executors_sharing_a_registry_see_each_others_jobs") {
        return;
    }
    // Split roles: one process starts jobs (scheduler), another watches them (watcher).
    let f = Fixture::new("shared");
    let watcher_side = Arc::new(Fixture::executor(&f.helper, &f.state_dir));
    let (tx, mut rx) = mpsc::channel(8);
    let _watcher = {
        let exec = Arc::clone(&watcher_side);
        let server = f.server.clone();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await })
    };
    let (spec, _) = f.spec(&f.task(113, "#!/bin/sh\nsleep 0.5\nexit 7\n"));
    let id = f.exec.start(&spec).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the other executor reports the end of a job it did not start")
        .unwrap();
    assert_eq!(got, JobId(113));
    assert_eq!(watcher_side.inspect(&id).await.unwrap(), exited(7));
    watcher_side.remove(&id).await.unwrap();
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Gone);
    f.cleanup().await;
}

#[tokio::test]
async fn a_job_whose_pid_was_not_recorded_is_found_by_its_god_pid() {
    if skipped("a_job_whose_pid_was_not_recorded_is_found_by_its_god_pid") {
        return;
    }
    // A crash between the spawn and the record of the pid: the registry entry has no pid.
    let mut f = Fixture::new("godpid");
    let (spec, dir) = f.spec(&f.task(114, "#!/bin/sh\nsleep 300\n"));
    let id = f.exec.start(&spec).await.unwrap();
    until("god.pid", Duration::from_secs(10), || {
        dir.join("god.pid").exists()
    })
    .await;
    let entry = f.state_dir.join(&id);
    let text = std::fs::read_to_string(&entry).unwrap();
    let without_pid: String = text
        .lines()
        .filter(|l| !l.starts_with("pid="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text, without_pid);
    std::fs::write(&entry, without_pid).unwrap();
    f.exec = Arc::new(Fixture::executor(&f.helper, &f.state_dir));
    assert_eq!(f.exec.inspect(&id).await.unwrap(), ContainerState::Running);

    // A god.pid the user rewrote to point elsewhere (here: at the test itself) is not believed.
    let real = std::fs::read_to_string(dir.join("god.pid")).unwrap();
    std::fs::write(dir.join("god.pid"), format!("{} 1\n", std::process::id())).unwrap();
    let other = Fixture::executor(&f.helper, &f.state_dir);
    std::fs::write(dir.join("god.pid"), &real).unwrap();
    drop(other);

    f.exec.kill(&id).await.unwrap();
    let state = f.wait_exit(&id, Duration::from_secs(10)).await;
    assert!(
        matches!(state, ContainerState::Exited { exit_code: 137, .. }),
        "{state:?}"
    );
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_trivial_jobs() {
    if skipped("throughput_of_trivial_jobs") {
        return;
    }
    throughput(&std::env::temp_dir()).await;
    // The same on a tmpfs: what the executor costs when creating files is cheap.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && shm != std::env::temp_dir() {
        throughput(shm).await;
    }
}

/// 200 `true` jobs started one after the other and collected through `watch_exits`; prints the
/// rate (asserts none: it depends on the machine).
async fn throughput(base: &Path) {
    // GOD_NATIVE_BENCH_JOBS=2000 for a steadier figure.
    let jobs: u64 = std::env::var("GOD_NATIVE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let f = Fixture::new_in("throughput", base);
    let (tx, mut rx) = mpsc::channel(1024);
    let _watcher = {
        let exec = Arc::clone(&f.exec);
        let server = f.server.clone();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await })
    };
    let tasks: Vec<Task> = (0..jobs).map(|i| f.task(1000 + i, "true\n")).collect();
    let t0 = Instant::now();
    let mut names = Vec::new();
    let mut prepare = Duration::ZERO;
    for t in &tasks {
        let p = Instant::now();
        let (spec, _) = f.spec(t);
        prepare += p.elapsed();
        names.push(f.exec.start(&spec).await.unwrap());
    }
    let started = t0.elapsed();
    let mut seen = HashSet::new();
    while seen.len() < jobs as usize {
        let job = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("every job's exit is reported")
            .unwrap();
        seen.insert(job);
    }
    let collected = t0.elapsed();
    for name in &names {
        assert_eq!(f.exec.inspect(name).await.unwrap(), exited(0), "{name}");
        f.exec.remove(name).await.unwrap();
    }
    let total = t0.elapsed();
    let rate = |d: Duration| jobs as f64 / d.as_secs_f64();
    eprintln!(
        "native executor, job dirs and registry in {}: {jobs} trivial jobs started in \
         {started:?} (of which job dirs {prepare:?}), all exits reported after {collected:?} \
         = {:.0} jobs/s; with inspect+remove {total:?} = {:.0} jobs/s",
        base.display(),
        rate(collected),
        rate(total)
    );
    assert!(f.exec.list_labelled(&f.server).await.unwrap().is_empty());
}

#[tokio::test]
async fn capacity_is_the_hosts_unless_configured() {
    let root = std::env::temp_dir().join(format!("god-exec-native-cap-{}", std::process::id()));
    let helper = helper::install(&root.join("helper")).unwrap();
    let exec = NativeExecutor::new(
        helper.clone(),
        NativeConfig {
            cpus: None,
            ram_gb: None,
            state_dir: root.join("a"),
        },
    )
    .unwrap();
    assert_eq!(exec.name(), "native");
    let c = exec.capacity().await.unwrap();
    assert!(c.cpus >= 1.0 && c.ram > 0.1, "{c:?}");
    let exec = NativeExecutor::new(
        helper,
        NativeConfig {
            cpus: Some(7),
            ram_gb: Some(3.5),
            state_dir: root.join("b"),
        },
    )
    .unwrap();
    let c = exec.capacity().await.unwrap();
    assert_eq!((c.cpus, c.ram), (7.0, 3.5));
    drop(exec);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn stats_come_from_the_jobs_cgroup() {
    if skipped("stats_come_from_the_jobs_cgroup") {
        return;
    }
    let f = Fixture::new("stats");
    let caps = f.exec.capabilities();
    assert!(caps.pause && !caps.exec);
    assert_eq!(
        caps.stats,
        f.exec.cgroups().v2,
        "stats only from a v2 group"
    );
    let mut t = f.task(
        110,
        "#!/bin/bash\ni=0; while [ $i -lt 100000 ]; do i=$((i+1)); done\necho ready > ready\nsleep 300\n",
    );
    t.requirements.ram = 0.064;
    let (spec, dir) = f.spec(&t);
    let id = f.exec.start(&spec).await.unwrap();
    until("ready", Duration::from_secs(30), || {
        dir.join("ready").exists()
    })
    .await;
    match f.exec.stats(&id).await {
        Ok(s) => {
            assert!(caps.stats);
            assert!(s.cpu_seconds > 0.0 && s.memory_bytes > 0, "{s:?}");
            assert_eq!(s.memory_limit_bytes, Some(spec.memory_bytes));
        }
        Err(e) => assert!(!caps.stats, "{e}"),
    }
    f.exec.kill(&id).await.unwrap();
    f.wait_exit(&id, Duration::from_secs(10)).await;
    assert!(
        f.exec.stats(&id).await.is_err(),
        "an ended job has no stats"
    );
    f.cleanup().await;
}
