//! User routes. Full profiles, projects and quotas come with the authentication policies; these
//! give existing clients the shape they read.

use super::tasks::require_admin;
use crate::auth::{hash_apikey, new_apikey, Caller};
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use god_core::transition::Event;
use god_core::Primary;
use god_store::{JobQuery, UserRecord};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

fn user_json(u: &UserRecord, admin: bool) -> Value {
    json!({
        "id": u.login,
        "uid": u.uid,
        "gid": u.gid,
        "sgids": u.sgids,
        "email": u.email,
        "homeDirectory": u.home,
        "admin": admin,
        "disabled": u.disabled,
        // API keys are stored hashed: they are shown once, when issued.
        "credentials": { "apikey": null, "public": u.public_key },
        "usage": { "prio": 50, "quota_cpu": 0, "quota_ram": 0, "quota_time": 0 },
    })
}

fn self_or_admin(caller: &Caller, login: &str) -> Result<(), ApiError> {
    if caller.admin || caller.login() == login {
        Ok(())
    } else {
        Err(ApiError::forbidden("you may only see your own account"))
    }
}

fn is_admin(state: &AppState, u: &UserRecord) -> bool {
    u.admin || state.config.admin.iter().any(|a| a == &u.login)
}

/// `GET /api/1.0/user` (admins).
pub async fn list(caller: Caller, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let users = state.store.list_users().await?;
    Ok(Json(json!(users
        .iter()
        .map(|u| user_json(u, is_admin(&state, u)))
        .collect::<Vec<_>>())))
}

/// `GET /api/1.0/user/<login>`.
pub async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let u = state
        .store
        .get_user(&login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {login} does not exist")))?;
    Ok(Json(user_json(&u, is_admin(&state, &u))))
}

/// `POST /api/1.0/user/<login>/apikey`: a new API key, returned once; older tokens stop working.
pub async fn renew_apikey(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let key = new_apikey();
    state.store.set_apikey(&login, &hash_apikey(&key)).await?;
    state.users.forget(&login);
    Ok(Json(json!({ "id": login, "apikey": key })))
}

/// `GET /api/1.0/user/<login>/project`: everybody is in `default`.
pub async fn projects(caller: Caller, Path(login): Path<String>) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    Ok(Json(json!([{
        "id": "default", "description": "default project", "prio": 50,
        "quota_cpu": 0, "quota_ram": 0, "quota_time": 0, "members": [login], "volumes": []
    }])))
}

/// `GET /api/1.0/user/<login>/usage`: per-day `{date: "Y_M_D", cpu, ram, time}` of finished jobs
/// (last 30 days).
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let q = JobQuery {
        user: Some(login),
        states: vec![Primary::Over, Primary::Archived],
        ..Default::default()
    };
    let since = now() - 30.0 * 86_400.0;
    let mut days: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for j in state.store.list_jobs(&q).await? {
        let Some(over) = j.status.date_over.filter(|d| *d >= since) else {
            continue;
        };
        let day = (over / 86_400.0).floor() as i64;
        let e = days.entry(day).or_default();
        e.0 += f64::from(j.requirements.cpu);
        e.1 += j.requirements.ram;
        e.2 += j.status.duration.unwrap_or(0.0);
    }
    let out: Vec<Value> = days
        .into_iter()
        .rev()
        .map(|(day, (cpu, ram, time))| json!({"date": civil_date(day), "cpu": cpu, "ram": ram, "time": time}))
        .collect();
    Ok(Json(json!(out)))
}

/// `Y_M_D` (no zero padding, as the original) of a day number since the epoch.
fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y}_{m}_{d}")
}

/// `DELETE /api/1.0/user/<login>/task[?tag=]`: kill all the user's active jobs.
pub async fn kill_all(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let query = JobQuery {
        user: Some(login),
        states: vec![Primary::Pending, Primary::Running],
        ..Default::default()
    };
    let tag = q.get("tag");
    let mut n = 0;
    for j in state.store.list_jobs(&query).await? {
        if tag.is_some_and(|t| !j.meta.tags.contains(t)) {
            continue;
        }
        if state
            .store
            .transition(j.id, &Event::KillRequested, now())
            .await
            .is_ok()
        {
            n += 1;
        }
    }
    state.wake.watcher.notify_one();
    Ok(Json(
        json!({ "msg": format!("kill requested for {n} jobs"), "count": n }),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970_1_1");
        assert_eq!(super::civil_date(17_233), "2017_3_8");
    }
}
