//! Job directories on the host (reference 4.2): `<shared_dir>/tasks/pairtree_root/<id>/task/`,
//! mounted at [`god_core::launch::JOB_MOUNT`] in the job's container.
//!
//! The server writes `cmd.sh` (the user's command, as data), `wrapper.sh` and
//! `godocker-uris.txt`; the container's init helper writes `god.log`, `god.err` and `god.info`.
//! The directory belongs to the job's user (unless it is a root job), so the server never follows
//! a symlink the user may have left there: files are replaced, not written through.

use crate::ExecError;
use god_core::task::Task;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{fchown, lchown, PermissionsExt};
use std::path::{Path, PathBuf};

/// The user's command, verbatim.
pub const CMD_FILE: &str = "cmd.sh";
/// Documents the entrypoint: it only execs the init helper.
pub const WRAPPER_FILE: &str = "wrapper.sh";
pub const URIS_FILE: &str = "godocker-uris.txt";
pub const INFO_FILE: &str = "god.info";
pub const LOG_FILE: &str = "god.log";
pub const ERR_FILE: &str = "god.err";
/// Written by the init helper, root-owned, when a signal reaches it from outside the container.
pub const STOP_FILE: &str = "god.stop";

const WRAPPER: &str = r#"#!/bin/sh
# Go-Docker job wrapper (for reference: the container's entrypoint is the init helper itself).
#
# /.godocker/god-init is a small static program mounted read-only into every job container. Run as
# root, it adds the job's user to /etc/passwd and /etc/group, writes the start time to god.info,
# drops to the user's uid, gid and groups, runs /mnt/go-docker/cmd.sh with stdout in god.log and
# stderr in god.err (stdin from /dev/null), forwards signals, writes the end time to god.info and
# exits with the script's exit code (128 + signal number when the script was killed).
exec /.godocker/god-init "$@"
"#;

/// Host path of the job directory of `task` ([`god_core::launch::job_dir`]).
pub fn path(shared_dir: &Path, task: &Task) -> PathBuf {
    god_core::launch::job_dir(shared_dir, task)
}

/// Create the job directory of `task` with its scripts and return its path. Idempotent: a second
/// call (a rescheduled job) rewrites the scripts and leaves every other file alone.
pub fn prepare(shared_dir: &Path, task: &Task) -> Result<PathBuf, ExecError> {
    let dir = path(shared_dir, task);
    let err = |source: io::Error| ExecError::JobDir {
        path: dir.display().to_string(),
        source,
    };
    fs::create_dir_all(&dir).map_err(err)?;
    // The last component may sit in a user-owned directory (array children): never write
    // through a symlink planted there.
    let meta = fs::symlink_metadata(&dir).map_err(err)?;
    if !meta.file_type().is_dir() {
        return Err(err(io::Error::other("not a directory (a symlink?)")));
    }
    let owner = (!task.container.root).then_some((task.user.uid, task.user.gid));
    let mut chown_ok = true;
    if let Some((uid, gid)) = owner {
        chown_ok = give(lchown(&dir, Some(uid), Some(gid))).map_err(err)?;
        let mode = if chown_ok { 0o755 } else { 0o777 };
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(err)?;
    }
    let file_owner = owner.filter(|_| chown_ok);
    write_file(
        &dir,
        CMD_FILE,
        task.command.cmd.as_bytes(),
        0o755,
        file_owner,
    )
    .map_err(err)?;
    write_file(&dir, WRAPPER_FILE, WRAPPER.as_bytes(), 0o755, file_owner).map_err(err)?;
    let uris = &task.requirements.uris;
    if !uris.is_empty() {
        let mut content = uris.join("\n");
        content.push('\n');
        write_file(&dir, URIS_FILE, content.as_bytes(), 0o644, file_owner).map_err(err)?;
    }
    Ok(dir)
}

