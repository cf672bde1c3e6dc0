//! `/app/me`: the viewer's account. Who they are to the jobs (uid, gid, groups, home), their
//! projects, the SSH public key, a new API key (shown once: keys are stored hashed), and how to
//! use it from the command line (`god login`, godocker-cli's `~/.godocker_auth`).

use super::{render, Chrome};
use crate::error::WebError;
use crate::session::Viewer;
use crate::WebState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use god_core::api::users::{CredentialsUpdate, UserDoc, UserUpdate};
use god_server::api::body::JsonBody;
use god_server::api::users;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    chrome: Chrome,
    user: UserDoc,
    projects: Vec<String>,
    /// A key just issued (this page is the only time it is shown).
    new_key: Option<String>,
    server: String,
    csrf: String,
}

impl MePage {
    /// godocker-cli's `~/.godocker_auth`, with the new key when there is one.
    fn godocker_auth(&self) -> String {
        let v = serde_json::json!({
            "user": self.user.id,
            "apikey": self.new_key.clone().unwrap_or_else(|| "<your API key>".into()),
            "server": self.server,
            "noCert": false,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Our CLI's login line.
    fn god_login(&self) -> String {
        format!(
            "god login --server {} --user {} --apikey {}",
            self.server,
            self.user.id,
            self.new_key.as_deref().unwrap_or("<your API key>")
        )
    }
}

/// This server's address as the browser reached it.
pub fn server_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6543");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn page(
    viewer: &Viewer,
    state: &WebState,
    headers: &HeaderMap,
    new_key: Option<String>,
) -> Result<Response, WebError> {
    let app = &state.app;
    let login = viewer.login().to_string();
    let axum::Json(user) = users::show(
        viewer.caller.clone(),
        State(app.clone()),
        Path(login.clone()),
    )
    .await?;
    let axum::Json(projects) =
        users::projects(viewer.caller.clone(), State(app.clone()), Path(login)).await?;
    render(&MePage {
        chrome: Chrome::new(viewer, "Your account", "me"),
        user,
        projects: projects.into_iter().map(|p| p.id).collect(),
        new_key,
        server: server_url(headers),
        csrf: viewer.session.csrf.clone(),
    })
}

/// `GET /app/me`.
pub async fn show(
    viewer: Viewer,
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    page(&viewer, &state, &headers, None).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /app/me/apikey`: a new API key, shown on the page that answers (and never again);
/// the old key and the API tokens made with it stop working. This browser session goes on.
pub async fn renew_key(
    viewer: Viewer,
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let axum::Json(answer) = users::renew_apikey(
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(viewer.login().to_string()),
    )
    .await?;
    page(&viewer, &state, &headers, Some(answer.apikey)).await
}

#[derive(Deserialize)]
pub struct KeyForm {
    csrf: String,
    public_key: String,
}

/// `POST /app/me/sshkey`: set (or, empty, remove) the SSH public key.
pub async fn set_ssh_key(
    viewer: Viewer,
    State(state): State<WebState>,
    Form(form): Form<KeyForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let key = form.public_key.trim().to_string();
    let update = UserUpdate {
        credentials: Some(CredentialsUpdate {
            apikey: None,
            public: Some((!key.is_empty()).then_some(key)),
        }),
        ..Default::default()
    };
    let _saved = users::update(
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(viewer.login().to_string()),
        JsonBody(update),
    )
    .await?;
    Ok(Redirect::to("/app/me").into_response())
}
