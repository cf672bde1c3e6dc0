//! The REST API: the Go-Docker 1.0 routes (reference section 7.1) that existing clients call,
//! plus our additions. Handlers check who may do what, turn requests into store transitions, and
//! wake the loops; they never talk to the executor (only through the narrow handles of
//! [`crate::handles`]).

mod body;
mod events;
mod files;
mod guests;
mod nodes;
mod openapi;
mod projects;
mod public;
mod routes;
mod stats;
mod tasks;
mod usage;
mod users;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_request_body;
    routes::table()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such route")
}
