//! Who is looking at a page: [`Viewer`], from the session cookie (`god_server::web_session`), the
//! same `Caller` the API's handlers take; and the CSRF token every form must carry.

use crate::error::WebError;
use crate::WebState;
use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use god_server::access::{session_caller, Caller};
use god_store::WebSession;
use std::sync::{Arc, Mutex};

/// The expiry of the session a request was served with, for [`keep_cookie`] (set by the
/// [`Viewer`] extractor).
#[derive(Clone, Default)]
pub struct SessionKept(Arc<Mutex<Option<f64>>>);

impl SessionKept {
    fn set(&self, expires: f64) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(expires);
        }
    }

    fn take(&self) -> Option<f64> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// Middleware: a response to a request made with a session that holds sends its cookie again
/// with the seconds the session has left (its expiry moves as it is used; the cookie's set at
/// login would else end it in the browser `session_timeout` after the login).
pub async fn keep_cookie(mut request: Request, next: Next) -> Response {
    let kept = SessionKept::default();
    request.extensions_mut().insert(kept.clone());
    let id = god_server::web_session::id_from(request.headers());
    let mut response = next.run(request).await;
    if let (Some(id), Some(expires)) = (id, kept.take()) {
        let left = (expires - god_server::clock::now()).ceil();
        if left >= 1.0 && !response.headers().contains_key(header::SET_COOKIE) {
            let cookie = god_server::web_session::cookie(&id, left as u64);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
    }
    response
}

/// The logged-in, active user of a page.
pub struct Viewer {
    pub caller: Caller,
    pub session: WebSession,
    /// What every page says on top: maintenance mode, when it is on.
    pub banner: Option<String>,
}

/// The banner of maintenance mode `m`, when it is on.
pub fn banner(m: &god_store::Maintenance) -> Option<String> {
    m.on.then(|| match &m.message {
        Some(msg) if !msg.is_empty() => format!("Maintenance: no job starts for now ({msg})."),
        _ => "Maintenance: no job starts for now; running jobs go on.".to_string(),
    })
}

impl Viewer {
    /// A form's `csrf` field must be this session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if god_server::auth::same_hash(sent, &self.session.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    pub fn login(&self) -> &str {
        self.caller.login()
    }
}

/// A session, whatever its account's state (for logging out).
pub struct AnySession(pub Option<WebSession>);

impl FromRequestParts<WebState> for AnySession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        Ok(AnySession(
            god_server::web_session::find(&state.app, &parts.headers).await?,
        ))
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/app/".into());
        let Some(session) = god_server::web_session::find(&state.app, &parts.headers).await? else {
            return Err(WebError::LoginNeeded { next });
        };
        let caller = match session_caller(&state.app, &session).await {
            Ok(c) => c,
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                god_server::web_session::end(&state.app, &session.id_hash).await?;
                return Err(WebError::LoginNeeded { next });
            }
            Err(e) => return Err(e.into()),
        };
        // The session holds: its cookie is sent again with the response.
        if let Some(kept) = parts.extensions.get::<SessionKept>() {
            kept.set(session.expires);
        }
        if caller.user.inactive_guest() {
            return Err(WebError::WaitingGuest {
                login: caller.user.login,
                csrf: session.csrf,
            });
        }
        let banner = banner(&state.app.store.maintenance().await?);
        Ok(Viewer {
            caller,
            session,
            banner,
        })
    }
}

/// Administrators only: every admin page and action checks it on the server.
pub fn require_admin(viewer: &Viewer) -> Result<(), WebError> {
    god_server::access::require_admin(&viewer.caller).map_err(WebError::Api)
}
