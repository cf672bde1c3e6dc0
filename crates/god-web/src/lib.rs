//! The web UI of Go-Docker: server-rendered pages under `/app/`, served by `god up` itself.
//!
//! Pages are a second face over the service's own handlers: a form calls the same function the
//! REST API's route calls (`god_server::api`), so validation, rights and words are the API's.
//! Every page works without JavaScript (links and forms); with it, one server-sent event
//! stream per tab (`/app/events`) keeps the page live. Assets are embedded and served with a
//! strict Content-Security-Policy (no inline script or style, nothing from elsewhere).

pub mod assets;
pub mod chart;
pub mod error;
pub mod filter;
pub mod html;
pub mod live;
pub mod pages;
pub mod session;
pub mod terminal;
pub mod view;

use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use god_server::state::AppState;
use tokio::sync::broadcast;

pub use error::WebError;

/// What the UI's handlers share: the API's state, and the sessions that ended in this process
/// (their live streams close at once).
#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    pub ended: broadcast::Sender<String>,
    /// Terminals open on each job.
    pub terminals: std::sync::Arc<terminal::OpenTerminals>,
}

/// The UI's routes, on the API's state (`god_server::Options::web`).
pub fn router(app: AppState) -> Router {
    let (ended, _) = broadcast::channel(256);
    let state = WebState {
        app,
        ended,
        terminals: Default::default(),
    };
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(pages::home))
        .route(
            "/app/login",
            get(pages::login::page).post(pages::login::submit),
        )
        .route("/app/logout", post(pages::login::logout))
        .route("/app/static/{name}", get(assets::serve))
        .route("/app/jobs", get(pages::jobs::list))
        .route("/app/jobs/bulk", post(pages::jobs::bulk))
        .route("/app/jobs/{id}", get(pages::job::page))
        .route("/app/jobs/{id}/act", post(pages::job::act))
        .route("/app/jobs/{id}/set", post(pages::job::set_requirement))
        .route("/app/jobs/{id}/files", get(pages::job::files_root))
        .route("/app/jobs/{id}/terminal", get(terminal::open))
        .route("/app/jobs/{id}/files/{*path}", get(pages::job::files))
        .route(
            "/app/submit",
            get(pages::submit::form).post(pages::submit::send),
        )
        .route("/app/me", get(pages::me::show))
        .route("/app/me/apikey", post(pages::me::renew_key))
        .route("/app/me/sshkey", post(pages::me::set_ssh_key))
        .route("/app/usage", get(pages::usage::show))
        .route("/app/usage.csv", get(pages::usage::csv))
        .route("/app/admin/users", get(pages::admin::users_page))
        .route("/app/admin/users/{login}", post(pages::admin::update_user))
        .route(
            "/app/admin/projects",
            get(pages::admin::projects_page).post(pages::admin::create_project),
        )
        .route(
            "/app/admin/projects/{id}",
            post(pages::admin::update_project),
        )
        .route(
            "/app/admin/projects/{id}/act",
            post(pages::admin::project_action),
        )
        .route("/app/admin/nodes", get(pages::admin::nodes_page))
        .route("/app/admin/queue", get(pages::admin::queue_page))
        .route("/app/admin/system", get(pages::admin::system_page))
        .route(
            "/app/admin/maintenance",
            post(pages::admin::switch_maintenance),
        )
        .route("/app/admin/audit", get(pages::admin::audit_page))
        .route("/app/events", get(live::events))
        .layer(middleware::from_fn(session::keep_cookie))
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// The Content-Security-Policy of every page: nothing but this site's own files, no inline
/// script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                       data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                       form-action 'self'";

/// [`CSP`], but for `<style>` elements that carry `nonce` (one per response): the terminal's
/// xterm.js draws its theme and cell sizes with `<style>` elements it makes, which app.js
/// stamps with the page's nonce. Inline `style` attributes and every other inline style stay
/// refused.
pub fn csp_with_style_nonce(nonce: &str) -> String {
    CSP.replace(
        "style-src 'self'",
        &format!("style-src 'self' 'nonce-{nonce}'"),
    )
}

async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // A page may have set its own, stricter or with its nonce (`csp_with_style_nonce`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
