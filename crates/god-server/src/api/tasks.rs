//! Job routes: submit, list, show, and the requests users make on their jobs.

use super::body::{Body, JsonBody};
use super::query::{given, Params};
use crate::access::{submission_project, visible_job, visible_project, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use god_core::api::tasks::{DynamicUpdate, RequestAnswer, StatusAnswer, TagQuery};
use god_core::api::{CountAnswer, MsgAnswer};
use god_core::audit::{self, AuditAction};
use god_core::roles::UserRequest;
use god_core::schedule::{exceeds_alone, Limit, Reason};
use god_core::submit::{self, SubmitError};
use god_core::transition::Event;
use god_core::{JobId, Primary, Task};
use god_exec::jobdir;
use god_store::JobQuery;

fn submit_error(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Invalid(f) => ApiError::bad_request(f.message).field(f.field),
        SubmitError::Forbidden(f) => ApiError::forbidden(f.message).field(f.field),
    }
}

/// `POST /api/1.0/task` → `{msg, id}` once the job is durable.
pub async fn submit(
    caller: Caller,
    State(state): State<AppState>,
    Body(body): Body,
) -> Result<Json<MsgAnswer<JobId>>, ApiError> {
    let parsed = submit::parse(&body).map_err(submit_error)?;
    // A project's volumes are offered to its members, next to the configured ones.
    let project_volumes = project_volumes(&state, &caller, &parsed.user.project).await?;
    let config = if project_volumes.is_empty() {
        std::borrow::Cow::Borrowed(&*state.config)
    } else {
        let mut c = (*state.config).clone();
        c.volumes.extend(project_volumes);
        std::borrow::Cow::Owned(c)
    };
    let world = submit::World {
        now: state.clock.now(),
        path_exists: &|p| std::path::Path::new(p).exists(),
        node_gpus: state.nodes.get(&state.store).await?.max_gpus(),
    };
    let task =
        submit::validate(parsed, &caller.identity(), &config, &world).map_err(submit_error)?;
    check_project_and_quotas(&state, &caller, &task).await?;
    check_dependencies(&state, &caller, &task).await?;
    check_rate_limits(&state, &caller, &task).await?;
    let id = state.submit.submit(task).await?;
    state.wake.scheduler.notify_one();
    Ok(Json(MsgAnswer::new("Task added", id)))
}

/// Volumes of `project` the caller may mount (members and admins).
async fn project_volumes(
    state: &AppState,
    caller: &Caller,
    project: &str,
) -> Result<Vec<god_core::config::VolumeConfig>, ApiError> {
    let p = match visible_project(state, caller, project).await {
        Ok(p) => p,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(p.volumes
        .into_iter()
        .filter(|v| v.check().is_ok() && v.name != "home")
        .collect())
}

/// The caller may submit to the job's project, and the job alone exceeds no quota of theirs or
/// of the project's.
async fn check_project_and_quotas(
    state: &AppState,
    caller: &Caller,
    task: &Task,
) -> Result<(), ApiError> {
    let project = submission_project(state, caller, &task.user.project).await?;
    let r = &task.requirements;
    let project_quotas = project.map(|p| p.limits.quotas());
    match exceeds_alone(
        r.cpu,
        r.ram,
        &caller.user.limits.quotas(),
        project_quotas.as_ref(),
    ) {
        None => Ok(()),
        Some(reason) => {
            let field = match &reason {
                Reason::ExceedsQuota {
                    limit: Limit::Cpu, ..
                } => "requirements.cpu",
                _ => "requirements.ram",
            };
            Err(ApiError::bad_request(reason.to_string()).field(field))
        }
    }
}

async fn check_rate_limits(state: &AppState, caller: &Caller, task: &Task) -> Result<(), ApiError> {
    let adds = if task.is_array_parent() {
        task.requirements.array.nb_tasks
    } else {
        1
    };
    if let Some(limit) = state.config.rate_limit {
        let pending = state.store.count_pending(Some(caller.login())).await?;
        if pending + adds > limit {
            return Err(ApiError::too_many(
                format!(
                    "rate limit: {} has {pending} pending jobs, at most {limit} allowed",
                    caller.login()
                ),
                None,
            ));
        }
    }
    if let Some(limit) = state.config.rate_limit_all {
        let pending = state.store.count_pending(None).await?;
        if pending + adds > limit {
            return Err(ApiError::too_many(
                format!(
                    "rate limit: {pending} jobs pending on this server, at most {limit} allowed"
                ),
                None,
            ));
        }
    }
    Ok(())
}

async fn check_dependencies(
    state: &AppState,
    caller: &Caller,
    task: &Task,
) -> Result<(), ApiError> {
    for (i, dep) in task.requirements.tasks.iter().enumerate() {
        let Some(id) = god_core::deps::parse(dep).map(|d| d.id.0) else {
            continue;
        };
        let field = format!("requirements.tasks[{i}]");
        match state.store.get_job(JobId(id)).await? {
            Some(parent) if caller.may_touch(&parent.user.id) => {}
            _ => {
                return Err(ApiError::bad_request(format!("job {id} does not exist")).field(field));
            }
        }
    }
    Ok(())
}

/// `GET /api/1.0/task/<id>`.
pub async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(visible_job(&state, &caller, &id).await?))
}

