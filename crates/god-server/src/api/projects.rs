//! Project routes (reference 7.1): administrators create and change projects; members see them.

use super::body::JsonBody;
use super::query::Params;
use crate::access::{require_admin, visible_project, Caller};
use crate::audit::record_after;
use crate::error::ApiError;
use crate::state::AppState;
use crate::usage::usage_answer;
use axum::extract::{Path, State};
use axum::Json;
use god_core::api::{MsgAnswer, ProjectDoc, ProjectUpdate, UsageDay, UsageQuery};
use god_core::audit::{self, AuditAction};
use god_core::names::{check_project_action, is_default_project, ProjectAction, ProjectRefusal};
use god_store::{Limits, ProjectRecord, UsageOwner};

pub fn project_doc(p: &ProjectRecord) -> ProjectDoc {
    ProjectDoc {
        id: p.id.clone(),
        description: p.description.clone(),
        prio: p.limits.prio,
        quota_cpu: p.limits.quota_cpu,
        quota_ram: p.limits.quota_ram,
        quota_time: p.limits.quota_time,
        members: p.members.clone(),
        volumes: p.volumes.clone(),
    }
}

/// May `action` be done to the project `id` (existence aside)?
fn may(id: &str, action: ProjectAction) -> Result<(), ApiError> {
    check_project_action(id, action).map_err(|r| match r {
        ProjectRefusal::Invalid(f) => ApiError::bad_request(f.message).field(f.field),
        ProjectRefusal::Exists(f) => ApiError::conflict(f.message).field(f.field),
        ProjectRefusal::Forbidden(f) => ApiError::forbidden(f.message).field(f.field),
    })
}

/// A project that must exist (administrators' routes: no need to hide which do).
async fn existing(state: &AppState, id: &str) -> Result<ProjectRecord, ApiError> {
    state
        .store
        .get_project(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {id} does not exist")))
}

fn number(v: Option<f64>, field: &str, max: f64) -> Result<Option<f64>, ApiError> {
    match v {
        Some(n) if !(n.is_finite() && (0.0..=max).contains(&n)) => Err(ApiError::bad_request(
            format!("{n} is not a number between 0 and {max}"),
        )
        .field(field)),
        other => Ok(other),
    }
}

/// Apply a project body to `p` (fields absent or `null` keep their value).
fn read_project(v: ProjectUpdate, p: &mut ProjectRecord) -> Result<(), ApiError> {
    if let Some(d) = v.description {
        p.description = d;
    }
    if let Some(n) = number(v.prio, "prio", 100.0)? {
        p.limits.prio = n as u32;
    }
    for (field, value, slot) in [
        ("quota_cpu", v.quota_cpu, &mut p.limits.quota_cpu),
        ("quota_ram", v.quota_ram, &mut p.limits.quota_ram),
        ("quota_time", v.quota_time, &mut p.limits.quota_time),
    ] {
        if let Some(n) = number(value, field, 1e15)? {
            *slot = n;
        }
    }
    if let Some(m) = v.members {
        p.members = m.logins();
    }
    if let Some(mut volumes) = v.volumes {
        for (i, vol) in volumes.iter_mut().enumerate() {
            // Without an access mode, read-only.
            if vol.acl.is_empty() {
                vol.acl = "ro".into();
            }
            vol.check().map_err(|e| {
                ApiError::bad_request(e.message).field(format!("volumes[{i}].{}", e.field))
            })?;
        }
        p.volumes = volumes;
    }
    Ok(())
}

/// Every member must be someone: an account of ours, or a login the authentication policy
/// knows (a directory user who has not logged in yet).
async fn check_members(state: &AppState, members: &[String]) -> Result<(), ApiError> {
    for m in members {
        if state.store.get_user(m).await?.is_none()
            && state.auth.policy.get_user(m).await?.is_none()
        {
            return Err(ApiError::bad_request(format!("{m:?} is not a user")).field("members"));
        }
    }
    Ok(())
}

/// `GET /api/1.0/project` (admins).
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<ProjectDoc>>, ApiError> {
    require_admin(&caller)?;
    let mut out = vec![project_doc(&ProjectRecord::default_project())];
    out.extend(state.store.list_projects().await?.iter().map(project_doc));
    Ok(Json(out))
}

/// `POST /api/1.0/project` (admins): create.
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(v): JsonBody<ProjectUpdate>,
) -> Result<Json<MsgAnswer<String>>, ApiError> {
    require_admin(&caller)?;
    let id = v.id.as_deref().unwrap_or("").trim().to_string();
    may(&id, ProjectAction::Create)?;
    if state.store.get_project(&id).await?.is_some() {
        return Err(ApiError::conflict(format!("project {id} already exists")).field("id"));
    }
    let mut p = ProjectRecord {
        id: id.clone(),
        limits: Limits::default(),
        ..Default::default()
    };
    read_project(v, &mut p)?;
    check_members(&state, &p.members).await?;
    state.store.put_project(&p).await?;
    let mut detail = p.description.clone();
    if !p.members.is_empty() {
        detail = format!("{detail} (members {})", p.members.join(", "));
    }
    record_after(
        &state,
        caller.login(),
        AuditAction::ProjectCreated,
        &id,
        detail,
    )
    .await;
    Ok(Json(MsgAnswer::new("project created", id)))
}

