use crate::sqlite::SqliteStore;
use crate::{AdminStore, AuditEntry, AuditFilter, ChangeKind, ChangeLog, StoreError};
use god_core::audit::AuditAction;

async fn store() -> (SqliteStore, std::path::PathBuf) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("god-admin-test-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(&dir.join("god.db"), false).await.unwrap();
    (s, dir)
}

/// Maintenance mode survives a reopen of the database, says who set it when, and each switch
/// is in the change log and the audit log, written with it.
#[tokio::test]
async fn maintenance_is_stored_logged_and_audited() {
    let (s, dir) = store().await;
    let off = s.maintenance().await.unwrap();
    assert!(!off.on);
    assert_eq!((off.by, off.at), (None, None));
    let m = s
        .set_maintenance(true, Some("  new disks  "), "root", 100.0)
        .await
        .unwrap();
    assert!(m.on);
    assert_eq!(m.message.as_deref(), Some("new disks"));
    assert_eq!((m.by.as_deref(), m.at), (Some("root"), Some(100.0)));
    drop(s);
    let s = SqliteStore::open(&dir.join("god.db"), false).await.unwrap();
    assert_eq!(s.maintenance().await.unwrap(), m, "survives a restart");
    let off = s
        .set_maintenance(false, Some(" "), "ada", 200.0)
        .await
        .unwrap();
    assert!(!off.on);
    assert_eq!(off.message, None, "a blank message is none");
    let log = s.changes_since(0, 10).await.unwrap();
    let switches: Vec<(ChangeKind, serde_json::Value)> =
        log.iter().map(|c| (c.kind, c.body["on"].clone())).collect();
    assert_eq!(
        switches,
        vec![
            (ChangeKind::Maintenance, serde_json::json!(true)),
            (ChangeKind::Maintenance, serde_json::json!(false)),
        ]
    );
    assert_eq!(log[0].body["message"], "new disks");
    let audit = s
        .audit_log(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<(AuditAction, &str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r.entry.action,
                r.entry.actor.as_str(),
                r.entry.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (AuditAction::MaintenanceOff, "ada", ""),
            (AuditAction::MaintenanceOn, "root", "new disks"),
        ]
    );
    std::fs::remove_dir_all(dir).ok();
}

/// The audit log filtered by actor, target and action, newest first, paged by id.
#[tokio::test]
async fn the_audit_log_is_filtered_and_paged_newest_first() {
    let (s, dir) = store().await;
    let entry = |at: f64, actor: &str, action, target: &str| AuditEntry {
        at,
        actor: actor.into(),
        action,
        target: target.into(),
        detail: format!("at {at}"),
    };
    let mut all = Vec::new();
    for i in 0..30 {
        let (actor, action, target) = match i % 3 {
            0 => ("root", AuditAction::JobKilled, "alice"),
            1 => ("ada", AuditAction::QuotaChanged, "bob"),
            _ => ("root", AuditAction::ProjectUpdated, "lab"),
        };
        all.push(entry(f64::from(i), actor, action, target));
    }
    // One call, several entries: in their order.
    s.append_audit(&all[..10]).await.unwrap();
    for e in &all[10..] {
        s.append_audit(std::slice::from_ref(e)).await.unwrap();
    }
    s.append_audit(&[]).await.unwrap();
    struct Case {
        name: &'static str,
        filter: AuditFilter,
        /// The `at` of what comes back.
        want: Vec<u32>,
    }
    let f = |actor: Option<&str>, target: Option<&str>, action, before, limit| AuditFilter {
        actor: actor.map(String::from),
        target: target.map(String::from),
        action,
        before,
        limit,
    };
    let cases = [
        Case {
            name: "newest first",
            filter: f(None, None, None, None, 4),
            want: vec![29, 28, 27, 26],
        },
        Case {
            name: "before an id: the next page",
            filter: f(None, None, None, Some(27), 3),
            want: vec![25, 24, 23],
        },
        Case {
            name: "by actor",
            filter: f(Some("ada"), None, None, None, 3),
            want: vec![28, 25, 22],
        },
        Case {
            name: "by target",
            filter: f(None, Some("lab"), None, Some(20), 2),
            want: vec![17, 14],
        },
        Case {
            name: "by action and actor",
            filter: f(Some("root"), None, Some(AuditAction::JobKilled), None, 2),
            want: vec![27, 24],
        },
        Case {
            name: "nothing matches",
            filter: f(Some("nobody"), None, None, None, 10),
            want: vec![],
        },
        Case {
            name: "limit 0 is one",
            filter: f(None, None, None, None, 0),
            want: vec![29],
        },
        Case {
            name: "the oldest page ends",
            filter: f(None, None, None, Some(3), 10),
            want: vec![1, 0],
        },
    ];
    for c in cases {
        let got: Vec<u32> = s
            .audit_log(&c.filter)
            .await
            .unwrap()
            .iter()
            .map(|r| r.entry.at as u32)
            .collect();
        assert_eq!(got, c.want, "{}", c.name);
    }
    let first = s.audit_log(&f(None, None, None, None, 1)).await.unwrap();
    assert_eq!(first[0].id, 30, "ids count from 1");
    assert_eq!(first[0].entry, all[29]);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_unknown_action_is_an_error_not_a_guess() {
    let (s, dir) = store().await;
    sqlx::query("INSERT INTO audit (at, actor, action) VALUES (1, 'x', 'from_the_future')")
        .execute(&s.write)
        .await
        .unwrap();
    let got = s
        .audit_log(&AuditFilter {
            limit: 5,
            ..Default::default()
        })
        .await;
    assert!(
        matches!(got, Err(StoreError::UnknownCode { ref code, .. }) if code == "from_the_future"),
        "{got:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}
