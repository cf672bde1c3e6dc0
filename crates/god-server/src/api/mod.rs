//! The REST API: the Go-Docker 1.0 routes (reference section 7.1) that existing clients call,
//! plus our additions. Handlers check who may do what, turn requests into store transitions, and
//! wake the loops; they never talk to the executor.

mod body;
mod events;
mod files;
mod guests;
mod projects;
mod public;
mod tasks;
mod usage;
mod users;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_request_body;
    Router::new()
        .route("/api/1.0/authenticate", post(public::authenticate))
        .route("/api/1.0/config", get(public::config))
        .route("/api/1.0/image", get(public::images))
        .route("/api/1.0/task", post(tasks::submit))
        .route("/api/1.0/task/active", get(tasks::active))
        .route("/api/1.0/task/active/all", get(tasks::active_all))
        .route(
            "/api/1.0/task/over/all/{skip}/{limit}",
            post(tasks::over_all).get(tasks::over_all),
        )
        .route(
            "/api/1.0/task/over/{skip}/{limit}",
            post(tasks::over).get(tasks::over),
        )
        .route(
            "/api/1.0/task/{id}",
            get(tasks::show).delete(tasks::kill).put(tasks::update),
        )
        .route("/api/1.0/task/{id}/status", get(tasks::status))
        .route("/api/1.0/task/{id}/suspend", get(tasks::suspend))
        .route("/api/1.0/task/{id}/resume", get(tasks::resume))
        .route("/api/1.0/task/{id}/reschedule", get(tasks::reschedule))
        .route(
            "/api/1.0/task/{id}/archive",
            get(tasks::archive).delete(tasks::purge),
        )
        .route("/api/1.0/task/{id}/files", get(files::root))
        .route("/api/1.0/task/{id}/files/", get(files::root))
        .route("/api/1.0/task/{id}/files/{*path}", get(files::get))
        .route(
            "/api/1.0/archive/{days}",
            get(tasks::archive_old).delete(tasks::purge_old),
        )
        .route("/api/1.0/user", get(users::list))
        .route(
            "/api/1.0/user/{login}",
            get(users::show).put(users::update).delete(users::delete),
        )
        .route(
            "/api/1.0/project",
            get(projects::list).post(projects::create),
        )
        .route(
            "/api/1.0/project/{id}",
            get(projects::show)
                .post(projects::update)
                .delete(projects::delete),
        )
        .route("/api/1.0/project/{id}/usage", get(projects::usage))
        .route(
            "/api/1.0/project/{id}/quota",
            axum::routing::delete(projects::reset_usage),
        )
        .route("/api/1.0/user/{login}/apikey", post(users::renew_apikey))
        .route("/api/1.0/user/{login}/password", post(users::set_password))
        .route("/api/1.0/user/{login}/project", get(users::projects))
        .route("/api/1.0/user/{login}/usage", get(users::usage))
        .route(
            "/api/1.0/user/{login}/task",
            axum::routing::delete(users::kill_all),
        )
        .route("/api/1.0/events", get(events::follow))
        .route("/auth/oidc/login", get(guests::login))
        .route("/auth/oidc/callback", get(guests::callback))
        .route("/", get(public::home))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such route")
}
