//! `/app/jobs`: the viewer's jobs (their projects' with `share_project_tasks`, everybody's for
//! administrators), filtered on the server with the filter in the URL, newest first, a page at
//! a time; array parents stand for their children. Bulk requests on the selected jobs or on
//! every job the filter matches (after a confirmation that says how many).

use super::{render, Chrome};
use crate::error::WebError;
use crate::filter::{JobFilter, Scope, StateFilter};
use crate::session::Viewer;
use crate::view::{self, Action, Badge};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use god_core::{JobId, Primary, Task};
use god_server::access::{visibility, Caller};
use god_server::state::AppState;
use god_server::ApiError;
use god_store::{ChildCounts, JobLevel, JobScope};

/// Rows on a page.
pub const PAGE: usize = 50;

/// A job as a row of the list.
pub struct Row {
    pub id: u64,
    pub name: String,
    pub owner: String,
    pub badge: Badge,
    /// Why a pending job waits, in words.
    pub reason: String,
    pub project: String,
    pub image: String,
    pub cpu: u32,
    pub ram: String,
    pub gpus: u32,
    pub node: String,
    pub submitted: String,
    pub started: String,
    pub took: String,
    pub actions: Vec<Action>,
    /// An array parent: its children by state, in words.
    pub array: Option<String>,
}

impl Row {
    /// The row of `task`; an array parent's `children` counted by state when known (else from
    /// its own counters).
    pub fn of(task: &Task, children: Option<&ChildCounts>, can_pause: bool, now: f64) -> Row {
        let s = &task.status;
        let array = task.is_array_parent().then(|| {
            let a = &task.requirements.array;
            match children {
                Some(c) => format!(
                    "{} tasks: {} pending, {} running, {} over ({} failed){}",
                    a.nb_tasks,
                    c.pending + c.not_created,
                    c.running,
                    c.over + c.archived,
                    a.nb_tasks_failed,
                    if c.not_created > 0 {
                        format!(", {} not created yet", c.not_created)
                    } else {
                        String::new()
                    }
                ),
                None => format!(
                    "{} tasks: {} over ({} failed), {} pending or running, {} not created yet",
                    a.nb_tasks,
                    a.nb_tasks_over,
                    a.nb_tasks_failed,
                    a.nb_tasks_created.saturating_sub(a.nb_tasks_over),
                    a.nb_tasks.saturating_sub(a.nb_tasks_created)
                ),
            }
        });
        Row {
            id: task.id.0,
            name: task.meta.name.clone(),
            owner: task.user.id.clone(),
            badge: view::badge(task),
            reason: if s.primary == Primary::Pending {
                s.reason.clone().unwrap_or_default()
            } else {
                String::new()
            },
            project: task.user.project.clone(),
            image: task.container.image.clone(),
            cpu: task.requirements.cpu,
            ram: view::gb(task.requirements.ram),
            gpus: task.requirements.gpus,
            node: task.node_name().unwrap_or_default().to_string(),
            submitted: view::datetime(task.date),
            started: s.date_running.map(view::datetime).unwrap_or_default(),
            took: view::run_time(task, now)
                .map(view::duration)
                .unwrap_or_default(),
            actions: view::actions(task, can_pause),
            array,
        }
    }
}

