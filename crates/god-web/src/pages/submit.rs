//! `/app/submit`: a new job from a form with every field the server honours, pre-filled with
//! a commented template of the `GODOCKER_*` variables (or with a job to clone). The form
//! builds the same task document `god submit` sends and gives it to the API's own submit
//! handler: its validation messages are the API's, shown next to the field they name.

use super::{render, Chrome};
use crate::error::WebError;
use crate::session::Viewer;
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use god_core::api::public::ConfigAnswer;
use god_core::task::{Meta, Volume};
use god_core::Task;
use god_server::api::{body::Body, public, tasks, users};
use god_server::ApiError;
use serde::Deserialize;

/// The script a new job starts from: what the job's environment offers, as comments.
pub const TEMPLATE: &str = "#!/bin/bash
# Commands to execute. Available environment variables:
#   GODOCKER_JID         this job's id
#   GODOCKER_PWD         this job's directory: write results here (god files lists them)
#   GODOCKER_HOME        your home directory, when the home volume is mounted
#   GODOCKER_DATA        where the data volumes are mounted
#   GODOCKER_TASK_ID     in a job array: this task's value
#   GODOCKER_TASK_FIRST  in a job array: its first value
#   GODOCKER_TASK_LAST   in a job array: its last value
#   GODOCKER_TASK_STEP   in a job array: its step
# The job runs as you (your uid and groups), in the image you choose.
echo \"job $GODOCKER_JID on $(hostname)\"
";

/// What the form holds (as sent, to show it again with the error).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub name: String,
    pub description: String,
    pub tags: String,
    pub image: String,
    pub cpu: String,
    pub ram: String,
    pub gpus: String,
    pub project: String,
    pub array: String,
    pub depends: String,
    pub retries: String,
    pub executor: String,
    pub maxlifespan: String,
    pub root: bool,
    pub labels: Vec<String>,
    /// (volume name, acl) of the volumes asked for.
    pub volumes: Vec<(String, String)>,
    pub command: String,
}

impl Fields {
    /// A new job's form: the server's defaults.
    fn new(config: &ConfigAnswer) -> Fields {
        Fields {
            image: config
                .images
                .iter()
                .find(|i| i.default)
                .or(config.images.first())
                .map(|i| i.url.clone())
                .unwrap_or_default(),
            cpu: config.defaults_cpu.to_string(),
            ram: crate::view::gb(config.defaults_ram),
            gpus: "0".into(),
            command: TEMPLATE.into(),
            ..Default::default()
        }
    }

    /// The form of a job to submit again.
    fn cloned(task: &Task) -> Fields {
        let r = &task.requirements;
        Fields {
            name: task.meta.name.clone(),
            description: task.meta.description.clone(),
            tags: task.meta.tags.join(", "),
            image: task.container.image.clone(),
            cpu: r.cpu.to_string(),
            ram: crate::view::gb(r.ram),
            gpus: r.gpus.to_string(),
            project: task.user.project.clone(),
            array: r.array.values.clone().unwrap_or_default(),
            depends: r
                .tasks
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            retries: if r.failure_policy > 0 {
                r.failure_policy.to_string()
            } else {
                String::new()
            },
            executor: r.executor.clone().unwrap_or_default(),
            maxlifespan: r.maxlifespan.clone().unwrap_or_default(),
            root: task.container.root,
            labels: r.label.clone(),
            volumes: task
                .container
                .volumes
                .iter()
                .filter(|v| v.name != "go-docker")
                .map(|v| (v.name.clone(), v.acl.clone()))
                .collect(),
            command: task.command.cmd.clone(),
        }
    }

    fn acl_of(&self, volume: &str) -> &str {
        self.volumes
            .iter()
            .find(|(n, _)| n == volume)
            .map(|(_, a)| a.as_str())
            .unwrap_or("")
    }

    fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }

    /// Parse the form's body; a number that is not one is refused here, naming its field as
    /// the API names it.
    fn parse(body: &[u8]) -> Result<(Fields, String), ApiError> {
        let mut f = Fields::default();
        let mut csrf = String::new();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "csrf" => csrf = v,
                "name" => f.name = v,
                "description" => f.description = v,
                "tags" => f.tags = v,
                "image" => f.image = v,
                "cpu" => f.cpu = v,
                "ram" => f.ram = v,
                "gpus" => f.gpus = v,
                "project" => f.project = v,
                "array" => f.array = v,
                "depends" => f.depends = v,
                "retries" => f.retries = v,
                "executor" => f.executor = v,
                "maxlifespan" => f.maxlifespan = v,
                "root" => f.root = true,
                "label" => f.labels.push(v),
                "command" => f.command = v.replace("\r\n", "\n"),
                k if k.starts_with("volume.") => {
                    if !v.is_empty() {
                        f.volumes.push((k["volume.".len()..].to_string(), v));
                    }
                }
                other => {
                    return Err(
                        ApiError::bad_request(format!("unknown field {other:?}")).field(other)
                    )
                }
            }
        }
        Ok((f, csrf))
    }

    /// The task document `god submit` would send for these fields.
    fn document(&self) -> Result<Task, ApiError> {
        fn number<T: std::str::FromStr + Default>(
            field: &'static str,
            s: &str,
        ) -> Result<T, ApiError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(T::default());
            }
            s.parse()
                .map_err(|_| ApiError::bad_request(format!("{s:?} is not a number")).field(field))
        }
        let mut doc = Task::default();
        doc.meta = Meta {
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
            tags: split_list(&self.tags),
        };
        let r = &mut doc.requirements;
        r.cpu = number("requirements.cpu", &self.cpu)?;
        r.ram = number("requirements.ram", &self.ram)?;
        r.gpus = number("requirements.gpus", &self.gpus)?;
        r.failure_policy = number("requirements.failure_policy", &self.retries)?;
        r.label = self
            .labels
            .iter()
            .filter(|l| !l.is_empty())
            .cloned()
            .collect();
        r.tasks = split_list(&self.depends)
            .into_iter()
            .map(|d| match d.parse::<u64>() {
                Ok(n) => serde_json::json!(n),
                Err(_) => serde_json::json!(d),
            })
            .collect();
        r.array.values = Some(self.array.trim().to_string()).filter(|a| !a.is_empty());
        r.executor = Some(self.executor.trim().to_string()).filter(|e| !e.is_empty());
        r.maxlifespan = Some(self.maxlifespan.trim().to_string()).filter(|m| !m.is_empty());
        doc.container.image = self.image.trim().to_string();
        doc.container.root = self.root;
        doc.container.volumes = self
            .volumes
            .iter()
            .map(|(name, acl)| Volume {
                name: name.clone(),
                acl: acl.clone(),
                ..Default::default()
            })
            .collect();
        doc.command.cmd = self.command.clone();
        doc.user.project = self.project.trim().to_string();
        Ok(doc)
    }
}

/// `a, b c` → `[a, b, c]`.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

#[derive(Template)]
#[template(path = "submit.html")]
struct SubmitPage {
    chrome: Chrome,
    f: Fields,
    config: ConfigAnswer,
    /// Images jobs have used, besides the configured ones.
    used_images: Vec<String>,
    projects: Vec<String>,
    error: Option<String>,
    /// The field the error names, as the API names it (`requirements.cpu`).
    error_field: String,
    csrf: String,
}

impl SubmitPage {
    /// The error's text when it is about the field `name` (for `aria-describedby`).
    fn about(&self, name: &str) -> bool {
        self.error.is_some() && self.error_field == name
    }
}

async fn page(
    viewer: &Viewer,
    state: &WebState,
    f: Fields,
    error: Option<ApiError>,
) -> Result<Response, WebError> {
    let app = &state.app;
    let axum::Json(config) = public::config(State(app.clone())).await;
    let used_images = match public::images(viewer.caller.clone(), State(app.clone())).await {
        Ok(axum::Json(images)) => images
            .into_iter()
            .filter(|i| !config.images.iter().any(|c| &c.url == i))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut projects: Vec<String> = match users::projects(
        viewer.caller.clone(),
        State(app.clone()),
        axum::extract::Path(viewer.login().to_string()),
    )
    .await
    {
        Ok(axum::Json(p)) => p.into_iter().map(|p| p.id).collect(),
        Err(_) => Vec::new(),
    };
    if !projects.iter().any(|p| p == "default") {
        projects.insert(0, "default".into());
    }
    let status = error
        .as_ref()
        .map(|e| e.status)
        .unwrap_or(axum::http::StatusCode::OK);
    let page = SubmitPage {
        chrome: Chrome::new(viewer, "Submit a job", "submit"),
        f,
        config,
        used_images,
        projects,
        error_field: error
            .as_ref()
            .and_then(|e| e.field.clone())
            .unwrap_or_default(),
        error: error.map(|e| e.error),
        csrf: viewer.session.csrf.clone(),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Clone {
    clone: Option<String>,
}

/// `GET /app/submit[?clone=ID]`.
pub async fn form(
    viewer: Viewer,
    State(state): State<WebState>,
    Query(q): Query<Clone>,
) -> Result<Response, WebError> {
    let fields = match q.clone {
        Some(id) => {
            let axum::Json(task) = tasks::show(
                viewer.caller.clone(),
                State(state.app.clone()),
                axum::extract::Path(id),
            )
            .await?;
            Fields::cloned(&task)
        }
        None => {
            let axum::Json(config) = public::config(State(state.app.clone())).await;
            Fields::new(&config)
        }
    };
    page(&viewer, &state, fields, None).await
}

/// `POST /app/submit`: the job, or the form again with the API's refusal.
pub async fn send(
    viewer: Viewer,
    State(state): State<WebState>,
    body: Bytes,
) -> Result<Response, WebError> {
    let (fields, csrf) = Fields::parse(&body).map_err(WebError::Api)?;
    viewer.check_csrf(&csrf)?;
    let doc = match fields.document() {
        Ok(d) => d,
        Err(e) => return page(&viewer, &state, fields, Some(e)).await,
    };
    let bytes = match serde_json::to_vec(&doc) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            return Err(WebError::Api(ApiError::bad_request(e.to_string())));
        }
    };
    match tasks::submit(viewer.caller.clone(), State(state.app.clone()), Body(bytes)).await {
        Ok(axum::Json(answer)) => {
            Ok(Redirect::to(&format!("/app/jobs/{}", answer.id)).into_response())
        }
        Err(e) => page(&viewer, &state, fields, Some(e)).await,
    }
}
