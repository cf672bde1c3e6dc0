//! Routes without a token: authentication and the public configuration.

use crate::auth::{issue_token, Caller, Claims};
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Html;
use axum::Json;
use bytes::Bytes;
use god_store::UserRecord;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Login {
    user: String,
    #[serde(default)]
    apikey: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /api/1.0/authenticate` with `{user, apikey}` (checked against our database, whatever
/// the policy) or `{user, password}` (checked by the `auth_policy`) → `{token, expires}`.
/// A directory user's first password login creates their account. Failed logins are rate
/// limited per login and per client address (429 with `Retry-After`, credentials unchecked).
pub async fn authenticate(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let login: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"user\": ..., \"apikey\": ...}} or {{\"user\": ..., \"password\": ...}}: {e}"
        ))
        .field("body")
    })?;
    if login.user.is_empty() || login.user.len() > 256 {
        return Err(ApiError::bad_request("user: 1 to 256 characters").field("user"));
    }
    let addr = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let auth = &state.auth;
    if let Err(wait) = auth.limiter.check(&login.user, addr) {
        return Err(ApiError::too_many(
            format!("too many failed logins: try again in {wait} s"),
            Some(wait),
        ));
    }
    let (found, by_password) = match (&login.apikey, &login.password) {
        (Some(key), None) => (auth.policy.bind_api(&login.user, key).await?, false),
        (None, Some(pw)) => (auth.policy.bind_credentials(&login.user, pw).await?, true),
        (Some(_), Some(_)) => {
            return Err(
                ApiError::bad_request("give either apikey or password, not both").field("body"),
            )
        }
        (None, None) => {
            return Err(ApiError::bad_request("apikey or password is required").field("apikey"))
        }
    };
    let Some(found) = found else {
        auth.limiter.failed(&login.user, addr);
        tracing::info!(
            "failed login of {:?} from {}",
            login.user,
            addr.map(|a| a.to_string()).unwrap_or_else(|| "?".into())
        );
        return Err(ApiError::unauthorized(if by_password {
            "wrong user or password"
        } else {
            "wrong user or API key"
        }));
    };
    let user = if by_password && auth.policy.provisions_users() {
        crate::accounts::provision(&state.store, &found).await?
    } else {
        state
            .store
            .get_user(&found.login)
            .await?
            .ok_or_else(|| ApiError::unauthorized("wrong user or API key"))?
    };
    if user.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    auth.limiter.succeeded(&login.user);
    let (token, expires) = session(&state, &user)?;
    Ok(Json(json!({ "token": token, "expires": expires })))
}

/// A session token for `user` (who has just proved who they are) and when it expires.
pub(crate) fn session(state: &AppState, user: &UserRecord) -> Result<(String, f64), ApiError> {
    state.users.forget(&user.login);
    let claims = Claims {
        sub: user.login.clone(),
        exp: now() + state.config.token_ttl as f64,
        kv: user.key_version,
    };
    Ok((issue_token(state.secret.as_bytes(), &claims)?, claims.exp))
}

/// `GET /api/1.0/config`: what clients need to build a job.
pub async fn config(State(state): State<AppState>) -> Json<Value> {
    let c = &state.config;
    let images: Vec<Value> = c
        .default_images
        .iter()
        .map(|i| json!({"name": i.name, "url": i.url, "interactive": i.interactive, "default": i.default}))
        .collect();
    let constraints: Vec<Value> = c
        .constraints
        .iter()
        .map(|k| {
            let values: Vec<&str> = k
                .value
                .split(',')
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .collect();
            json!({"name": k.name, "value": values})
        })
        .collect();
    let mut volumes: Vec<Value> = c
        .volumes
        .iter()
        .map(|v| json!({"name": v.name, "acl": v.acl, "mount": v.mount}))
        .collect();
    if !c.volumes.iter().any(|v| v.name == "home") {
        volumes.push(json!({"name": "home", "acl": "rw", "mount": "/mnt/home"}));
    }
    Json(json!({
        "images": images,
        "constraints": constraints,
        "volumes": volumes,
        "executor_features": crate::handles::executor_features(state.capabilities()),
        "executors": c.executors,
        "defaults_cpu": c.defaults_cpu,
        "defaults_ram": c.defaults_ram,
        "allow_root": c.allow_root,
        "allow_user_images": c.allow_user_images,
        "dynamic_fields": c.dynamic_fields.iter().map(|d| json!({"name": d.name, "admin_only": d.admin_only})).collect::<Vec<_>>(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /api/1.0/image`: images jobs have used.
pub async fn images(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.images().await?)))
}

/// `GET /`: where to go from here.
pub async fn home(State(state): State<AppState>) -> Html<String> {
    let guests = if state.config.guest_allow {
        "<p>No account here? <a href=\"/auth/oidc/login\">Log in as a guest</a> with your \
         identity provider; an administrator activates new guests.</p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><title>Go-Docker</title><h1>Go-Docker</h1>\
         <p>REST API under <code>/api/1.0/</code>. Use the <code>god</code> command line \
         (<code>god login</code>, <code>god submit</code>, <code>god list</code>) or the \
         <code>godocker-cli</code> client.</p>{guests}"
    ))
}
