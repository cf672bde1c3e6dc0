//! The watcher loop: carry out users' requests on running jobs (kill, suspend, resume,
//! reschedule), apply watcher plugins (`maxlifespan`), and collect the result of every container
//! that stopped.
//!
//! It is woken by the executor when containers exit or are lost (their results are collected in
//! batches: one transaction for all of them), by the API when a request arrives, and by a
//! periodic tick that looks at every running job, so a missed wake-up costs at most one tick; an
//! executor whose stream broke (`ExitEvent::StreamBroken`) has every running job looked at at once.

use crate::state::LoopState;
use crate::ServerError;
use futures_util::stream::{self, StreamExt};
use god_core::ending::{self, Ending, ExitFacts};
use god_core::roles::{NodeFailure, WatcherEvent};
use god_core::transition::Event;
use god_core::watchers::Verdict;
use god_core::{JobId, Primary, Secondary, Task};
use god_exec::{jobdir, ContainerState, ExecError, Executor, ExitEvent};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Exit code recorded when a job's container vanished without a result.
pub const LOST_EXIT_CODE: i64 = 255;

/// Containers inspected (or removed) concurrently.
const CONCURRENCY: usize = 16;

pub async fn run(state: LoopState) {
    let (tx, mut exits) = mpsc::channel::<ExitEvent>(16_384);
    {
        for m in state.execs.iter() {
            let (exec, tx) = (m.exec.clone(), tx.clone());
            let server = state.server_id.to_string();
            tokio::spawn(async move { exec.watch_exits(&server, tx).await });
        }
    }
    let tick = Duration::from_secs_f64(state.config.tick_seconds);
    let mut next_full = tokio::time::Instant::now();
    // Exits reported before the scheduler recorded the container: looked at again when the
    // scheduler wakes us after recording it.
    let mut early: Vec<JobId> = Vec::new();
    loop {
        let result = tokio::select! {
            Some(event) = exits.recv() => {
                // Exits come in streams under load: take every one already queued, so one
                // transaction records them all (while it runs, the next batch queues up). An
                // exit on an idle system is collected at once.
                let mut events = vec![event];
                while let Ok(more) = exits.try_recv() {
                    events.push(more);
                }
                let ids: Vec<JobId> = events.iter().filter_map(ExitEvent::job).collect();
                let broken: Vec<&str> = events
                    .iter()
                    .filter_map(|e| match e {
                        ExitEvent::StreamBroken { why } => Some(why.as_str()),
                        _ => None,
                    })
                    .collect();
                if broken.is_empty() {
                    collect_ids(&state, ids, &mut early).await
                } else {
                    // Ends may have been missed: look at every running job now.
                    tracing::info!("watcher: {}; looking at every running job", broken.join("; "));
                    next_full = tokio::time::Instant::now() + tick;
                    pass(&state).await
                }
            }
            _ = state.wake.watcher.notified() => {
                let retry = std::mem::take(&mut early);
                match requests(&state).await {
                    Ok(()) if !retry.is_empty() => collect_ids(&state, retry, &mut early).await,
                    other => other,
                }
            }
            _ = tokio::time::sleep_until(next_full) => {
                next_full = tokio::time::Instant::now() + tick;
                pass(&state).await
            }
        };
        if let Err(e) = result {
            tracing::warn!("watcher: {e}");
        }
    }
}

/// Whether the watcher looks after `task` yet: not before start-up recovery has run on its
/// executor (until then, what the engine says of it is recovery's to decide).
fn watched(state: &LoopState, task: &Task) -> bool {
    state.recovered.is_open_for(&state.execs.of(task).name)
}

/// Carry out the requests pending on running jobs.
async fn requests(state: &LoopState) -> Result<(), ServerError> {
    for task in state.store.running().await? {
        if task.status.secondary.is_some_and(|s| s.is_request()) {
            let id = task.id;
            if let Err(e) = request(state, task).await {
                tracing::warn!("watcher: job {id}: {e}");
            }
        }
    }
    Ok(())
}

/// The periodic pass: requests, plugins, and every running container's state.
pub async fn pass(state: &LoopState) -> Result<(), ServerError> {
    let t = state.clock.now();
    let mut quiet = Vec::new();
    for mut task in state.store.running().await? {
        if task.container.id.is_none() || !watched(state, &task) {
            // Between dispatch and start the scheduler owns it; recovery handles crashes there.
            continue;
        }
        if !task.status.secondary.is_some_and(|s| s.is_request()) {
            let verdict = state
                .plugins
                .iter()
                .find_map(|p| match p.can_run(&task, t) {
                    Verdict::Kill(reason) => Some(reason),
                    Verdict::Continue => None,
                });
            if let Some(reason) = verdict {
                tracing::info!("job {}: {reason}", task.id);
                task = state
                    .store
                    .transition(task.id, &WatcherEvent::LimitReached { reason }.into(), t)
                    .await?;
            }
        }
        if task.status.secondary.is_some_and(|s| s.is_request()) {
            let id = task.id;
            if let Err(e) = request(state, task).await {
                tracing::warn!("watcher: job {id}: {e}");
            }
        } else {
            quiet.push(task);
        }
    }
    collect(state, quiet).await
}

