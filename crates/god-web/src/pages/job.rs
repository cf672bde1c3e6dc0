//! `/app/jobs/<id>`: one job. Its state and timeline, why it waits or how it ended, what it
//! asked for, its command, the tail of its output, its files, the buttons its state and its
//! executor allow, the `god` commands that do the same, and the task document itself.

use super::{local_next, render, Chrome};
use crate::error::WebError;
use crate::session::Viewer;
use crate::view::{self, Action, Badge};
use crate::WebState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use god_core::{JobId, Primary, Task};
use god_server::access::Caller;
use god_server::api::files::{self, Opened};
use god_server::api::tasks;
use god_server::state::AppState;
use god_server::ApiError;
use serde::Deserialize;

/// How much of each output file the page shows (the rest: "load earlier" downloads it).
pub const TAIL_BYTES: u64 = 64 * 1024;

/// Ask `action` of job `id` as the API's route does (same rights, same refusals).
pub async fn request(
    app: &AppState,
    caller: &Caller,
    id: JobId,
    action: Action,
) -> Result<(), ApiError> {
    let (c, s, p) = (
        caller.clone(),
        axum::extract::State(app.clone()),
        Path(id.0.to_string()),
    );
    match action {
        Action::Kill => tasks::kill(c, s, p).await.map(|_| ()),
        Action::Suspend => tasks::suspend(c, s, p).await.map(|_| ()),
        Action::Resume => tasks::resume(c, s, p).await.map(|_| ()),
        Action::Reschedule => tasks::reschedule(c, s, p).await.map(|_| ()),
        Action::Archive => tasks::archive(c, s, p).await.map(|_| ()),
        Action::Purge => tasks::purge(c, s, p).await.map(|_| ()),
    }
}

/// One output file's tail as the page shows it.
pub struct Output {
    pub name: &'static str,
    pub text: String,
    /// Bytes before the tail that the page does not show.
    pub skipped: u64,
    /// The file's size when it was read (where its live stream goes on from).
    pub end: u64,
    pub exists: bool,
}

/// A label and its value, for the page's fact lists.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// A job's state, timeline and buttons: drawn in its page and sent again by its live stream
/// when it changes.
#[derive(Template)]
#[template(path = "job_status.html")]
pub struct StatusFragment {
    id: u64,
    badge: Badge,
    reason: String,
    timeline: Vec<Fact>,
    actions: Vec<Action>,
    csrf: String,
    back: String,
}

/// The status block of `task` for `viewer`.
pub fn status_html(app: &AppState, viewer: &Viewer, task: &Task) -> String {
    let fragment = StatusFragment {
        id: task.id.0,
        badge: view::badge(task),
        reason: if task.status.primary == Primary::Pending {
            task.status.reason.clone().unwrap_or_default()
        } else {
            String::new()
        },
        timeline: timeline(task, app.clock.now()),
        actions: view::actions(task, app.capabilities_of(task).pause),
        csrf: viewer.session.csrf.clone(),
        back: format!("/app/jobs/{}", task.id.0),
    };
    fragment.render().unwrap_or_default()
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    chrome: Chrome,
    id: u64,
    name: String,
    owner: String,
    project: String,
    status_html: String,
    facts: Vec<Fact>,
    command: String,
    outputs: Vec<Output>,
    files: Vec<god_core::api::FileEntry>,
    cli: Vec<String>,
    raw: String,
    can_stats: bool,
    can_terminal: bool,
    /// The nonce of this response's CSP for the terminal's style elements.
    style_nonce: String,
    csrf: String,
    /// The terminal's script, its fit addon and its style (loaded when it is opened).
    xterm: [String; 3],
    /// The state the page was drawn in (the live stream says when it changes).
    state: &'static str,
    /// Requirements that may change while it waits or runs (`dynamic_fields`): name, value.
    dynamic: Vec<(String, String)>,
    /// The change-log id the page was drawn at (its live stream resumes after it).
    live_after: u64,
}

