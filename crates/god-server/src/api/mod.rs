//! The REST API: the Go-Docker 1.0 routes (reference section 7.1) that existing clients call,
//! plus our additions. Handlers check who may do what, turn requests into store transitions, and
//! wake the loops; they never talk to the executor (only through the narrow handles of
//! [`crate::handles`]).

pub mod body;
pub mod events;
pub mod files;
pub mod guests;
pub mod nodes;
pub mod openapi;
pub mod projects;
pub mod public;
pub mod routes;
pub mod stats;
pub mod tasks;
pub mod usage;
pub mod users;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;

/// The API's routes, and the web UI's when given (`web`: built on the same state).
pub fn router(state: AppState, web: Option<crate::WebUi>) -> Router {
    let limit = state.config.max_request_body;
    let api = routes::table()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    match web {
        Some(web) => api.merge(web(state)),
        None => api,
    }
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such route")
}
