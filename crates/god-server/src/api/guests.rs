//! Guests' logins through the OpenID Connect provider (`guest_allow`, reference 5.4):
//! `GET /auth/oidc/login` sends the browser to the provider; the provider sends it back to
//! `GET /auth/oidc/callback`, which creates the guest's account on their first visit
//! (inactive until an administrator activates it) and answers with a session token, as JSON
//! when asked for (`Accept: application/json`), else as a page.

use super::public::session;
use crate::auth::guest;
use crate::auth::oidc::OidcError;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use god_core::api::public::GuestLoginAnswer;
use serde::Deserialize;

fn provider(state: &AppState) -> Result<&crate::auth::oidc::OidcLogin, ApiError> {
    state
        .auth
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("guest logins are not enabled here (guest_allow)"))
}

/// This server's address as the provider sends people back to it (`oidc.redirect_url`
/// without its path).
fn server_url(oidc: &crate::auth::oidc::OidcLogin) -> String {
    let redirect = oidc.guests.oidc.redirect_url.as_str();
    redirect
        .strip_suffix("/auth/oidc/callback")
        .unwrap_or(redirect)
        .to_string()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The cookie that ties a login to the browser that began it (no login CSRF).
const STATE_COOKIE: &str = "god_oidc_state";

/// `GET /auth/oidc/login`: 303 to the provider's login page.
pub async fn login(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (url, login_state) = provider(&state)?.start().await?;
    let cookie = format!(
        "{STATE_COOKIE}={login_state}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600"
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response())
}

/// The login state this browser began, from its cookie.
fn browser_state(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == STATE_COOKIE)
        .map(|(_, v)| v.to_string())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/callback?code=…&state=…`: finish the login.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let oidc = provider(&state)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()).field("query"))?;
    if let Some(err) = q.error {
        let detail = q.error_description.unwrap_or_default();
        return Err(ApiError::unauthorized(format!(
            "the identity provider refused the login: {err} {detail}"
        )));
    }
    let code = q
        .code
        .ok_or_else(|| ApiError::bad_request("missing").field("code"))?;
    let login_state = q
        .state
        .ok_or_else(|| ApiError::bad_request("missing").field("state"))?;
    if browser_state(&headers).as_deref() != Some(login_state.as_str()) {
        return Err(ApiError::bad_request(
            "this login was not begun by this browser (cookie god_oidc_state): start again",
        )
        .field("state"));
    }
    let who = oidc
        .finish(&code, &login_state)
        .await
        .map_err(|e| match e {
            OidcError::UnknownLogin => ApiError::bad_request(e.to_string()).field("state"),
            OidcError::Refused(_) => ApiError::unauthorized(e.to_string()),
            OidcError::Unavailable(a) => a.into(),
        })?;
    let user = guest::provision(&state.store, &oidc.guests, &who).await?;
    if user.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    let active = !user.inactive_guest();
    let (token, expires) = session(&state, &user)?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(Json(GuestLoginAnswer {
            token,
            expires,
            user: user.login,
            active,
        })
        .into_response());
    }
    if state.web_ui {
        // The browser goes on in the web UI, logged in (an inactive guest is told to wait
        // there); the command line's session is on its profile page.
        let opened = crate::web_session::open(&state, &user).await?;
        return Ok((
            [(header::SET_COOKIE, opened.set_cookie)],
            Redirect::to("/app/"),
        )
            .into_response());
    }
    // Logins and tokens are made of [A-Za-z0-9._-]: nothing to escape but the configured URL.
    let cli = format!(
        "god login --server {} --user {} --token {token}",
        html_escape(&server_url(oidc)),
        user.login
    );
    let body = if active {
        format!(
            "<!doctype html><title>Go-Docker</title><h1>Welcome, {login}</h1>\
             <p>To use the command line with this session (valid until {expires:.0}, seconds \
             since 1970):</p><pre>{cli}</pre><p>then <code>god account renew-key</code> gives \
             you an API key for scripts and for <code>godlogin</code>.</p>",
            login = user.login
        )
    } else {
        format!(
            "<!doctype html><title>Go-Docker</title><h1>Hello, {login}</h1>\
             <p>Your guest account is waiting for an administrator to activate it. \
             Come back and log in again once they have.</p>",
            login = user.login
        )
    };
    Ok((StatusCode::OK, Html(body)).into_response())
}
