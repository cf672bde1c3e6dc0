//! The native executor (`native`): no container, the job script runs directly on the host as the
//! user's uid, gid and groups, like the original's SGE "native" mode (reference 4.6) without SGE.
//! For sites and tests without a container engine, and as an honest throughput baseline.
//!
//! # What a job is
//!
//! `start` spawns the init helper (`god-init`, the containers' entrypoint) on the host, with the
//! launch's environment as seen on the host (`View::Host`: the `GOD_INIT_*` and `GODOCKER_*`
//! variables name the job directory and the user's home at their host paths) and
//! `GOD_INIT_NATIVE=1`. In native mode the helper never reads or
//! writes the host's `/etc/passwd` or `/etc/group`; it calls `setsid()` (the job is a session
//! and process group of its own, that survives the server), becomes a child subreaper, enters the
//! job directory, joins the job's cgroups, writes `god.pid`, drops to the user and runs `cmd.sh`
//! (`god.log`, `god.err`, `god.info` as in a container), writes the exit code to `god.exit`
//! (atomically) and finally SIGKILLs its process group so nothing the script left in the
//! background outlives the job (a container's end does the same).
//!
//! **Volumes are not mounted**: a native job sees the host's filesystem with the user's
//! permissions (the home directory at its host path, in `$HOME`). Network isolation
//! (`network.disabled`) and the pids limit are not applied either. A root job
//! (`GOD_INIT_ROOT=1`, allowed by the server's `allow_root`) runs as root on the host.
//!
//! # Registry
//!
//! The executor keeps a map container name → job in memory, and persists it in
//! `NativeConfig::state_dir`: one small file per job, named after the container, holding the job
//! directory, the labels (`godocker.job`, `godocker.server`…), the helper's pid and start time,
//! the job's cgroups and whether the job was killed. It is written (temporary file + rename)
//! before the spawn (so a crash between spawn and record never loses a running job: the pid is
//! then taken from `god.pid` and checked against `/proc`); the pid, and later the kill, are
//! appended to it (one small `write` each). A good place for it is a tmpfs such as `/run`:
//! after a reboot no job runs any more, and file creation there costs a tenth of ext4's. After a restart
//! a new executor on the same state directory finds every job again (`inspect`, `kill`,
//! `list_labelled`); `remove` deletes the entry. The pid is trusted only from the registry or,
//! when it holds none, from `god.pid` checked against the process (a root process running the
//! helper, started at the recorded time, whose working directory is the job directory): a user
//! cannot point the server at another process by editing files in the job directory.
//!
//! The container id of a native job is its name.
//!
//! # Exit detection
//!
//! One thread per executor waits in `epoll` on a pidfd per running job (its helper process): no
//! polling, no SIGCHLD. When a pidfd becomes readable the thread reaps the helper if it is our
//! child (`waitid(P_PIDFD)`; the helper stays our child while the server lives, and is reaped by
//! the host's init after a restart) and sends the job id to the `watch_exits` receivers of its
//! server. The exit code comes from `god.exit` (or 137 after `kill`). The same thread watches
//! the state directory with inotify, so jobs started by another process sharing it (split
//! roles) are adopted at once, and rescans the directory every second as a backstop; without
//! pidfds (Linux < 5.3) it checks `/proc` every 50 ms instead.
//!
//! # Resource limits
//!
//! Through cgroups, when the server may use them: v2 (`/sys/fs/cgroup/cgroup.controllers`) or
//! v1 (the `memory` and `cpu` hierarchies, found in `/proc/self/mountinfo`). The executor creates
//! `god/<container name>` under the server's own cgroup in each hierarchy (jobs stay within any
//! limit the server itself runs under), sets the memory limit (`memory.limit_in_bytes` and
//! `memory.memsw.limit_in_bytes` / `memory.max` and `memory.swap.max = 0`: no swap, as in the
//! Docker executor) and the cpu quota (`cpu.cfs_quota_us` / `cpu.max`, `cpus` × 100 ms per
//! 100 ms), and passes the `cgroup.procs` files to the helper in `GOD_INIT_CGROUP_PROCS`: the
//! helper writes its own pid into them before it forks, so the script starts inside its groups
//! (race-free). OOM kills are read from `memory.oom_control` / `memory.events` (`oom_kill`).
//! When cgroups cannot be used (not root, read-only `/sys`, a v2 hierarchy that does not delegate
//! the controllers) jobs run without limits and a warning is logged once. `remove` deletes the
//! groups.
//!
//! `kill` SIGKILLs the job's process group and every process in its cgroups (what left the
//! group with `setsid` too); `pause`/`unpause` send SIGSTOP/SIGCONT the same way.

