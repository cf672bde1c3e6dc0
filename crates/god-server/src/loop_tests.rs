//! The scheduler, watcher, recovery and archiver passes stepped by hand on a temporary store, the
//! fake executor and a hand-driven clock (`testing::TestEnv`): no container engine, no sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::testing::TestEnv;
use god_core::node::NodeState;
use god_core::testing::TaskBuilder;
use god_core::transition::Event;
use god_core::{Primary, Secondary};
use god_exec::Executor;
use std::os::unix::fs::PermissionsExt;

fn job() -> TaskBuilder {
    TaskBuilder::new()
}

#[tokio::test]
async fn scheduler_dispatches_a_pending_job_onto_the_engine() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    assert_eq!(env.schedule().await, 1);
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Running);
    assert_eq!(t.status.attempts, 1);
    assert_eq!(t.node_name(), Some("fake-laptop"));
    let container = t.container.id.clone().unwrap();
    assert_eq!(
        Some(&container),
        t.container.name.as_ref(),
        "the fake's id is its name"
    );
    let dir = t
        .container
        .volumes
        .iter()
        .find(|v| v.name == "go-docker")
        .unwrap();
    assert!(
        dir.path
            .as_deref()
            .unwrap()
            .starts_with(&*env.shared_dir().to_string_lossy()),
        "{dir:?}"
    );
    assert_eq!(env.schedule().await, 0, "nothing twice");
}

#[tokio::test]
async fn scheduler_keeps_back_what_does_not_fit_and_says_why() {
    let mut env = TestEnv::new("fake: {fail_on: 0, cpus: 2, run_seconds: 1e9}\n").await;
    let a = env.submit(job().cpu(1)).await;
    let b = env.submit(job().cpu(1)).await;
    let c = env.submit(job().cpu(1)).await;
    let too_big = env.submit(job().cpu(3)).await;
    assert_eq!(env.schedule().await, 2);
    for id in [a, b] {
        assert_eq!(env.job(id).await.status.primary, Primary::Running);
    }
    let waiting = env.job(c).await;
    assert_eq!(waiting.status.primary, Primary::Pending);
    assert!(
        waiting.status.reason.is_some(),
        "a reason: {:?}",
        waiting.status
    );
    let never = env.job(too_big).await.status.reason.unwrap();
    assert!(never.contains("no node has 3 cpus"), "{never}");
}

#[tokio::test]
async fn scheduler_waits_with_a_reason_while_the_executor_does_not_answer() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.fake.set_available(false);
    assert_eq!(env.schedule().await, 0);
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Pending);
    let reason = t.status.reason.unwrap();
    assert!(reason.starts_with("waiting for the executor"), "{reason}");
    env.fake.set_available(true);
    assert_eq!(env.schedule().await, 1);
}

/// Maintenance mode (read from the store at each pass) holds every pending job with its reason,
/// whether or not the executor answers; a running job goes on; off again, they start.
#[tokio::test]
async fn scheduler_starts_nothing_in_maintenance_mode_and_says_why() {
    let mut env = TestEnv::new("fake: {fail_on: 0, cpus: 4, run_seconds: 1e9}\n").await;
    let running = env.submit(job()).await;
    assert_eq!(env.schedule().await, 1);
    env.state
        .store
        .set_maintenance(true, Some("new disks"), "root", env.now())
        .await
        .unwrap();
    let held = env.submit(job()).await;
    let want = "maintenance mode (new disks): no job starts until an administrator ends it";
    for available in [true, false] {
        env.fake.set_available(available);
        assert_eq!(env.schedule().await, 0, "executor answering: {available}");
        let t = env.job(held).await;
        assert_eq!(t.status.primary, Primary::Pending);
        assert_eq!(t.status.reason.as_deref(), Some(want));
    }
    env.fake.set_available(true);
    assert_eq!(env.job(running).await.status.primary, Primary::Running);
    env.state
        .store
        .set_maintenance(false, None, "root", env.now())
        .await
        .unwrap();
    assert_eq!(env.schedule().await, 1);
    assert_eq!(env.job(held).await.status.primary, Primary::Running);
}

#[tokio::test]
async fn scheduler_starts_nothing_before_recovery_has_run() {
    let mut env = TestEnv::before_recovery("").await;
    let id = env.submit(job()).await;
    assert_eq!(env.schedule().await, 0);
    assert_eq!(env.job(id).await.status.primary, Primary::Pending);
    env.recover().await;
    env.state.recovered.open();
    assert_eq!(env.schedule().await, 1);
}

