//! Why a page could not be shown, and the page that says so. The API's errors keep their
//! status and their words: the UI shows what the API would have answered.

use crate::pages::render;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use god_server::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No session, or it ended: to the login page, coming back to `next` afterwards.
    #[error("log in first")]
    LoginNeeded { next: String },
    /// A guest whose account an administrator has not activated yet.
    #[error("guest account {login} is waiting for an administrator to activate it")]
    WaitingGuest { login: String, csrf: String },
    /// A form without this session's token (an old page, or another site's form).
    #[error("this form has expired or did not come from this site: reload the page and try again")]
    Csrf,
    /// What the service answered (the same words as the API).
    #[error("{}", .0.error)]
    Api(ApiError),
    /// A page could not be rendered (a bug: the detail is in the server's log).
    #[error("the page could not be drawn")]
    Render(#[from] askama::Error),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

impl From<god_store::StoreError> for WebError {
    fn from(e: god_store::StoreError) -> Self {
        WebError::Api(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    css: String,
    title: String,
    status: u16,
    message: String,
}

#[derive(Template)]
#[template(path = "waiting.html")]
struct WaitingPage {
    css: String,
    login: String,
    csrf: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            WebError::LoginNeeded { next } => {
                let to = format!("/app/login?next={}", crate::pages::urlencode(next));
                return Redirect::to(&to).into_response();
            }
            WebError::WaitingGuest { login, csrf } => {
                let page = WaitingPage {
                    css: crate::assets::url("app.css"),
                    login: login.clone(),
                    csrf: csrf.clone(),
                };
                // Said kindly, with the status an API client expects of a waiting guest.
                return (StatusCode::FORBIDDEN, render(&page)).into_response();
            }
            WebError::Csrf => (StatusCode::FORBIDDEN, self.to_string()),
            WebError::Api(e) => (e.status, e.error.clone()),
            WebError::Render(e) => {
                tracing::error!("web page: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, self.to_string())
            }
        };
        let page = ErrorPage {
            css: crate::assets::url("app.css"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            message,
        };
        match page.render() {
            Ok(html) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(_) => (status, page.message).into_response(),
        }
    }
}
