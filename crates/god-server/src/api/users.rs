//! User routes. Full profiles, projects and quotas come with the authentication policies; these
//! give existing clients the shape they read.

use super::projects::{default_project, project_json};
use super::tasks::require_admin;
use crate::auth::{hash_apikey, new_apikey, Caller};
use crate::clock::now;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use god_core::transition::Event;
use god_core::Primary;
use god_store::{JobQuery, UsageRecord, UserRecord};
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
        // Guests log in through the identity provider and run nothing until activated.
        "guest": u.guest.is_some(),
        "active": !u.inactive_guest(),
        // API keys are stored hashed: they are shown once, when issued.
        "credentials": { "apikey": null, "public": u.public_key },
        "usage": {
            "prio": u.limits.prio,
            "quota_cpu": u.limits.quota_cpu,
            "quota_ram": u.limits.quota_ram,
            "quota_time": u.limits.quota_time,
        },
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

/// `GET /api/1.0/user/<login>/project`: `default` and the projects the user is a member of.
pub async fn projects(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let mut out = vec![project_json(&default_project())];
    for p in state.store.list_projects().await? {
        if p.members.iter().any(|m| m == &login) {
            out.push(project_json(&p));
        }
    }
    Ok(Json(json!(out)))
}

/// `GET /api/1.0/user/<login>/usage`: per-day `{date: "Y_M_D", cpu, ram, time}` of the runs
/// that ended in the last 30 days (cpu and ram are summed per run, as the original; time is wall
/// seconds).
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let records = state.store.usage_since(now() - 30.0 * 86_400.0).await?;
    Ok(Json(per_day(records.iter().filter(|r| r.user == login))))
}

/// Group usage records by day, newest first.
pub fn per_day<'a>(records: impl Iterator<Item = &'a UsageRecord>) -> Value {
    let mut days: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for r in records {
        let e = days.entry((r.ended / 86_400.0).floor() as i64).or_default();
        e.0 += r.cpu;
        e.1 += r.ram;
        e.2 += r.wall_seconds;
    }
    let out: Vec<Value> = days
        .into_iter()
        .rev()
        .map(|(day, (cpu, ram, time))| json!({"date": civil_date(day), "cpu": cpu, "ram": ram, "time": time}))
        .collect();
    json!(out)
}

/// `PUT /api/1.0/user/<login>` with the user document: administrators change `usage` (priority
/// and quotas), `admin`, `disabled` and a guest's `active`; a user changes their own `credentials.public` and `email`.
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    self_or_admin(&caller, &login)?;
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()).field("body"))?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("not valid JSON: {e}")).field("body"))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("expected a user object").field("body"));
    }
    let mut u = state
        .store
        .get_user(&login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {login} does not exist")))?;
    let num = |path: &str, x: &Value, max: f64| -> Result<f64, ApiError> {
        x.as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && *n <= max)
            .ok_or_else(|| {
                ApiError::bad_request(format!("{x} is not a number between 0 and {max}"))
                    .field(path)
            })
    };
    if let Some(usage) = v.get("usage").filter(|x| x.is_object()) {
        let current = json!({"prio": u.limits.prio, "quota_cpu": u.limits.quota_cpu, "quota_ram": u.limits.quota_ram, "quota_time": u.limits.quota_time});
        let changes = ["prio", "quota_cpu", "quota_ram", "quota_time"]
            .iter()
            .any(|k| {
                usage
                    .get(*k)
                    .is_some_and(|x| x.as_f64() != current[*k].as_f64())
            });
        if changes {
            if !caller.admin {
                return Err(ApiError::forbidden(
                    "only administrators change priorities and quotas",
                )
                .field("usage"));
            }
            if let Some(x) = usage.get("prio") {
                u.limits.prio = num("usage.prio", x, 100.0)? as u32;
            }
            if let Some(x) = usage.get("quota_cpu") {
                u.limits.quota_cpu = num("usage.quota_cpu", x, 1e9)?;
            }
            if let Some(x) = usage.get("quota_ram") {
                u.limits.quota_ram = num("usage.quota_ram", x, 1e12)?;
            }
            if let Some(x) = usage.get("quota_time") {
                u.limits.quota_time = num("usage.quota_time", x, 1e15)?;
            }
        }
    }
    for (field, flag) in [("admin", &mut u.admin), ("disabled", &mut u.disabled)] {
        if let Some(x) = v.get(field) {
            let b = x
                .as_bool()
                .ok_or_else(|| ApiError::bad_request("must be true or false").field(field))?;
            if b != *flag {
                if !caller.admin {
                    return Err(
                        ApiError::forbidden(format!("only administrators change {field}"))
                            .field(field),
                    );
                }
                *flag = b;
            }
        }
    }
    if let Some(x) = v.get("active") {
        let b = x
            .as_bool()
            .ok_or_else(|| ApiError::bad_request("must be true or false").field("active"))?;
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
    if let Some(x) = v.get("credentials").and_then(|c| c.get("public")) {
        match x {
            Value::Null => u.public_key = None,
            Value::String(k) if k.len() <= 16_384 && !k.contains('\0') => {
                u.public_key = Some(k.trim().to_string()).filter(|k| !k.is_empty())
            }
            _ => {
                return Err(
                    ApiError::bad_request("must be an SSH public key").field("credentials.public")
                )
            }
        }
    }
    if let Some(x) = v.get("email") {
        match x {
            Value::Null => u.email = None,
            Value::String(e) if e.len() <= 320 => u.email = Some(e.clone()),
            _ => return Err(ApiError::bad_request("must be an e-mail address").field("email")),
        }
    }
    state.store.update_user(&u).await?;
    state.users.forget(&login);
    Ok(Json(user_json(&u, is_admin(&state, &u))))
}

/// `DELETE /api/1.0/user/<login>` (admins): forget the user (their jobs stay).
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    if login == caller.login() {
        return Err(ApiError::conflict("you cannot delete your own account").field("login"));
    }
    state.store.delete_user(&login).await?;
    state.users.forget(&login);
    Ok(Json(json!({ "msg": "user deleted", "id": login })))
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
        let killed = if j.is_array_parent() {
            state.store.kill_array(j.id, now()).await.is_ok()
        } else {
            state
                .store
                .transition(j.id, &Event::KillRequested, now())
                .await
                .is_ok()
        };
        if killed {
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
