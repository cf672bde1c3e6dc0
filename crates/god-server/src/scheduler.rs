//! The scheduler loop: pick pending jobs (a pure pass over a snapshot), then dispatch them.
//!
//! Dispatch order for one job: (1) one transaction marks it running with the name its container
//! will have, (2) the job directory is written, (3) the executor creates and starts the container,
//! (4) one transaction records the container id. A crash between any two steps leaves a trace that
//! recovery resolves without running the job twice.

use crate::clock::now;
use crate::state::AppState;
use futures_util::stream::{self, StreamExt};
use god_core::schedule::{fifo, DepState, Free, PendingJob};
use god_core::transition::Event;
use god_core::{launch, JobId, Primary};
use god_exec::{jobdir, ExecError};
use rand::Rng;
use std::collections::HashMap;
use std::time::Duration;

/// Exit code recorded when a job's container could not be created (as `docker run`).
pub const START_FAILED_EXIT_CODE: i64 = 125;

/// Containers started concurrently.
const START_CONCURRENCY: usize = 8;

pub async fn run(state: AppState) {
    let tick = Duration::from_secs_f64(state.config.tick_seconds);
    loop {
        match pass(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("scheduler: dispatched {n} jobs"),
            Err(e) => tracing::warn!("scheduler pass failed: {e}"),
        }
        tokio::select! {
            _ = state.wake.scheduler.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// One scheduling pass; returns how many jobs were handed to the executor.
pub async fn pass(state: &AppState) -> Result<usize, crate::ServerError> {
    let pending = state.store.pending(0).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let capacity = state.exec.capacity().await?;
    let (used_cpu, used_ram) = state.store.running_usage().await?;
    let dep_ids: Vec<JobId> = pending
        .iter()
        .flat_map(|p| p.deps.iter().copied())
        .collect();
    let dep_states: HashMap<JobId, Primary> = if dep_ids.is_empty() {
        HashMap::new()
    } else {
        state.store.states(&dep_ids).await?.into_iter().collect()
    };
    let jobs: Vec<PendingJob> = pending
        .iter()
        .map(|p| PendingJob {
            id: p.id,
            cpu: p.cpu,
            ram: p.ram,
            deps: p.deps.clone(),
        })
        .collect();
    let dep_state = |id: JobId| match dep_states.get(&id) {
        Some(Primary::Over) | Some(Primary::Archived) => DepState::Done,
        Some(_) => DepState::Active,
        None => DepState::Missing,
    };
    let free = Free {
        cpus: capacity.cpus - used_cpu,
        ram: capacity.ram - used_ram,
    };
    let decision = fifo(
        &jobs,
        free,
        &dep_state,
        state.config.max_job_pop.max(1) as usize,
    );
    let current: HashMap<JobId, Option<&String>> =
        pending.iter().map(|p| (p.id, p.reason.as_ref())).collect();
    let changed: Vec<(JobId, String)> = decision
        .waiting
        .into_iter()
        .filter(|(id, why)| current.get(id).copied().flatten() != Some(why))
        .collect();
    state.store.set_reasons(&changed).await?;

    state.exec.begin_pass();
    let n = decision.dispatch.len();
    stream::iter(decision.dispatch)
        .for_each_concurrent(START_CONCURRENCY, |id| async move {
            if let Err(e) = dispatch(state, id, capacity.node).await {
                tracing::warn!("dispatch of job {id}: {e}");
            }
        })
        .await;
    Ok(n)
}

fn nonce() -> String {
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

async fn dispatch(state: &AppState, id: JobId, node: &str) -> Result<(), crate::ServerError> {
    let name = launch::container_name(&state.server_id, id, &nonce());
    let task = state
        .store
        .transition(
            id,
            &Event::Dispatch {
                node: node.to_string(),
                container_name: name,
            },
            now(),
        )
        .await?;
    let shared = state.paths.shared_dir.clone();
    let t = task.clone();
    let dir = tokio::task::spawn_blocking(move || jobdir::prepare(&shared, &t))
        .await
        .map_err(|e| crate::ServerError::Io {
            what: "job directory".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let started = match dir {
        Ok(dir) => {
            let spec = launch::spec(
                &task,
                &state.config,
                &state.server_id,
                &dir.to_string_lossy(),
                &state.paths.init_helper.to_string_lossy(),
            );
            state.exec.start(&spec).await
        }
        Err(e) => Err(e),
    };
    let event = match started {
        Ok(container_id) => Event::Started { container_id },
        Err(ExecError::Rejected(reason)) | Err(ExecError::Unavailable(reason)) => {
            Event::DispatchRejected { reason }
        }
        Err(e) => Event::Finished {
            exit_code: START_FAILED_EXIT_CODE,
            reason: Some(e.to_string()),
            duration: Some(0.0),
        },
    };
    let failed = !matches!(event, Event::Started { .. });
    if failed {
        if let Some(name) = &task.container.name {
            let _ = state.exec.remove(name).await;
        }
    }
    state.store.transition(id, &event, now()).await?;
    if failed {
        // Resources were given back, or the job is over: the queue may move.
        state.wake.watcher.notify_one();
    }
    Ok(())
}
