//! User routes. Full profiles, projects and quotas come with the authentication policies; these
//! give existing clients the shape they read.

use super::body::JsonBody;
use super::projects::project_doc;
use super::query::{given, Params};
use crate::access::{is_admin, require_admin, self_or_admin, Caller};
use crate::auth::{hash_apikey, new_apikey};
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use crate::usage::{quota_answer, usage_answer};
use axum::extract::{Path, State};
use axum::Json;
use god_core::api::tasks::TagQuery;
use god_core::api::users::{
    ApiKeyAnswer, LimitsUpdate, PasswordAnswer, PasswordRequest, UserCredentials, UserLimits,
};
use god_core::api::{
    CountAnswer, MsgAnswer, ProjectDoc, QuotaAnswer, UsageDay, UsageQuery, UserDoc, UserUpdate,
};
use god_core::audit::{self, AuditAction};
use god_core::roles::UserRequest;
use god_core::Primary;
use god_store::{JobQuery, Limits, ProjectRecord, UsageOwner, UserRecord};

fn user_doc(u: &UserRecord, admin: bool) -> UserDoc {
    UserDoc {
        id: u.login.clone(),
        uid: u.uid,
        gid: u.gid,
        sgids: u.sgids.clone(),
        email: u.email.clone(),
        home_directory: u.home.clone(),
        admin,
        disabled: u.disabled,
        guest: u.guest.is_some(),
        active: !u.inactive_guest(),
        // API keys are stored hashed: they are shown once, when issued.
        credentials: UserCredentials {
            apikey: None,
            public: u.public_key.clone(),
        },
        usage: UserLimits {
            prio: u.limits.prio,
            quota_cpu: u.limits.quota_cpu,
            quota_ram: u.limits.quota_ram,
            quota_time: u.limits.quota_time,
            guest_home: None,
        },
    }
}

/// A guest's home's bytes, for an administrator (`None` for others, and for users who are not
/// guests or have no home).
async fn guest_home(state: &AppState, caller: &Caller, u: &UserRecord) -> Option<u64> {
    if !caller.admin || u.guest.is_none() {
        return None;
    }
    let home = u.home.as_deref().filter(|h| !h.is_empty())?;
    state.homes.bytes(std::path::Path::new(home)).await
}

/// `GET /api/1.0/user` (admins): with each guest's home's bytes (`usage.guest_home`).
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<UserDoc>>, ApiError> {
    require_admin(&caller)?;
    let users = state.store.list_users().await?;
    // Homes are measured side by side (each walk is bounded, and kept for a minute).
    let homes =
        futures_util::future::join_all(users.iter().map(|u| guest_home(&state, &caller, u))).await;
    Ok(Json(
        users
            .iter()
            .zip(homes)
            .map(|(u, home)| {
                let mut doc = user_doc(u, is_admin(&state.config, u));
                doc.usage.guest_home = home;
                doc
            })
            .collect(),
    ))
}

