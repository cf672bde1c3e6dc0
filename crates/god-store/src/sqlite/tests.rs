use super::*;
use crate::{AccountStore, ChangeKind, ChangeLog, JobQuery, JobStore, WaitReason};
use god_core::schedule::ReasonKind;
use god_core::testing::TaskBuilder;
use god_core::transition::Event;
use god_core::{Primary, Secondary};

async fn store() -> (SqliteStore, std::path::PathBuf) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("god-store-test-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(&dir.join("god.db"), false).await.unwrap();
    (s, dir)
}

fn job(user: &str) -> Task {
    TaskBuilder::new().user(user, 2001).cpu(2).build()
}

fn dispatch() -> Event {
    Event::Dispatch {
        node: "n".into(),
        container_name: "c".into(),
        shared_dir: "/shared".into(),
    }
}

fn finished(code: i64) -> Event {
    Event::Finished {
        exit_code: code,
        reason: None,
        duration: None,
        at_limit: false,
    }
}

#[tokio::test]
async fn ids_increase_and_transitions_persist() {
    let (s, dir) = store().await;
    let ids = s.insert_jobs(&[job("a"), job("b")]).await.unwrap();
    assert!(ids[0] < ids[1]);
    let t = s.transition(ids[0], &dispatch(), 10.0).await.unwrap();
    assert_eq!(t.status.primary, Primary::Running);
    assert!(
        s.transition(ids[0], &dispatch(), 11.0).await.is_err(),
        "second dispatch refused"
    );
    assert_eq!(s.get_job(ids[0]).await.unwrap().unwrap(), t);
    let pending = s.pending(0).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, ids[1]);
    let q = JobQuery {
        user: Some("b".into()),
        ..Default::default()
    };
    assert_eq!(s.list_jobs(&q).await.unwrap().len(), 1);
    assert_eq!(s.count_pending(Some("b")).await.unwrap(), 1);
    assert_eq!(s.count_pending(Some("a")).await.unwrap(), 0);
    std::fs::remove_dir_all(dir).ok();
}

fn wait(id: JobId, kind: ReasonKind, text: &str) -> WaitReason {
    WaitReason {
        id,
        kind,
        text: text.into(),
    }
}