/// `Ok(true)` when chown worked, `Ok(false)` when we may not chown (not root), else the error.
fn give(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replace `dir/name` by a new file: whatever was there (a symlink included) is removed first
/// and the new file is created exclusively, so nothing outside the directory is ever written.
fn write_file(
    dir: &Path,
    name: &str,
    content: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let path = dir.join(name);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    f.write_all(content)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    if let Some((uid, gid)) = owner {
        give(fchown(&f, Some(uid), Some(gid)))?;
    }
    Ok(())
}

/// Remove a job directory and everything in it (symlinks are removed, never followed). A missing
/// directory is not an error.
pub fn remove(dir: &Path) -> Result<(), ExecError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ExecError::JobDir {
                path: dir.display().to_string(),
                source,
            })
        }
    }
    // Drop the pairtree folders left empty, up to (not including) `pairtree_root`.
    let mut parent = dir.parent();
    while let Some(p) = parent {
        if p.file_name().is_none_or(|n| n == "pairtree_root") || fs::remove_dir(p).is_err() {
            break;
        }
        parent = p.parent();
    }
    Ok(())
}

/// Seconds the script ran, from `god.info` (line 1 start epoch, line 2 end epoch), when both
/// lines are there and parse.
pub fn duration(dir: &Path) -> Option<f64> {
    let text = fs::read_to_string(dir.join(INFO_FILE)).ok()?;
    let mut lines = text.lines().map(|l| l.trim().parse::<f64>());
    let start = lines.next()?.ok()?;
    let end = lines.next()?.ok()?;
    (start.is_finite() && end.is_finite()).then_some(end - start)
}

