//! The native executor (`native`): no container, the job script runs directly on the host as the
//! user's uid, gid and groups, like the original's SGE "native" mode (reference 4.6) without SGE.
//! For sites and tests without a container engine, and as an honest throughput baseline.
//!
//! # What a job is
//!
//! `start` spawns the init helper (`god-init`, the containers' entrypoint) on the host, with the
//! launch's environment and `GOD_INIT_NATIVE=1`. Container paths in the `GOD_INIT_*` and
//! `GODOCKER_*` variables are translated to the host paths of their binds (`/mnt/go-docker` →
//! the job directory, `/mnt/home` → the user's home…). In native mode the helper never reads or
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

use crate::{Capacity, ContainerState, ExecError, Executor, Labelled, LaunchSpec};
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

/// The job's pid and start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcId {
    pid: i32,
    start: u64,
}

/// One registry entry (the file `<state_dir>/<name>`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Entry {
    job_dir: PathBuf,
    labels: Vec<(String, String)>,
    proc_id: Option<ProcId>,
    /// Job cgroup directories (memory first when there is one).
    cgroups: Vec<PathBuf>,
    killed: bool,
}

impl Entry {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn server(&self) -> &str {
        self.label(LABEL_SERVER).unwrap_or_default()
    }

    fn job(&self) -> Option<JobId> {
        self.label(LABEL_JOB)?.trim().parse().ok().map(JobId)
    }

    fn to_text(&self) -> String {
        let mut s = format!("job_dir={}\n", self.job_dir.display());
        for (k, v) in &self.labels {
            s.push_str(&format!("label={k}={v}\n"));
        }
        if let Some(p) = self.proc_id {
            s.push_str(&format!("pid={} {}\n", p.pid, p.start));
        }
        for c in &self.cgroups {
            s.push_str(&format!("cgroup={}\n", c.display()));
        }
        if self.killed {
            s.push_str("killed=1\n");
        }
        s
    }

    fn parse(text: &str) -> Option<Entry> {
        let mut e = Entry::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "job_dir" => e.job_dir = PathBuf::from(value),
                "label" => {
                    if let Some((k, v)) = value.split_once('=') {
                        e.labels.push((k.to_string(), v.to_string()));
                    }
                }
                "pid" => e.proc_id = parse_pid_line(value),
                "cgroup" => e.cgroups.push(PathBuf::from(value)),
                "killed" => e.killed = value == "1",
                _ => {}
            }
        }
        (e.job_dir.is_absolute()).then_some(e)
    }
}

