//! The archiver loop: delete the directory of each over job marked for archiving, then mark it
//! `archived`.

use crate::state::AppState;
use crate::ServerError;
use god_core::transition::Event;
use god_exec::jobdir;
use std::time::Duration;

pub async fn run(state: AppState) {
    let tick = Duration::from_secs_f64(state.config.tick_seconds);
    loop {
        match pass(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("archiver: archived {n} jobs"),
            Err(e) => tracing::warn!("archiver pass failed: {e}"),
        }
        tokio::select! {
            _ = state.wake.archiver.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// Archive up to `max_job_pop` jobs; returns how many. Also keeps the change log bounded.
pub async fn pass(state: &AppState) -> Result<usize, ServerError> {
    state.store.trim_changes(crate::feed::KEEP).await?;
    let queue = state
        .store
        .archive_queue(u64::from(state.config.max_job_pop.max(1)))
        .await?;
    let mut n = 0;
    for task in queue {
        let dir = jobdir::path(&state.paths.shared_dir, &task);
        let removed = tokio::task::spawn_blocking(move || jobdir::remove(&dir))
            .await
            .map_err(|e| ServerError::Io {
                what: "archiving".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
        if let Err(e) = removed {
            tracing::warn!("archiving job {}: {e}", task.id);
            continue;
        }
        state
            .store
            .transition(task.id, &Event::Archived, state.clock.now())
            .await?;
        n += 1;
    }
    Ok(n)
}
