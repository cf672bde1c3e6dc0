//! The in-process change feed: one reader of the store's change log, broadcast to every follower
//! in this process (the `GET /api/1.0/events` streams; the web UI's live updates next).
//!
//! Followers first read what they missed from the store (resuming after the last id they saw),
//! then take the broadcast; one that falls behind reads from the store again. Changes committed
//! by this process arrive at once (the store tells); those of other processes on the same
//! database within [`POLL`].

use god_store::{Change, ChangeKind, Store};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the log is read when nothing in this process said it changed.
pub const POLL: Duration = Duration::from_secs(1);

/// Changes kept in the log (older ones are trimmed by the archiver).
pub const KEEP: u64 = 100_000;

/// Changes read from the log at once.
pub const PAGE: u64 = 1000;

pub struct ChangeFeed {
    tx: broadcast::Sender<Arc<Change>>,
}

impl ChangeFeed {
    /// Start the reader (it runs as long as the runtime).
    pub fn start(store: Arc<dyn Store>) -> Arc<ChangeFeed> {
        let (tx, _) = broadcast::channel(4096);
        tokio::spawn(read(store, tx.clone()));
        Arc::new(ChangeFeed { tx })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}

async fn read(store: Arc<dyn Store>, tx: broadcast::Sender<Arc<Change>>) {
    let mut committed = store.watch_changes();
    let mut last = store.last_change().await.unwrap_or(0);
    loop {
        tokio::select! {
            _ = committed.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if tx.receiver_count() == 0 {
            // Nobody follows: followers read their backlog from the store anyway.
            last = store.last_change().await.unwrap_or(last);
            continue;
        }
        loop {
            let page = match store.changes_since(last, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("change feed: {e}");
                    break;
                }
            };
            let full = page.len() as u64 == PAGE;
            for change in page {
                last = change.id;
                let _ = tx.send(Arc::new(change));
            }
            if !full {
                break;
            }
        }
    }
}

/// What one caller may see of the change log: their own jobs and account, their projects'
/// jobs when the configuration shares project tasks, their projects, maintenance mode;
/// everything for admins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Visibility {
    pub login: String,
    pub admin: bool,
    /// Projects the caller is a member of.
    pub member_of: HashSet<String>,
    /// Of those, the ones whose members see each other's jobs (`share_project_tasks`).
    pub shared: HashSet<String>,
}

impl Visibility {
    pub fn sees(&self, c: &Change) -> bool {
        if self.admin {
            return true;
        }
        let own = c.user.as_deref() == Some(self.login.as_str());
        let project = c.project.as_deref().unwrap_or_default();
        match c.kind {
            ChangeKind::Job | ChangeKind::JobRemoved => own || self.shared.contains(project),
            ChangeKind::Account => own,
            ChangeKind::Project => self.member_of.contains(project),
            // Everybody's banner.
            ChangeKind::Maintenance => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use god_core::JobId;

    fn change(kind: ChangeKind, user: Option<&str>, project: Option<&str>) -> Change {
        Change {
            id: 1,
            at: 0.0,
            kind,
            job: Some(JobId(1)),
            user: user.map(String::from),
            project: project.map(String::from),
            body: serde_json::Value::Null,
        }
    }

    #[test]
    fn who_sees_which_change() {
        let alice = Visibility {
            login: "alice".into(),
            admin: false,
            member_of: ["lab".to_string(), "closed".to_string()].into(),
            shared: ["lab".to_string()].into(),
        };
        let admin = Visibility {
            login: "root".into(),
            admin: true,
            ..Default::default()
        };
        use ChangeKind::*;
        let cases = [
            (change(Job, Some("alice"), Some("default")), true),
            (change(Job, Some("bob"), Some("default")), false),
            (change(Job, Some("bob"), Some("lab")), true),
            (change(Job, Some("bob"), Some("closed")), false),
            (change(JobRemoved, Some("bob"), Some("lab")), true),
            (change(JobRemoved, Some("bob"), Some("other")), false),
            (change(Account, Some("alice"), None), true),
            (change(Account, Some("bob"), None), false),
            (change(Project, None, Some("closed")), true),
            (change(Project, None, Some("other")), false),
            (change(Maintenance, None, None), true),
        ];
        for (c, sees) in cases {
            assert_eq!(alice.sees(&c), sees, "{c:?}");
            assert!(admin.sees(&c), "admins see everything: {c:?}");
        }
    }
}
