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
use axum::response::Redirect;

pub use crate::html::{local_next, urlencode};

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
            banner: viewer.banner.clone(),
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

/// A rendered page (a template that cannot be drawn is the server's error).
pub fn render<T: askama::Template>(page: &T) -> Result<axum::response::Response, WebError> {
    Ok(crate::html::render(page)?)
}

/// `GET /app/`: the job list is home.
pub async fn home(_viewer: Viewer) -> Redirect {
    Redirect::to("/app/jobs")
}