/// One row as HTML (the list draws its rows with it; live updates send it).
#[derive(Template)]
#[template(path = "job_row.html")]
pub struct RowFragment {
    pub row: Row,
    pub csrf: String,
    pub show_owner: bool,
    pub back: String,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    filter: JobFilter,
    rows: Vec<Row>,
    /// The query string of the filter (for tabs, the live stream, bulk forms).
    query: String,
    /// The next page's link, when there are more.
    older: Option<String>,
    /// The change-log id the page was drawn at (its live stream resumes after it).
    live_after: u64,
    show_owner: bool,
    states: Vec<(&'static str, bool, String)>,
    scopes: Vec<(&'static str, bool, String)>,
    back: String,
    csrf: String,
    actions: Vec<Action>,
}

fn bad_filter(e: crate::filter::BadFilter) -> WebError {
    WebError::Api(ApiError::bad_request(e.message).field(e.field))
}

/// The filter of a request, checked: unknown parameters and bad values are a 400 naming them;
/// `scope=all` is for administrators.
pub fn parse_filter(viewer: &Viewer, raw: Option<&str>) -> Result<JobFilter, WebError> {
    let filter: JobFilter = match raw.filter(|q| !q.is_empty()) {
        Some(q) => serde_urlencoded_like(q)?,
        None => JobFilter::default(),
    };
    filter.window().map_err(bad_filter)?;
    if (filter.scope == Scope::All || !filter.user.is_empty()) && !viewer.caller.admin {
        return Err(WebError::Api(
            ApiError::forbidden("administrators only").field(if filter.user.is_empty() {
                "scope"
            } else {
                "user"
            }),
        ));
    }
    Ok(filter)
}

/// A query string as a [`JobFilter`], naming the parameter at fault.
fn serde_urlencoded_like(q: &str) -> Result<JobFilter, WebError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        let value = if k == "after" {
            match v.parse::<u64>() {
                Ok(n) => serde_json::json!(n),
                Err(_) => {
                    return Err(WebError::Api(
                        ApiError::bad_request(format!("{v:?} is not a job id")).field("after"),
                    ))
                }
            }
        } else {
            serde_json::json!(v)
        };
        map.insert(k, value);
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).unwrap_or("query").to_string();
        WebError::Api(ApiError::bad_request(format!("filter: {msg}")).field(field))
    })
}

