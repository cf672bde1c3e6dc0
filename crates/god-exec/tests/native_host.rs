#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The native executor on this host: the conformance suite with real uid switching (the tests
//! run as root; they skip with a message otherwise), then what is native's own: a kill that ends
//! the whole process tree, the registry that a restarted (or another) executor reads, cgroups,
//! a throughput measurement.

mod conformance;

use conformance::{exited, read, until, Backend, Dirs, Fixture, Traits};
use god_core::{JobId, Task};
use god_exec::native::{NativeConfig, NativeExecutor};
use god_exec::{helper, ContainerState, Executor, ExitEvent};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Native {
    exec: Arc<NativeExecutor>,
    /// Its registry.
    state_dir: PathBuf,
}

impl Backend for Native {
    type Exec = NativeExecutor;

    fn exec(&self) -> &Arc<NativeExecutor> {
        &self.exec
    }

    fn traits(&self) -> Traits {
        Traits {
            runs_scripts: true,
            enforces_memory: self.exec.cgroups().memory,
            image: "none",
            own_passwd: false,
            kill_removes: false,
            mounts_volumes: false,
        }
    }

    fn dir_inside(&self, host: &Path) -> String {
        host.display().to_string()
    }

    /// Kill what the registry still lists, remove its cgroups.
    fn backstop(&self, _dirs: &Dirs) {
        let Ok(entries) = std::fs::read_dir(&self.state_dir) else {
            return;
        };
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
}

/// A new executor on the fixture's registry (a restarted server, or another process).
fn executor(dirs: &Dirs) -> NativeExecutor {
    NativeExecutor::new(
        dirs.helper.clone(),
        NativeConfig {
            cpus: None,
            ram_gb: None,
            state_dir: dirs.root.join("state"),
        },
    )
    .unwrap()
}

/// A fixture whose directories (job directories, registry) are under `base`; `None` unless
/// root.
fn fixture_in(test: &str, base: &Path) -> Option<Fixture<Native>> {
    if !std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        eprintln!("{test}: skipped (needs root to run jobs as their users)");
        return None;
    }
    let dirs = Dirs::new("n", test, base);
    let exec = Arc::new(executor(&dirs));
    let state_dir = dirs.root.join("state");
    Some(Fixture::new(dirs, Native { exec, state_dir }))
}

async fn fixture(test: &str) -> Option<Fixture<Native>> {
    fixture_in(test, &std::env::temp_dir())
}

conformance::suite!(fixture);

