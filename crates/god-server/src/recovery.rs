//! Start-up reconciliation of the database with the executor, after a crash or a restart.
//!
//! Rules, for every job the database says is running:
//! - its container runs (or is paused): watch it again (record its id if the crash came before);
//! - its container finished: the watcher's first pass collects it;
//! - it has no container and none was recorded: the crash came before the container was created,
//!   so it never ran: back to pending;
//! - its container is gone though one was recorded: a node failure (over with a reason, or back
//!   to the queue when its `failure_policy` allows a retry).
//!
//! Then every container labelled with our server id that belongs to no running job is removed.

use crate::clock::now;
use crate::state::AppState;
use crate::watcher::{node_failed, LOST_EXIT_CODE};
use crate::ServerError;
use god_core::transition::Event;
use god_exec::ContainerState;
use std::collections::HashSet;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub reattached: usize,
    pub requeued: usize,
    pub lost: usize,
    pub removed_orphans: usize,
}

/// When recovery could not run at start-up (the executor did not answer), try again every tick
/// until it does; then open the scheduler's gate. Returns at once when it already ran.
pub async fn when_deferred(state: &AppState) {
    let tick = std::time::Duration::from_secs_f64(state.config.tick_seconds);
    while !state.recovered.is_open() {
        tokio::time::sleep(tick).await;
        match reconcile(state).await {
            Ok(r) => {
                tracing::info!(
                    "recovery: {} running jobs re-attached, {} re-queued, {} lost, {} stray containers removed",
                    r.reattached, r.requeued, r.lost, r.removed_orphans
                );
                state.recovered.open();
                state.wake.scheduler.notify_one();
            }
            Err(e) => tracing::debug!("recovery waits for the executor: {e}"),
        }
    }
}

pub async fn reconcile(state: &AppState) -> Result<Report, ServerError> {
    let mut report = Report::default();
    let containers = state.exec.list_labelled(&state.server_id).await?;
    let mut kept: HashSet<String> = HashSet::new();
    for task in state.store.running().await? {
        let found = containers.iter().find(|c| {
            Some(&c.container_id) == task.container.id.as_ref()
                || Some(&c.name) == task.container.name.as_ref()
        });
        match (found, &task.container.id) {
            (Some(c), _) if c.state == ContainerState::Created && task.container.id.is_none() => {
                // Created but never started: it did not run. Remove it and queue the job again.
                state.exec.remove(&c.container_id).await?;
                state
                    .store
                    .transition(
                        task.id,
                        &Event::DispatchRejected {
                            reason: "the server restarted before the job started".into(),
                        },
                        now(),
                    )
                    .await?;
                report.requeued += 1;
            }
            (Some(c), recorded) => {
                kept.insert(c.container_id.clone());
                if recorded.is_none() {
                    state
                        .store
                        .transition(
                            task.id,
                            &Event::Started {
                                container_id: c.container_id.clone(),
                            },
                            now(),
                        )
                        .await?;
                }
                report.reattached += 1;
            }
            (None, None) => {
                state
                    .store
                    .transition(
                        task.id,
                        &Event::DispatchRejected {
                            reason: "the server restarted before the job started".into(),
                        },
                        now(),
                    )
                    .await?;
                report.requeued += 1;
            }
            (None, Some(id)) => {
                // The container vanished while we were away: a node failure, retried if the
                // job allows it.
                let reason = format!("container {id} was gone when the server restarted");
                let event = node_failed(state, &task, reason, LOST_EXIT_CODE);
                state.store.transition(task.id, &event, now()).await?;
                report.lost += 1;
            }
        }
    }
    for c in containers {
        if !kept.contains(&c.container_id) {
            tracing::info!(
                "removing container {} ({}) of no running job",
                c.name,
                c.container_id
            );
            state.exec.remove(&c.container_id).await?;
            report.removed_orphans += 1;
        }
    }
    Ok(report)
}
