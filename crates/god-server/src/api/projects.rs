//! Project routes (reference 7.1): administrators create and change projects; members see them.

use super::tasks::require_admin;
use super::users::per_day;
use crate::auth::Caller;
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use god_store::{Limits, ProjectRecord};
use serde_json::{json, Value};

/// The project everybody is a member of.
pub const DEFAULT_PROJECT: &str = "default";

pub fn project_json(p: &ProjectRecord) -> Value {
    json!({
        "id": p.id,
        "description": p.description,
        "prio": p.limits.prio,
        "quota_cpu": p.limits.quota_cpu,
        "quota_ram": p.limits.quota_ram,
        "quota_time": p.limits.quota_time,
        "members": p.members,
        "volumes": p.volumes,
    })
}

pub fn default_project() -> ProjectRecord {
    ProjectRecord {
        id: DEFAULT_PROJECT.into(),
        description: "default project".into(),
        ..Default::default()
    }
}

fn number(v: &Value, field: &str, min: f64, max: f64) -> Result<Option<f64>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => match x.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Ok(Some(n)),
            _ => Err(
                ApiError::bad_request(format!("{x} is not a number between {min} and {max}"))
                    .field(field),
            ),
        },
    }
}

/// Read a project body onto `p` (fields absent keep their value).
fn read_project(body: &[u8], p: &mut ProjectRecord) -> Result<(), ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("not valid JSON: {e}")).field("body"))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("expected a project object").field("body"));
    }
    if let Some(d) = v.get("description") {
        p.description = d
            .as_str()
            .ok_or_else(|| ApiError::bad_request("must be a string").field("description"))?
            .to_string();
    }
    if let Some(n) = number(&v, "prio", 0.0, 100.0)? {
        p.limits.prio = n as u32;
    }
    for (field, slot) in [
        ("quota_cpu", &mut p.limits.quota_cpu),
        ("quota_ram", &mut p.limits.quota_ram),
        ("quota_time", &mut p.limits.quota_time),
    ] {
        if let Some(n) = number(&v, field, 0.0, 1e15)? {
            *slot = n;
        }
    }
    match v.get("members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            let mut members = Vec::new();
            for m in a {
                let m = m.as_str().ok_or_else(|| {
                    ApiError::bad_request("members must be logins").field("members")
                })?;
                if !m.is_empty() && !members.iter().any(|x: &String| x == m) {
                    members.push(m.to_string());
                }
            }
            p.members = members;
        }
        Some(Value::String(s)) => {
            p.members = s
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
        }
        Some(_) => {
            return Err(ApiError::bad_request("members must be a list of logins").field("members"))
        }
    }
    match v.get("volumes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for (i, vol) in a.iter().enumerate() {
                let path = vol.get("path").and_then(|p| p.as_str()).unwrap_or("");
                let name = vol.get("name").and_then(|p| p.as_str()).unwrap_or("");
                if name.is_empty() || !path.starts_with('/') || path.split('/').any(|s| s == "..") {
                    return Err(ApiError::bad_request(
                        "a volume needs a name and an absolute path",
                    )
                    .field(format!("volumes[{i}]")));
                }
            }
            p.volumes = a.clone();
        }
        Some(_) => return Err(ApiError::bad_request("volumes must be a list").field("volumes")),
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

fn body(b: Result<Bytes, axum::extract::rejection::BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| ApiError::new(e.status(), e.body_text()).field("body"))
}

/// `GET /api/1.0/project` (admins).
pub async fn list(caller: Caller, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let mut out = vec![project_json(&default_project())];
    out.extend(state.store.list_projects().await?.iter().map(project_json));
    Ok(Json(json!(out)))
}

/// `POST /api/1.0/project` (admins): create.
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    b: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let b = body(b)?;
    let v: Value = serde_json::from_slice(&b)
        .map_err(|e| ApiError::bad_request(format!("not valid JSON: {e}")).field("body"))?;
    let id = v
        .get("id")
        .and_then(|i| i.as_str())
        .unwrap_or("")
        .trim()
        .to_string();
    if !crate::accounts::valid_login(&id) {
        return Err(ApiError::bad_request(format!("{id:?} is not a valid project id")).field("id"));
    }
    if id == DEFAULT_PROJECT || state.store.get_project(&id).await?.is_some() {
        return Err(ApiError::conflict(format!("project {id} already exists")).field("id"));
    }
    let mut p = ProjectRecord {
        id: id.clone(),
        limits: Limits::default(),
        ..Default::default()
    };
    read_project(&b, &mut p)?;
    check_members(&state, &p.members).await?;
    state.store.put_project(&p).await?;
    Ok(Json(json!({ "msg": "project created", "id": id })))
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<ProjectRecord, ApiError> {
    if id == DEFAULT_PROJECT {
        return Ok(default_project());
    }
    match state.store.get_project(id).await? {
        Some(p) if caller.admin || p.members.iter().any(|m| m == caller.login()) => Ok(p),
        _ => Err(ApiError::not_found(format!("project {id} does not exist"))),
    }
}

/// `GET /api/1.0/project/<id>` (admins and members).
pub async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(project_json(&visible(&state, &caller, &id).await?)))
}

/// `POST /api/1.0/project/<id>` (admins): update with the full project.
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    b: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    if id == DEFAULT_PROJECT {
        return Err(ApiError::forbidden("the default project cannot be changed").field("id"));
    }
    let b = body(b)?;
    let mut p = state
        .store
        .get_project(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {id} does not exist")))?;
    let before = p.members.clone();
    read_project(&b, &mut p)?;
    let added: Vec<String> = p
        .members
        .iter()
        .filter(|m| !before.contains(m))
        .cloned()
        .collect();
    check_members(&state, &added).await?;
    state.store.put_project(&p).await?;
    Ok(Json(json!({ "msg": "project updated", "id": id })))
}

/// `DELETE /api/1.0/project/<id>` (admins).
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    if id == DEFAULT_PROJECT {
        return Err(ApiError::forbidden("the default project cannot be deleted").field("id"));
    }
    if state.store.get_project(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("project {id} does not exist")));
    }
    state.store.delete_project(&id).await?;
    Ok(Json(json!({ "msg": "project deleted", "id": id })))
}

/// `GET /api/1.0/project/<id>/usage` (admins and members): per-day usage of the last 30 days.
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    visible(&state, &caller, &id).await?;
    let records = state.store.usage_since(now() - 30.0 * 86_400.0).await?;
    Ok(Json(per_day(records.iter().filter(|r| r.project == id))))
}

/// `DELETE /api/1.0/project/<id>/quota` (admins): forget the project's usage.
pub async fn reset_usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    if id != DEFAULT_PROJECT && state.store.get_project(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("project {id} does not exist")));
    }
    state.store.reset_project_usage(&id).await?;
    Ok(Json(json!({ "msg": "project usage reset", "id": id })))
}
