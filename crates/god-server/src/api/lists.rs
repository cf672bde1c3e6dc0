//! The job lists: `GET /api/1.0/task/active[/all]` and `POST|GET
//! /api/1.0/task/over[/all]/<skip>/<limit>`. Asked as the original clients ask them (no
//! parameter but `project`), they answer as the original does; with any other parameter of
//! [`ListQuery`] they answer from the one list query (`JobStore::list_page`): filtered, newest
//! first, paged by `after`, array parents carrying their children's counts.

use super::query::{given, Params};
use crate::access::{require_admin, shares_project, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use god_core::api::tasks::ListQuery;
use god_core::{JobId, Primary, Task};
use god_store::{JobFilter, JobLevel, JobPage, JobQuery, JobScope};

/// Which list a route is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Pending and running jobs.
    Active,
    /// Over and archived jobs.
    Over,
}

impl Kind {
    fn states(self) -> [Primary; 2] {
        match self {
            Kind::Active => [Primary::Pending, Primary::Running],
            Kind::Over => [Primary::Over, Primary::Archived],
        }
    }
}

/// A route: which list, everybody's (administrators) or the caller's, and the over routes'
/// path `skip`/`limit`.
struct Route {
    kind: Kind,
    all: bool,
    page: Option<(u64, u64)>,
}

/// `GET /api/1.0/task/active`: the caller's pending and running jobs.
pub async fn active(
    caller: Caller,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let route = Route {
        kind: Kind::Active,
        all: false,
        page: None,
    };
    listing(&state, &caller, route, q).await
}

/// `GET /api/1.0/task/active/all` (admins).
pub async fn active_all(
    caller: Caller,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let route = Route {
        kind: Kind::Active,
        all: true,
        page: None,
    };
    listing(&state, &caller, route, q).await
}

/// `POST /api/1.0/task/over/<skip>/<limit>`: the caller's finished jobs, newest first.
pub async fn over(
    caller: Caller,
    State(state): State<AppState>,
    Path((skip, limit)): Path<(String, String)>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let route = Route {
        kind: Kind::Over,
        all: false,
        page: Some(page(&skip, &limit)?),
    };
    listing(&state, &caller, route, q).await
}

/// `POST /api/1.0/task/over/all/<skip>/<limit>` (admins).
pub async fn over_all(
    caller: Caller,
    State(state): State<AppState>,
    Path((skip, limit)): Path<(String, String)>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let route = Route {
        kind: Kind::Over,
        all: true,
        page: Some(page(&skip, &limit)?),
    };
    listing(&state, &caller, route, q).await
}

fn page(skip: &str, limit: &str) -> Result<(u64, u64), ApiError> {
    let skip = skip
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{skip:?} is not a number")).field("skip"))?;
    let limit = limit
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{limit:?} is not a number")).field("limit"))?;
    Ok((skip, limit))
}

async fn listing(
    state: &AppState,
    caller: &Caller,
    route: Route,
    q: ListQuery,
) -> Result<Json<Vec<Task>>, ApiError> {
    if route.all {
        require_admin(caller)?;
    }
    let original = if route.all {
        q == ListQuery::default()
    } else {
        q.is_original()
    };
    if original {
        return original_list(state, caller, &route, given(&q.project)).await;
    }
    let filter = filter_of(state, caller, &route, &q).await?;
    let (after, limit) = paging(&route, &q)?;
    let page = state.store.list_page(&filter, after, limit).await?;
    Ok(Json(with_counts(page)))
}

/// The original's answer: the active lists oldest first, whole; the over lists newest first
/// from `skip`, `limit` of them (0: all).
async fn original_list(
    state: &AppState,
    caller: &Caller,
    route: &Route,
    project: Option<&str>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let (skip, limit) = route.page.unwrap_or((0, 0));
    let mut q = JobQuery {
        states: route.kind.states().to_vec(),
        skip,
        limit,
        newest_first: route.kind == Kind::Over,
        ..Default::default()
    };
    if let Some(p) = project {
        q.projects = vec![p.to_string()];
    }
    // `?project=P` shows every member's jobs of P when the configuration shares project tasks
    // and the caller is a member.
    let shared = match project {
        Some(p) => shares_project(state, caller, p).await?,
        None => false,
    };
    if !route.all && !shared {
        q.user = Some(caller.login().to_string());
    }
    Ok(Json(state.store.list_jobs(&q).await?))
}

