//! Small helpers every page uses: a template rendered into an answer, query values encoded,
//! the pages a login may go back to. (A leaf: it names no other module of the crate.)

use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A rendered page.
pub fn render<T: Template>(page: &T) -> Result<Response, askama::Error> {
    let html = page.render()?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
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