#[tokio::test]
async fn watcher_collects_the_exit_code_of_a_container_that_ended() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    env.watch().await;
    assert_eq!(
        env.job(id).await.status.primary,
        Primary::Running,
        "still running"
    );
    let container = env.job(id).await.container.id.unwrap();
    env.clock.advance(5.0);
    env.fake.finish(&container, 3).unwrap();
    env.watch().await;
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Over);
    assert_eq!(t.status.exitcode, Some(3));
    assert_eq!(
        t.status.duration,
        Some(5.0),
        "from the clock (no god.info here)"
    );
    assert!(t.status.reason.is_none());
    assert_eq!(
        env.fake.inspect(&container).await.unwrap(),
        god_exec::ContainerState::Gone
    );
}

#[tokio::test]
async fn watcher_carries_out_a_kill_request() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    env.event(id, Event::KillRequested).await;
    env.watch().await;
    let t = env.job(id).await;
    assert_eq!(
        (t.status.primary, t.status.secondary),
        (Primary::Over, Some(Secondary::Killed))
    );
    assert_eq!(t.status.exitcode, Some(137));
}

#[tokio::test]
async fn watcher_stops_a_job_past_its_maxlifespan() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job().maxlifespan("10s")).await;
    env.schedule().await;
    env.clock.advance(9.0);
    env.watch().await;
    assert_eq!(env.job(id).await.status.primary, Primary::Running);
    env.clock.advance(2.0);
    env.watch().await;
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Over, "{:?}", t.status);
    assert_eq!(t.status.secondary, Some(Secondary::Killed));
    assert!(t.status.reason.unwrap().contains("Max duration reached"));
}

#[tokio::test]
async fn watcher_suspends_and_resumes() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    env.event(id, Event::SuspendRequested).await;
    env.watch().await;
    let container = env.job(id).await.container.id.unwrap();
    assert_eq!(
        env.job(id).await.status.secondary,
        Some(Secondary::Suspended)
    );
    assert_eq!(
        env.fake.inspect(&container).await.unwrap(),
        god_exec::ContainerState::Paused
    );
    env.event(id, Event::ResumeRequested).await;
    env.watch().await;
    assert_eq!(env.job(id).await.status.secondary, Some(Secondary::Resumed));
    assert_eq!(
        env.fake.inspect(&container).await.unwrap(),
        god_exec::ContainerState::Running
    );
}

#[tokio::test]
async fn watcher_retries_a_node_failure_when_the_job_and_the_server_allow_it() {
    let mut env = TestEnv::new("failure_policy: {strategy: 1}\n").await;
    let retried = env.submit(job().retries(1)).await;
    let not_retried = env.submit(job()).await;
    env.schedule().await;
    for id in [retried, not_retried] {
        env.fake
            .vanish(&env.job(id).await.container.id.unwrap())
            .unwrap();
    }
    env.watch().await;
    let t = env.job(retried).await;
    assert_eq!(
        (t.status.primary, t.status.secondary),
        (Primary::Pending, Some(Secondary::Rescheduled))
    );
    assert_eq!(t.status.failure.count, 1);
    let t = env.job(not_retried).await;
    assert_eq!(t.status.primary, Primary::Over);
    assert!(t
        .status
        .reason
        .unwrap()
        .contains("disappeared without a result"));
    assert_eq!(env.schedule().await, 1);
    assert_eq!(env.job(retried).await.status.attempts, 2);
}

/// The init helper's record of a signal from outside the container (the engine stopping it)
/// makes the end a node failure, with the engine named in the reason.
#[tokio::test]
async fn watcher_tells_an_engine_stop_from_a_script_exiting_143() {
    let mut env = TestEnv::new("").await;
    let stopped = env.submit(job()).await;
    let own = env.submit(job()).await;
    env.schedule().await;
    for id in [stopped, own] {
        let t = env.job(id).await;
        let dir = god_exec::jobdir::path(env.shared_dir(), &t);
        std::fs::create_dir_all(&dir).unwrap();
        // What god-init leaves: start and end times (the script's end was seen).
        std::fs::write(dir.join("god.info"), "1\n2\n").unwrap();
        if id == stopped {
            // Root-owned (the tests run as root, as the server does).
            std::fs::write(dir.join("god.stop"), "15\n").unwrap();
            let perms = std::fs::Permissions::from_mode(0o644);
            std::fs::set_permissions(dir.join("god.stop"), perms).unwrap();
        }
        env.fake.finish(&t.container.id.unwrap(), 143).unwrap();
    }
    env.watch().await;
    let t = env.job(stopped).await;
    assert_eq!(
        (t.status.primary, t.status.exitcode),
        (Primary::Over, Some(143))
    );
    let reason = t.status.reason.unwrap_or_default();
    assert!(
        reason.contains("the container engine stopped the container (signal 15"),
        "{reason}"
    );
    assert_eq!(t.status.failure.count, 1);
    let t = env.job(own).await;
    assert_eq!((t.status.exitcode, t.status.reason), (Some(143), None));
}