mod cgroups;
mod env;
mod exits;
mod procfs;
mod registry;

use cgroups::*;
use exits::watch_dir;
use procfs::*;
use registry::*;

use crate::{
    Capabilities, ContainerState, ContainerStats, ExecError, Executor, ExitEvent, Labelled,
    LaunchSpec, NodeReport, Termination,
};
use async_trait::async_trait;
use god_core::launch::{LABEL_JOB, LABEL_SERVER};
use god_core::JobId;
use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Written by the helper at the end (native mode only): the script's exit code.
pub const EXIT_FILE: &str = "god.exit";
/// Written by the helper at start (native mode only): `<pid> <start time in ticks>`.
pub const PID_FILE: &str = "god.pid";

/// `PATH` of a native job when the launch gives none (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// cpu quota period (µs).
const CPU_PERIOD_US: u64 = 100_000;
/// How often the exit thread rescans the registry (backstop for missed events).
const SCAN_EVERY: Duration = Duration::from_secs(1);
/// How often it looks at `/proc` when pidfds are not available.
const SCAN_EVERY_WITHOUT_PIDFD: Duration = Duration::from_millis(50);
/// epoll keys of the eventfd (stop) and the inotify descriptor; jobs get keys from 16 up.
const KEY_WAKE: u64 = 1;
const KEY_INOTIFY: u64 = 2;
const FIRST_JOB_KEY: u64 = 16;

/// Where native jobs' resources come from and where the registry lives.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeConfig {
    /// CPUs offered to jobs (default: the host's, from `/proc/cpuinfo`).
    pub cpus: Option<u32>,
    /// GB of memory offered to jobs (default: the host's `MemTotal`).
    pub ram_gb: Option<f64>,
    /// The registry: one file per job (created if missing; keep it on a local disk, owned by
    /// the server).
    pub state_dir: PathBuf,
}

/// Which cgroup limits native jobs get on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupSupport {
    pub memory: bool,
    pub cpu: bool,
    /// Unified hierarchy (v2) rather than v1.
    pub v2: bool,
}

pub struct NativeExecutor {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A job the executor knows.
struct Job {
    entry: Entry,
    /// Watched in epoll while the helper runs.
    pidfd: Option<OwnedFd>,
    key: u64,
    /// The helper is known to be over.
    exited: bool,
    /// Its wait status as an exit code (when it was our child and we reaped it).
    status: Option<i64>,
    paused: bool,
    /// `start` is between its first registry write and the spawn.
    starting: bool,
    /// `remove` was called while the helper still ran: forget it once reaped.
    removed: bool,
}

impl Job {
    fn new(entry: Entry) -> Job {
        Job {
            entry,
            pidfd: None,
            key: 0,
            exited: false,
            status: None,
            paused: false,
            starting: false,
            removed: false,
        }
    }
}

#[derive(Default)]
struct State {
    jobs: HashMap<String, Job>,
    keys: HashMap<u64, String>,
}

struct Shared {
    helper: PathBuf,
    cfg: NativeConfig,
    cgroups: Cgroups,
    state: Mutex<State>,
    epoll: OwnedFd,
    wake: OwnedFd,
    stop: AtomicBool,
    next_key: AtomicU64,
    /// pidfd_open works on this kernel.
    pidfds: AtomicBool,
    watchers: Mutex<Vec<(String, mpsc::UnboundedSender<JobId>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ExecError {
    ExecError::Unavailable(format!("native executor: {what}: {e}"))
}

impl NativeExecutor {
    /// An executor that runs jobs with the init helper at `init_helper` (see
    /// [`crate::helper::install`]). Creates `cfg.state_dir`, finds the cgroup hierarchies (a
    /// warning is logged once when jobs will run without limits), loads the registry (jobs of a
    /// previous run) and starts the exit thread. Needs root to run jobs as their users.
    pub fn new(init_helper: PathBuf, cfg: NativeConfig) -> Result<Self, ExecError> {
        fs::create_dir_all(&cfg.state_dir)
            .map_err(|e| unavailable(&format!("state dir {}", cfg.state_dir.display()), e))?;
        let cgroups = detect_cgroups();
        let epoll =
            epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| unavailable("epoll", e))?;
        let wake = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|e| unavailable("eventfd", e))?;
        epoll::add(
            &epoll,
            &wake,
            epoll::EventData::new_u64(KEY_WAKE),
            epoll::EventFlags::IN,
        )
        .map_err(|e| unavailable("epoll", e))?;
        let shared = Arc::new(Shared {
            helper: init_helper,
            cfg,
            cgroups,
            state: Mutex::new(State::default()),
            epoll,
            wake,
            stop: AtomicBool::new(false),
            next_key: AtomicU64::new(FIRST_JOB_KEY),
            pidfds: AtomicBool::new(true),
            watchers: Mutex::new(Vec::new()),
        });
        // inotify on the registry: entries written by another process sharing it.
        let inotify = match watch_dir(&shared.cfg.state_dir) {
            Ok(fd) => {
                epoll::add(
                    &shared.epoll,
                    &fd,
                    epoll::EventData::new_u64(KEY_INOTIFY),
                    epoll::EventFlags::IN,
                )
                .map_err(|e| unavailable("epoll", e))?;
                Some(fd)
            }
            Err(e) => {
                tracing::warn!(error = %e, "native executor: cannot watch the registry with inotify; rescanning it every second");
                None
            }
        };
        shared.scan();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("god-native-exits".into())
                .spawn(move || shared.exit_loop(inotify))
                .map_err(|e| unavailable("exit thread", e))?
        };
        Ok(NativeExecutor {
            shared,
            thread: Some(thread),
        })
    }

