//! The exit thread: one epoll over a pidfd per running job and an inotify watch of the registry,
//! plus a periodic scan; it tells each server's watchers which jobs ended.

use super::*;

pub(super) fn watch_dir(dir: &Path) -> io::Result<OwnedFd> {
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

impl Shared {
    pub(super) fn forget_fd(&self, st: &mut State, mut old: Job) {
        if let Some(fd) = old.pidfd.take() {
            let _ = epoll::delete(&self.epoll, &fd);
            st.keys.remove(&old.key);
        }
    }

    pub(super) fn open_pidfd(&self, p: ProcId) -> Option<OwnedFd> {
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

    pub(super) fn notify(&self, server: &str, job: JobId) {
        let mut w = lock(&self.watchers);
        w.retain(|(_, tx)| !tx.is_closed());
        for (s, tx) in w.iter() {
            if s == server {
                let _ = tx.send(job);
            }
        }
    }

    /// The exit thread: pidfds, registry changes, periodic scan.
    pub(super) fn exit_loop(&self, inotify: Option<OwnedFd>) {
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
    pub(super) fn helper_exited(&self, key: u64) -> Option<(String, JobId)> {
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
    pub(super) fn registry_changed(
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
}