/// The signal the init helper recorded as sent from outside the container (the engine stopping
/// it), from `god.stop`. Only a root-owned regular file counts: the job's user can neither write
/// one nor lead the server through a symlink.
pub fn outside_signal(dir: &Path) -> Option<i32> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(dir.join(STOP_FILE))
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.file_type().is_file() || meta.uid() != 0 || meta.len() > 16 {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Bytes of the regular files under `dir` (symlinks are not followed; unreadable parts count 0).
pub fn size(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if meta.file_type().is_dir() {
                stack.push(entry.path());
            } else if meta.file_type().is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use god_core::JobId;
    use std::os::unix::fs::MetadataExt;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let d = std::env::temp_dir().join(format!(
                "god-exec-jobdir-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn task(id: u64) -> Task {
        let mut t = Task {
            id: JobId(id),
            ..Default::default()
        };
        t.user.id = "alice".into();
        t.user.uid = 2001;
        t.user.gid = 2002;
        t.command.cmd = "#!/bin/bash\necho \"$HOME\" $(id -u) `rm -rf /`\n".into();
        t
    }

    fn is_root() -> bool {
        fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }

    #[test]
    fn path_is_pairtree_and_array_children_live_in_the_parent() {
        let shared = Path::new("/shared");
        assert_eq!(
            path(shared, &task(12345)),
            PathBuf::from("/shared/tasks/pairtree_root/12/34/5/task")
        );
        let mut child = task(12346);
        child.parent_task_id = Some(JobId(12345));
        child.requirements.array.task_id = Some(7);
        assert_eq!(
            path(shared, &child),
            PathBuf::from("/shared/tasks/pairtree_root/12/34/5/task/7")
        );
    }

    #[test]
    fn prepare_writes_scripts_verbatim_and_is_idempotent() {
        let tmp = TempDir::new("prepare");
        let mut t = task(42);
        t.requirements.uris = vec!["http://a/x".into(), "ftp://b/y".into()];
        let dir = prepare(&tmp.0, &t).unwrap();
        assert_eq!(dir, tmp.0.join("tasks/pairtree_root/42/task"));
        assert_eq!(
            fs::read_to_string(dir.join(CMD_FILE)).unwrap(),
            t.command.cmd
        );
        let wrapper = fs::read_to_string(dir.join(WRAPPER_FILE)).unwrap();
        assert!(wrapper.starts_with("#!/bin/sh\n"));
        assert!(wrapper.contains("exec /.godocker/god-init \"$@\""));
        assert_eq!(
            fs::read_to_string(dir.join(URIS_FILE)).unwrap(),
            "http://a/x\nftp://b/y\n"
        );
        for f in [CMD_FILE, WRAPPER_FILE] {
            assert_eq!(
                fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        if is_root() {
            for f in ["", CMD_FILE, WRAPPER_FILE, URIS_FILE] {
                let m = fs::metadata(dir.join(f)).unwrap();
                assert_eq!((m.uid(), m.gid()), (2001, 2002), "{f}");
            }
        } else {
            let m = fs::metadata(&dir).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o777);
        }

        // The job ran: output files exist. A second prepare keeps them and rewrites the scripts.
        fs::write(dir.join(LOG_FILE), "output").unwrap();
        fs::write(dir.join(CMD_FILE), "tampered").unwrap();
        t.command.cmd = "echo second".into();
        let again = prepare(&tmp.0, &t).unwrap();
        assert_eq!(again, dir);
        assert_eq!(
            fs::read_to_string(dir.join(CMD_FILE)).unwrap(),
            "echo second"
        );
        assert_eq!(fs::read_to_string(dir.join(LOG_FILE)).unwrap(), "output");
    }

    #[test]
    fn prepare_never_writes_through_a_symlink() {
        let tmp = TempDir::new("symlink");
        let t = task(43);
        let dir = prepare(&tmp.0, &t).unwrap();
        let victim = tmp.0.join("victim");
        fs::write(&victim, "precious").unwrap();
        fs::remove_file(dir.join(CMD_FILE)).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(CMD_FILE)).unwrap();
        prepare(&tmp.0, &t).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(dir.join(CMD_FILE)).unwrap().is_file());

        // An array child's directory replaced by a symlink is refused.
        let mut child = task(44);
        child.parent_task_id = Some(JobId(43));
        child.requirements.array.task_id = Some(1);
        let elsewhere = tmp.0.join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join("1")).unwrap();
        assert!(matches!(
            prepare(&tmp.0, &child),
            Err(ExecError::JobDir { .. })
        ));
        assert!(!elsewhere.join(CMD_FILE).exists());
    }

    #[test]
    fn root_job_directory_is_not_given_away() {
        let tmp = TempDir::new("root");
        let mut t = task(45);
        t.container.root = true;
        let dir = prepare(&tmp.0, &t).unwrap();
        let m = fs::metadata(dir.join(CMD_FILE)).unwrap();
        assert_eq!(m.uid(), fs::metadata(&tmp.0).unwrap().uid());
    }

    #[test]
    fn duration_and_size_read_the_directory() {
        let tmp = TempDir::new("info");
        let d = &tmp.0;
        assert_eq!(duration(d), None);
        fs::write(d.join(INFO_FILE), "1000\n").unwrap();
        assert_eq!(duration(d), None, "a running job has no end yet");
        fs::write(d.join(INFO_FILE), "1000\n1012\n").unwrap();
        assert_eq!(duration(d), Some(12.0));
        fs::write(d.join(INFO_FILE), "1000\nnope\n").unwrap();
        assert_eq!(duration(d), None);

        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub/a"), vec![0u8; 100]).unwrap();
        fs::write(d.join("b"), vec![0u8; 20]).unwrap();
        let outside = TempDir::new("outside");
        fs::write(outside.0.join("big"), vec![0u8; 5000]).unwrap();
        std::os::unix::fs::symlink(&outside.0, d.join("link-dir")).unwrap();
        std::os::unix::fs::symlink(outside.0.join("big"), d.join("link-file")).unwrap();
        let info = fs::metadata(d.join(INFO_FILE)).unwrap().len();
        assert_eq!(size(d), 120 + info);
    }

    #[test]
    fn remove_deletes_the_tree_but_not_what_links_point_to() {
        let tmp = TempDir::new("remove");
        let t = task(46);
        let dir = prepare(&tmp.0, &t).unwrap();
        let outside = TempDir::new("kept");
        fs::write(outside.0.join("keep"), "x").unwrap();
        std::os::unix::fs::symlink(&outside.0, dir.join("link")).unwrap();
        remove(&dir).unwrap();
        assert!(!dir.exists());
        assert!(outside.0.join("keep").exists());
        remove(&dir).unwrap();
    }
}