#[tokio::test]
async fn recovery_requeues_a_job_whose_container_was_never_created() {
    let mut env = TestEnv::before_recovery("").await;
    let id = env.submit(job()).await;
    env.mark_dispatched(id).await;
    let report = env.recover().await;
    assert_eq!(report.requeued, 1);
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Pending);
    assert!(t
        .status
        .reason
        .unwrap()
        .contains("restarted before the job started"));
    env.state.recovered.open();
    assert_eq!(env.schedule().await, 1);
}

#[tokio::test]
async fn recovery_reattaches_a_started_container_and_records_its_id() {
    let env = TestEnv::before_recovery("").await;
    let id = env.submit(job()).await;
    let t = env.mark_dispatched(id).await;
    let container = env.start_container(&t).await;
    assert!(
        env.job(id).await.container.id.is_none(),
        "the crash came before the record"
    );
    let report = env.recover().await;
    assert_eq!(report.reattached, 1);
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Running);
    assert_eq!(
        t.container.id,
        Some(container),
        "recorded: the watcher follows it again"
    );
}

#[tokio::test]
async fn recovery_ends_a_job_whose_recorded_container_vanished() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    env.fake
        .vanish(&env.job(id).await.container.id.unwrap())
        .unwrap();
    let report = env.recover().await;
    assert_eq!(report.lost, 1);
    let t = env.job(id).await;
    assert_eq!(t.status.primary, Primary::Over);
    assert!(t
        .status
        .reason
        .unwrap()
        .contains("was gone when the server restarted"));
}

#[tokio::test]
async fn recovery_removes_containers_of_no_running_job() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    let container = env.job(id).await.container.id.unwrap();
    env.fake.finish(&container, 0).unwrap();
    // The job's end was recorded but the crash came before its container was removed.
    env.event(
        id,
        Event::Finished {
            exit_code: 0,
            reason: None,
            duration: None,
            at_limit: false,
        },
    )
    .await;
    let report = env.recover().await;
    assert_eq!(report.removed_orphans, 1);
    assert_eq!(
        env.fake.inspect(&container).await.unwrap(),
        god_exec::ContainerState::Gone
    );
}

#[tokio::test]
async fn archiver_deletes_the_job_directory_and_marks_the_job_archived() {
    let mut env = TestEnv::new("").await;
    let id = env.submit(job()).await;
    env.schedule().await;
    let t = env.job(id).await;
    let dir = god_exec::jobdir::path(env.shared_dir(), &t);
    assert!(
        dir.join("cmd.sh").exists(),
        "the scheduler wrote the job directory"
    );
    env.fake.finish(&t.container.id.unwrap(), 0).unwrap();
    env.watch().await;
    assert_eq!(env.archive().await, 0, "nothing asked");
    env.state.store.request_archive(&[id]).await.unwrap();
    assert_eq!(env.archive().await, 1);
    assert_eq!(env.job(id).await.status.primary, Primary::Archived);
    assert!(!dir.exists());
}

/// Held jobs wait with their reason, given by the pure pass: a plugin's verdict on the stored
/// job (the fake plugin holds jobs named norun), a disabled account.
#[tokio::test]
async fn scheduler_holds_back_with_the_reason_of_a_plugin_or_an_account() {
    let mut env = TestEnv::new("watchers: [maxlifespan, fake]\n").await;
    let norun = env.submit(job().name("norun")).await;
    let user = god_store::UserRecord {
        login: "dave".into(),
        uid: 3000,
        gid: 3000,
        disabled: true,
        apikey_hash: "h".into(),
        ..Default::default()
    };
    env.state.store.add_user(&user).await.unwrap();
    let barred = env.submit(job().user("dave", 3000)).await;
    let free = env.submit(job()).await;
    assert_eq!(env.schedule().await, 1);
    assert_eq!(env.job(free).await.status.primary, Primary::Running);
    let why = |t: god_core::Task| t.status.reason.unwrap_or_default();
    assert_eq!(
        why(env.job(norun).await),
        "the fake watcher holds jobs named norun"
    );
    assert_eq!(
        why(env.job(barred).await),
        "the account is disabled: its jobs wait"
    );
}

