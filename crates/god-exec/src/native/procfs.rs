//! What `/proc` and the kernel say of a job's helper process: its identity (pid and start time),
//! whether it lives, its exit status; signals; the host's size.

use super::*;

/// The job's pid and start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcId {
    pub(super) pid: i32,
    pub(super) start: u64,
}

/// The helper process as `/proc` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Liveness {
    Running,
    Stopped,
    Dead,
}

/// Exit code of a reaped helper (128 + signal when killed).
pub(super) fn exit_code(status: &rustix::process::WaitIdStatus) -> Option<i64> {
    if let Some(code) = status.exit_status() {
        return Some(i64::from(code));
    }
    status.terminating_signal().map(|s| 128 + i64::from(s))
}

/// Reap `p` if it is a zombie child of ours (a job of an executor this process dropped): its
/// exit code. The start time check keeps us from reaping another child with a reused pid.
pub(super) fn reap_if_zombie(p: ProcId) -> Option<i64> {
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
pub(super) fn peek_status(p: ProcId) -> Option<i64> {
    let pid = Pid::from_raw(p.pid)?;
    let status = rustix::process::waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
    )
    .ok()??;
    exit_code(&status)
}

/// Fields of `/proc/<pid>/stat` after the command name: (state, start time).
pub(super) fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) comes field 4; the start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

pub(super) fn proc_start(pid: i32) -> Option<u64> {
    proc_stat(pid).map(|(_, s)| s)
}

pub(super) fn liveness(p: ProcId) -> Liveness {
    match proc_stat(p.pid) {
        Some((_, start)) if p.start != 0 && start != p.start => Liveness::Dead,
        Some(('Z' | 'X' | 'x', _)) | None => Liveness::Dead,
        Some(('T' | 't', _)) => Liveness::Stopped,
        Some(_) => Liveness::Running,
    }
}

/// A small regular file of the (user-owned) job directory: never through a symlink, never a
/// FIFO that would block.
pub(super) fn read_small(path: &Path) -> Option<String> {
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

pub(super) fn read_exit(job_dir: &Path) -> Option<i64> {
    read_small(&job_dir.join(EXIT_FILE))?.trim().parse().ok()
}

pub(super) fn kill_pid(pid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Signal the whole job: the helper's process group (the helper, the script and its children)
/// and every process in its cgroups. `entry.proc_id` must be a live helper (or None).
pub(super) fn signal_job(entry: &Entry, sig: Signal) {
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
pub(super) fn host_cpus() -> f64 {
    let n = fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    if n > 0 {
        return n as f64;
    }
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// The host has swap (`SwapTotal` of `/proc/meminfo` > 0), at executor creation.
pub(super) fn host_swap() -> bool {
    fs::read_to_string("/proc/meminfo").is_ok_and(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("SwapTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .is_some_and(|kb| kb > 0)
    })
}

/// Host memory in GB (`MemTotal` of `/proc/meminfo`).
pub(super) fn host_ram_gb() -> f64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0 / 1e9)
}