/// `<pid> <start>` (god.pid, registry).
fn parse_pid_line(s: &str) -> Option<ProcId> {
    let mut parts = s.split_whitespace();
    let pid: i32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    (pid > 0).then_some(ProcId { pid, start })
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

/// Cgroup hierarchies usable for job groups: the `god` directory in each.
#[derive(Debug, Clone, Default)]
struct Cgroups {
    v2: Option<PathBuf>,
    memory: Option<PathBuf>,
    cpu: Option<PathBuf>,
    /// The host has swap and the hierarchy can limit it (`memory.memsw.*` / `memory.swap.max`).
    swap: bool,
    /// The host's CPUs: a v1 cpu group is made only for jobs asking for fewer.
    host_cpus: u32,
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

/// The helper process as `/proc` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Running,
    Stopped,
    Dead,
}

impl Shared {
    fn registry_path(&self, name: &str) -> PathBuf {
        self.cfg.state_dir.join(name)
    }

    fn write_entry(&self, name: &str, entry: &Entry) -> io::Result<()> {
        let tmp = self.cfg.state_dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, entry.to_text())?;
        fs::rename(&tmp, self.registry_path(name))
    }

    /// Add one line to an existing entry: a single small `write(2)` in append mode (no rename,
    /// which on ext4 would force the file's data out when it replaces the old one).
    fn append_entry(&self, name: &str, line: &str) -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.registry_path(name))?;
        f.write_all(line.as_bytes())
    }

    fn read_entry(&self, name: &str) -> Option<Entry> {
        let text = fs::read_to_string(self.registry_path(name)).ok()?;
        Entry::parse(&text)
    }

    fn snapshot(&self, name: &str) -> Option<Snapshot> {
        if valid_name(name).is_err() {
            return None;
        }
        {
            let mut st = lock(&self.state);
            // An ended job another process (sharing the registry) removed: forget it now rather
            // than at the next scan.
            if st
                .jobs
                .get(name)
                .is_some_and(|j| j.exited && !self.registry_path(name).exists())
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

    /// Take a registry entry into the map and watch its helper. Returns the job id and server
    /// when the job turned out to be over already (to notify).
    fn adopt(&self, name: &str, entry: Entry) -> Option<(String, JobId)> {
        let proc_id = entry
            .proc_id
            .or_else(|| self.pid_from_job_dir(&entry.job_dir));
        let pidfd = proc_id.and_then(|p| self.open_pidfd(p));
        let alive = proc_id.is_some_and(|p| liveness(p) != Liveness::Dead);
        let mut st = lock(&self.state);
        if let Some(existing) = st.jobs.get(name) {
            // Keep what we know, unless it lacks the pid the registry now has.
            if existing.entry.proc_id.is_some() || existing.starting || proc_id.is_none() {
                return None;
            }
        }
        let mut job = Job::new(entry);
        job.entry.proc_id = proc_id;
        let server = job.entry.server().to_string();
        let id = job.entry.job();
        if let (Some(p), false) = (proc_id, alive) {
            job.exited = true;
            job.status = reap_if_zombie(p);
            st.jobs.insert(name.to_string(), job);
            return id.map(|id| (server, id));
        }
        if let (true, Some(fd)) = (alive, pidfd) {
            let key = self.next_key.fetch_add(1, Ordering::Relaxed);
            job.key = key;
            if epoll::add(
                &self.epoll,
                &fd,
                epoll::EventData::new_u64(key),
                epoll::EventFlags::IN,
            )
            .is_ok()
            {
                job.pidfd = Some(fd);
                st.keys.insert(key, name.to_string());
            }
        }
        if let Some(old) = st.jobs.insert(name.to_string(), job) {
            self.forget_fd(&mut st, old);
        }
        None
    }

    fn forget_fd(&self, st: &mut State, mut old: Job) {
        if let Some(fd) = old.pidfd.take() {
            let _ = epoll::delete(&self.epoll, &fd);
            st.keys.remove(&old.key);
        }
    }

    fn open_pidfd(&self, p: ProcId) -> Option<OwnedFd> {
        if !self.pidfds.load(Ordering::Relaxed) {
            return None;
        }
        let pid = Pid::from_raw(p.pid)?;
        match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => {
                // The pid may have been reused between the record and now: check the process
                // the descriptor designates.
                (proc_start(p.pid) == Some(p.start)).then_some(fd)
            }
            Err(Errno::NOSYS) => {
                self.pidfds.store(false, Ordering::Relaxed);
                None
            }
            Err(_) => None,
        }
    }

    /// The helper's pid from `god.pid`, when the registry has none (a crash between spawn and
    /// record). The job directory is the user's: the pid is believed only if that process is a
    /// root process running our helper in this job directory, started at the recorded time.
    fn pid_from_job_dir(&self, job_dir: &Path) -> Option<ProcId> {
        let text = read_small(&job_dir.join(PID_FILE))?;
        let p = parse_pid_line(&text)?;
        let proc_dir = PathBuf::from(format!("/proc/{}", p.pid));
        if proc_start(p.pid)? != p.start || fs::metadata(&proc_dir).ok()?.uid() != 0 {
            return None;
        }
        let exe = fs::read_link(proc_dir.join("exe")).ok()?;
        let exe = exe.to_string_lossy();
        let helper = self.helper.to_string_lossy();
        if exe.trim_end_matches(" (deleted)") != helper {
            return None;
        }
        let cwd = fs::read_link(proc_dir.join("cwd")).ok()?;
        let dir = fs::canonicalize(job_dir).ok()?;
        (cwd == dir).then_some(p)
    }

    /// Adopt every registry entry not in the map; notice the end of jobs not watched by a
    /// pidfd; forget jobs whose entry another process removed.
    fn scan(&self) {
        let Ok(dir) = fs::read_dir(&self.cfg.state_dir) else {
            return;
        };
        let mut on_disk = std::collections::HashSet::new();
        let mut over = Vec::new();
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let known = lock(&self.state)
                .jobs
                .get(&name)
                .is_some_and(|j| j.entry.proc_id.is_some() || j.starting);
            on_disk.insert(name.clone());
            if known {
                continue;
            }
            if let Some(entry) = self.read_entry(&name) {
                over.extend(self.adopt(&name, entry));
            }
        }
        // Jobs without a pidfd: look at /proc.
        let mut st = lock(&self.state);
        let names: Vec<String> = st.jobs.keys().cloned().collect();
        for name in names {
            let Some(job) = st.jobs.get_mut(&name) else {
                continue;
            };
            if !on_disk.contains(&name)
                && !job.starting
                && !job.removed
                && !self.registry_path(&name).exists()
            {
                // Removed by another process sharing the registry.
                if let Some(old) = st.jobs.remove(&name) {
                    self.forget_fd(&mut st, old);
                }
                continue;
            }
            if job.exited || job.pidfd.is_some() || job.starting {
                continue;
            }
            let Some(p) = job.entry.proc_id else { continue };
            // Our child (no pidfd on this kernel): reap it.
            if let Some(code) = reap_if_zombie(p) {
                job.status = Some(code);
            }
            if liveness(p) == Liveness::Dead {
                job.exited = true;
                if job.removed {
                    st.jobs.remove(&name);
                } else if let Some(id) = job.entry.job() {
                    over.push((job.entry.server().to_string(), id));
                }
            }
        }
        drop(st);
        for (server, id) in over {
            self.notify(&server, id);
        }
    }

    fn notify(&self, server: &str, job: JobId) {
        let mut w = lock(&self.watchers);
        w.retain(|(_, tx)| !tx.is_closed());
        for (s, tx) in w.iter() {
            if s == server {
                let _ = tx.send(job);
            }
        }
    }

    /// The exit thread: pidfds, registry changes, periodic scan.
    fn exit_loop(&self, inotify: Option<OwnedFd>) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(256);
        let mut inotify_buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 64 * 1024];
        let mut last_scan = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let every = if self.pidfds.load(Ordering::Relaxed) {
                SCAN_EVERY
            } else {
                SCAN_EVERY_WITHOUT_PIDFD
            };
            let left = every.saturating_sub(last_scan.elapsed());
            let timeout = rustix::event::Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            };
            events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                Some(&timeout),
            ) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    tracing::error!(error = %e, "native executor: epoll_wait failed; exit thread stops");
                    return;
                }
            }
            let mut over = Vec::new();
            for ev in &events {
                match ev.data.u64() {
                    KEY_WAKE => {
                        let mut b = [0u8; 8];
                        let _ = rustix::io::read(&self.wake, &mut b);
                    }
                    KEY_INOTIFY => {
                        if let Some(fd) = &inotify {
                            over.extend(self.registry_changed(fd, &mut inotify_buf));
                        }
                    }
                    key => over.extend(self.helper_exited(key)),
                }
            }
            for (server, id) in over {
                self.notify(&server, id);
            }
            if last_scan.elapsed() >= every {
                self.scan();
                last_scan = Instant::now();
            }
        }
    }

    /// A pidfd became readable: the helper is over. Reap it if it is our child.
    fn helper_exited(&self, key: u64) -> Option<(String, JobId)> {
        let mut st = lock(&self.state);
        let name = st.keys.remove(&key)?;
        let job = st.jobs.get_mut(&name)?;
        if job.key != key {
            return None;
        }
        let fd = job.pidfd.take()?;
        let _ = epoll::delete(&self.epoll, &fd);
        if let Ok(Some(status)) = rustix::process::waitid(
            WaitId::PidFd(fd.as_fd()),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
        ) {
            job.status = exit_code(&status);
        }
        job.exited = true;
        if job.removed {
            st.jobs.remove(&name);
            return None;
        }
        Some((job.entry.server().to_string(), job.entry.job()?))
    }

    /// Entries renamed into the registry: adopt those written by another process.
    fn registry_changed(
        &self,
        fd: &OwnedFd,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Vec<(String, JobId)> {
        let mut names = Vec::new();
        let mut reader = rustix::fs::inotify::Reader::new(fd, buf);
        loop {
            match reader.next() {
                Ok(ev) => {
                    if let Some(n) = ev.file_name().and_then(|n| n.to_str().ok()) {
                        if !n.starts_with('.') && !n.is_empty() {
                            names.push(n.to_string());
                        }
                    }
                }
                Err(Errno::INTR) => continue,
                Err(_) => break, // AGAIN: drained
            }
        }
        let mut over = Vec::new();
        for name in names {
            let known = lock(&self.state)
                .jobs
                .get(&name)
                .is_some_and(|j| j.entry.proc_id.is_some() || j.starting);
            if known {
                continue;
            }
            if let Some(entry) = self.read_entry(&name) {
                over.extend(self.adopt(&name, entry));
            }
        }
        over
    }

    /// Translate container paths in the launch's environment to host paths, and add ours.
    fn environment(&self, spec: &LaunchSpec, procs: &[PathBuf]) -> Vec<(String, String)> {
        // Binds, longest container path first.
        let mut binds: Vec<(&str, &str)> = spec
            .binds
            .iter()
            .map(|b| (b.container.as_str(), b.host.as_str()))
            .collect();
        binds.push((god_core::launch::JOB_MOUNT, spec.job_dir.as_str()));
        binds.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        let translate = |v: &str| -> String {
            for (c, h) in &binds {
                if v == *c {
                    return h.to_string();
                }
                if let Some(rest) = v.strip_prefix(c).filter(|r| r.starts_with('/')) {
                    return format!("{h}{rest}");
                }
            }
            v.to_string()
        };
        let mut env: Vec<(String, String)> = Vec::with_capacity(spec.env.len() + 4);
        let mut has_path = false;
        for (k, v) in &spec.env {
            match k.as_str() {
                "GOD_INIT_NATIVE" | "GOD_INIT_CGROUP_PROCS" => continue,
                "GOD_INIT_DIR" | "GODOCKER_PWD" => {
                    env.push((k.clone(), spec.job_dir.clone()));
                    continue;
                }
                "PATH" => has_path = true,
                _ => {}
            }
            if k.starts_with("GOD_INIT_") || k.starts_with("GODOCKER_") {
                env.push((k.clone(), translate(v)));
            } else {
                env.push((k.clone(), v.clone()));
            }
        }
        if !env.iter().any(|(k, _)| k == "GOD_INIT_DIR") {
            env.push(("GOD_INIT_DIR".into(), spec.job_dir.clone()));
        }
        if !has_path {
            env.push(("PATH".into(), DEFAULT_PATH.into()));
        }
        env.push(("GOD_INIT_NATIVE".into(), "1".into()));
        if !procs.is_empty() {
            let list: Vec<String> = procs.iter().map(|p| p.display().to_string()).collect();
            env.push(("GOD_INIT_CGROUP_PROCS".into(), list.join("\n")));
        }
        env
    }

    /// Create the job's cgroups with their limits; their directories and `cgroup.procs` files.
    fn make_cgroups(&self, spec: &LaunchSpec) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut dirs = Vec::new();
        let quota = u64::from(spec.cpus.max(1)) * CPU_PERIOD_US;
        let memory = spec.memory_bytes;
        let mut setup = |dir: PathBuf, files: Vec<(&str, String)>| {
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    tracing::warn!(cgroup = %dir.display(), error = %e, "native executor: cannot create the job's cgroup; no limit");
                    return;
                }
            }
            for (file, value) in files {
                let path = dir.join(file);
                if let Err(e) = fs::write(&path, value.as_bytes()) {
                    tracing::warn!(file = %path.display(), error = %e, "native executor: cannot set a cgroup limit");
                }
            }
            dirs.push(dir);
        };
        if let Some(base) = &self.cgroups.v2 {
            let mut files = vec![("cpu.max", format!("{quota} {CPU_PERIOD_US}"))];
            if memory > 0 {
                files.push(("memory.max", memory.to_string()));
                if self.cgroups.swap {
                    files.push(("memory.swap.max", "0".to_string()));
                }
            }
            setup(base.join(&spec.name), files);
        } else {
            // v1: one group per hierarchy, each costing a mkdir, an attach and an rmdir: only
            // where there is something to limit.
            if let (Some(base), true) = (&self.cgroups.memory, memory > 0) {
                let mut files = vec![("memory.limit_in_bytes", memory.to_string())];
                if self.cgroups.swap {
                    files.push(("memory.memsw.limit_in_bytes", memory.to_string()));
                }
                setup(base.join(&spec.name), files);
            }
            if let (Some(base), true) = (&self.cgroups.cpu, spec.cpus < self.cgroups.host_cpus) {
                // The period of a new group is the default 100 ms.
                setup(
                    base.join(&spec.name),
                    vec![("cpu.cfs_quota_us", quota.to_string())],
                );
            }
        }
        let procs = dirs.iter().map(|d| d.join("cgroup.procs")).collect();
        (dirs, procs)
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
            return ContainerState::Exited {
                exit_code: code,
                oom_killed: oom(),
                error: None,
            };
        }
        match (proc_id, live) {
            (None, _) => ContainerState::Created,
            (Some(_), Liveness::Stopped) => ContainerState::Paused,
            (Some(_), Liveness::Running) if snap.paused => ContainerState::Paused,
            (Some(_), Liveness::Running) => ContainerState::Running,
            (Some(p), Liveness::Dead) => {
                let status = snap.status.or_else(|| peek_status(p));
                if entry.killed {
                    ContainerState::Exited {
                        exit_code: 137,
                        oom_killed: oom(),
                        error: None,
                    }
                } else if let Some(code) = status {
                    ContainerState::Exited {
                        exit_code: code,
                        oom_killed: oom(),
                        error: Some("the init helper ended without recording an exit code".into()),
                    }
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

/// Container names become file names in the registry and cgroup directories.
fn valid_name(name: &str) -> Result<(), ExecError> {
    if name.is_empty()
        || name.len() > 200
        || name.starts_with('.')
        || name.contains(['/', '\0', '\n'])
    {
        return Err(ExecError::Refused(format!(
            "native executor: {name:?} cannot be a job name"
        )));
    }
    Ok(())
}

fn watch_dir(dir: &Path) -> io::Result<OwnedFd> {
    use rustix::fs::inotify;
    let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
    // MOVED_TO: a new entry; CLOSE_WRITE: a pid appended to one.
    inotify::add_watch(
        &fd,
        dir,
        inotify::WatchFlags::MOVED_TO | inotify::WatchFlags::CLOSE_WRITE,
    )?;
    Ok(fd)
}

/// Exit code of a reaped helper (128 + signal when killed).
fn exit_code(status: &rustix::process::WaitIdStatus) -> Option<i64> {
    if let Some(code) = status.exit_status() {
        return Some(i64::from(code));
    }
    status.terminating_signal().map(|s| 128 + i64::from(s))
}

/// Reap `p` if it is a zombie child of ours (a job of an executor this process dropped): its
/// exit code. The start time check keeps us from reaping another child with a reused pid.
fn reap_if_zombie(p: ProcId) -> Option<i64> {
    match proc_stat(p.pid) {
        Some(('Z', start)) if start == p.start => {}
        _ => return None,
    }
    let pid = Pid::from_raw(p.pid)?;
    let status = rustix::process::waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
    )
    .ok()??;
    exit_code(&status)
}

/// The wait status of our child `p` if it is a zombie, without reaping it.
fn peek_status(p: ProcId) -> Option<i64> {
    let pid = Pid::from_raw(p.pid)?;
    let status = rustix::process::waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
    )
    .ok()??;
    exit_code(&status)
}

/// Fields of `/proc/<pid>/stat` after the command name: (state, start time).
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) comes field 4; the start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

