//! Maintenance mode (`GET|PUT /api/1.0/maintenance`) and the audit log (`GET /api/1.0/audit`).

use super::body::JsonBody;
use super::query::{given, Params};
use crate::access::{require_admin, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use god_core::api::{AuditAnswer, AuditEntryDoc, AuditQuery, MaintenanceDoc, MaintenanceUpdate};
use god_core::audit::AuditAction;
use god_store::{AuditFilter, Maintenance};

/// Entries of the audit log one request reads by default, and at most.
const AUDIT_DEFAULT: u64 = 100;
const AUDIT_MAX: u64 = 1000;

fn maintenance_doc(m: Maintenance) -> MaintenanceDoc {
    MaintenanceDoc {
        on: m.on,
        message: m.message,
        by: m.by,
        at: m.at,
    }
}

/// `GET /api/1.0/maintenance`: any authenticated user (the web UI shows a banner).
pub async fn show(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<MaintenanceDoc>, ApiError> {
    Ok(Json(maintenance_doc(state.store.maintenance().await?)))
}

/// `PUT /api/1.0/maintenance {on, message}` (administrators): while on, the scheduler starts no
/// job. The switch is audited and in the change log in its own transaction; the scheduler is
/// woken to say so to pending jobs (or start them again).
pub async fn set(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<MaintenanceUpdate>,
) -> Result<Json<MaintenanceDoc>, ApiError> {
    let m = crate::maintenance::switch(&state, &caller, req.on, req.message.as_deref()).await?;
    Ok(Json(maintenance_doc(m)))
}

/// `GET /api/1.0/audit?actor=&target=&action=&before=&limit=` (administrators): newest first.
pub async fn audit(
    caller: Caller,
    State(state): State<AppState>,
    Params(q): Params<AuditQuery>,
) -> Result<Json<AuditAnswer>, ApiError> {
    require_admin(&caller)?;
    let action = match given(&q.action) {
        None => None,
        Some(code) => Some(AuditAction::parse(code).ok_or_else(|| {
            let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            ApiError::bad_request(format!(
                "{code:?} is not an audited action: one of {}",
                known.join(", ")
            ))
            .field("action")
        })?),
    };
    let limit = q.limit.unwrap_or(AUDIT_DEFAULT);
    if !(1..=AUDIT_MAX).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("limit must be between 1 and {AUDIT_MAX}"))
                .field("limit"),
        );
    }
    // One more than asked: whether there is a next page.
    let mut records = state
        .store
        .audit_log(&AuditFilter {
            actor: given(&q.actor).map(String::from),
            target: given(&q.target).map(String::from),
            action,
            before: q.before,
            limit: limit + 1,
        })
        .await?;
    let more = records.len() as u64 > limit;
    records.truncate(limit as usize);
    let next = if more {
        records.last().map(|r| r.id)
    } else {
        None
    };
    let entries = records
        .into_iter()
        .map(|r| AuditEntryDoc {
            id: r.id,
            at: r.entry.at,
            actor: r.entry.actor,
            action: r.entry.action.as_str().to_string(),
            target: r.entry.target,
            detail: r.entry.detail,
        })
        .collect();
    Ok(Json(AuditAnswer { entries, next }))
}
