//! `GET /api/1.0/task/<id>/stats`: what a running job's container uses now, through the
//! [`crate::handles::JobStats`] handle (handlers never hold the executor).

use super::tasks::visible_job;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

/// `{id, cpu_seconds, memory_bytes, memory_limit_bytes}` of a job the caller may see (404
/// otherwise); 409 when it is not running, 501 when the executor gives no stats.
pub async fn stats(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    let s = state.stats.stats(&task).await?;
    Ok(Json(json!({
        "id": task.id.0,
        "cpu_seconds": s.cpu_seconds,
        "memory_bytes": s.memory_bytes,
        "memory_limit_bytes": s.memory_limit_bytes,
    })))
}