async fn collect_ids(
    state: &LoopState,
    mut ids: Vec<JobId>,
    early: &mut Vec<JobId>,
) -> Result<(), ServerError> {
    ids.sort_unstable();
    ids.dedup();
    let mut tasks = Vec::with_capacity(ids.len());
    for t in state.store.get_jobs(&ids).await? {
        if t.status.primary != Primary::Running {
            continue;
        }
        if t.container.id.is_none() {
            early.push(t.id);
        } else {
            tasks.push(t);
        }
    }
    collect(state, tasks).await
}

/// Inspect containers and record, in one transaction, the end of those that stopped; then
/// remove their containers (the results are in the database first: a crash in between leaves
/// only containers that recovery removes).
async fn collect(state: &LoopState, mut tasks: Vec<Task>) -> Result<(), ServerError> {
    tasks.retain(|t| watched(state, t));
    let clock = std::time::Instant::now();
    let looked = tasks.len();
    // Each executor's containers in one call (a listing when there are many).
    let mut by_executor: HashMap<&str, (Vec<Task>, Vec<String>)> = HashMap::new();
    for t in tasks {
        let Some(container) = t.container.id.clone() else {
            continue;
        };
        let group = by_executor
            .entry(state.execs.of(&t).name.as_str())
            .or_default();
        group.0.push(t);
        group.1.push(container);
    }
    let mut inspected: Vec<Inspected> = Vec::new();
    for m in state.execs.iter() {
        let Some((mine, containers)) = by_executor.remove(m.name.as_str()) else {
            continue;
        };
        match m.exec.inspect_many(&state.server_id, &containers).await {
            Ok(states) => {
                inspected.extend(mine.into_iter().zip(states).map(|(task, state)| Inspected {
                    task,
                    exec: m.exec.clone(),
                    state,
                }))
            }
            Err(e) => tracing::warn!("inspecting the containers of executor {}: {e}", m.name),
        }
    }
    let outcomes: Vec<Option<Ended>> = stream::iter(inspected)
        .map(|i: Inspected| outcome(state, i))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let ended: Vec<Ended> = outcomes.into_iter().flatten().collect();
    // An attempt lost to a node failure is removed before its retry is recorded: the engine
    // stops it should its node come back, so two attempts never run. One that cannot be
    // removed now is looked at again at the next pass.
    let (lost, finished): (Vec<Ended>, Vec<Ended>) = ended
        .into_iter()
        .partition(|e| matches!(e.event, WatcherEvent::NodeFailed(_)));
    let removed: Vec<Option<Ended>> = stream::iter(lost)
        .map(|e| async move {
            match e.exec.remove(&e.container).await {
                Ok(()) => Some(e),
                Err(err) => {
                    tracing::warn!(
                        "job {}: its attempt {} failed with its node, and removing it failed \
                         ({err}): its retry waits until it is removed",
                        e.id,
                        e.container
                    );
                    None
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let removed: Vec<Ended> = removed.into_iter().flatten().collect();
    let ended: Vec<Ended> = finished.into_iter().chain(removed).collect();
    if ended.is_empty() {
        return Ok(());
    }
    let mut events: Vec<(JobId, Event)> = Vec::with_capacity(ended.len());
    for e in &ended {
        events.push((e.id, e.event.clone().into()));
    }
    events.extend(disk_usage_events(state, &ended).await);
    let results = state
        .store
        .transition_many(&events, state.clock.now())
        .await?;
    for done in results.iter().flatten() {
        if done.status.primary == Primary::Over {
            for p in state.plugins.iter() {
                p.done(done);
            }
        }
    }
    // Their places are free: the scheduler need not wait for the removals.
    state.wake.scheduler.notify_one();
    // (Attempts lost with their node were removed above.)
    let to_remove = ended
        .into_iter()
        .filter(|e| !matches!(e.event, WatcherEvent::NodeFailed(_)));
    stream::iter(to_remove)
        .for_each_concurrent(
            CONCURRENCY,
            |Ended {
                 id,
                 container,
                 exec,
                 ..
             }| async move {
                if let Err(e) = exec.remove(&container).await {
                    tracing::warn!("removing container {container} of job {id}: {e}");
                }
            },
        )
        .await;
    tracing::debug!(
        looked,
        ended = events.len(),
        ms = clock.elapsed().as_secs_f64() * 1e3,
        "watcher collect"
    );
    Ok(())
}

/// With a disk quota, what each ended job's directory holds (recorded right after its end, in
/// the same transaction).
async fn disk_usage_events(state: &LoopState, ended: &[Ended]) -> Vec<(JobId, Event)> {
    if state.config.disk_default_quota.is_none() || ended.is_empty() {
        return Vec::new();
    }
    let ids: Vec<JobId> = ended.iter().map(|e| e.id).collect();
    let Ok(tasks) = state.store.get_jobs(&ids).await else {
        return Vec::new();
    };
    let shared = state.paths.shared_dir.clone();
    tokio::task::spawn_blocking(move || {
        tasks
            .iter()
            .map(|t| {
                let bytes = jobdir::size(&jobdir::path(&shared, t));
                (t.id, WatcherEvent::DiskUsage { bytes }.into())
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// A running job, its executor, and what the executor says of its container.
struct Inspected {
    task: Task,
    exec: Arc<dyn Executor>,
    state: ContainerState,
}

/// A job whose container stopped: what to record, and where its container is to be removed.
struct Ended {
    id: JobId,
    container: String,
    event: WatcherEvent,
    exec: Arc<dyn Executor>,
}

/// What ended, for a job whose container its executor says stopped: `None` while it runs.
async fn outcome(state: &LoopState, i: Inspected) -> Option<Ended> {
    let Inspected {
        task,
        exec,
        state: inspected,
    } = i;
    let container = task.container.id.clone()?;
    let event = match inspected {
        ContainerState::Created | ContainerState::Running | ContainerState::Paused => return None,
        ContainerState::Exited(termination) => {
            let dir = jobdir::path(&state.paths.shared_dir, &task);
            let (duration, outside_signal) = tokio::task::spawn_blocking(move || {
                (jobdir::duration(&dir), jobdir::outside_signal(&dir))
            })
            .await
            .unwrap_or((None, None));
            let facts = ExitFacts {
                termination,
                outside_signal,
                init_saw_the_end: duration.is_some(),
                stop_requested: matches!(
                    task.status.secondary,
                    Some(Secondary::KillRequested | Secondary::RescheduleRequested)
                ),
                ram_gb: task.requirements.ram,
            };
            match ending::classify(&facts) {
                Ending::Finished {
                    exit_code,
                    reason,
                    at_limit,
                } => WatcherEvent::Finished {
                    exit_code,
                    reason,
                    duration,
                    at_limit,
                },
                Ending::NodeFailed { exit_code, reason } => {
                    tracing::warn!("job {}: {reason}", task.id);
                    WatcherEvent::NodeFailed(node_failed(state, &task, reason, exit_code))
                }
            }
        }
        // The engine lost the container: a node failure, retried if the job allows it.
        ContainerState::Gone => WatcherEvent::NodeFailed(node_failed(
            state,
            &task,
            format!("container {container} disappeared without a result"),
            LOST_EXIT_CODE,
        )),
    };
    Some(Ended {
        id: task.id,
        container,
        event,
        exec,
    })
}

/// A node failure of `task`, retried as far as its `failure_policy` and the server's allow.
pub(crate) fn node_failed(
    state: &LoopState,
    task: &Task,
    reason: String,
    exit_code: i64,
) -> NodeFailure {
    NodeFailure {
        reason,
        node: task.node_name().unwrap_or("unknown").to_string(),
        exit_code,
        retries_allowed: task
            .requirements
            .failure_policy
            .min(state.config.failure_policy.strategy),
    }
}

/// Carry out the request on one running job.
pub async fn request(state: &LoopState, task: Task) -> Result<(), ServerError> {
    let Some(container) = task.container.id.clone().filter(|_| watched(state, &task)) else {
        return Ok(());
    };
    let id = task.id;
    let exec = &state.execs.of(&task).exec;
    let event = match task.status.secondary {
        Some(Secondary::KillRequested) => {
            exec.kill(&container).await?;
            let done = state
                .store
                .transition(id, &WatcherEvent::Killed.into(), state.clock.now())
                .await?;
            for p in state.plugins.iter() {
                p.done(&done);
            }
            exec.remove(&container).await?;
            state.wake.scheduler.notify_one();
            return Ok(());
        }
        Some(Secondary::RescheduleRequested) => {
            exec.kill(&container).await?;
            exec.remove(&container).await?;
            state
                .store
                .transition(id, &WatcherEvent::Rescheduled.into(), state.clock.now())
                .await?;
            state.wake.scheduler.notify_one();
            return Ok(());
        }
        Some(Secondary::SuspendRequested) => match exec.pause(&container).await {
            Ok(()) => WatcherEvent::Suspended,
            Err(e @ ExecError::Unavailable(_)) => return Err(e.into()),
            Err(e) => WatcherEvent::SuspendRejected {
                reason: e.to_string(),
            },
        },
        Some(Secondary::ResumeRequested) => match exec.unpause(&container).await {
            Ok(()) => WatcherEvent::Resumed,
            Err(e @ ExecError::Unavailable(_)) => return Err(e.into()),
            Err(e) => WatcherEvent::ResumeRejected {
                reason: e.to_string(),
            },
        },
        _ => return Ok(()),
    };
    state
        .store
        .transition(id, &event.into(), state.clock.now())
        .await?;
    Ok(())
}
