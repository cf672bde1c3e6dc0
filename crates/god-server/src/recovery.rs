//! Start-up reconciliation of the database with the executor, after a crash or a restart.
//!
//! For every job the database says is running, `god_core::recover::decide` says what to do with
//! what the executor has of it (the rules and their table test are there); this carries it out.
//!
//! Then every container labelled with our server id that belongs to no running job is removed.

use crate::state::LoopState;
use crate::watcher::{node_failed, LOST_EXIT_CODE};
use crate::ServerError;
use god_core::recover::{self, Action, Found};
use god_core::roles::RecoveryEvent;
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
pub async fn when_deferred(state: &LoopState) {
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

pub async fn reconcile(state: &LoopState) -> Result<Report, ServerError> {
    let mut report = Report::default();
    let containers = state.exec.list_labelled(&state.server_id).await?;
    let mut kept: HashSet<String> = HashSet::new();
    for task in state.store.running().await? {
        let found = containers.iter().find(|c| {
            Some(&c.container_id) == task.container.id.as_ref()
                || Some(&c.name) == task.container.name.as_ref()
        });
        let seen = match found {
            Some(c) if c.state == ContainerState::Created => Found::Created(c),
            Some(c) => Found::Container(c),
            None => Found::Nothing,
        };
        let requeue: Event = RecoveryEvent::Requeue {
            reason: "the server restarted before the job started".into(),
        }
        .into();
        match recover::decide(task.container.id.is_some(), seen) {
            Action::RemoveAndRequeue(c) => {
                state.exec.remove(&c.container_id).await?;
                state
                    .store
                    .transition(task.id, &requeue, state.clock.now())
                    .await?;
                report.requeued += 1;
            }
            Action::Reattach {
                container: c,
                record_id,
            } => {
                kept.insert(c.container_id.clone());
                if record_id {
                    let container_id = c.container_id.clone();
                    let started = RecoveryEvent::Reattached { container_id }.into();
                    state
                        .store
                        .transition(task.id, &started, state.clock.now())
                        .await?;
                }
                report.reattached += 1;
            }
            Action::Requeue => {
                state
                    .store
                    .transition(task.id, &requeue, state.clock.now())
                    .await?;
                report.requeued += 1;
            }
            Action::Lost => {
                let id = task.container.id.as_deref().unwrap_or_default();
                let reason = format!("container {id} was gone when the server restarted");
                let event =
                    RecoveryEvent::Lost(node_failed(state, &task, reason, LOST_EXIT_CODE)).into();
                state
                    .store
                    .transition(task.id, &event, state.clock.now())
                    .await?;
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