/// The scheduler's reasons are stored with their kind, pending jobs only; a transition's
/// reason is not the scheduler's, so any transition clears the kind.
#[tokio::test]
async fn reasons_are_stored_with_their_kind_until_a_transition() {
    let (s, dir) = store().await;
    let ids = s.insert_jobs(&[job("a"), job("b")]).await.unwrap();
    let kinds = |rows: Vec<crate::PendingRow>| -> Vec<(JobId, Option<String>, Option<ReasonKind>)> {
        rows.into_iter()
            .map(|p| (p.id, p.reason, p.reason_kind))
            .collect()
    };
    assert_eq!(
        kinds(s.pending(0).await.unwrap()),
        vec![(ids[0], None, None), (ids[1], None, None)]
    );
    s.transition(ids[0], &dispatch(), 10.0).await.unwrap();
    let quota = ReasonKind::Quota(
        god_core::schedule::Scope::User,
        god_core::schedule::Limit::Cpu,
    );
    s.set_reasons(&[
        wait(ids[0], ReasonKind::Behind, "not pending: left alone"),
        wait(ids[1], quota, "user cpu quota 8 reached: 8 in use"),
    ])
    .await
    .unwrap();
    assert_eq!(
        kinds(s.pending(0).await.unwrap()),
        vec![(
            ids[1],
            Some("user cpu quota 8 reached: 8 in use".into()),
            Some(quota)
        )]
    );
    let running = s.get_job(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        running.status.reason, None,
        "a running job's reason is not set"
    );
    // Back to the queue with the engine's reason: no kind (the scheduler's comes next pass).
    s.transition(
        ids[0],
        &Event::DispatchRejected {
            reason: "busy".into(),
        },
        11.0,
    )
    .await
    .unwrap();
    s.transition(ids[1], &dispatch(), 12.0).await.unwrap();
    s.transition(
        ids[1],
        &Event::DispatchRejected {
            reason: "full".into(),
        },
        13.0,
    )
    .await
    .unwrap();
    assert_eq!(
        kinds(s.pending(0).await.unwrap()),
        vec![
            (ids[0], Some("busy".into()), None),
            (ids[1], Some("full".into()), None)
        ]
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let (s, dir) = store().await;
    let ids = s.insert_jobs(&[job("a")]).await.unwrap();
    let secret = s.meta_get_or_init("k", "v1").await.unwrap();
    drop(s);
    let s = SqliteStore::open(&dir.join("god.db"), true).await.unwrap();
    assert!(s.get_job(ids[0]).await.unwrap().is_some());
    assert_eq!(s.meta_get_or_init("k", "v2").await.unwrap(), secret);
    let more = s.insert_jobs(&[job("a")]).await.unwrap();
    assert!(more[0] > ids[0]);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_finished_run_records_its_usage_in_the_same_transaction() {
    let (s, dir) = store().await;
    let ids = s.insert_jobs(&[job("a")]).await.unwrap();
    s.transition(ids[0], &dispatch(), 100.0).await.unwrap();
    s.transition(
        ids[0],
        &Event::DispatchRejected {
            reason: "full".into(),
        },
        101.0,
    )
    .await
    .unwrap();
    assert!(
        s.usage_since(0.0).await.unwrap().is_empty(),
        "a job that never started used nothing"
    );
    s.transition(ids[0], &dispatch(), 100.0).await.unwrap();
    s.transition(
        ids[0],
        &Event::Started {
            container_id: "c1".into(),
        },
        100.0,
    )
    .await
    .unwrap();
    s.transition(ids[0], &finished(0), 130.0).await.unwrap();
    let usage = s.usage_since(0.0).await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(
        (usage[0].cpu, usage[0].wall_seconds, usage[0].ended),
        (2.0, 30.0, 130.0)
    );
    assert_eq!(usage[0].user, "a");
    assert_eq!(usage[0].outcome, god_core::ending::RunOutcome::Ok);
    std::fs::remove_dir_all(dir).ok();
}

/// Each run's record says how it ended; a user's or a project's records are read alone.
#[tokio::test]
async fn usage_records_keep_each_runs_outcome() {
    use crate::UsageOwner;
    use god_core::ending::RunOutcome;
    let (s, dir) = store().await;
    let mut lab = job("b");
    lab.user.project = "lab".into();
    let ids = s
        .insert_jobs(&[job("a"), job("a"), job("a"), lab, job("a")])
        .await
        .unwrap();
    for id in &ids {
        s.transition(*id, &dispatch(), 100.0).await.unwrap();
        let started = Event::Started {
            container_id: format!("c{id}"),
        };
        s.transition(*id, &started, 100.0).await.unwrap();
    }
    let limit = Event::LimitReached {
        reason: "Max duration reached (5 s)".into(),
    };
    let lost = Event::NodeFailed {
        reason: "gone".into(),
        node: "n".into(),
        exit_code: 137,
        retries_allowed: 1,
    };
    let ends: Vec<(JobId, Vec<Event>, RunOutcome)> = vec![
        (ids[0], vec![finished(3)], RunOutcome::Failed),
        (
            ids[1],
            vec![Event::KillRequested, Event::Killed],
            RunOutcome::Killed,
        ),
        (ids[2], vec![limit, Event::Killed], RunOutcome::LimitReached),
        (ids[3], vec![finished(0)], RunOutcome::Ok),
        (ids[4], vec![lost], RunOutcome::NodeFailure),
    ];
    for (id, events, _) in &ends {
        for e in events {
            s.transition(*id, e, 110.0).await.unwrap();
        }
    }
    let mut got: Vec<(JobId, RunOutcome)> = s
        .usage_since(0.0)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.job, u.outcome))
        .collect();
    got.sort_by_key(|(id, _)| *id);
    let want: Vec<(JobId, RunOutcome)> = ends.iter().map(|(id, _, o)| (*id, *o)).collect();
    assert_eq!(got, want);
    let of = |o: UsageOwner| {
        let s = &s;
        async move { s.usage_of(&o, 0.0).await.unwrap().len() }
    };
    assert_eq!(of(UsageOwner::User("a".into())).await, 4);
    assert_eq!(of(UsageOwner::Project("lab".into())).await, 1);
    assert_eq!(of(UsageOwner::Project("none".into())).await, 0);
    assert!(s
        .usage_of(&UsageOwner::User("a".into()), 111.0)
        .await
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn transition_many_commits_together_and_refuses_alone() {
    let (s, dir) = store().await;
    let ids = s.insert_jobs(&[job("a"), job("a")]).await.unwrap();
    s.transition(ids[1], &Event::KillRequested, 1.0)
        .await
        .unwrap();
    let res = s
        .transition_many(&[(ids[0], dispatch()), (ids[1], dispatch())], 2.0)
        .await
        .unwrap();
    assert!(res[0].is_ok());
    assert!(res[1].is_err(), "a killed job is not dispatched");
    assert_eq!(
        s.get_job(ids[0]).await.unwrap().unwrap().status.primary,
        Primary::Running
    );
    std::fs::remove_dir_all(dir).ok();
}

fn array(spec: &str, n: u64) -> Task {
    let mut t = job("a");
    t.requirements.array.values = Some(spec.into());
    t.requirements.array.nb_tasks = n;
    t
}

#[tokio::test]
async fn array_children_are_created_on_demand_and_close_the_parent() {
    let (s, dir) = store().await;
    let parent = s.insert_jobs(&[array("1:9:3", 3)]).await.unwrap()[0];
    assert!(
        s.pending(0).await.unwrap().is_empty(),
        "the parent never runs itself"
    );
    assert_eq!(
        s.count_pending(Some("a")).await.unwrap(),
        3,
        "children not created yet count"
    );
    let fill = s.arrays_to_fill().await.unwrap();
    assert_eq!((fill[0].created, fill[0].total), (0, 3));
    let kids = s.create_children(parent, 2, 5.0).await.unwrap();
    assert_eq!(kids.len(), 2);
    let p = s.get_job(parent).await.unwrap().unwrap();
    assert_eq!(p.status.primary, Primary::Running);
    assert_eq!(p.requirements.array.tasks, kids);
    let k0 = s.get_job(kids[0]).await.unwrap().unwrap();
    assert_eq!(k0.requirements.array.task_id, Some(1));
    assert_eq!(k0.parent_task_id, Some(parent));
    let k1 = s.get_job(kids[1]).await.unwrap().unwrap();
    assert_eq!(k1.requirements.array.task_id, Some(4));
    let last = s.create_children(parent, 10, 6.0).await.unwrap();
    assert_eq!(last.len(), 1, "never past the end");
    assert_eq!(
        s.get_job(last[0])
            .await
            .unwrap()
            .unwrap()
            .requirements
            .array
            .task_id,
        Some(7)
    );
    for k in kids.iter().chain(&last) {
        s.transition(*k, &dispatch(), 7.0).await.unwrap();
        let p = s.get_job(parent).await.unwrap().unwrap();
        assert_eq!(p.status.primary, Primary::Running, "parent over too early");
        s.transition(*k, &finished(0), 8.0).await.unwrap();
    }
    let p = s.get_job(parent).await.unwrap().unwrap();
    assert_eq!(p.status.primary, Primary::Over);
    assert_eq!(p.status.exitcode, Some(0));
    assert_eq!(p.requirements.array.nb_tasks_over, 3);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn killing_an_array_kills_every_child() {
    let (s, dir) = store().await;
    let parent = s.insert_jobs(&[array("100000", 100_000)]).await.unwrap()[0];
    let kids = s.create_children(parent, 3, 1.0).await.unwrap();
    s.transition(kids[0], &dispatch(), 2.0).await.unwrap();
    let p = s.kill_array(parent, 3.0).await.unwrap();
    assert_eq!(p.status.primary, Primary::Running, "a child still runs");
    assert_eq!(p.status.secondary, Some(Secondary::KillRequested));
    let k0 = s.get_job(kids[0]).await.unwrap().unwrap();
    assert_eq!(k0.status.secondary, Some(Secondary::KillRequested));
    for k in &kids[1..] {
        assert_eq!(
            s.get_job(*k).await.unwrap().unwrap().status.primary,
            Primary::Over
        );
    }
    assert!(
        s.arrays_to_fill().await.unwrap().is_empty(),
        "no more children are created"
    );
    s.transition(kids[0], &Event::Killed, 4.0).await.unwrap();
    let p = s.get_job(parent).await.unwrap().unwrap();
    assert_eq!(p.status.primary, Primary::Over);
    assert_eq!(p.status.secondary, Some(Secondary::Killed));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn users_round_trip_and_guests_are_found_by_subject() {
    let (s, _dir) = store().await;
    let guest = crate::UserRecord {
        login: "guest-ann".into(),
        uid: 65534,
        gid: 65534,
        sgids: vec![4, 27],
        home: Some("/srv/g/guest-ann".into()),
        email: Some("ann@example.org".into()),
        apikey_hash: "h".into(),
        key_version: 1,
        created: 5.0,
        limits: crate::Limits {
            prio: 70,
            quota_cpu: 2.0,
            quota_ram: 3.0,
            quota_time: 4.0,
        },
        guest: Some(crate::Guest {
            subject: "http://idp ann".into(),
            active: false,
        }),
        ..Default::default()
    };
    s.add_user(&guest).await.unwrap();
    assert_eq!(s.get_user("guest-ann").await.unwrap().unwrap(), guest);
    assert_eq!(s.get_guest("http://idp ann").await.unwrap().unwrap(), guest);
    assert!(s.get_guest("http://idp bob").await.unwrap().is_none());
    // The same login, or the same subject under another login, is refused.
    assert!(matches!(
        s.add_user(&guest).await,
        Err(StoreError::UserExists(_))
    ));
    let twin = crate::UserRecord {
        login: "guest-ann-2".into(),
        ..guest.clone()
    };
    assert!(s.add_user(&twin).await.is_err());
    // Activation is written like every other field.
    let mut active = guest.clone();
    active.guest = Some(crate::Guest {
        subject: "http://idp ann".into(),
        active: true,
    });
    active.disabled = true;
    s.update_user(&active).await.unwrap();
    let back = s.get_user("guest-ann").await.unwrap().unwrap();
    assert_eq!(back, active);
    assert!(!back.inactive_guest());
}

/// Every change a client may follow is in the change log, in commit order, written with the
/// change itself; followers in this process are told the newest id.
#[tokio::test]
async fn the_change_log_records_every_change_in_order() {
    let (s, dir) = store().await;
    let mut follower = s.watch_changes();
    assert_eq!(s.last_change().await.unwrap(), 0);
    let ids = s.insert_jobs(&[job("a"), job("b")]).await.unwrap();
    assert!(follower.has_changed().unwrap(), "told of the new jobs");
    s.transition(ids[0], &dispatch(), 10.0).await.unwrap();
    s.set_reasons(&[wait(ids[1], ReasonKind::Resources, "waiting")])
        .await
        .unwrap();
    s.transition(ids[0], &finished(3), 11.0).await.unwrap();
    s.delete_job(ids[0]).await.unwrap();
    let user = crate::UserRecord {
        login: "carol".into(),
        apikey_hash: "h".into(),
        ..Default::default()
    };
    s.add_user(&user).await.unwrap();
    s.set_apikey("carol", "h2").await.unwrap();
    let log = s.changes_since(0, 100).await.unwrap();
    let seen: Vec<(ChangeKind, Option<u64>, serde_json::Value)> = log
        .iter()
        .map(|c| {
            let what = match c.kind {
                ChangeKind::Job => {
                    serde_json::json!([c.body["primary"], c.body["reason"], c.body["exitcode"]])
                }
                ChangeKind::Account => serde_json::json!([c.body["login"], c.body["key_version"]]),
                _ => serde_json::Value::Null,
            };
            (c.kind, c.job.map(|j| j.0), what)
        })
        .collect();
    let (a, b) = (Some(ids[0].0), Some(ids[1].0));
    use serde_json::json;
    assert_eq!(
        seen,
        vec![
            (ChangeKind::Job, a, json!(["pending", null, null])),
            (ChangeKind::Job, b, json!(["pending", null, null])),
            (ChangeKind::Job, a, json!(["running", null, null])),
            (ChangeKind::Job, b, json!(["pending", "waiting", null])),
            (ChangeKind::Job, a, json!(["over", null, 3])),
            (ChangeKind::JobRemoved, a, serde_json::Value::Null),
            (ChangeKind::Account, None, json!(["carol", 1])),
            (ChangeKind::Account, None, json!(["carol", 2])),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id), "increasing ids");
    assert_eq!(log[0].user.as_deref(), Some("a"));
    assert_eq!(log[0].project.as_deref(), Some("default"));
    let last = log.last().unwrap().id;
    assert_eq!(*follower.borrow_and_update(), last);
    assert_eq!(s.last_change().await.unwrap(), last);
    assert_eq!(
        s.changes_since(log[5].id, 100).await.unwrap().len(),
        2,
        "resume after an id"
    );
    assert_eq!(s.trim_changes(3).await.unwrap(), 5);
    assert_eq!(s.changes_since(0, 100).await.unwrap()[0].id, log[5].id);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn node_views_are_replaced_as_a_whole_and_say_when() {
    use crate::NodeStore;
    use god_core::node::NodeView;
    let (s, dir) = store().await;
    assert_eq!(s.node_views().await.unwrap().published, None);
    let node = |name: &str, gpus| NodeView {
        name: name.into(),
        executor: "docker".into(),
        cpus: 8.0,
        ram: 16.0,
        gpus,
        labels: vec!["storage==ssd".into()],
        state: god_core::node::NodeState::Ready,
        reserved_for: vec![],
    };
    s.publish_nodes(&[node("a", 0), node("b", 2)], 10.0)
        .await
        .unwrap();
    s.publish_nodes(&[node("b", 4)], 20.0).await.unwrap();
    let views = s.node_views().await.unwrap();
    assert_eq!(views.published, Some(20.0));
    assert_eq!(views.nodes, vec![node("b", 4)]);
    assert_eq!(views.max_gpus(), Some(4));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn web_sessions_are_kept_touched_and_ended() {
    use crate::{SessionStore, WebSession};
    let (s, _dir) = store().await;
    let session = |id: &str, login: &str, at: f64| WebSession {
        id_hash: id.into(),
        login: login.into(),
        csrf: format!("csrf-{id}"),
        created: at,
        last_seen: at,
        expires: at + 100.0,
    };
    s.create_session(&session("a", "alice", 1000.0))
        .await
        .unwrap();
    s.create_session(&session("b", "alice", 1001.0))
        .await
        .unwrap();
    s.create_session(&session("c", "bob", 1002.0))
        .await
        .unwrap();
    assert_eq!(
        s.get_session("a").await.unwrap(),
        Some(session("a", "alice", 1000.0))
    );
    s.touch_session("a", 1050.0, 1150.0).await.unwrap();
    let a = s.get_session("a").await.unwrap().unwrap();
    assert_eq!((a.last_seen, a.expires), (1050.0, 1150.0));
    let before = s.last_change().await.unwrap();
    s.delete_session("b").await.unwrap();
    assert_eq!(s.get_session("b").await.unwrap(), None);
    let told = s.changes_since(before, 10).await.unwrap();
    assert_eq!(
        told.iter()
            .map(|c| (c.kind, c.user.as_deref()))
            .collect::<Vec<_>>(),
        [(ChangeKind::Account, Some("alice"))],
        "a logout is a change of the account"
    );
    // A new session sweeps those that had ended by its creation.
    s.create_session(&session("d", "dan", 1140.0))
        .await
        .unwrap();
    assert_eq!(s.get_session("c").await.unwrap(), None, "expired at 1102");
    assert!(
        s.get_session("a").await.unwrap().is_some(),
        "touched until 1150"
    );
    assert_eq!(s.delete_sessions_of("alice").await.unwrap(), 1);
    assert_eq!(s.get_session("a").await.unwrap(), None);
}