fn proc_start(pid: i32) -> Option<u64> {
    proc_stat(pid).map(|(_, s)| s)
}

fn liveness(p: ProcId) -> Liveness {
    match proc_stat(p.pid) {
        Some((_, start)) if p.start != 0 && start != p.start => Liveness::Dead,
        Some(('Z' | 'X' | 'x', _)) | None => Liveness::Dead,
        Some(('T' | 't', _)) => Liveness::Stopped,
        Some(_) => Liveness::Running,
    }
}

/// A small regular file of the (user-owned) job directory: never through a symlink, never a
/// FIFO that would block.
fn read_small(path: &Path) -> Option<String> {
    let flags = (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits();
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags as i32)
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = String::new();
    f.take(256).read_to_string(&mut buf).ok()?;
    Some(buf)
}

fn read_exit(job_dir: &Path) -> Option<i64> {
    read_small(&job_dir.join(EXIT_FILE))?.trim().parse().ok()
}

/// `oom_kill` of the job's memory cgroup (v1 `memory.oom_control`, v2 `memory.events`) > 0.
fn oom_killed(cgroups: &[PathBuf]) -> bool {
    // The memory group comes first (v1), or it is the only group (v2).
    let Some(dir) = cgroups.first() else {
        return false;
    };
    let text = fs::read_to_string(dir.join("memory.oom_control"))
        .or_else(|_| fs::read_to_string(dir.join("memory.events")))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("oom_kill "))
        .find_map(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|c| c > 0)
}

