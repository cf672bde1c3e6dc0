//! The pages. Each handler reads who is looking ([`crate::session::Viewer`]), calls the
//! service's own handler (`god_server::api`) or store, and renders a template of `templates/`.

pub mod admin;
pub mod job;
pub mod jobs;
pub mod login;
pub mod me;
pub mod submit;
pub mod usage;

use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

/// What every page's frame shows: who is logged in, the navigation, the assets, the banner.
pub struct Chrome {
    pub title: String,
    pub login: String,
    pub admin: bool,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// The navigation entry of this page.
    pub tab: &'static str,
    pub css: String,
    pub js: String,
    /// Shown on top of every page (maintenance mode).
    pub banner: Option<String>,
}

impl Chrome {
    pub fn new(viewer: &Viewer, title: impl Into<String>, tab: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            login: viewer.login().to_string(),
            admin: viewer.caller.admin,
            csrf: viewer.session.csrf.clone(),
            tab,
            css: crate::assets::url("app.css"),
            js: crate::assets::url("app.js"),
            banner: None,
        }
    }

    /// A frame for pages shown before anyone is logged in.
    pub fn anonymous(title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            login: String::new(),
            admin: false,
            csrf: String::new(),
            tab: "",
            css: crate::assets::url("app.css"),
            js: crate::assets::url("app.js"),
            banner: None,
        }
    }
}

/// A rendered page.
pub fn render<T: Template>(page: &T) -> Result<Response, WebError> {
    let html = page.render()?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// `GET /app/`: the job list is home.
pub async fn home(_viewer: Viewer) -> Redirect {
    Redirect::to("/app/jobs")
}

/// Percent-encode a query value (RFC 3986 unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after a login: only a page of this UI (no open redirect).
pub fn local_next(next: &str) -> &str {
    if next.starts_with("/app/") && !next.starts_with("/app//") && !next.contains('\\') {
        next
    } else {
        "/app/"
    }
}