/// `GET /api/1.0/user/<login>`.
pub async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<UserDoc>, ApiError> {
    self_or_admin(&caller, &login)?;
    let u = state
        .store
        .get_user(&login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {login} does not exist")))?;
    let mut doc = user_doc(&u, is_admin(&state.config, &u));
    doc.usage.guest_home = guest_home(&state, &caller, &u).await;
    Ok(Json(doc))
}

/// `POST /api/1.0/user/<login>/apikey`: a new API key, returned once; older tokens stop working.
pub async fn renew_apikey(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<ApiKeyAnswer>, ApiError> {
    self_or_admin(&caller, &login)?;
    let key = new_apikey();
    state.store.set_apikey(&login, &hash_apikey(&key)).await?;
    state.users.forget(&login);
    if audit::acts_on_another(caller.admin, caller.login(), &login) {
        crate::audit::record_after(
            &state,
            caller.login(),
            AuditAction::ApikeyRenewed,
            &login,
            "",
        )
        .await;
    }
    Ok(Json(ApiKeyAnswer {
        id: login,
        apikey: key,
    }))
}

/// `GET /api/1.0/user/<login>/project`: `default` and the projects the user is a member of.
pub async fn projects(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Vec<ProjectDoc>>, ApiError> {
    self_or_admin(&caller, &login)?;
    let mut out = vec![project_doc(&ProjectRecord::default_project())];
    for p in state.store.list_projects().await? {
        if p.members.iter().any(|m| m == &login) {
            out.push(project_doc(&p));
        }
    }
    Ok(Json(out))
}

/// `GET /api/1.0/user/<login>/usage`: per-day `{date: "Y_M_D", cpu, ram, time}` of the runs
/// that ended in the last 30 days (cpu and ram are summed per run, as the original; time is wall
/// seconds); `?days=N`: every day of the last N, with hours and the runs by outcome.
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    Params(q): Params<UsageQuery>,
) -> Result<Json<Vec<UsageDay>>, ApiError> {
    self_or_admin(&caller, &login)?;
    Ok(Json(
        usage_answer(&state, UsageOwner::User(login), &q).await?,
    ))
}

/// `GET /api/1.0/user/<login>/quota`: the user's quotas and each of their projects', and what
/// is used of each now (running jobs' cpus and GB, wall seconds in the usage window).
pub async fn quota(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<QuotaAnswer>, ApiError> {
    self_or_admin(&caller, &login)?;
    Ok(Json(quota_answer(&state, &login).await?))
}

/// `PUT /api/1.0/user/<login>` with the user document: administrators change `usage` (priority
/// and quotas), `admin`, `disabled` and a guest's `active`; a user changes their own
/// `credentials.public` and `email`. The identity fields are read and ignored.
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    JsonBody(v): JsonBody<UserUpdate>,
) -> Result<Json<UserDoc>, ApiError> {
    self_or_admin(&caller, &login)?;
    let mut u = state
        .store
        .get_user(&login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {login} does not exist")))?;
    let before = account_state(&u);
    if let Some(usage) = &v.usage {
        update_limits(&caller, &mut u.limits, usage)?;
    }
    for (field, flag, wanted) in [
        ("admin", &mut u.admin, v.admin),
        ("disabled", &mut u.disabled, v.disabled),
    ] {
        if let Some(b) = wanted.filter(|b| b != flag) {
            if !caller.admin {
                return Err(
                    ApiError::forbidden(format!("only administrators change {field}")).field(field),
                );
            }
            *flag = b;
        }
    }
    if let Some(b) = v.active {
        match u.guest.as_mut() {
            Some(g) if g.active != b => {
                if !caller.admin {
                    return Err(
                        ApiError::forbidden("only administrators activate guests").field("active")
                    );
                }
                g.active = b;
                tracing::info!(
                    "guest {login} {} by {}",
                    if b { "activated" } else { "deactivated" },
                    caller.login()
                );
            }
            Some(_) => {}
            None if b => {}
            None => {
                return Err(ApiError::bad_request(
                    "only guests are activated or deactivated: use disabled",
                )
                .field("active"))
            }
        }
    }
    if let Some(public) = v.credentials.and_then(|c| c.public) {
        match public {
            None => u.public_key = None,
            Some(k) if k.len() <= 16_384 && !k.contains('\0') => {
                u.public_key = Some(k.trim().to_string()).filter(|k| !k.is_empty())
            }
            Some(_) => {
                return Err(
                    ApiError::bad_request("must be an SSH public key").field("credentials.public")
                )
            }
        }
    }
    match v.email {
        None => {}
        Some(None) => u.email = None,
        Some(Some(e)) if e.len() <= 320 => u.email = Some(e),
        Some(Some(_)) => {
            return Err(ApiError::bad_request("must be an e-mail address").field("email"))
        }
    }
    state.store.update_user(&u).await?;
    state.users.forget(&login);
    for (action, detail) in audit::account_changes(&before, &account_state(&u)) {
        crate::audit::record_after(&state, caller.login(), action, &login, detail).await;
    }
    Ok(Json(user_doc(&u, is_admin(&state.config, &u))))
}

/// What the audit log compares of an account.
fn account_state(u: &UserRecord) -> audit::AccountState {
    audit::AccountState {
        prio: u.limits.prio,
        quota_cpu: u.limits.quota_cpu,
        quota_ram: u.limits.quota_ram,
        quota_time: u.limits.quota_time,
        admin: u.admin,
        disabled: u.disabled,
        guest_active: u.guest.as_ref().map(|g| g.active),
    }
}

/// Apply `usage` of a user update: a change of priority or quota is for administrators.
fn update_limits(
    caller: &Caller,
    limits: &mut Limits,
    usage: &LimitsUpdate,
) -> Result<(), ApiError> {
    let wanted = [
        ("prio", usage.prio, f64::from(limits.prio), 100.0),
        ("quota_cpu", usage.quota_cpu, limits.quota_cpu, 1e9),
        ("quota_ram", usage.quota_ram, limits.quota_ram, 1e12),
        ("quota_time", usage.quota_time, limits.quota_time, 1e15),
    ];
    if !wanted
        .iter()
        .any(|(_, new, old, _)| new.is_some_and(|n| n != *old))
    {
        return Ok(());
    }
    if !caller.admin {
        return Err(
            ApiError::forbidden("only administrators change priorities and quotas").field("usage"),
        );
    }
    let mut checked = [0.0; 4];
    for (i, (key, new, old, max)) in wanted.into_iter().enumerate() {
        let n = new.unwrap_or(old);
        if !(n.is_finite() && (0.0..=max).contains(&n)) {
            return Err(
                ApiError::bad_request(format!("{n} is not a number between 0 and {max}"))
                    .field(format!("usage.{key}")),
            );
        }
        checked[i] = n;
    }
    let [prio, cpu, ram, time] = checked;
    limits.prio = prio as u32;
    (limits.quota_cpu, limits.quota_ram, limits.quota_time) = (cpu, ram, time);
    Ok(())
}

/// `DELETE /api/1.0/user/<login>` (admins): forget the user (their jobs stay).
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<MsgAnswer<String>>, ApiError> {
    require_admin(&caller)?;
    if login == caller.login() {
        return Err(ApiError::conflict("you cannot delete your own account").field("login"));
    }
    state.store.delete_user(&login).await?;
    state.users.forget(&login);
    crate::audit::record_after(&state, caller.login(), AuditAction::UserDeleted, &login, "").await;
    Ok(Json(MsgAnswer::new("user deleted", login)))
}

/// `DELETE /api/1.0/user/<login>/task[?tag=]`: kill all the user's active jobs.
pub async fn kill_all(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    Params(q): Params<TagQuery>,
) -> Result<Json<CountAnswer>, ApiError> {
    self_or_admin(&caller, &login)?;
    let query = JobQuery {
        user: Some(login.clone()),
        states: vec![Primary::Pending, Primary::Running],
        ..Default::default()
    };
    let tag = given(&q.tag);
    let mut killed = Vec::new();
    for j in state.store.list_jobs(&query).await? {
        if tag.is_some_and(|t| !j.meta.tags.iter().any(|x| x == t)) {
            continue;
        }
        let done = if j.is_array_parent() {
            state.store.kill_array(j.id, now()).await.is_ok()
        } else {
            state
                .store
                .transition(j.id, &UserRequest::Kill.into(), now())
                .await
                .is_ok()
        };
        if done {
            killed.push(j.id.0);
        }
    }
    state.wake.watcher.notify_one();
    let n = killed.len() as u64;
    if n > 0 && audit::acts_on_another(caller.admin, caller.login(), &login) {
        let mut detail = audit::jobs_detail(&killed);
        if let Some(t) = tag {
            detail.push_str(&format!(" (tag {t})"));
        }
        crate::audit::record_after(
            &state,
            caller.login(),
            AuditAction::JobKilled,
            &login,
            detail,
        )
        .await;
    }
    Ok(Json(CountAnswer {
        msg: format!("kill requested for {n} jobs"),
        count: n,
    }))
}

/// `POST /api/1.0/user/<login>/password {password}`: the user or an administrator sets the local
/// password (policy `local`). Existing tokens and the API key stay valid.
pub async fn set_password(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    JsonBody(req): JsonBody<PasswordRequest>,
) -> Result<Json<PasswordAnswer>, ApiError> {
    if !caller.may_touch(&login) {
        return Err(ApiError::forbidden(
            "you may only set your own password (administrators: anybody's)",
        ));
    }
    let policy = &state.auth.policy;
    if !policy.manages_passwords() {
        return Err(ApiError::conflict(format!(
            "auth_policy is {}: passwords are checked by the {} directory, not set here",
            policy.name(),
            policy.name()
        )));
    }
    // A rule broken: 400 naming `password`; no such user: 404; hashing failed: 500.
    crate::accounts::set_password(&state.store, &login, &req.password).await?;
    state.users.forget(&login);
    if audit::acts_on_another(caller.admin, caller.login(), &login) {
        crate::audit::record_after(&state, caller.login(), AuditAction::PasswordSet, &login, "")
            .await;
    }
    Ok(Json(PasswordAnswer {
        id: login,
        password: "set".into(),
    }))
}