/// Removing a job removes its registry entry and cgroups, and leaves its job directory.
#[tokio::test]
async fn remove_clears_the_registry_and_cgroups() {
    let Some(f) = fixture("remove").await else {
        return;
    };
    let (state, dir, id) = f.run(&f.task(102, "#!/bin/sh\nexit 3\n"), 3).await;
    assert_eq!(state, exited(3));
    let registry = std::fs::read_to_string(f.backend.state_dir.join(&id)).unwrap();
    let cgroups: Vec<PathBuf> = registry
        .lines()
        .filter_map(|l| l.strip_prefix("cgroup="))
        .map(PathBuf::from)
        .collect();
    f.exec().remove(&id).await.unwrap();
    assert_eq!(f.exec().inspect(&id).await.unwrap(), ContainerState::Gone);
    assert!(!f.backend.state_dir.join(&id).exists());
    for cg in cgroups {
        assert!(!cg.exists(), "{} is left", cg.display());
    }
    assert!(dir.join("god.log").exists(), "the job directory stays");
    f.cleanup().await;
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

#[tokio::test]
async fn kill_ends_the_whole_tree() {
    let Some(f) = fixture("kill").await else {
        return;
    };
    let t = f.task(
        106,
        "#!/bin/bash\nsleep 300 &\necho $! > bg.pid\nsetsid sleep 300 &\necho $! > escaped.pid\nsleep 300\n",
    );
    let (spec, dir) = f.spec(&t);
    let id = f.exec().start(&spec).await.unwrap();
    until("the background jobs", Duration::from_secs(10), || {
        !read(&dir, "bg.pid").trim().is_empty() && !read(&dir, "escaped.pid").trim().is_empty()
    })
    .await;
    let bg: i32 = read(&dir, "bg.pid").trim().parse().unwrap();
    let escaped: i32 = read(&dir, "escaped.pid").trim().parse().unwrap();
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );
    let helper: i32 = read(&dir, "god.pid")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(!gone(helper) && !gone(bg));

    f.kill_to_end(&id).await;
    until("the whole tree to end", Duration::from_secs(10), || {
        gone(helper) && gone(bg)
    })
    .await;
    if f.exec().cgroups().cpu || f.exec().cgroups().memory {
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
    f.exec().kill(&id).await.unwrap(); // again: not an error
    f.cleanup().await;
}

#[tokio::test]
async fn a_restarted_executor_finds_its_jobs_again() {
    let Some(mut f) = fixture("restart").await else {
        return;
    };
    let (running, _) = f.spec(&f.task(110, "#!/bin/sh\nsleep 1.5\nexit 5\n"));
    let (done, _) = f.spec(&f.task(111, "#!/bin/sh\nexit 6\n"));
    let running = f.exec().start(&running).await.unwrap();
    let done = f.exec().start(&done).await.unwrap();
    f.wait_exit(&done, Duration::from_secs(10)).await;

    // The server goes away; the job does not.
    f.backend.exec = Arc::new(executor(&f.dirs));
    let (mut rx, _watcher) = f.watch().await;
    let listed = f.exec().list_labelled(f.server()).await.unwrap();
    let find = |name: &str| listed.iter().find(|l| l.name == name).unwrap().clone();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(find(&running).job, Some(JobId(110)));
    assert_eq!(find(&running).state, ContainerState::Running);
    assert_eq!(find(&done).state, exited(6));
    assert_eq!(
        f.exec().inspect(&running).await.unwrap(),
        ContainerState::Running
    );

    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the exit of a job of the previous run is noticed")
        .unwrap();
    assert_eq!(got, ExitEvent::Exited(JobId(110)));
    assert_eq!(f.exec().inspect(&running).await.unwrap(), exited(5));

    // A third executor kills a job the second one started.
    let (long, dir) = f.spec(&f.task(112, "#!/bin/sh\nsleep 300\n"));
    let long = f.exec().start(&long).await.unwrap();
    until("the job to start", Duration::from_secs(10), || {
        dir.join("god.pid").exists()
    })
    .await;
    f.backend.exec = Arc::new(executor(&f.dirs));
    assert_eq!(
        f.exec().inspect(&long).await.unwrap(),
        ContainerState::Running
    );
    f.kill_to_end(&long).await;
    f.cleanup().await;
}

#[tokio::test]
async fn executors_sharing_a_registry_see_each_others_jobs() {
    // Split roles: one process starts jobs (scheduler), another watches them (watcher).
    let Some(f) = fixture("shared").await else {
        return;
    };
    let watcher_side = Arc::new(executor(&f.dirs));
    let (mut rx, _watcher) = conformance::watch(Arc::clone(&watcher_side), f.server()).await;
    let (spec, _) = f.spec(&f.task(113, "#!/bin/sh\nsleep 0.5\nexit 7\n"));
    let id = f.exec().start(&spec).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the other executor reports the end of a job it did not start")
        .unwrap();
    assert_eq!(got, ExitEvent::Exited(JobId(113)));
    assert_eq!(watcher_side.inspect(&id).await.unwrap(), exited(7));
    watcher_side.remove(&id).await.unwrap();
    assert_eq!(f.exec().inspect(&id).await.unwrap(), ContainerState::Gone);
    f.cleanup().await;
}

#[tokio::test]
async fn a_job_whose_pid_was_not_recorded_is_found_by_its_god_pid() {
    // A crash between the spawn and the record of the pid: the registry entry has no pid.
    let Some(mut f) = fixture("godpid").await else {
        return;
    };
    let (spec, dir) = f.spec(&f.task(114, "#!/bin/sh\nsleep 300\n"));
    let id = f.exec().start(&spec).await.unwrap();
    until("god.pid", Duration::from_secs(10), || {
        dir.join("god.pid").exists()
    })
    .await;
    let entry = f.backend.state_dir.join(&id);
    let text = std::fs::read_to_string(&entry).unwrap();
    let without_pid: String = text
        .lines()
        .filter(|l| !l.starts_with("pid="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text, without_pid);
    std::fs::write(&entry, without_pid).unwrap();
    f.backend.exec = Arc::new(executor(&f.dirs));
    assert_eq!(
        f.exec().inspect(&id).await.unwrap(),
        ContainerState::Running
    );

    // A god.pid the user rewrote to point elsewhere (here: at the test itself) is not believed.
    let real = std::fs::read_to_string(dir.join("god.pid")).unwrap();
    std::fs::write(dir.join("god.pid"), format!("{} 1\n", std::process::id())).unwrap();
    let other = executor(&f.dirs);
    std::fs::write(dir.join("god.pid"), &real).unwrap();
    drop(other);

    f.kill_to_end(&id).await;
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_trivial_jobs() {
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
    let Some(f) = fixture_in("throughput", base) else {
        return;
    };
    let (mut rx, _watcher) = f.watch().await;
    let tasks: Vec<Task> = (0..jobs).map(|i| f.task(1000 + i, "true\n")).collect();
    let t0 = Instant::now();
    let mut names = Vec::new();
    let mut prepare = Duration::ZERO;
    for t in &tasks {
        let p = Instant::now();
        let (spec, _) = f.spec(t);
        prepare += p.elapsed();
        names.push(f.exec().start(&spec).await.unwrap());
    }
    let started = t0.elapsed();
    let mut seen = HashSet::new();
    while seen.len() < jobs as usize {
        let job = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("every job's exit is reported")
            .unwrap();
        seen.insert(job.job());
    }
    let collected = t0.elapsed();
    for name in &names {
        assert_eq!(f.exec().inspect(name).await.unwrap(), exited(0), "{name}");
        f.exec().remove(name).await.unwrap();
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
    assert!(f.exec().list_labelled(f.server()).await.unwrap().is_empty());
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
    let caps = exec.capabilities();
    assert!(caps.pause && !caps.exec, "{caps:?}");
    assert_eq!(caps.stats, exec.cgroups().v2, "stats only from a v2 group");
    let [c] = &exec.nodes().await.unwrap()[..] else {
        panic!("one node")
    };
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
    let [c] = &exec.nodes().await.unwrap()[..] else {
        panic!("one node")
    };
    assert_eq!((c.cpus, c.ram), (7.0, 3.5));
    drop(exec);
    let _ = std::fs::remove_dir_all(&root);
}
