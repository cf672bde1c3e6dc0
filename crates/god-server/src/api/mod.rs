//! The REST API: the Go-Docker 1.0 routes (reference section 7.1) that existing clients call,
//! plus our additions. Handlers check who may do what, turn requests into store transitions, and
//! wake the loops; they never talk to the executor (only through the narrow handles of
//! [`crate::handles`]).

pub mod admin;
pub mod body;
pub mod events;
pub mod files;
pub mod guests;
pub mod lists;
pub mod nodes;
pub mod openapi;
pub mod projects;
pub mod public;
pub mod query;
pub mod routes;
pub mod stats;
pub mod tasks;
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
        .fold(Router::new(), |router, r| {
            let handler = if r.query.is_some() || r.any_query {
                r.handler
            } else {
                r.handler.layer(axum::middleware::from_fn(no_query))
            };
            router.route(r.path, handler)
        })
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    match web {
        Some(web) => api.merge(web(state)),
        None => api,
    }
}

/// A route that takes no query parameter refuses one, naming it (as unknown body fields are).
async fn no_query(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if let Some(q) = req.uri().query().filter(|q| !q.is_empty()) {
        let name = form_urlencoded::parse(q.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_else(|| q.to_string());
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {name:?}: this route takes none"
        ))
        .field(name));
    }
    Ok(next.run(req).await)
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such route")
}
