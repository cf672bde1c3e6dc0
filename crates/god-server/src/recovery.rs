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
use god_core::Task;
use god_exec::{ContainerState, ExecError, Executor, Labelled};
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub reattached: usize,
    pub requeued: usize,
    pub lost: usize,
    pub removed_orphans: usize,
}

/// What a recovery run did, and the executors it could not ask yet (`name: why`).
#[derive(Debug, Default)]
pub struct Reconciled {
    pub report: Report,
    pub waiting: Vec<String>,
}

/// When recovery could not run at start-up on some executor (it did not answer), try again
/// every tick until it has run on all; each one's jobs start once it has. Returns at once when
/// none waits.
pub async fn when_deferred(state: &LoopState) {
    let tick = std::time::Duration::from_secs_f64(state.config.tick_seconds);
    while state
        .execs
        .iter()
        .any(|m| !state.recovered.is_open_for(&m.name))
    {
        tokio::time::sleep(tick).await;
        match reconcile_on(state, Which::Waiting).await {
            Ok(Reconciled { report: r, waiting }) => {
                tracing::info!(
                    "recovery: {} running jobs re-attached, {} re-queued, {} lost, {} stray containers removed{}",
                    r.reattached, r.requeued, r.lost, r.removed_orphans,
                    if waiting.is_empty() { String::new() } else { format!("; still waiting for {}", waiting.join("; ")) }
                );
                state.wake.scheduler.notify_one();
            }
            Err(e) => tracing::debug!("recovery waits: {e}"),
        }
    }
}

/// Recovery on every executor that answers (at start-up); the gate opens for each one done.
pub async fn reconcile(state: &LoopState) -> Result<Reconciled, ServerError> {
    reconcile_on(state, Which::All).await
}

/// Which executors a recovery run looks at.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    All,
    /// Those it has not run on yet.
    Waiting,
}

async fn reconcile_on(state: &LoopState, which: Which) -> Result<Reconciled, ServerError> {
    let mut done = Reconciled::default();
    let mut running: Option<Vec<Task>> = None;
    for member in state.execs.iter() {
        if which == Which::Waiting && state.recovered.is_open_for(&member.name) {
            continue;
        }
        // Nothing is decided on half a picture of one executor: it answers first.
        let containers = match member.exec.list_labelled(&state.server_id).await {
            Ok(c) => c,
            Err(ExecError::Unavailable(why)) => {
                done.waiting.push(format!("{}: {why}", member.name));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if running.is_none() {
            running = Some(state.store.running().await?);
        }
        let tasks = running
            .iter()
            .flatten()
            .filter(|t| state.execs.of(t).name == member.name)
            .cloned()
            .collect();
        reconcile_one(state, &member.exec, tasks, containers, &mut done.report).await?;
        state.recovered.open_for(&member.name);
    }
    Ok(done)
}

/// Recovery on one executor: its running jobs and the containers it has of this server.
async fn reconcile_one(
    state: &LoopState,
    exec: &Arc<dyn Executor>,
    running: Vec<Task>,
    containers: Vec<Labelled>,
    report: &mut Report,
) -> Result<(), ServerError> {
    let mut kept: HashSet<String> = HashSet::new();
    for task in running {
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
                exec.remove(&c.container_id).await?;
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
            exec.remove(&c.container_id).await?;
            report.removed_orphans += 1;
        }
    }
    Ok(())
}
