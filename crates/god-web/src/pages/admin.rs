//! `/app/admin/…`: what administrators do. Every page and action checks the role on the server
//! (`require_admin`, then the API handler's own check); the links are only a convenience.
//!
//! - users: priority, quotas, administrator, disabled; guests activated or not, and what their
//!   home holds;
//! - projects: created, described, prioritised, with quotas, members, usage reset, deleted;
//! - nodes: every node the scheduler published, and what runs on it;
//! - system: this process.

use super::{local_next, render, Chrome};
use crate::error::WebError;
use crate::session::{require_admin, Viewer};
use crate::WebState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use god_core::api::projects::{Members, ProjectDoc, ProjectUpdate};
use god_core::api::users::{LimitsUpdate, UserDoc, UserUpdate};
use god_core::node::NodesAnswer;
use god_core::Primary;
use god_server::api::body::JsonBody;
use god_server::api::{nodes, projects, users};
use god_server::ApiError;
use god_store::JobQuery;
use serde::Deserialize;
use std::collections::HashMap;

/// A user as the admin list shows them.
pub struct UserRow {
    pub doc: UserDoc,
    /// `active`, `awaiting activation` or `disabled`.
    pub status: &'static str,
    pub running: u32,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
    awaiting: usize,
    only_awaiting: bool,
    csrf: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    awaiting: Option<String>,
}

fn status_of(u: &UserDoc) -> &'static str {
    if u.disabled {
        "disabled"
    } else if u.guest && !u.active {
        "awaiting activation"
    } else {
        "active"
    }
}

/// Running jobs per user.
async fn running_per_user(state: &WebState) -> Result<HashMap<String, u32>, WebError> {
    let running = state
        .app
        .store
        .list_jobs(&JobQuery {
            states: vec![Primary::Running],
            ..Default::default()
        })
        .await?;
    let mut out: HashMap<String, u32> = HashMap::new();
    for t in running {
        *out.entry(t.user.id).or_default() += 1;
    }
    Ok(out)
}

/// `GET /app/admin/users[?awaiting=1]`.
pub async fn users_page(
    viewer: Viewer,
    State(state): State<WebState>,
    Query(q): Query<UsersQuery>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    let axum::Json(list) = users::list(viewer.caller.clone(), State(state.app.clone())).await?;
    let running = running_per_user(&state).await?;
    let only_awaiting = q.awaiting.is_some();
    let mut rows: Vec<UserRow> = list
        .into_iter()
        .map(|doc| UserRow {
            status: status_of(&doc),
            running: running.get(&doc.id).copied().unwrap_or(0),
            doc,
        })
        .collect();
    let awaiting = rows
        .iter()
        .filter(|r| r.status == "awaiting activation")
        .count();
    if only_awaiting {
        rows.retain(|r| r.status == "awaiting activation");
    }
    // Those waiting for an administrator first.
    rows.sort_by_key(|r| (r.status != "awaiting activation", r.doc.id.clone()));
    render(&UsersPage {
        chrome: Chrome::new(&viewer, "Users", "admin"),
        rows,
        awaiting,
        only_awaiting,
        csrf: viewer.session.csrf.clone(),
    })
}

/// The admin user form: limits and flags (`active` only for guests).
#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    prio: Option<String>,
    quota_cpu: Option<String>,
    quota_ram: Option<String>,
    quota_time: Option<String>,
    /// Checkboxes: present when checked. `flags` says the form had them.
    admin: Option<String>,
    disabled: Option<String>,
    active: Option<String>,
    flags: Option<String>,
    /// The user is a guest (the form then has the `active` checkbox).
    guest: Option<String>,
    /// A one-button action instead of the form: `activate`, `deactivate`.
    action: Option<String>,
    #[serde(default)]
    back: String,
}

fn number(field: &'static str, v: &Option<String>) -> Result<Option<f64>, WebError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse::<f64>().map(Some).map_err(|_| {
            WebError::Api(ApiError::bad_request(format!("{s:?} is not a number")).field(field))
        }),
    }
}

/// `POST /app/admin/users/{login}`: the API's user update, as an administrator.
pub async fn update_user(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(login): Path<String>,
    Form(f): Form<UserForm>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let update = match f.action.as_deref() {
        Some("activate") => UserUpdate {
            active: Some(true),
            ..Default::default()
        },
        Some("deactivate") => UserUpdate {
            active: Some(false),
            ..Default::default()
        },
        Some(other) => {
            return Err(WebError::Api(
                ApiError::bad_request(format!("no such action {other:?}")).field("action"),
            ))
        }
        None => {
            let limits = LimitsUpdate {
                prio: number("usage.prio", &f.prio)?,
                quota_cpu: number("usage.quota_cpu", &f.quota_cpu)?,
                quota_ram: number("usage.quota_ram", &f.quota_ram)?,
                quota_time: number("usage.quota_time", &f.quota_time)?,
            };
            let flags = f.flags.is_some();
            UserUpdate {
                usage: Some(limits),
                admin: flags.then_some(f.admin.is_some()),
                disabled: flags.then_some(f.disabled.is_some()),
                active: (flags && f.guest.is_some()).then_some(f.active.is_some()),
                ..Default::default()
            }
        }
    };
    let _updated = users::update(
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(login.clone()),
        JsonBody(update),
    )
    .await?;
    let back = if f.back.is_empty() {
        "/app/admin/users"
    } else {
        local_next(&f.back)
    };
    Ok(Redirect::to(back).into_response())
}

#[derive(Template)]
#[template(path = "admin_projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    projects: Vec<ProjectDoc>,
    csrf: String,
}