/// The store's query of a page's filter, for `caller` (who may see what: theirs; their shared
/// projects' with scope `projects`; anyone's for administrators with scope `all`).
pub async fn store_filter(
    app: &AppState,
    caller: &Caller,
    filter: &JobFilter,
) -> Result<god_store::JobFilter, WebError> {
    let (since, until) = filter.window().map_err(bad_filter)?;
    let login = caller.login().to_string();
    let scope = match filter.scope {
        Scope::Mine => JobScope::User(login),
        Scope::Projects => JobScope::UserAndProjects {
            user: login,
            projects: visibility(app, caller).await?.shared.into_iter().collect(),
        },
        Scope::All if !filter.user.is_empty() => JobScope::User(filter.user.clone()),
        Scope::All => JobScope::All,
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(god_store::JobFilter {
        scope,
        states: filter.state.primaries(),
        project: some(&filter.project),
        tag: some(&filter.tag),
        text: some(&filter.name),
        image: some(&filter.image),
        since,
        until,
        level: JobLevel::TopLevel,
    })
}

/// One page of the jobs of a filter, newest first (after `filter.after`).
pub async fn fetch(
    app: &AppState,
    caller: &Caller,
    filter: &JobFilter,
    limit: usize,
) -> Result<god_store::JobPage, WebError> {
    let query = store_filter(app, caller, filter).await?;
    Ok(app
        .store
        .list_page(&query, filter.after.map(JobId), limit as u64)
        .await?)
}

/// Every job id a filter matches now (a bulk request on all of them).
async fn all_ids(
    app: &AppState,
    caller: &Caller,
    filter: &JobFilter,
) -> Result<Vec<u64>, WebError> {
    let query = store_filter(app, caller, filter).await?;
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = app.store.list_page(&query, after, 1000).await?;
        ids.extend(page.jobs.iter().map(|t| t.id.0));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// `GET /app/jobs?…`.
pub async fn list(
    viewer: Viewer,
    State(state): State<WebState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, WebError> {
    let filter = parse_filter(&viewer, raw.as_deref())?;
    // Read before the jobs: the live stream goes on from here, so that no change between this
    // page and its stream is lost (one seen twice is drawn twice, the same).
    let live_after = state.app.store.last_change().await?;
    let page = fetch(&state.app, &viewer.caller, &filter, PAGE).await?;
    let now = state.app.clock.now();
    let rows: Vec<Row> = page
        .jobs
        .iter()
        .map(|t| {
            Row::of(
                t,
                page.children.get(&t.id),
                state.app.capabilities_of(t).pause,
                now,
            )
        })
        .collect();
    let query = filter.query(false);
    let older = page.next.map(|last| {
        let next = JobFilter {
            after: Some(last.0),
            ..filter.clone()
        };
        format!("/app/jobs?{}", next.query(true))
    });
    let with = |f: JobFilter| format!("/app/jobs?{}", f.query(false));
    let states = StateFilter::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                *s == filter.state,
                with(JobFilter {
                    state: *s,
                    after: None,
                    ..filter.clone()
                }),
            )
        })
        .collect();
    let mut scope_list = vec![Scope::Mine];
    if state.app.config.share_project_tasks {
        scope_list.push(Scope::Projects);
    }
    if viewer.caller.admin {
        scope_list.push(Scope::All);
    }
    let scopes = scope_list
        .into_iter()
        .map(|s| {
            (
                s.as_str(),
                s == filter.scope,
                with(JobFilter {
                    scope: s,
                    after: None,
                    ..filter.clone()
                }),
            )
        })
        .collect();
    let page = JobsPage {
        chrome: Chrome::new(&viewer, "Jobs", "jobs"),
        show_owner: filter.scope != Scope::Mine,
        back: format!("/app/jobs?{}", filter.query(true)),
        csrf: viewer.session.csrf.clone(),
        filter,
        rows,
        query,
        older,
        live_after,
        states,
        scopes,
        actions: Action::ALL.to_vec(),
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    action: Action,
    count: usize,
    ids: String,
    query: String,
    csrf: String,
    selected: bool,
}

/// What a bulk form sends: the action, the filter's query string, and either the selected ids
/// or `all` (every job the filter matches); `confirm` once the count was shown.
struct BulkForm {
    csrf: String,
    action: Option<Action>,
    ids: Vec<u64>,
    query: String,
    all: bool,
    confirm: Option<usize>,
}

fn parse_bulk(body: &[u8]) -> Result<BulkForm, WebError> {
    let mut f = BulkForm {
        csrf: String::new(),
        action: None,
        ids: Vec::new(),
        query: String::new(),
        all: false,
        confirm: None,
    };
    let bad = |field: &str, msg: String| WebError::Api(ApiError::bad_request(msg).field(field));
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf" => f.csrf = v.into_owned(),
            "action" => {
                f.action = Some(
                    Action::parse(&v)
                        .ok_or_else(|| bad("action", format!("no such action {v:?}")))?,
                )
            }
            "ids" => {
                for id in v.split(',').filter(|s| !s.is_empty()) {
                    f.ids.push(
                        id.trim()
                            .parse()
                            .map_err(|_| bad("ids", format!("{id:?} is not a job id")))?,
                    );
                }
            }
            "query" => f.query = v.into_owned(),
            "all" => f.all = true,
            "confirm" => {
                f.confirm = Some(
                    v.parse()
                        .map_err(|_| bad("confirm", format!("{v:?} is not a count")))?,
                )
            }
            other => return Err(bad(other, format!("unknown field {other:?}"))),
        }
    }
    Ok(f)
}

