//! How much disk guests' homes hold (the original's `usage.guest_home`, bytes), shown to
//! administrators. Measured by a bounded walk (at most [`WALK_ENTRIES`] entries and
//! [`WALK_TIME`]; symbolic links are not followed; a walk cut short gives what it counted, a
//! lower bound), on the blocking threads, and kept for [`KEEP`]: the user list measures each
//! home at most once a minute.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries one walk looks at, at most.
pub const WALK_ENTRIES: u64 = 200_000;
/// How long one walk may take.
pub const WALK_TIME: Duration = Duration::from_secs(2);
/// How long a measure is kept.
pub const KEEP: Duration = Duration::from_secs(60);

/// What a walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walked {
    /// Bytes of the regular files seen (their apparent size).
    pub bytes: u64,
    pub entries: u64,
    /// Every entry was seen (not cut short by the bounds).
    pub complete: bool,
}

/// Walk `root` (not following symbolic links), summing the sizes of regular files, until
/// `max_entries` entries were seen or `deadline` passed. Unreadable entries are skipped.
pub fn walk(root: &Path, max_entries: u64, deadline: Instant) -> Walked {
    let mut w = Walked {
        bytes: 0,
        entries: 0,
        complete: true,
    };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if w.entries >= max_entries || Instant::now() >= deadline {
                w.complete = false;
                return w;
            }
            w.entries += 1;
            // `DirEntry::metadata` does not follow symbolic links.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                w.bytes = w.bytes.saturating_add(meta.len());
            }
        }
    }
    w
}

/// Measures of homes, each kept for [`KEEP`].
#[derive(Default)]
pub struct HomeUsage {
    measured: Mutex<HashMap<PathBuf, (Instant, u64)>>,
}

impl HomeUsage {
    /// The bytes `home` holds, measured now or less than [`KEEP`] ago; `None` when it is not
    /// a directory.
    pub async fn bytes(&self, home: &Path) -> Option<u64> {
        if let Ok(map) = self.measured.lock() {
            if let Some((at, bytes)) = map.get(home) {
                if at.elapsed() < KEEP {
                    return Some(*bytes);
                }
            }
        }
        let root = home.to_path_buf();
        let walked = tokio::task::spawn_blocking(move || {
            root.is_dir()
                .then(|| walk(&root, WALK_ENTRIES, Instant::now() + WALK_TIME))
        })
        .await
        .ok()??;
        if !walked.complete {
            tracing::warn!(
                "the home {} holds more than the walk looks at ({} entries in {:?}): {} bytes \
                 counted, a lower bound",
                home.display(),
                walked.entries,
                WALK_TIME,
                walked.bytes
            );
        }
        if let Ok(mut map) = self.measured.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(home.to_path_buf(), (Instant::now(), walked.bytes));
        }
        Some(walked.bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_walk_sums_files_without_following_links_within_its_bounds() {
        let root = std::env::temp_dir().join(format!("god-homes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("one"), vec![0u8; 1000]).unwrap();
        std::fs::write(root.join("a/b/two"), vec![0u8; 2345]).unwrap();
        let outside = root.with_extension("outside");
        std::fs::write(&outside, vec![0u8; 99_999]).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("a/link")).unwrap();
        std::os::unix::fs::symlink("/", root.join("a/b/up")).unwrap();
        let far = Instant::now() + Duration::from_secs(60);
        let w = walk(&root, 100, far);
        assert_eq!((w.bytes, w.complete), (3345, true), "{w:?}");
        assert_eq!(w.entries, 6);
        let cut = walk(&root, 2, far);
        assert!(
            !cut.complete && cut.entries == 2 && cut.bytes <= 3345,
            "{cut:?}"
        );
        let late = walk(&root, 100, Instant::now());
        assert!(!late.complete, "{late:?}");
        // Measured once, then kept.
        let homes = HomeUsage::default();
        assert_eq!(homes.bytes(&root).await, Some(3345));
        std::fs::write(root.join("three"), vec![0u8; 10]).unwrap();
        assert_eq!(homes.bytes(&root).await, Some(3345), "kept for a minute");
        assert_eq!(HomeUsage::default().bytes(&root).await, Some(3355));
        assert_eq!(homes.bytes(&root.join("missing")).await, None);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_file(outside).unwrap();
    }
}
