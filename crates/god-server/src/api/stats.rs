//! `GET /api/1.0/task/<id>/stats`: what a running job's container uses now, through the
//! [`crate::handles::JobStats`] handle (handlers never hold the executor).

use crate::access::{visible_job, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use god_core::api::tasks::StatsAnswer;

/// `{id, cpu_seconds, memory_bytes, memory_limit_bytes}` of a job the caller may see (404
/// otherwise); 409 when it is not running, 501 when the executor gives no stats.
pub async fn stats(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StatsAnswer>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    let s = state.stats.stats(&task).await?;
    Ok(Json(StatsAnswer {
        id: task.id,
        cpu_seconds: s.cpu_seconds,
        memory_bytes: s.memory_bytes,
        memory_limit_bytes: s.memory_limit_bytes,
    }))
}
