//! Who is looking at a page: [`Viewer`], from the session cookie (`god_server::web_session`), the
//! same `Caller` the API's handlers take; and the CSRF token every form must carry.

use crate::error::WebError;
use crate::WebState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use god_server::access::{session_caller, Caller};
use god_store::WebSession;

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