/// `GET /api/1.0/project/<id>` (admins and members).
pub async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProjectDoc>, ApiError> {
    Ok(Json(project_doc(
        &visible_project(&state, &caller, &id).await?,
    )))
}

/// `POST /api/1.0/project/<id>` (admins): update with the full project.
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(v): JsonBody<ProjectUpdate>,
) -> Result<Json<MsgAnswer<String>>, ApiError> {
    require_admin(&caller)?;
    may(&id, ProjectAction::Change)?;
    let mut p = existing(&state, &id).await?;
    let before = project_state(&p);
    read_project(v, &mut p)?;
    let added: Vec<String> = p
        .members
        .iter()
        .filter(|m| !before.members.contains(m))
        .cloned()
        .collect();
    check_members(&state, &added).await?;
    state.store.put_project(&p).await?;
    for (action, detail) in audit::project_changes(&before, &project_state(&p)) {
        record_after(&state, caller.login(), action, &id, detail).await;
    }
    Ok(Json(MsgAnswer::new("project updated", id)))
}

/// What the audit log compares of a project.
fn project_state(p: &ProjectRecord) -> audit::ProjectState {
    audit::ProjectState {
        description: p.description.clone(),
        prio: p.limits.prio,
        quota_cpu: p.limits.quota_cpu,
        quota_ram: p.limits.quota_ram,
        quota_time: p.limits.quota_time,
        members: p.members.clone(),
        volumes: p.volumes.clone(),
    }
}

/// `DELETE /api/1.0/project/<id>` (admins).
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MsgAnswer<String>>, ApiError> {
    require_admin(&caller)?;
    may(&id, ProjectAction::Delete)?;
    existing(&state, &id).await?;
    state.store.delete_project(&id).await?;
    record_after(&state, caller.login(), AuditAction::ProjectDeleted, &id, "").await;
    Ok(Json(MsgAnswer::new("project deleted", id)))
}

/// `GET /api/1.0/project/<id>/usage` (admins and members): per-day usage of the last 30 days
/// (`?days=N`: every day of the last N, with hours and the runs by outcome).
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(q): Params<UsageQuery>,
) -> Result<Json<Vec<UsageDay>>, ApiError> {
    visible_project(&state, &caller, &id).await?;
    Ok(Json(
        usage_answer(&state, UsageOwner::Project(id), &q).await?,
    ))
}

/// `DELETE /api/1.0/project/<id>/quota` (admins): forget the project's usage.
pub async fn reset_usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MsgAnswer<String>>, ApiError> {
    require_admin(&caller)?;
    if !is_default_project(&id) {
        existing(&state, &id).await?;
    }
    state.store.reset_project_usage(&id).await?;
    record_after(
        &state,
        caller.login(),
        AuditAction::ProjectUsageReset,
        &id,
        "",
    )
    .await;
    Ok(Json(MsgAnswer::new("project usage reset", id)))
}
