//! Logging in (with a password, whatever `auth_policy` checks it, or with an API key; guests
//! through the OpenID Connect provider) and out. The service's own login check
//! (`god_server::api::public::check_login`) decides, rate limits included.

use super::{local_next, render, Chrome};
use crate::error::WebError;
use crate::session::AnySession;
use crate::WebState;
use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use god_core::api::LoginRequest;
use god_server::{auth, web_session};
use serde::Deserialize;
use std::net::SocketAddr;

/// The cookie that ties a login form to the browser that loaded it (no login CSRF: another
/// site cannot log a browser into someone else's account).
const NONCE_COOKIE: &str = "god_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    nonce: String,
    user: String,
    method: String,
    error: Option<String>,
    guests: bool,
}

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: String,
}

fn page_with(state: &WebState, next: &str, form: Option<(&LoginForm, String)>) -> Response {
    let nonce = auth::new_apikey();
    let (user, method, error) = match form {
        Some((f, e)) => (f.user.clone(), f.method.clone(), Some(e)),
        None => (String::new(), "password".into(), None),
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = LoginPage {
        chrome: Chrome::anonymous("Log in"),
        next: local_next(next).to_string(),
        nonce: nonce.clone(),
        user,
        method,
        error,
        guests: state.app.auth.oidc.is_some(),
    };
    let cookie =
        format!("{NONCE_COOKIE}={nonce}; Path=/app/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    match render(&page) {
        Ok(r) => (status, [(header::SET_COOKIE, cookie)], r).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /app/login?next=…`.
pub async fn page(State(state): State<WebState>, Query(q): Query<Next>) -> Response {
    page_with(&state, &q.next, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    user: String,
    secret: String,
    /// `password` or `apikey`.
    method: String,
    #[serde(default)]
    next: String,
    nonce: String,
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `POST /app/login`: a session, then the page asked for.
pub async fn submit(
    State(state): State<WebState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let browser_nonce = cookie_value(&headers, NONCE_COOKIE).unwrap_or_default();
    if form.nonce.is_empty() || !auth::same_hash(&browser_nonce, &form.nonce) {
        let why = "this login form has expired or did not come from this site: try again";
        return page_with(&state, &form.next, Some((&form, why.into())));
    }
    let secret = (!form.secret.is_empty()).then(|| form.secret.clone());
    let request = match form.method.as_str() {
        "apikey" => LoginRequest {
            user: form.user.clone(),
            apikey: secret,
            password: None,
        },
        _ => LoginRequest {
            user: form.user.clone(),
            apikey: None,
            password: secret,
        },
    };
    let user =
        match god_server::api::public::check_login(&state.app, &request, Some(addr.ip())).await {
            Ok(u) => u,
            Err(e) => return page_with(&state, &form.next, Some((&form, e.error))),
        };
    match web_session::open(&state.app, &user).await {
        Ok(opened) => (
            [(header::SET_COOKIE, opened.set_cookie)],
            Redirect::to(local_next(&form.next)),
        )
            .into_response(),
        Err(e) => WebError::Api(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /app/logout`: the session ends here and in every live stream of this process.
pub async fn logout(
    State(state): State<WebState>,
    AnySession(session): AnySession,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    if let Some(s) = session {
        if !auth::same_hash(&form.csrf, &s.csrf) {
            return Err(WebError::Csrf);
        }
        web_session::end(&state.app, &s.id_hash).await?;
        let _ = state.ended.send(s.id_hash);
    }
    Ok((
        [(header::SET_COOKIE, web_session::clear_cookie())],
        Redirect::to("/app/login"),
    )
        .into_response())
}
