//! The in-container init helper (`helper/god-init.c`, built static by `build.rs`).
//!
//! Every job container bind-mounts it read-only at [`god_core::launch::INIT_PATH`] and runs it as
//! its entrypoint, as root: it adds the user to `/etc/passwd` and `/etc/group` (no tool from the
//! image needed), writes the start and end epochs to `god.info`, drops to the user's uid, gid and
//! groups, sends the script's output to `god.log` / `god.err`, forwards signals, reaps orphans and
//! exits with the script's exit code (128 + signal when it was killed).

use crate::ExecError;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The helper binary (static, x86-64 Linux or whatever target `cc` builds for).
pub const GOD_INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/god-init"));

/// File name of the installed helper.
pub const FILE_NAME: &str = "god-init";

/// Install the helper as `<dir>/god-init` (mode 0755), creating `dir` if needed, and return its
/// path. The file is replaced only when its content or mode differs, through a temporary file
/// renamed over it: a container that has it mounted keeps the old inode and never sees a
/// half-written file.
pub fn install(dir: &Path) -> Result<PathBuf, ExecError> {
    let path = dir.join(FILE_NAME);
    let err = |source: std::io::Error| ExecError::InitHelper {
        path: path.display().to_string(),
        source,
    };
    if is_current(&path) {
        return Ok(path);
    }
    fs::create_dir_all(dir).map_err(err)?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{FILE_NAME}.tmp.{}.{seq}", std::process::id()));
    let _ = fs::remove_file(&tmp); // a leftover of a crashed process with the same pid
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(GOD_INIT)?;
        f.set_permissions(fs::Permissions::from_mode(0o755))?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(path)
}

/// The file at `path` is a regular file with the helper's content and mode 0755.
fn is_current(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.file_type().is_file()
        || meta.permissions().mode() & 0o7777 != 0o755
        || meta.len() != GOD_INIT.len() as u64
    {
        return false;
    }
    fs::read(path).is_ok_and(|content| content == GOD_INIT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "god-exec-helper-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn helper_is_a_static_elf() {
        assert_eq!(&GOD_INIT[..4], b"\x7fELF");
        // A static binary has no PT_INTERP, hence no interpreter path in it.
        let needle = b"/lib64/ld-linux";
        assert!(!GOD_INIT.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn install_writes_once_and_repairs() {
        let dir = temp_dir("install");
        let target = dir.join("sub");
        let p = install(&target).unwrap();
        assert_eq!(p, target.join("god-init"));
        assert_eq!(fs::read(&p).unwrap(), GOD_INIT);
        let meta = fs::metadata(&p).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
        let ino = std::os::unix::fs::MetadataExt::ino(&meta);

        // Same content: left alone (same inode).
        install(&target).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap()),
            ino
        );

        // Different content or mode: replaced by a new file.
        fs::write(&p, b"old").unwrap();
        install(&target).unwrap();
        assert_eq!(fs::read(&p).unwrap(), GOD_INIT);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
        install(&target).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o755
        );

        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(&target)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("god-init")]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// `god-init --exec`: the command runs with no_new_privs and without the `GOD_INIT_*`
    /// variables, 127 when it is not found; never as root (as root, the test also runs it as
    /// uid 2001).
    #[test]
    fn exec_mode_runs_a_command_with_no_new_privs_and_never_as_root() {
        use std::os::unix::process::CommandExt;
        use std::process::Command;
        let dir = temp_dir("exec");
        let p = install(&dir).unwrap();
        let root = rustix::process::getuid().is_root();
        let run = |args: &[&str]| {
            let mut c = Command::new(&p);
            // (Root's PATH may hold directories uid 2001 cannot search: EACCES, not ENOENT.)
            c.arg("--exec")
                .args(args)
                .env("GOD_INIT_DIR", "/x")
                .env("PATH", "/usr/bin:/bin");
            if root {
                c.uid(2001).gid(2001);
            }
            c.output().unwrap()
        };
        let out = run(&[
            "sh",
            "-c",
            "grep NoNewPrivs /proc/self/status; echo \"${GOD_INIT_DIR-unset}\"; exit 3",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "NoNewPrivs:\t1\nunset\n"
        );
        assert_eq!(out.status.code(), Some(3));
        let out = run(&["no-such-command-here"]);
        assert_eq!(out.status.code(), Some(127), "{out:?}");
        if root {
            let out = Command::new(&p).args(["--exec", "true"]).output().unwrap();
            assert_eq!(out.status.code(), Some(126), "{out:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("never"));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