/// `GET /app/admin/projects`.
pub async fn projects_page(
    viewer: Viewer,
    State(state): State<WebState>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    let axum::Json(list) = projects::list(viewer.caller.clone(), State(state.app.clone())).await?;
    render(&ProjectsPage {
        chrome: Chrome::new(&viewer, "Projects", "admin"),
        projects: list,
        csrf: viewer.session.csrf.clone(),
    })
}

/// The project form (create and update).
#[derive(Deserialize)]
pub struct ProjectForm {
    csrf: String,
    id: Option<String>,
    description: Option<String>,
    prio: Option<String>,
    quota_cpu: Option<String>,
    quota_ram: Option<String>,
    quota_time: Option<String>,
    /// Logins separated by commas.
    members: Option<String>,
}

impl ProjectForm {
    fn update(&self) -> Result<ProjectUpdate, WebError> {
        Ok(ProjectUpdate {
            id: self.id.clone().filter(|i| !i.trim().is_empty()),
            description: self.description.clone(),
            prio: number("prio", &self.prio)?,
            quota_cpu: number("quota_cpu", &self.quota_cpu)?,
            quota_ram: number("quota_ram", &self.quota_ram)?,
            quota_time: number("quota_time", &self.quota_time)?,
            members: self.members.clone().map(Members::Csv),
            volumes: None,
        })
    }
}

/// `POST /app/admin/projects`: a new project.
pub async fn create_project(
    viewer: Viewer,
    State(state): State<WebState>,
    Form(f): Form<ProjectForm>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let update = f.update()?;
    let id = update.id.clone().unwrap_or_default();
    let _created = projects::create(
        viewer.caller.clone(),
        State(state.app.clone()),
        JsonBody(update),
    )
    .await?;
    Ok(Redirect::to(&format!("/app/admin/projects#project-{id}")).into_response())
}

/// `POST /app/admin/projects/{id}`: description, priority, quotas, members.
pub async fn update_project(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<String>,
    Form(f): Form<ProjectForm>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut update = f.update()?;
    update.id = None;
    let _updated = projects::update(
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(id.clone()),
        JsonBody(update),
    )
    .await?;
    Ok(Redirect::to(&format!("/app/admin/projects#project-{id}")).into_response())
}

#[derive(Deserialize)]
pub struct ProjectAction {
    csrf: String,
    /// `reset` (forget its usage) or `delete`.
    action: String,
}

/// `POST /app/admin/projects/{id}/act`.
pub async fn project_action(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<String>,
    Form(f): Form<ProjectAction>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let (c, s, p) = (
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(id.clone()),
    );
    match f.action.as_str() {
        "reset" => {
            let _reset = projects::reset_usage(c, s, p).await?;
        }
        "delete" => {
            let _deleted = projects::delete(c, s, p).await?;
        }
        other => {
            return Err(WebError::Api(
                ApiError::bad_request(format!("no such action {other:?}")).field("action"),
            ))
        }
    }
    Ok(Redirect::to("/app/admin/projects").into_response())
}

#[derive(Template)]
#[template(path = "admin_nodes.html")]
struct NodesPage {
    chrome: Chrome,
    answer: NodesAnswer,
    published: String,
}

/// `GET /app/admin/nodes`.
pub async fn nodes_page(
    viewer: Viewer,
    State(state): State<WebState>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    let axum::Json(answer) = nodes::list(viewer.caller.clone(), State(state.app.clone())).await?;
    render(&NodesPage {
        chrome: Chrome::new(&viewer, "Nodes", "admin"),
        published: answer
            .published
            .map(crate::view::datetime)
            .unwrap_or_else(|| "never".into()),
        answer,
    })
}

#[derive(Template)]
#[template(path = "admin_system.html")]
struct SystemPage {
    chrome: Chrome,
    server_id: String,
    version: &'static str,
    executors: Vec<String>,
    data_dir: String,
    policy: String,
}

/// `GET /app/admin/system`: this process (the only one until several share a database).
pub async fn system_page(
    viewer: Viewer,
    State(state): State<WebState>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    let app = &state.app;
    render(&SystemPage {
        chrome: Chrome::new(&viewer, "System", "admin"),
        server_id: app.server_id.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        executors: app.executors().iter().map(|(n, _)| n.clone()).collect(),
        data_dir: app.paths.data_dir.display().to_string(),
        policy: format!("{:?}", app.config.scheduler_policy),
    })
}

/// A pending job as the queue page shows it.
pub struct QueueRow {
    pub entry: god_server::scheduler::preview::QueueEntry,
    pub waited: String,
    pub score: String,
}

#[derive(Template)]
#[template(path = "admin_queue.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    /// Why jobs wait: (reason kind, how many), most first.
    summary: Vec<(String, usize)>,
    starting: usize,
    csrf: String,
}

/// `GET /app/admin/queue`: every pending job in the order the next pass takes them, its
/// fair-share score and why it waits; how many wait for each reason.
pub async fn queue_page(
    viewer: Viewer,
    State(state): State<WebState>,
) -> Result<Response, WebError> {
    require_admin(&viewer)?;
    let app = &state.app;
    let entries = god_server::scheduler::preview::queue(app)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    let now = app.clock.now();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut starting = 0;
    for e in &entries {
        match e.kind {
            Some(k) => *counts.entry(k.as_str().to_string()).or_default() += 1,
            None => starting += 1,
        }
    }
    let mut summary: Vec<(String, usize)> = counts.into_iter().collect();
    summary.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rows = entries
        .into_iter()
        .map(|entry| QueueRow {
            waited: crate::view::duration(now - entry.date),
            score: entry.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
            entry,
        })
        .collect();
    render(&QueuePage {
        chrome: Chrome::new(&viewer, "Queue", "admin"),
        rows,
        summary,
        starting,
        csrf: viewer.session.csrf.clone(),
    })
}
