//! Routes without a token: authentication and the public configuration.

use super::body::JsonBody;
use crate::access::Caller;
use crate::auth::{issue_token, Claims};
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Html;
use axum::Json;
use god_core::api::public::{
    ConfigAnswer, ConstraintEntry, DynamicFieldEntry, ExecutorEntry, ImageEntry, VolumeEntry,
};
use god_core::api::{LoginRequest, TokenAnswer};
use god_store::UserRecord;

/// `POST /api/1.0/authenticate` with `{user, apikey}` (checked against our database, whatever
/// the policy) or `{user, password}` (checked by the `auth_policy`) → `{token, expires}`.
/// A directory user's first password login creates their account. Failed logins are rate
/// limited per login and per client address (429 with `Retry-After`, credentials unchecked).
pub async fn authenticate(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    JsonBody(login): JsonBody<LoginRequest>,
) -> Result<Json<TokenAnswer>, ApiError> {
    let addr = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let user = check_login(&state, &login, addr).await?;
    let (token, expires) = session(&state, &user)?;
    Ok(Json(TokenAnswer { token, expires }))
}

/// Who `login` proves to be (an API key checked against our database whatever the policy, or a
/// password checked by the `auth_policy`; a directory user's first password login creates
/// their account), from the client at `addr`. Failed logins are rate limited per login and per
/// address (429, credentials unchecked); a disabled account is refused. The API's
/// `authenticate` and the web UI's login both log in through here.
pub async fn check_login(
    state: &AppState,
    login: &LoginRequest,
    addr: Option<std::net::IpAddr>,
) -> Result<UserRecord, ApiError> {
    if login.user.is_empty() || login.user.len() > 256 {
        return Err(ApiError::bad_request("user: 1 to 256 characters").field("user"));
    }
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
    Ok(user)
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
pub async fn config(State(state): State<AppState>) -> Json<ConfigAnswer> {
    let c = &state.config;
    let images = c
        .default_images
        .iter()
        .map(|i| ImageEntry {
            name: i.name.clone(),
            url: i.url.clone(),
            interactive: i.interactive,
            default: i.default,
        })
        .collect();
    let constraints = c
        .constraints
        .iter()
        .map(|k| ConstraintEntry {
            name: k.name.clone(),
            value: k
                .value
                .split(',')
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect(),
        })
        .collect();
    let mut volumes: Vec<VolumeEntry> = c
        .volumes
        .iter()
        .map(|v| VolumeEntry {
            name: v.name.clone(),
            acl: v.acl.clone(),
            mount: v.mount.clone(),
        })
        .collect();
    if !c.volumes.iter().any(|v| v.name == "home") {
        volumes.push(VolumeEntry {
            name: "home".into(),
            acl: "rw".into(),
            mount: Some("/mnt/home".into()),
        });
    }
    Json(ConfigAnswer {
        images,
        constraints,
        volumes,
        executor_features: crate::handles::executor_features(state.capabilities())
            .into_iter()
            .map(String::from)
            .collect(),
        executors: state
            .executors()
            .iter()
            .map(|(name, caps)| ExecutorEntry {
                name: name.clone(),
                features: crate::handles::executor_features(*caps)
                    .into_iter()
                    .map(String::from)
                    .collect(),
            })
            .collect(),
        defaults_cpu: c.defaults_cpu,
        defaults_ram: c.defaults_ram,
        allow_root: c.allow_root,
        allow_user_images: c.allow_user_images,
        dynamic_fields: c
            .dynamic_fields
            .iter()
            .map(|d| DynamicFieldEntry {
                name: d.name.clone(),
                admin_only: d.admin_only,
            })
            .collect(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /api/1.0/image`: images jobs have used.
pub async fn images(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(state.store.images().await?))
}

/// `GET /`: where to go from here.
pub async fn home(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.web_ui {
        return axum::response::Redirect::to("/app/").into_response();
    }
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
    .into_response()
}