fn cgroup_pids(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn kill_pid(pid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Signal the whole job: the helper's process group (the helper, the script and its children)
/// and every process in its cgroups. `entry.proc_id` must be a live helper (or None).
fn signal_job(entry: &Entry, sig: Signal) {
    if let Some(pid) = entry.proc_id.and_then(|p| Pid::from_raw(p.pid)) {
        let _ = rustix::process::kill_process_group(pid, sig);
        // Before its setsid(), the helper is not yet the leader of its group.
        let _ = rustix::process::kill_process(pid, sig);
    }
    for dir in &entry.cgroups {
        for pid in cgroup_pids(dir) {
            kill_pid(pid, sig);
        }
    }
}

/// Host CPUs (`processor` lines of `/proc/cpuinfo`).
fn host_cpus() -> f64 {
    let n = fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    if n > 0 {
        return n as f64;
    }
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// The host has swap (`SwapTotal` of `/proc/meminfo` > 0), at executor creation.
fn host_swap() -> bool {
    fs::read_to_string("/proc/meminfo").is_ok_and(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("SwapTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .is_some_and(|kb| kb > 0)
    })
}

/// Host memory in GB (`MemTotal` of `/proc/meminfo`).
fn host_ram_gb() -> f64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0 / 1e9)
}

// ---- cgroup discovery ----

/// Find the hierarchies and create `god` under the server's own cgroup in each. Logs once what
/// is missing.
fn detect_cgroups() -> Cgroups {
    let mut c = Cgroups {
        host_cpus: host_cpus() as u32,
        ..Default::default()
    };
    let swap = host_swap();
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        match setup_v2(&own) {
            Ok(base) => {
                c.swap = swap && base.join("memory.swap.max").exists();
                c.v2 = Some(base);
            }
            Err(e) => tracing::warn!(
                "native executor: cgroup v2 cannot be used ({e}): jobs run without cpu and memory limits"
            ),
        }
        return c;
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut problems = Vec::new();
    for controller in ["memory", "cpu"] {
        let found = v1_dir(&mountinfo, &own, controller)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such hierarchy mounted"));
        let base = found.and_then(|d| {
            let base = d.join("god");
            fs::create_dir_all(&base).map(|()| base)
        });
        match base {
            Ok(base) if controller == "memory" => {
                c.swap = swap && base.join("memory.memsw.limit_in_bytes").exists();
                c.memory = Some(base);
            }
            Ok(base) => c.cpu = Some(base),
            Err(e) => problems.push(format!("{controller}: {e}")),
        }
    }
    if !problems.is_empty() {
        tracing::warn!(
            "native executor: cgroup v1 {}: jobs run without these limits",
            problems.join(", ")
        );
    }
    c
}

/// The directory of our own cgroup in the v1 hierarchy of `controller`.
fn v1_dir(mountinfo: &str, own: &str, controller: &str) -> Option<PathBuf> {
    let (root, mount) = mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let mut post = post.split_whitespace();
        if post.next()? != "cgroup" {
            return None;
        }
        let options = post.nth(1)?;
        if !options.split(',').any(|o| o == controller) {
            return None;
        }
        let mut pre = pre.split_whitespace();
        let root = pre.nth(3)?;
        let mount = pre.next()?;
        Some((root.to_string(), mount.to_string()))
    })?;
    let path = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let _ = parts.next()?;
        let controllers = parts.next()?;
        let path = parts.next()?;
        controllers
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })?;
    let rel = path
        .strip_prefix(root.as_str())
        .filter(|_| root != "/")
        .unwrap_or(&path);
    Some(Path::new(&mount).join(rel.trim_start_matches('/')))
}

