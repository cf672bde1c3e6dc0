//! The registry: one small file per job in the state directory, written before the spawn, so a
//! restarted server (or another process on the same directory) finds every job again.

use super::*;

/// One registry entry (the file `<state_dir>/<name>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Entry {
    pub(super) job_dir: PathBuf,
    pub(super) labels: Vec<(String, String)>,
    pub(super) proc_id: Option<ProcId>,
    /// Job cgroup directories (memory first when there is one).
    pub(super) cgroups: Vec<PathBuf>,
    pub(super) killed: bool,
}

impl Entry {
    pub(super) fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn server(&self) -> &str {
        self.label(LABEL_SERVER).unwrap_or_default()
    }

    pub(super) fn job(&self) -> Option<JobId> {
        self.label(LABEL_JOB)?.trim().parse().ok().map(JobId)
    }

    pub(super) fn to_text(&self) -> String {
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

    pub(super) fn parse(text: &str) -> Option<Entry> {
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
pub(super) fn parse_pid_line(s: &str) -> Option<ProcId> {
    let mut parts = s.split_whitespace();
    let pid: i32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    (pid > 0).then_some(ProcId { pid, start })
}

/// Container names become file names in the registry and cgroup directories.
pub(super) fn valid_name(name: &str) -> Result<(), ExecError> {
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

impl Shared {
    pub(super) fn registry_path(&self, name: &str) -> PathBuf {
        self.cfg.state_dir.join(name)
    }

    pub(super) fn write_entry(&self, name: &str, entry: &Entry) -> io::Result<()> {
        let tmp = self.cfg.state_dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, entry.to_text())?;
        fs::rename(&tmp, self.registry_path(name))
    }

    /// Add one line to an existing entry: a single small `write(2)` in append mode (no rename,
    /// which on ext4 would force the file's data out when it replaces the old one).
    pub(super) fn append_entry(&self, name: &str, line: &str) -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.registry_path(name))?;
        f.write_all(line.as_bytes())
    }

    pub(super) fn read_entry(&self, name: &str) -> Option<Entry> {
        let text = fs::read_to_string(self.registry_path(name)).ok()?;
        Entry::parse(&text)
    }

    /// Take a registry entry into the map and watch its helper. Returns the job id and server
    /// when the job turned out to be over already (to notify).
    pub(super) fn adopt(&self, name: &str, entry: Entry) -> Option<(String, JobId)> {
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

    /// The helper's pid from `god.pid`, when the registry has none (a crash between spawn and
    /// record). The job directory is the user's: the pid is believed only if that process is a
    /// root process running our helper in this job directory, started at the recorded time.
    pub(super) fn pid_from_job_dir(&self, job_dir: &Path) -> Option<ProcId> {
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
    pub(super) fn scan(&self) {
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
}