/// The facts of a job that are not its timeline.
fn facts(task: &Task, executor: &str) -> Vec<Fact> {
    let r = &task.requirements;
    let mut out = vec![
        Fact {
            label: "Image",
            value: task.container.image.clone(),
        },
        Fact {
            label: "Resources",
            value: format!(
                "{} cpu, {} GB ram{}",
                r.cpu,
                view::gb(r.ram),
                if r.gpus > 0 {
                    format!(", {} gpus", r.gpus)
                } else {
                    String::new()
                }
            ),
        },
        Fact {
            label: "Executor",
            value: executor.to_string(),
        },
    ];
    if let Some(node) = task.node_name() {
        out.push(Fact {
            label: "Node",
            value: node.to_string(),
        });
    }
    let mut push = |label, value: String| {
        if !value.is_empty() {
            out.push(Fact { label, value });
        }
    };
    push("Description", task.meta.description.clone());
    push("Tags", task.meta.tags.join(", "));
    push("Labels", r.label.join(", "));
    push(
        "Volumes",
        task.container
            .volumes
            .iter()
            .map(|v| format!("{} ({})", v.name, v.acl))
            .collect::<Vec<_>>()
            .join(", "),
    );
    push(
        "Depends on",
        r.tasks
            .iter()
            .map(|d| match d {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(values) = &r.array.values {
        push(
            "Array",
            format!(
                "{values}: {} tasks, {} over, {} failed",
                r.array.nb_tasks, r.array.nb_tasks_over, r.array.nb_tasks_failed
            ),
        );
    }
    if let Some(t) = r.array.task_id {
        push(
            "Array task",
            format!(
                "{t} of job {}",
                task.parent_task_id.map(|p| p.0).unwrap_or_default()
            ),
        );
    }
    if r.failure_policy > 0 {
        push(
            "Retries on node failure",
            format!(
                "{} allowed, {} used",
                r.failure_policy, task.status.failure.count
            ),
        );
    }
    if let Some(reason) = &task.status.failure.reason {
        push("Last node failure", reason.clone());
    }
    push("Time limit", r.maxlifespan.clone().unwrap_or_default());
    if task.container.root {
        push("Runs as", "root".into());
    }
    out
}

fn timeline(task: &Task, now: f64) -> Vec<Fact> {
    let s = &task.status;
    let mut out = vec![Fact {
        label: "Submitted",
        value: view::datetime(task.date),
    }];
    if let Some(t) = s.date_running {
        out.push(Fact {
            label: "Started",
            value: view::datetime(t),
        });
    }
    if let Some(t) = s.date_over {
        out.push(Fact {
            label: "Over",
            value: view::datetime(t),
        });
    }
    if let Some(d) = view::run_time(task, now) {
        out.push(Fact {
            label: if s.date_over.is_some() {
                "Ran for"
            } else {
                "Running for"
            },
            value: view::duration(d),
        });
    }
    if let Some(code) = s.exitcode {
        out.push(Fact {
            label: "Exit code",
            value: view::exit_words(code),
        });
    }
    out
}

async fn output(app: &AppState, caller: &Caller, id: u64, name: &'static str) -> Output {
    match files::tail(app, caller, &id.to_string(), name, TAIL_BYTES).await {
        Ok((bytes, size)) => Output {
            name,
            skipped: size.saturating_sub(bytes.len() as u64),
            end: size,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            exists: true,
        },
        Err(_) => Output {
            name,
            text: String::new(),
            skipped: 0,
            end: 0,
            exists: false,
        },
    }
}

/// `GET /app/jobs/{id}`.
pub async fn page(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let app = &state.app;
    // Read before the job: its live stream goes on from here (see the job list).
    let live_after = app.store.last_change().await?;
    let axum::Json(task) =
        tasks::show(viewer.caller.clone(), State(app.clone()), Path(id.clone())).await?;
    let caps = app.capabilities_of(&task);
    let id = task.id.0;
    let running = task.status.primary == Primary::Running;
    let (outputs, listing) = if task.status.date_running.is_some() {
        let outputs = vec![
            output(app, &viewer.caller, id, "god.log").await,
            output(app, &viewer.caller, id, "god.err").await,
        ];
        let listing = match files::open(app, &viewer.caller, &id.to_string(), "").await {
            Ok(Opened::Listing(entries)) => entries,
            _ => Vec::new(),
        };
        (outputs, listing)
    } else {
        (Vec::new(), Vec::new())
    };
    let actions = view::actions(&task, caps.pause);
    let mut cli = vec![format!("god show {id}"), format!("god logs {id}")];
    cli.extend(actions.iter().map(|a| a.cli(id)));
    let executor = task
        .requirements
        .executor
        .clone()
        .or_else(|| app.executors().first().map(|(n, _)| n.clone()))
        .unwrap_or_default();
    let can_terminal =
        running && task.container.id.is_some() && caps.terminal && !task.container.root;
    // The terminal's own style elements are allowed by this response's nonce (see
    // `crate::csp_with_style_nonce`).
    let style_nonce = can_terminal.then(god_server::auth::new_apikey);
    let page = JobPage {
        chrome: Chrome::new(&viewer, format!("Job {id}"), "jobs"),
        id,
        name: task.meta.name.clone(),
        owner: task.user.id.clone(),
        project: task.user.project.clone(),
        status_html: status_html(app, &viewer, &task),
        facts: facts(&task, &executor),
        command: task.command.cmd.clone(),
        outputs,
        files: listing,
        cli,
        raw: serde_json::to_string_pretty(&task).unwrap_or_default(),
        can_stats: running && caps.stats,
        can_terminal,
        style_nonce: style_nonce.clone().unwrap_or_default(),
        csrf: viewer.session.csrf.clone(),
        xterm: [
            crate::assets::url("xterm.js"),
            crate::assets::url("addon-fit.js"),
            crate::assets::url("xterm.css"),
        ],
        state: task.status.primary.as_str(),
        dynamic: if task.status.primary.is_active() {
            app.config
                .dynamic_fields
                .iter()
                .filter(|f| !f.admin_only || viewer.caller.admin)
                .map(|f| {
                    let value = match f.name.as_str() {
                        "maxlifespan" => task.requirements.maxlifespan.clone().unwrap_or_default(),
                        _ => String::new(),
                    };
                    (f.name.clone(), value)
                })
                .collect()
        } else {
            Vec::new()
        },
        live_after,
    };
    let mut response = render(&page)?;
    if let Some(nonce) = style_nonce {
        if let Ok(v) = HeaderValue::from_str(&crate::csp_with_style_nonce(&nonce)) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    back: String,
}

/// `POST /app/jobs/{id}/act`: one request, then back where the form was; asked by the list's
/// script (`X-Requested-With: fetch`), 204 and the page stays (its stream shows the change).
pub async fn act(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<u64>,
    headers: axum::http::HeaderMap,
    Form(form): Form<ActForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let action = Action::parse(&form.action).ok_or_else(|| {
        WebError::Api(
            ApiError::bad_request(format!("no such action {:?}", form.action)).field("action"),
        )
    })?;
    request(&state.app, &viewer.caller, JobId(id), action).await?;
    if headers
        .get("x-requested-with")
        .is_some_and(|v| v.as_bytes() == b"fetch")
    {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let back = if action == Action::Purge {
        // The job is gone: back to the list.
        "/app/jobs".to_string()
    } else if form.back.is_empty() {
        format!("/app/jobs/{id}")
    } else {
        local_next(&form.back).to_string()
    };
    Ok(Redirect::to(&back).into_response())
}

#[derive(Template)]
#[template(path = "files.html")]
struct FilesPage {
    chrome: Chrome,
    id: u64,
    path: String,
    parent: Option<String>,
    entries: Vec<god_core::api::FileEntry>,
}

#[derive(Deserialize, Default)]
pub struct FileQuery {
    #[serde(default)]
    download: Option<String>,
}

/// `GET /app/jobs/{id}/files`.
pub async fn files_root(
    viewer: Viewer,
    state: State<WebState>,
    Path(id): Path<u64>,
    query: Query<FileQuery>,
) -> Result<Response, WebError> {
    serve_file(viewer, state, id, String::new(), query.0).await
}

/// `GET /app/jobs/{id}/files/{*path}`: a directory as a page, a file shown as text or
/// downloaded, by the API's own path rules (nothing outside the job directory, symlinks
/// included).
pub async fn files(
    viewer: Viewer,
    state: State<WebState>,
    Path((id, path)): Path<(u64, String)>,
    query: Query<FileQuery>,
) -> Result<Response, WebError> {
    serve_file(viewer, state, id, path, query.0).await
}

/// Files shown in the browser as text at most this big; larger ones are downloaded.
const SHOW_AT_MOST: u64 = 1 << 20;

async fn serve_file(
    viewer: Viewer,
    State(state): State<WebState>,
    id: u64,
    path: String,
    query: FileQuery,
) -> Result<Response, WebError> {
    let path = path.trim_matches('/').to_string();
    match files::open(&state.app, &viewer.caller, &id.to_string(), &path).await? {
        Opened::Listing(entries) => {
            let parent = (!path.is_empty()).then(|| match path.rsplit_once('/') {
                Some((p, _)) => p.to_string(),
                None => String::new(),
            });
            render(&FilesPage {
                chrome: Chrome::new(&viewer, format!("Job {id}: files"), "jobs"),
                id,
                path,
                parent,
                entries,
            })
        }
        Opened::File(fd, size) => {
            let file = tokio::fs::File::from_std(std::fs::File::from(fd));
            let mut resp = Response::new(Body::from_stream(tokio_util_stream(file)));
            let name = path.rsplit('/').next().unwrap_or("file").to_string();
            let download = query.download.is_some() || size > SHOW_AT_MOST;
            let h = resp.headers_mut();
            if download {
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                let safe: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_graphic() && c != '"' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
            } else {
                // Shown as plain text whatever it holds (no HTML or script of the job's
                // runs in this site's pages).
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
            }
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            Ok(resp)
        }
    }
}

/// A file as a stream of chunks (ended by the first error).
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[derive(Deserialize)]
pub struct SetForm {
    csrf: String,
    name: String,
    value: String,
}

/// `POST /app/jobs/{id}/set`: change a dynamic requirement (`maxlifespan`…) as
/// `PUT /api/1.0/task/<id>` does.
pub async fn set_requirement(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<u64>,
    Form(form): Form<SetForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let value = form.value.trim();
    let value = match value.parse::<serde_json::Number>() {
        Ok(n) => god_core::api::tasks::DynamicValue::Number(n),
        Err(_) => god_core::api::tasks::DynamicValue::Text(value.to_string()),
    };
    let _set = tasks::update(
        viewer.caller.clone(),
        State(state.app.clone()),
        Path(id.to_string()),
        god_server::api::body::JsonBody(god_core::api::tasks::DynamicUpdate {
            name: form.name,
            value,
        }),
    )
    .await?;
    Ok(Redirect::to(&format!("/app/jobs/{id}")).into_response())
}