#[tokio::test]
async fn scheduler_publishes_its_nodes_for_the_api_and_marks_them_unavailable() {
    let mut env = TestEnv::new("node_labels: {storage: ssd}").await;
    assert_eq!(env.state.store.node_views().await.unwrap().published, None);
    assert_eq!(
        env.schedule().await,
        0,
        "nothing pending: the views still get published"
    );
    let views = env.state.store.node_views().await.unwrap();
    assert_eq!(views.published, Some(env.now()));
    assert_eq!(views.max_gpus(), Some(0));
    let node = &views.nodes[0];
    assert_eq!(
        (node.name.as_str(), node.executor.as_str(), node.state),
        ("fake-laptop", "fake", NodeState::Ready)
    );
    assert_eq!(node.labels, vec!["storage==ssd".to_string()]);

    env.fake.set_available(false);
    env.clock.advance(5.0);
    env.schedule().await;
    let views = env.state.store.node_views().await.unwrap();
    assert_eq!(views.published, Some(env.now()));
    assert_eq!(
        views.nodes[0].state,
        NodeState::Unreachable,
        "the engine did not answer"
    );
}

/// A reason is stored with its kind: one of another kind is written at the next pass, one
/// whose figures only moved ("behind 2 older jobs" → "behind 1 older job") at the next refresh
/// (`REASON_REFRESH` on the loops' clock). A reason a transition wrote has no kind: the pass's
/// replaces it at the next pass.
#[tokio::test]
async fn scheduler_writes_a_new_kind_of_reason_at_once_and_moved_figures_at_the_refresh() {
    let mut env = TestEnv::new("max_job_pop: 1\nscheduler_policy: FiFo\n").await;
    let mut j = Vec::new();
    for _ in 0..6 {
        j.push(env.submit(job()).await);
    }
    let t0 = env.now();
    let refresh = crate::scheduler::REASON_REFRESH.as_secs_f64();
    let why = |t: god_core::Task| t.status.reason.unwrap_or_default();

    // One job a pass; the first pass writes every reason.
    assert_eq!(env.schedule().await, 1);
    assert_eq!(why(env.job(j[2]).await), "behind 2 older jobs");
    assert_eq!(why(env.job(j[4]).await), "behind 4 older jobs");

    // A second later the figures moved, the kind did not: left as they were.
    env.clock.set(t0 + 1.0);
    assert_eq!(env.schedule().await, 1);
    assert_eq!(why(env.job(j[2]).await), "behind 2 older jobs");
    assert_eq!(why(env.job(j[4]).await), "behind 4 older jobs");

    // The engine sends job 4 back to the queue with its own reason, which has no kind: the
    // pass's reason replaces it at the next pass; job 3's figures still wait.
    env.mark_dispatched(j[4]).await;
    let back = env
        .event(
            j[4],
            Event::DispatchRejected {
                reason: "the engine is busy".into(),
            },
        )
        .await;
    assert_eq!(back.status.primary, Primary::Pending);
    assert_eq!(why(back), "the engine is busy");
    env.clock.set(t0 + 2.0);
    assert_eq!(env.schedule().await, 1);
    assert_eq!(why(env.job(j[3]).await), "behind 3 older jobs");
    assert_eq!(why(env.job(j[4]).await), "behind 2 older jobs");

    // At the refresh, moved figures are written.
    env.clock.set(t0 + refresh);
    assert_eq!(env.schedule().await, 1);
    assert_eq!(why(env.job(j[4]).await), "behind 1 older job");
    assert_eq!(why(env.job(j[5]).await), "behind 2 older jobs");

    // The executor stops answering: another kind, written at once.
    env.fake.set_available(false);
    env.clock.set(t0 + refresh + 1.0);
    assert_eq!(env.schedule().await, 0);
    for id in [j[4], j[5]] {
        let reason = why(env.job(id).await);
        assert!(reason.starts_with("waiting for the executor"), "{reason}");
    }

    // It answers again: the pass's reason is another kind again, written at once.
    env.fake.set_available(true);
    env.clock.set(t0 + refresh + 2.0);
    assert_eq!(env.schedule().await, 1);
    assert_eq!(why(env.job(j[5]).await), "behind 1 older job");
}
