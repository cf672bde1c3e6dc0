//! Browser sessions of the web UI: a random id in an `HttpOnly` cookie, its SHA-256 in the
//! database (`god_store::SessionStore`), so any API process serves it. A session holds
//! `session_timeout` seconds after its last use and carries the CSRF token its forms must send.
//! Unlike API tokens, a session does not end when the user renews their API key (the web
//! profile renews it); it ends at logout, at expiry, or when the account is disabled.

use crate::error::ApiError;
use crate::state::AppState;
use axum::http::HeaderMap;
use god_store::{UserRecord, WebSession};

/// The session cookie's name.
pub const COOKIE: &str = "god_session";

/// How often a session's expiry is moved forward as it is used (one write per minute at most;
/// more often for short `session_timeout`s, a tenth of it, so that a session in use holds).
const TOUCH_EVERY: f64 = 60.0;

fn touch_every(session_timeout: u64) -> f64 {
    TOUCH_EVERY.min(session_timeout as f64 / 10.0)
}

/// A session just opened: the cookie to set, and the session.
pub struct Opened {
    pub set_cookie: String,
    pub session: WebSession,
}

/// Open a session for `user`, who has just proved who they are.
pub async fn open(state: &AppState, user: &UserRecord) -> Result<Opened, ApiError> {
    let id = crate::auth::new_secret();
    let now = crate::clock::now();
    let timeout = state.config.session_timeout as f64;
    let session = WebSession {
        id_hash: crate::auth::hash_apikey(&id),
        login: user.login.clone(),
        csrf: crate::auth::new_apikey(),
        created: now,
        last_seen: now,
        expires: now + timeout,
    };
    state.store.create_session(&session).await?;
    Ok(Opened {
        set_cookie: cookie(&id, state.config.session_timeout),
        session,
    })
}

/// `Set-Cookie` for a session id: for the whole site (the OpenID Connect callback sets it
/// too), never readable by scripts, not sent by other sites' forms. The web UI sends it again
/// as the session is used, with the seconds it has left, so that the browser keeps it as long
/// as the server does.
pub fn cookie(id: &str, max_age: u64) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The session id the browser sent, if any.
pub fn id_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == COOKIE && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// The session the browser's cookie names, if it still holds (its expiry moved forward when it
/// was last moved more than a minute ago, or a tenth of `session_timeout`).
pub async fn find(state: &AppState, headers: &HeaderMap) -> Result<Option<WebSession>, ApiError> {
    let Some(id) = id_from(headers) else {
        return Ok(None);
    };
    let id_hash = crate::auth::hash_apikey(&id);
    let Some(mut session) = state.store.get_session(&id_hash).await? else {
        return Ok(None);
    };
    let now = crate::clock::now();
    if session.expires <= now {
        state.store.delete_session(&id_hash).await?;
        return Ok(None);
    }
    if now - session.last_seen >= touch_every(state.config.session_timeout) {
        session.last_seen = now;
        session.expires = now + state.config.session_timeout as f64;
        state
            .store
            .touch_session(&id_hash, session.last_seen, session.expires)
            .await?;
    }
    Ok(Some(session))
}

/// Whether the session of `id_hash` still holds now (read again from the database).
pub async fn holds(state: &AppState, id_hash: &str) -> Result<Option<WebSession>, ApiError> {
    let now = crate::clock::now();
    Ok(state
        .store
        .get_session(id_hash)
        .await?
        .filter(|s| s.expires > now))
}

/// End a session (logout).
pub async fn end(state: &AppState, id_hash: &str) -> Result<(), ApiError> {
    state.store.delete_session(id_hash).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_session_in_use_is_moved_forward_well_before_it_expires() {
        assert_eq!(super::touch_every(172_800), 60.0);
        assert_eq!(super::touch_every(600), 60.0);
        assert_eq!(super::touch_every(60), 6.0);
    }
}