/// `POST /app/jobs/bulk`.
pub async fn bulk(
    viewer: Viewer,
    State(state): State<WebState>,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = parse_bulk(&body)?;
    viewer.check_csrf(&form.csrf)?;
    let action = form
        .action
        .ok_or_else(|| WebError::Api(ApiError::bad_request("choose an action").field("action")))?;
    let filter = parse_filter(&viewer, Some(&form.query))?;
    let ids: Vec<u64> = if form.all {
        let all = JobFilter {
            after: None,
            ..filter.clone()
        };
        all_ids(&state.app, &viewer.caller, &all).await?
    } else {
        form.ids.clone()
    };
    if ids.is_empty() {
        return Err(WebError::Api(
            ApiError::bad_request("no job selected").field("ids"),
        ));
    }
    if form.confirm != Some(ids.len()) {
        let page = ConfirmPage {
            chrome: Chrome::new(&viewer, "Confirm", "jobs"),
            action,
            count: ids.len(),
            ids: if form.all {
                String::new()
            } else {
                ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            },
            query: form.query.clone(),
            csrf: viewer.session.csrf.clone(),
            selected: !form.all,
        };
        return render(&page);
    }
    for id in ids {
        // Each job is asked as the API asks it; one that no longer allows it is left alone.
        if let Err(e) = super::job::request(&state.app, &viewer.caller, JobId(id), action).await {
            tracing::debug!("bulk {}: job {id}: {}", action.as_str(), e.error);
        }
    }
    let back = if form.query.is_empty() {
        "/app/jobs".to_string()
    } else {
        format!("/app/jobs?{}", form.query)
    };
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use god_core::testing::TaskBuilder;

    /// A pending job's row says why it waits; a running one offers what its state allows.
    #[test]
    fn rows_show_the_reason_and_the_buttons_of_their_state() {
        let mut pending = TaskBuilder::new().user("alice", 2001).build();
        pending.id = JobId(7);
        pending.date = 1_796_688_000.0;
        pending.meta.name = "align <reads>".into();
        pending.container.image = "debian:bookworm".into();
        pending.status.reason = Some("waiting for job 6 to end successfully".into());
        let mut running = pending.clone();
        running.id = JobId(8);
        running.status.primary = Primary::Running;
        running.status.reason = None;
        running.status.date_running = Some(1_796_688_060.0);
        let html: String = [pending, running]
            .iter()
            .map(|t| {
                RowFragment {
                    row: Row::of(t, None, true, 1_796_688_120.0),
                    csrf: "CSRF".into(),
                    show_owner: false,
                    back: "/app/jobs".into(),
                }
                .render()
                .unwrap()
            })
            .collect();
        expect![[r#"
            <tr id="job-7" data-testid="job-7" data-state="pending">
              <td><input type="checkbox" name="ids" value="7" form="bulk" aria-label="select job 7"></td>
              <td><a href="/app/jobs/7">7</a></td>
              <td>align &#60;reads&#62;</td>
              <td><span class="badge pending" data-testid="state-7">pending</span><br><small class="reason" data-testid="reason-7">waiting for job 6 to end successfully</small></td>
              <td>default</td>
              <td class="image">debian:bookworm</td>
              <td class="num">1 / 1</td>
              <td></td>
              <td><time>2026-12-08 00:00:00</time></td>
              <td></td>
              <td class="actions"><form method="post" action="/app/jobs/7/act"><input type="hidden" name="csrf" value="CSRF"><input type="hidden" name="back" value="/app/jobs"><button name="action" value="kill" data-testid="kill-7">Kill</button></form></td>
            </tr><tr id="job-8" data-testid="job-8" data-state="running">
              <td><input type="checkbox" name="ids" value="8" form="bulk" aria-label="select job 8"></td>
              <td><a href="/app/jobs/8">8</a></td>
              <td>align &#60;reads&#62;</td>
              <td><span class="badge running" data-testid="state-8">running</span></td>
              <td>default</td>
              <td class="image">debian:bookworm</td>
              <td class="num">1 / 1</td>
              <td></td>
              <td><time>2026-12-08 00:00:00</time></td>
              <td>1m 00s</td>
              <td class="actions"><form method="post" action="/app/jobs/8/act"><input type="hidden" name="csrf" value="CSRF"><input type="hidden" name="back" value="/app/jobs"><button name="action" value="kill" data-testid="kill-8">Kill</button></form><form method="post" action="/app/jobs/8/act"><input type="hidden" name="csrf" value="CSRF"><input type="hidden" name="back" value="/app/jobs"><button name="action" value="suspend" data-testid="suspend-8">Suspend</button></form><form method="post" action="/app/jobs/8/act"><input type="hidden" name="csrf" value="CSRF"><input type="hidden" name="back" value="/app/jobs"><button name="action" value="reschedule" data-testid="reschedule-8">Reschedule</button></form></td>
            </tr>"#]].assert_eq(&html);
    }
}
