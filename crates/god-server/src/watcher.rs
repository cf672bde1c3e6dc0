//! The watcher loop: carry out users' requests on running jobs (kill, suspend, resume,
//! reschedule) and collect the result of every container that stopped.
//!
//! It is woken by the executor when a container exits and by the API when a request arrives; a
//! periodic pass over every running job catches anything a wake-up missed.

use crate::clock::now;
use crate::state::AppState;
use crate::ServerError;
use god_core::transition::Event;
use god_core::{JobId, Secondary, Task};
use god_exec::{jobdir, ContainerState, ExecError};
use std::time::Duration;
use tokio::sync::mpsc;

/// Exit code recorded when a job's container vanished without a result.
pub const LOST_EXIT_CODE: i64 = 255;

pub async fn run(state: AppState) {
    let (tx, mut exits) = mpsc::channel::<JobId>(4096);
    {
        let exec = state.exec.clone();
        let server = state.server_id.to_string();
        tokio::spawn(async move { exec.watch_exits(&server, tx).await });
    }
    let tick = Duration::from_secs_f64(state.config.tick_seconds);
    let mut next_full = tokio::time::Instant::now();
    loop {
        let full = tokio::time::Instant::now() >= next_full;
        if full {
            next_full = tokio::time::Instant::now() + tick;
        }
        if let Err(e) = pass(&state, full).await {
            tracing::warn!("watcher pass failed: {e}");
        }
        tokio::select! {
            Some(id) = exits.recv() => {
                let mut ids = vec![id];
                while let Ok(more) = exits.try_recv() {
                    ids.push(more);
                }
                for id in ids {
                    if let Err(e) = check_one(&state, id).await {
                        tracing::warn!("watcher: job {id}: {e}");
                    }
                }
            }
            _ = state.wake.watcher.notified() => {}
            _ = tokio::time::sleep_until(next_full) => {}
        }
    }
}

/// Handle requests on running jobs; with `full`, also inspect every running container.
pub async fn pass(state: &AppState, full: bool) -> Result<(), ServerError> {
    for task in state.store.running().await? {
        let requested = task.status.secondary.is_some_and(|s| s.is_request());
        if !(full || requested) {
            continue;
        }
        let id = task.id;
        if let Err(e) = check(state, task).await {
            tracing::warn!("watcher: job {id}: {e}");
        }
    }
    Ok(())
}

async fn check_one(state: &AppState, id: JobId) -> Result<(), ServerError> {
    match state.store.get_job(id).await? {
        Some(task) if task.status.primary == god_core::Primary::Running => check(state, task).await,
        _ => Ok(()),
    }
}

/// Bring one running job forward: carry out its request, or collect it if its container ended.
pub async fn check(state: &AppState, task: Task) -> Result<(), ServerError> {
    // Between dispatch and start the scheduler owns the job; recovery handles crashes there.
    let Some(container) = task.container.id.clone() else {
        return Ok(());
    };
    let id = task.id;
    match task.status.secondary {
        Some(Secondary::KillRequested) => {
            state.exec.kill(&container).await?;
            finish(state, &task, &container, Event::Killed).await?;
            return Ok(());
        }
        Some(Secondary::RescheduleRequested) => {
            state.exec.kill(&container).await?;
            state.exec.remove(&container).await?;
            state
                .store
                .transition(id, &Event::Rescheduled, now())
                .await?;
            state.wake.scheduler.notify_one();
            return Ok(());
        }
        Some(Secondary::SuspendRequested) => {
            let event = match state.exec.pause(&container).await {
                Ok(()) => Event::Suspended,
                Err(e @ ExecError::Unavailable(_)) => return Err(e.into()),
                Err(e) => Event::SuspendRejected {
                    reason: e.to_string(),
                },
            };
            state.store.transition(id, &event, now()).await?;
            return Ok(());
        }
        Some(Secondary::ResumeRequested) => {
            let event = match state.exec.unpause(&container).await {
                Ok(()) => Event::Resumed,
                Err(e @ ExecError::Unavailable(_)) => return Err(e.into()),
                Err(e) => Event::ResumeRejected {
                    reason: e.to_string(),
                },
            };
            state.store.transition(id, &event, now()).await?;
            return Ok(());
        }
        _ => {}
    }
    match state.exec.inspect(&container).await? {
        ContainerState::Created | ContainerState::Running | ContainerState::Paused => Ok(()),
        ContainerState::Exited {
            exit_code,
            oom_killed,
            error,
        } => {
            let reason = if oom_killed {
                Some(format!(
                    "killed by the container engine: memory limit of {} GB exceeded",
                    task.requirements.ram
                ))
            } else {
                error
            };
            let dir = jobdir::path(&state.paths.shared_dir, &task);
            let duration = tokio::task::spawn_blocking(move || jobdir::duration(&dir))
                .await
                .ok()
                .flatten();
            let event = Event::Finished {
                exit_code,
                reason,
                duration,
            };
            finish(state, &task, &container, event).await
        }
        ContainerState::Gone => {
            let event = Event::Finished {
                exit_code: LOST_EXIT_CODE,
                reason: Some(format!(
                    "container {container} disappeared without a result"
                )),
                duration: None,
            };
            finish(state, &task, &container, event).await
        }
    }
}

/// Record the end of a job, then remove its container (the result is in the database first, so
/// a crash in between leaves only a container that recovery removes).
async fn finish(
    state: &AppState,
    task: &Task,
    container: &str,
    event: Event,
) -> Result<(), ServerError> {
    let done = state.store.transition(task.id, &event, now()).await?;
    if done.status.reason.is_none() {
        let _ = state.store.image_used(&task.container.image).await;
    }
    state.exec.remove(container).await?;
    state.wake.scheduler.notify_one();
    Ok(())
}