/// `GET /api/1.0/task/<id>/status`: the status fields, and the same again under `status`
/// (Galaxy's runner reads `['status']['primary']` of this answer, other clients the top level).
pub async fn status(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StatusAnswer>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    Ok(Json(StatusAnswer::new(task.status)))
}

async fn request(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    request: UserRequest,
    msg: &str,
) -> Result<Json<RequestAnswer>, ApiError> {
    let task = visible_job(state, caller, raw).await?;
    let action = AuditAction::of_job_request(&request);
    let t = state
        .store
        .transition(task.id, &request.into(), state.clock.now())
        .await?;
    state.wake.watcher.notify_one();
    state.wake.scheduler.notify_one();
    if let Some(action) = action {
        audit_job(state, caller, action, &t).await;
    }
    Ok(Json(RequestAnswer {
        msg: msg.into(),
        id: t.id,
        status: t.status,
    }))
}

/// An administrator's request on another user's job: audited (after it is done).
async fn audit_job(state: &AppState, caller: &Caller, action: AuditAction, task: &Task) {
    if audit::acts_on_another(caller.admin, caller.login(), &task.user.id) {
        crate::audit::record_after(
            state,
            caller.login(),
            action,
            &task.user.id,
            audit::jobs_detail(&[task.id.0]),
        )
        .await;
    }
}

/// `DELETE /api/1.0/task/<id>`: kill (an array parent: with all its children).
pub async fn kill(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestAnswer>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    if task.is_array_parent() {
        let t = state.store.kill_array(task.id, state.clock.now()).await?;
        state.wake.watcher.notify_one();
        audit_job(&state, &caller, AuditAction::JobKilled, &t).await;
        return Ok(Json(RequestAnswer {
            msg: "kill requested".into(),
            id: t.id,
            status: t.status,
        }));
    }
    request(&state, &caller, &id, UserRequest::Kill, "kill requested").await
}

