//! Who may see or touch what: the administrator, the owner, and (with `share_project_tasks`)
//! the other members of a job's project. The caller of a request ([`Caller`], the one place an
//! inactive guest is stopped), and every check the routes make of it, are here; the rules on
//! names and on the project `default` are `god_core::names`'.
//!
//! Another user's job, and a project the caller is not in, answer 404 as missing ones do.

use crate::error::ApiError;
use crate::feed::Visibility;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use god_core::config::Config;
use god_core::names;
use god_core::submit::Identity;
use god_core::{JobId, Task};
use god_store::{ProjectRecord, UserRecord};

/// Is `user` an administrator: flagged in the database, or named by the configuration's `admin`?
pub fn is_admin(config: &Config, user: &UserRecord) -> bool {
    user.admin || config.admin.iter().any(|a| a == &user.login)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
    pub admin: bool,
    /// When the caller's token expires (seconds since the epoch).
    pub expires: f64,
}

impl Caller {
    pub fn identity(&self) -> Identity {
        Identity {
            login: self.user.login.clone(),
            uid: self.user.uid,
            gid: self.user.gid,
            sgids: self.user.sgids.clone(),
            email: self.user.email.clone(),
            home: self.user.home.clone(),
            admin: self.admin,
            guest: self.user.guest.is_some(),
        }
    }

    pub fn login(&self) -> &str {
        &self.user.login
    }

    /// May this caller see and act on a job of `owner`?
    pub fn may_touch(&self, owner: &str) -> bool {
        self.admin || self.user.login == owner
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer <token> header")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("Authorization must be Bearer <token>"))?
            .trim();
        let claims =
            crate::auth::verify_token(state.secret.as_bytes(), token, crate::clock::now())?;
        let user = state
            .users
            .get(&state.store, &claims.sub)
            .await?
            .ok_or_else(|| ApiError::unauthorized("invalid token: unknown user"))?;
        if user.disabled {
            return Err(ApiError::unauthorized("this account is disabled"));
        }
        if user.key_version != claims.kv {
            return Err(ApiError::unauthorized(
                "token issued for an API key that was renewed: log in again",
            ));
        }
        if user.inactive_guest() {
            // A guest waiting for an administrator may read their own account, nothing else.
            let own = format!("/api/1.0/user/{}", user.login);
            if !(parts.method == axum::http::Method::GET && parts.uri.path() == own) {
                return Err(ApiError::forbidden(format!(
                    "guest account {} is waiting for an administrator to activate it",
                    user.login
                )));
            }
        }
        admit(state, user, claims.exp)
    }
}

/// The caller a request is made by, once `user` is known to be who they say (an account that
/// is not disabled): counted against their request rate.
fn admit(state: &AppState, user: UserRecord, expires: f64) -> Result<Caller, ApiError> {
    if let Err(wait) = state.limiter.take(&user.login) {
        return Err(ApiError::too_many(
            format!("too many requests from {}: slow down", user.login),
            Some(wait.ceil().max(1.0) as u64),
        ));
    }
    let admin = is_admin(&state.config, &user);
    Ok(Caller {
        user,
        admin,
        expires,
    })
}

/// The caller of a web UI request made with `session` (see `crate::web_session`). A guest who
/// is not active yet is let through: the web UI shows them only that they wait (and logout).
pub async fn session_caller(
    state: &AppState,
    session: &god_store::WebSession,
) -> Result<Caller, ApiError> {
    let user = state
        .users
        .get(&state.store, &session.login)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    if user.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    admit(state, user, session.expires)
}

/// Administrators only.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("administrators only"))
    }
}

/// The account of `login`: its owner and administrators.
pub fn self_or_admin(caller: &Caller, login: &str) -> Result<(), ApiError> {
    if caller.may_touch(login) {
        Ok(())
    } else {
        Err(ApiError::forbidden("you may only see your own account"))
    }
}

/// Parse a path's job id, with a clear error.
pub fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse::<u64>()
        .map(JobId)
        .map_err(|_| ApiError::bad_request(format!("{raw:?} is not a job id")).field("id"))
}

/// The job, if the caller may see it. Someone else's job looks like a missing one.
pub async fn visible_job(state: &AppState, caller: &Caller, raw: &str) -> Result<Task, ApiError> {
    let id = job_id(raw)?;
    match state.store.get_job(id).await? {
        Some(t) if caller.may_touch(&t.user.id) => Ok(t),
        Some(t) if shares_project(state, caller, &t.user.project).await? => Ok(t),
        _ => Err(ApiError::not_found(format!("job {id} does not exist"))),
    }
}

/// With `share_project_tasks`, members of a project see and manage each other's jobs in it.
pub async fn shares_project(
    state: &AppState,
    caller: &Caller,
    project: &str,
) -> Result<bool, ApiError> {
    if !names::shares_tasks(state.config.share_project_tasks, project) {
        return Ok(false);
    }
    Ok(state
        .store
        .get_project(project)
        .await?
        .is_some_and(|p| p.members.iter().any(|m| m == caller.login())))
}

/// The project, if the caller may see it (administrators and members; `default`: everybody).
pub async fn visible_project(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<ProjectRecord, ApiError> {
    if names::is_default_project(id) {
        return Ok(ProjectRecord::default_project());
    }
    match state.store.get_project(id).await? {
        Some(p) if caller.admin || names::is_member(id, &p.members, caller.login()) => Ok(p),
        _ => Err(ApiError::not_found(format!("project {id} does not exist"))),
    }
}

/// The project a job is submitted to, when the caller may submit to it: `None` for `default`.
/// To anyone but an administrator, a project that does not exist and one they are not in look
/// the same: submission does not tell which projects exist.
pub async fn submission_project(
    state: &AppState,
    caller: &Caller,
    project: &str,
) -> Result<Option<ProjectRecord>, ApiError> {
    if names::is_default_project(project) {
        return Ok(None);
    }
    let not_member = || {
        ApiError::forbidden(format!(
            "{} is not a member of project {project}",
            caller.login()
        ))
        .field("user.project")
    };
    match state.store.get_project(project).await? {
        Some(p) if caller.admin || names::is_member(project, &p.members, caller.login()) => {
            Ok(Some(p))
        }
        Some(_) => Err(not_member()),
        None if caller.admin => Err(ApiError::bad_request(format!(
            "project {project} does not exist"
        ))
        .field("user.project")),
        None => Err(not_member()),
    }
}

/// What `caller` may see of the change log (projects read now; again at each re-check).
pub async fn visibility(state: &AppState, caller: &Caller) -> Result<Visibility, ApiError> {
    let mut view = Visibility {
        login: caller.login().to_string(),
        admin: caller.admin,
        ..Default::default()
    };
    if !caller.admin {
        for p in state.store.list_projects().await? {
            if p.members.iter().any(|m| m == caller.login()) {
                if names::shares_tasks(state.config.share_project_tasks, &p.id) {
                    view.shared.insert(p.id.clone());
                }
                view.member_of.insert(p.id);
            }
        }
    }
    Ok(view)
}

/// The projects whose jobs `caller` sees besides their own: those they are a member of whose
/// members see each other's jobs (`share_project_tasks`; never `default`). A listing of "my
/// jobs and my projects' jobs" is `god_store::JobScope::UserAndProjects` with these.
pub async fn shared_projects(state: &AppState, caller: &Caller) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for p in state.store.list_projects().await? {
        if names::shares_tasks(state.config.share_project_tasks, &p.id)
            && p.members.iter().any(|m| m == caller.login())
        {
            out.push(p.id);
        }
    }
    Ok(out)
}
