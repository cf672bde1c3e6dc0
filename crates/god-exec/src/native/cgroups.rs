//! Resource limits through cgroups v1 or v2: finding the hierarchies, one group per job with its
//! memory and cpu limits, OOM kills, the processes in a group.

use super::*;

/// Cgroup hierarchies usable for job groups: the `god` directory in each.
#[derive(Debug, Clone, Default)]
pub(super) struct Cgroups {
    pub(super) v2: Option<PathBuf>,
    pub(super) memory: Option<PathBuf>,
    pub(super) cpu: Option<PathBuf>,
    /// The host has swap and the hierarchy can limit it (`memory.memsw.*` / `memory.swap.max`).
    pub(super) swap: bool,
    /// The host's CPUs: a v1 cpu group is made only for jobs asking for fewer.
    pub(super) host_cpus: u32,
}

/// `oom_kill` of the job's memory cgroup (v1 `memory.oom_control`, v2 `memory.events`) > 0.
pub(super) fn oom_killed(cgroups: &[PathBuf]) -> bool {
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

pub(super) fn cgroup_pids(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Find the hierarchies and create `god` under the server's own cgroup in each. Logs once what
/// is missing.
pub(super) fn detect_cgroups() -> Cgroups {
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
pub(super) fn v1_dir(mountinfo: &str, own: &str, controller: &str) -> Option<PathBuf> {
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
pub(super) fn setup_v2(own: &str) -> io::Result<PathBuf> {
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

pub(super) fn enable_controllers(dir: &Path) -> io::Result<()> {
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

/// A v2 job group's usage: `cpu.stat` `usage_usec`, `memory.current` less `inactive_file` of
/// `memory.stat`, `memory.max` (`max`: no limit).
pub(super) fn v2_stats(dir: &Path) -> io::Result<ContainerStats> {
    let read = |file: &str| fs::read_to_string(dir.join(file));
    let field = |text: &str, key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .find_map(|v| v.trim().parse::<u64>().ok())
    };
    let bad = |file: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{file} unreadable"));
    let usage_usec = field(&read("cpu.stat")?, "usage_usec").ok_or_else(|| bad("cpu.stat"))?;
    let current = read("memory.current")?
        .trim()
        .parse::<u64>()
        .map_err(|_| bad("memory.current"))?;
    let inactive = read("memory.stat")
        .ok()
        .and_then(|t| field(&t, "inactive_file"))
        .unwrap_or(0);
    Ok(ContainerStats {
        cpu_seconds: usage_usec as f64 / 1e6,
        memory_bytes: current.saturating_sub(inactive),
        memory_limit_bytes: read("memory.max")?.trim().parse::<u64>().ok(),
    })
}

impl Shared {
    /// A running job's usage, from its v2 cgroup (v1 groups, when there are any, are not read).
    pub(super) fn stats(&self, name: &str) -> Result<ContainerStats, ExecError> {
        let not_running = || ExecError::Refused(format!("job {name} is not running"));
        let snap = self.snapshot(name).ok_or_else(not_running)?;
        self.live_proc(&snap).ok_or_else(not_running)?;
        let dir = match (&self.cgroups.v2, snap.entry.cgroups.first()) {
            (Some(_), Some(dir)) => dir,
            _ => {
                return Err(ExecError::Unsupported {
                    what: "give the stats of a job without a cgroup",
                    executor: "native",
                })
            }
        };
        v2_stats(dir).map_err(|e| unavailable(&format!("cgroup {}", dir.display()), e))
    }

    /// Create the job's cgroups with their limits; their directories and `cgroup.procs` files.
    pub(super) fn make_cgroups(&self, spec: &LaunchSpec) -> (Vec<PathBuf>, Vec<PathBuf>) {
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn v2_group_files_make_stats() {
        let dir = std::env::temp_dir().join(format!("god-cg-stats-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let write = |f: &str, t: &str| fs::write(dir.join(f), t).unwrap();
        write("cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n");
        write("memory.current", "10000\n");
        write(
            "memory.stat",
            "anon 6000\nactive_file 1000\ninactive_file 3000\n",
        );
        write("memory.max", "max\n");
        let s = v2_stats(&dir).unwrap();
        assert_eq!(
            (s.cpu_seconds, s.memory_bytes, s.memory_limit_bytes),
            (2.5, 7000, None)
        );
        write("memory.max", "65536\n");
        assert_eq!(v2_stats(&dir).unwrap().memory_limit_bytes, Some(65536));
        fs::remove_file(dir.join("cpu.stat")).unwrap();
        assert!(v2_stats(&dir).is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