/// `GET /api/1.0/task/<id>/suspend`.
pub async fn suspend(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestAnswer>, ApiError> {
    request(
        &state,
        &caller,
        &id,
        UserRequest::Suspend,
        "suspend requested",
    )
    .await
}

/// `GET /api/1.0/task/<id>/resume`.
pub async fn resume(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestAnswer>, ApiError> {
    request(
        &state,
        &caller,
        &id,
        UserRequest::Resume,
        "resume requested",
    )
    .await
}

/// `GET /api/1.0/task/<id>/reschedule` (ours): run a running job again from the start.
pub async fn reschedule(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestAnswer>, ApiError> {
    request(
        &state,
        &caller,
        &id,
        UserRequest::Reschedule,
        "reschedule requested",
    )
    .await
}

/// `PUT /api/1.0/task/<id>` `{name, value}`: change a dynamic requirement.
pub async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(upd): JsonBody<DynamicUpdate>,
) -> Result<Json<MsgAnswer<JobId>>, ApiError> {
    let Some(field) = state
        .config
        .dynamic_fields
        .iter()
        .find(|d| d.name == upd.name)
    else {
        return Err(
            ApiError::bad_request(format!("{:?} is not a dynamic field", upd.name)).field("name"),
        );
    };
    if field.admin_only && !caller.admin {
        return Err(
            ApiError::forbidden(format!("only administrators may change {}", upd.name))
                .field("name"),
        );
    }
    let value = upd.value.to_string();
    if upd.name == "maxlifespan" && god_core::size::parse_duration_secs(&value).is_err() {
        return Err(ApiError::bad_request(format!("{value:?} is not a duration")).field("value"));
    }
    let task = visible_job(&state, &caller, &id).await?;
    let event = UserRequest::SetRequirement {
        name: upd.name,
        value,
    }
    .into();
    let t = state
        .store
        .transition(task.id, &event, state.clock.now())
        .await?;
    if t.is_array_parent() {
        // Children already created copied the parent: they change with it (those created
        // later copy the new value).
        let children = state
            .store
            .list_jobs(&JobQuery {
                parent: Some(t.id),
                states: vec![Primary::Pending, Primary::Running],
                ..Default::default()
            })
            .await?;
        let events: Vec<(JobId, Event)> = children.iter().map(|c| (c.id, event.clone())).collect();
        state
            .store
            .transition_many(&events, state.clock.now())
            .await?;
    }
    Ok(Json(MsgAnswer::new("task updated", t.id)))
}

/// `GET /api/1.0/task/<id>/archive`: queue one over job for archiving.
pub async fn archive(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MsgAnswer<JobId>>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    if task.status.primary != Primary::Over {
        return Err(ApiError::conflict(format!(
            "job {} is {}: only an over job can be archived",
            task.id, task.status.primary
        )));
    }
    state.store.request_archive(&[task.id]).await?;
    state.wake.archiver.notify_one();
    audit_job(&state, &caller, AuditAction::JobArchived, &task).await;
    Ok(Json(MsgAnswer::new("archive requested", task.id)))
}

/// `DELETE /api/1.0/task/<id>/archive`: delete the job directory and the job itself.
pub async fn purge(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MsgAnswer<JobId>>, ApiError> {
    let task = visible_job(&state, &caller, &id).await?;
    if task.status.primary.is_active() {
        return Err(ApiError::conflict(format!(
            "job {} is {}: kill it before purging it",
            task.id, task.status.primary
        )));
    }
    purge_one(&state, &task).await?;
    audit_job(&state, &caller, AuditAction::JobPurged, &task).await;
    Ok(Json(MsgAnswer::new("job purged", task.id)))
}

async fn purge_one(state: &AppState, task: &Task) -> Result<(), ApiError> {
    let dir = jobdir::path(&state.paths.shared_dir, task);
    tokio::task::spawn_blocking(move || jobdir::remove(&dir))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    state.store.delete_job(task.id).await?;
    Ok(())
}

fn days(raw: &str) -> Result<f64, ApiError> {
    raw.parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d >= 0.0)
        .ok_or_else(|| {
            ApiError::bad_request(format!("{raw:?} is not a number of days")).field("days")
        })
}

async fn old_jobs(
    state: &AppState,
    caller: &Caller,
    raw_days: &str,
    tag: Option<&str>,
    states: Vec<Primary>,
) -> Result<Vec<Task>, ApiError> {
    let days = days(raw_days)?;
    let q = JobQuery {
        user: Some(caller.login().to_string()),
        states,
        over_before: Some(state.clock.now() - days * 86_400.0),
        ..Default::default()
    };
    let mut jobs = state.store.list_jobs(&q).await?;
    if let Some(tag) = tag {
        jobs.retain(|j| j.meta.tags.iter().any(|t| t == tag));
    }
    Ok(jobs)
}

/// `GET /api/1.0/archive/<days>`: archive the caller's jobs over for more than `days`.
pub async fn archive_old(
    caller: Caller,
    State(state): State<AppState>,
    Path(d): Path<String>,
    Params(q): Params<TagQuery>,
) -> Result<Json<CountAnswer>, ApiError> {
    let jobs = old_jobs(&state, &caller, &d, given(&q.tag), vec![Primary::Over]).await?;
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    let n = state.store.request_archive(&ids).await?;
    state.wake.archiver.notify_one();
    Ok(Json(CountAnswer {
        msg: format!("{n} jobs to archive"),
        count: n,
    }))
}

/// `DELETE /api/1.0/archive/<days>[?tag=]`: archive and purge them.
pub async fn purge_old(
    caller: Caller,
    State(state): State<AppState>,
    Path(d): Path<String>,
    Params(q): Params<TagQuery>,
) -> Result<Json<CountAnswer>, ApiError> {
    let states = vec![Primary::Over, Primary::Archived];
    let jobs = old_jobs(&state, &caller, &d, given(&q.tag), states).await?;
    for j in &jobs {
        purge_one(&state, j).await?;
    }
    Ok(Json(CountAnswer {
        msg: format!("{} jobs purged", jobs.len()),
        count: jobs.len() as u64,
    }))
}