/// v2: `god` under our own cgroup, with the memory and cpu controllers enabled for it.
fn setup_v2(own: &str) -> io::Result<PathBuf> {
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no unified cgroup"))?;
    let mine = Path::new("/sys/fs/cgroup").join(path.trim().trim_start_matches('/'));
    let available = fs::read_to_string(mine.join("cgroup.controllers"))?;
    for needed in ["memory", "cpu"] {
        if !available.split_whitespace().any(|c| c == needed) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the {needed} controller is not delegated to {}",
                    mine.display()
                ),
            ));
        }
    }
    let base = mine.join("god");
    enable_controllers(&mine)?;
    fs::create_dir_all(&base)?;
    enable_controllers(&base)?;
    Ok(base)
}

fn enable_controllers(dir: &Path) -> io::Result<()> {
    let current = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    if ["memory", "cpu"]
        .iter()
        .all(|c| current.split_whitespace().any(|x| x == *c))
    {
        return Ok(());
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.subtree_control"))?;
    f.write_all(b"+memory +cpu")
}

#[async_trait]
impl Executor for NativeExecutor {
    fn name(&self) -> &'static str {
        "native"
    }

    async fn capacity(&self) -> Result<Capacity, ExecError> {
        let cfg = &self.shared.cfg;
        Ok(Capacity {
            cpus: cfg.cpus.map_or_else(host_cpus, f64::from),
            ram: cfg.ram_gb.unwrap_or_else(host_ram_gb),
            node: "localhost",
        })
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

    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<JobId>) {
        let (fwd_tx, mut fwd_rx) = mpsc::unbounded_channel();
        lock(&self.shared.watchers).push((server_id.to_string(), fwd_tx));
        loop {
            tokio::select! {
                job = fwd_rx.recv() => match job {
                    Some(job) => {
                        if tx.send(job).await.is_err() {
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