    /// The cgroup limits jobs get here.
    pub fn cgroups(&self) -> CgroupSupport {
        let c = &self.shared.cgroups;
        CgroupSupport {
            memory: c.v2.is_some() || c.memory.is_some(),
            cpu: c.v2.is_some() || c.cpu.is_some(),
            v2: c.v2.is_some(),
        }
    }
}

impl Drop for NativeExecutor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = rustix::io::write(&self.shared.wake, &1u64.to_ne_bytes());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What `inspect` needs of a job, copied out of the lock.
#[derive(Debug, Clone)]
struct Snapshot {
    entry: Entry,
    exited: bool,
    status: Option<i64>,
    paused: bool,
    starting: bool,
}

impl Shared {
    fn snapshot(&self, name: &str) -> Option<Snapshot> {
        if valid_name(name).is_err() {
            return None;
        }
        {
            let mut st = lock(&self.state);
            // A job another process (sharing the registry) removed: forget it now rather than
            // at the next scan (whether or not this process has seen it end yet).
            if st
                .jobs
                .get(name)
                .is_some_and(|j| !j.starting && !self.registry_path(name).exists())
            {
                if let Some(old) = st.jobs.remove(name) {
                    self.forget_fd(&mut st, old);
                }
                return None;
            }
            if let Some(j) = st.jobs.get(name).filter(|j| !j.removed) {
                return Some(Snapshot {
                    entry: j.entry.clone(),
                    exited: j.exited,
                    status: j.status,
                    paused: j.paused,
                    starting: j.starting,
                });
            }
        }
        // Not known here: a job of a previous run or of another process sharing the registry.
        let entry = self.read_entry(name)?;
        self.adopt(name, entry.clone());
        Some(Snapshot {
            entry,
            exited: false,
            status: None,
            paused: false,
            starting: false,
        })
    }

    fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        let name = spec.name.as_str();
        valid_name(name)?;
        if !spec.job_dir.starts_with('/') || spec.job_dir.contains('\n') {
            return Err(ExecError::Refused(format!(
                "native executor: bad job directory {:?}",
                spec.job_dir
            )));
        }
        if spec
            .labels
            .iter()
            .any(|(k, v)| k.contains(['\n', '=']) || v.contains('\n'))
        {
            return Err(ExecError::Refused("native executor: bad label".into()));
        }
        // Idempotent on the name: a job already started (here, or in a previous run) stays.
        if !lock(&self.state).jobs.contains_key(name) {
            if let Some(entry) = self.read_entry(name) {
                self.adopt(name, entry);
            }
        }
        let entry = Entry {
            job_dir: PathBuf::from(&spec.job_dir),
            labels: spec.labels.clone(),
            ..Default::default()
        };
        {
            let mut st = lock(&self.state);
            if let Some(j) = st.jobs.get(name) {
                if !j.removed && (j.entry.proc_id.is_some() || j.starting) {
                    return Ok(name.to_string());
                }
            }
            let mut job = Job::new(entry.clone());
            job.starting = true;
            if let Some(old) = st.jobs.insert(name.to_string(), job) {
                self.forget_fd(&mut st, old);
            }
        }
        match self.spawn(spec, entry) {
            Ok(()) => Ok(name.to_string()),
            Err(e) => {
                let mut st = lock(&self.state);
                if st.jobs.get(name).is_some_and(|j| j.starting) {
                    st.jobs.remove(name);
                }
                drop(st);
                let _ = fs::remove_file(self.registry_path(name));
                Err(e)
            }
        }
    }

    fn spawn(&self, spec: &LaunchSpec, mut entry: Entry) -> Result<(), ExecError> {
        let name = spec.name.as_str();
        let dir = Path::new(&spec.job_dir);
        // Results of a previous attempt in the same directory must not be taken for this one.
        for f in [EXIT_FILE, PID_FILE] {
            match fs::remove_file(dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ExecError::JobDir {
                        path: dir.join(f).display().to_string(),
                        source: e,
                    })
                }
            }
        }
        let (cgroups, procs) = self.make_cgroups(spec);
        entry.cgroups = cgroups;
        let cleanup_cgroups = |entry: &Entry| {
            for d in &entry.cgroups {
                let _ = fs::remove_dir(d);
            }
        };
        if let Err(e) = self.write_entry(name, &entry) {
            cleanup_cgroups(&entry);
            return Err(unavailable("cannot write the registry", e));
        }
        let child = Command::new(&self.helper)
            .env_clear()
            .envs(self.environment(spec, &procs))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                cleanup_cgroups(&entry);
                return Err(unavailable(
                    &format!("cannot run the init helper {}", self.helper.display()),
                    e,
                ));
            }
        };
        // Dropping the handle neither waits for nor kills the helper: the exit thread reaps it.
        let pid = i32::try_from(child.id()).unwrap_or(0);
        drop(child);
        // Our unreaped child: its pid cannot be reused, /proc/<pid> exists.
        let proc_id = ProcId {
            pid,
            start: proc_start(pid).unwrap_or(0),
        };
        entry.proc_id = Some(proc_id);
        let pidfd = self.open_pidfd(proc_id);
        // Before the job is visible with its pid: once it is, the exit thread may report its
        // end and the server remove it.
        if let Err(e) = self.append_entry(name, &format!("pid={} {}\n", proc_id.pid, proc_id.start))
        {
            tracing::warn!(job = name, error = %e, "native executor: cannot record the job's pid (god.pid is the fallback)");
        }
        let mut st = lock(&self.state);
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let mut job = Job::new(entry);
        job.key = key;
        if let Some(fd) = pidfd {
            st.keys.insert(key, name.to_string());
            if let Err(e) = epoll::add(
                &self.epoll,
                &fd,
                epoll::EventData::new_u64(key),
                epoll::EventFlags::IN,
            ) {
                st.keys.remove(&key);
                tracing::warn!(error = %e, "native executor: epoll_ctl failed; the job's end is found by the periodic scan");
            } else {
                job.pidfd = Some(fd);
            }
        }
        if let Some(old) = st.jobs.insert(name.to_string(), job) {
            self.forget_fd(&mut st, old);
        }
        Ok(())
    }

    fn inspect(&self, name: &str) -> ContainerState {
        let Some(snap) = self.snapshot(name) else {
            return ContainerState::Gone;
        };
        let entry = &snap.entry;
        let proc_id = match entry.proc_id {
            Some(p) => Some(p),
            None if snap.starting => None,
            None => self.pid_from_job_dir(&entry.job_dir),
        };
        // Liveness first: god.exit is written before the helper dies, so a dead helper's
        // god.exit is visible to the read that follows.
        let live = match proc_id {
            Some(_) if snap.exited => Liveness::Dead,
            Some(p) => liveness(p),
            None => Liveness::Dead,
        };
        let oom = || oom_killed(&entry.cgroups);
        if let Some(code) = read_exit(&entry.job_dir) {
            return ContainerState::Exited(if oom() {
                Termination::OutOfMemory { code }
            } else {
                Termination::Exited { code }
            });
        }
        match (proc_id, live) {
            (None, _) => ContainerState::Created,
            (Some(_), Liveness::Stopped) => ContainerState::Paused,
            (Some(_), Liveness::Running) if snap.paused => ContainerState::Paused,
            (Some(_), Liveness::Running) => ContainerState::Running,
            (Some(p), Liveness::Dead) => {
                let status = snap.status.or_else(|| peek_status(p));
                if entry.killed {
                    ContainerState::Exited(Termination::Killed)
                } else if oom() {
                    ContainerState::Exited(Termination::OutOfMemory {
                        code: status.unwrap_or(137),
                    })
                } else if let Some(code) = status {
                    ContainerState::Exited(Termination::EngineFailure {
                        code,
                        message: "the init helper ended without recording an exit code".into(),
                    })
                } else {
                    ContainerState::Gone
                }
            }
        }
    }

    /// The job's helper, if it still runs.
    fn live_proc(&self, snap: &Snapshot) -> Option<ProcId> {
        let p = snap
            .entry
            .proc_id
            .or_else(|| self.pid_from_job_dir(&snap.entry.job_dir))?;
        (!snap.exited && liveness(p) != Liveness::Dead).then_some(p)
    }

    fn kill(&self, name: &str) -> Result<(), ExecError> {
        let Some(snap) = self.snapshot(name) else {
            return Ok(());
        };
        not_starting(name, &snap)?;
        let mut entry = snap.entry.clone();
        if let Some(p) = self.live_proc(&snap) {
            entry.proc_id = Some(p);
            if !entry.killed {
                entry.killed = true;
                let mut st = lock(&self.state);
                if let Some(j) = st.jobs.get_mut(name) {
                    j.entry.killed = true;
                    j.entry.proc_id = Some(p);
                }
                drop(st);
                if let Err(e) = self.append_entry(name, "killed=1\n") {
                    tracing::warn!(job = name, error = %e, "native executor: cannot record the kill");
                }
            }
            signal_job(&entry, Signal::KILL);
        } else {
            // Over already; whatever escaped into its cgroups goes too.
            entry.proc_id = None;
            signal_job(&entry, Signal::KILL);
        }
        Ok(())
    }

    fn pause(&self, name: &str, pause: bool) -> Result<(), ExecError> {
        let Some(snap) = self.snapshot(name) else {
            return Err(ExecError::Refused(format!("no such job: {name}")));
        };
        not_starting(name, &snap)?;
        let Some(p) = self.live_proc(&snap) else {
            if !pause {
                return Ok(());
            }
            return Err(ExecError::Refused(format!("job {name} is not running")));
        };
        let mut entry = snap.entry;
        entry.proc_id = Some(p);
        signal_job(&entry, if pause { Signal::STOP } else { Signal::CONT });
        if let Some(j) = lock(&self.state).jobs.get_mut(name) {
            j.paused = pause;
        }
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), ExecError> {
        let Some(snap) = self.snapshot(name) else {
            return Ok(());
        };
        not_starting(name, &snap)?;
        let live = self.live_proc(&snap);
        if let Some(p) = live {
            signal_job(
                &Entry {
                    proc_id: Some(p),
                    ..snap.entry.clone()
                },
                Signal::KILL,
            );
        }
        let entry = snap.entry;
        {
            let mut st = lock(&self.state);
            if let Some(mut job) = st.jobs.remove(name) {
                if job.pidfd.is_some() {
                    // Still to be reaped by the exit thread, which then forgets it: kept under a
                    // name nobody looks up (names never start with a dot).
                    job.removed = true;
                    let hidden = format!(".removed.{}", job.key);
                    st.keys.insert(job.key, hidden.clone());
                    st.jobs.insert(hidden, job);
                }
            }
        }
        match fs::remove_file(self.registry_path(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable("cannot remove the registry entry", e)),
        }
        // The groups can go once every process in them is dead (anything that escaped the
        // job's process group is killed here).
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in &entry.cgroups {
            loop {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() >= deadline => {
                        tracing::warn!(cgroup = %dir.display(), error = %e, "native executor: cannot remove the job's cgroup");
                        break;
                    }
                    Err(_) => {
                        for pid in cgroup_pids(dir) {
                            kill_pid(pid, Signal::KILL);
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }
        Ok(())
    }

    fn list(&self, server_id: &str) -> Vec<Labelled> {
        let Ok(dir) = fs::read_dir(&self.cfg.state_dir) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let Some(entry) = self.read_entry(&name) else {
                continue;
            };
            if entry.server() != server_id {
                continue;
            }
            found.push(Labelled {
                container_id: name.clone(),
                state: self.inspect(&name),
                job: entry.job(),
                name,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }
}

/// `start` of this job is under way (in this process): the caller must wait for it.
fn not_starting(name: &str, snap: &Snapshot) -> Result<(), ExecError> {
    if snap.starting {
        return Err(ExecError::Unavailable(format!(
            "native executor: job {name} is being started"
        )));
    }
    Ok(())
}

// ---- cgroup discovery ----

#[async_trait]
impl Executor for NativeExecutor {
    fn name(&self) -> &'static str {
        "native"
    }

    async fn nodes(&self) -> Result<Vec<NodeReport>, ExecError> {
        let cfg = &self.shared.cfg;
        Ok(vec![NodeReport::ready(
            "localhost",
            cfg.cpus.map_or_else(host_cpus, f64::from),
            cfg.ram_gb.unwrap_or_else(host_ram_gb),
        )])
    }

    /// One fork/exec of the helper plus a few small file writes, done inline (tens to a few
    /// hundred microseconds).
    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        self.shared.start(spec)
    }

    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError> {
        Ok(self.shared.inspect(container))
    }

    async fn kill(&self, container: &str) -> Result<(), ExecError> {
        self.shared.kill(container)
    }

    /// Pause is SIGSTOP to the job's processes; stats come from its cgroup (v2 only). No exec
    /// nor terminal: they would need a process (and a PTY) started as the user on the host, in
    /// the job's groups and cgroups.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pause: true,
            stats: self.shared.cgroups.v2.is_some(),
            exec: false,
            terminal: false,
        }
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats, ExecError> {
        self.shared.stats(container)
    }

    async fn pause(&self, container: &str) -> Result<(), ExecError> {
        self.shared.pause(container, true)
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecError> {
        self.shared.pause(container, false)
    }

    async fn remove(&self, container: &str) -> Result<(), ExecError> {
        self.shared.remove(container).await
    }

    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError> {
        Ok(self.shared.list(server_id))
    }

    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<ExitEvent>) {
        let (fwd_tx, mut fwd_rx) = mpsc::unbounded_channel();
        lock(&self.shared.watchers).push((server_id.to_string(), fwd_tx));
        loop {
            tokio::select! {
                job = fwd_rx.recv() => match job {
                    Some(job) => {
                        if tx.send(ExitEvent::Exited(job)).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
                () = tx.closed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn registry_entries_round_trip() {
        let e = Entry {
            job_dir: "/shared/tasks/pairtree_root/42/task".into(),
            labels: vec![
                (LABEL_JOB.into(), "42".into()),
                (LABEL_SERVER.into(), "s1".into()),
            ],
            proc_id: Some(ProcId {
                pid: 1234,
                start: 99,
            }),
            cgroups: vec!["/sys/fs/cgroup/memory/god/n".into()],
            killed: true,
        };
        let back = Entry::parse(&e.to_text()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.job(), Some(JobId(42)));
        assert_eq!(back.server(), "s1");
        assert!(Entry::parse("label=a=b\n").is_none(), "no job dir");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("god-s-1-1").is_ok());
        for bad in ["", ".x", "a/b", "a\nb"] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn v1_hierarchies_are_found_under_our_own_cgroup() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
            33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
            36 31 0:33 /x /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
        let own = "8:pids:/x/y\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";
        assert_eq!(
            v1_dir(mountinfo, own, "memory").unwrap(),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
        );
        assert_eq!(
            v1_dir(mountinfo, own, "cpu").unwrap(),
            PathBuf::from("/sys/fs/cgroup/cpu")
        );
        assert_eq!(
            v1_dir(mountinfo, own, "pids").unwrap(),
            PathBuf::from("/sys/fs/cgroup/pids/y")
        );
        assert!(v1_dir(mountinfo, own, "freezer").is_none());
    }

    #[test]
    fn our_own_stat_parses() {
        let me = i32::try_from(std::process::id()).unwrap();
        let (state, start) = proc_stat(me).unwrap();
        assert!(state == 'R' || state == 'S', "{state}");
        assert!(start > 0);
        assert_eq!(liveness(ProcId { pid: me, start }), Liveness::Running);
        assert_eq!(
            liveness(ProcId {
                pid: me,
                start: start + 1
            }),
            Liveness::Dead,
            "another process with a reused pid"
        );
    }
}
