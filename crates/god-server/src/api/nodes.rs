//! `GET /api/1.0/nodes` (administrators): every node the scheduler last published (executor,
//! cpus, memory, GPUs, labels, whether its engine answers) and what runs on it now. Read from
//! the store: an API process never asks an engine.

use crate::access::{require_admin, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use god_core::node::{usage, NodesAnswer};

pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<NodesAnswer>, ApiError> {
    require_admin(&caller)?;
    let views = state.store.node_views().await?;
    let running = state.store.running().await?;
    let on_nodes = running.iter().filter_map(|t| {
        let node = t.node_name()?;
        Some((node, t.requirements.cpu, t.requirements.ram))
    });
    Ok(Json(usage(&views, on_nodes)))
}