/// The list query a request asks for, within what the caller may see.
async fn filter_of(
    state: &AppState,
    caller: &Caller,
    route: &Route,
    q: &ListQuery,
) -> Result<JobFilter, ApiError> {
    let user = given(&q.user);
    if let Some(u) = user {
        if !caller.admin && u != caller.login() {
            return Err(
                ApiError::forbidden("only administrators list other users' jobs").field("user"),
            );
        }
    }
    let project = given(&q.project);
    let shared = match project {
        Some(p) if !route.all => shares_project(state, caller, p).await?,
        _ => false,
    };
    let scope = match user {
        Some(u) => JobScope::User(u.to_string()),
        // Every member's jobs of a project shared with the caller.
        None if route.all || shared => JobScope::All,
        None => JobScope::User(caller.login().to_string()),
    };
    let level = match (q.top, q.parent) {
        (Some(true), Some(_)) => {
            return Err(ApiError::bad_request(
                "top leaves array children out, parent lists them: ask one",
            )
            .field("parent"))
        }
        (_, Some(p)) => JobLevel::ChildrenOf(JobId(p)),
        (Some(true), None) => JobLevel::TopLevel,
        _ => JobLevel::Any,
    };
    for (field, t) in [("since", q.since), ("until", q.until)] {
        if t.is_some_and(|t| !t.is_finite()) {
            return Err(ApiError::bad_request("a time in seconds since the epoch").field(field));
        }
    }
    Ok(JobFilter {
        scope,
        states: states_of(route.kind, q.state.as_deref())?,
        project: project.map(String::from),
        tag: given(&q.tag).map(String::from),
        text: given(&q.name).map(String::from),
        image: given(&q.image).map(String::from),
        since: q.since,
        until: q.until,
        level,
    })
}

/// The states `?state=` asks for, among the route's (all of them when absent).
fn states_of(kind: Kind, asked: Option<&str>) -> Result<Vec<Primary>, ApiError> {
    let own = kind.states();
    let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(own.to_vec());
    };
    let mut out = Vec::new();
    for word in asked.split(',').map(str::trim) {
        let states: Vec<Primary> = match word {
            "active" => vec![Primary::Pending, Primary::Running],
            w => match Primary::parse(w) {
                Some(p) => vec![p],
                None => {
                    return Err(ApiError::bad_request(format!(
                        "{w:?} is not a state: pending, running, active, over or archived"
                    ))
                    .field("state"))
                }
            },
        };
        for s in states {
            if !own.contains(&s) {
                let route = match kind {
                    Kind::Active => "/api/1.0/task/active lists pending and running jobs",
                    Kind::Over => "/api/1.0/task/over lists over and archived jobs",
                };
                return Err(
                    ApiError::bad_request(format!("{s} is not listed here: {route}"))
                        .field("state"),
                );
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The cursor and the page size: `after` and `limit` (the over routes' path gives the size
/// when `limit` is absent; its `skip` is for the original's paging only).
fn paging(route: &Route, q: &ListQuery) -> Result<(Option<JobId>, u64), ApiError> {
    let limit =
        match (route.page, q.limit) {
            (Some((skip, _)), _) if skip > 0 => return Err(ApiError::bad_request(
                "with the list parameters, pages follow one another with after=<last id>: skip \
                 must be 0",
            )
            .field("skip")),
            (Some((_, path)), Some(query)) if path > 0 && path != query => {
                return Err(ApiError::bad_request(format!(
                    "the path says {path} jobs and the query {query}: give one"
                ))
                .field("limit"))
            }
            (_, Some(query)) => query,
            (Some((_, path)), None) => path,
            (None, None) => 0,
        };
    Ok((q.after.map(JobId), limit))
}

/// The page's jobs, each array parent with its children's counts.
fn with_counts(page: JobPage) -> Vec<Task> {
    let mut jobs = page.jobs;
    for t in &mut jobs {
        if let Some(c) = page.children.get(&t.id) {
            t.requirements.array.nb_tasks_running = Some(c.running);
            t.requirements.array.nb_tasks_pending = Some(c.pending + c.not_created);
        }
    }
    jobs
}
