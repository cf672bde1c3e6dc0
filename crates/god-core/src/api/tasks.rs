//! Job routes: the answers of requests on a job, its status, dynamic updates, file listings and
//! the change log's events. The job itself is [`crate::Task`].

use crate::task::Status;
use crate::JobId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `{msg, id, status}`: a request (kill, suspend, resume, reschedule) recorded on a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestAnswer {
    pub msg: String,
    pub id: JobId,
    pub status: Status,
}

/// `GET /api/1.0/task/<id>/status`: the status fields, and the same again under `status`
/// (Galaxy's runner reads `['status']['primary']`, other clients the top level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusAnswer {
    #[serde(flatten)]
    pub fields: Status,
    pub status: Status,
}

impl StatusAnswer {
    pub fn new(status: Status) -> Self {
        StatusAnswer {
            fields: status.clone(),
            status,
        }
    }
}

/// `PUT /api/1.0/task/<id>` `{name, value}`: change a dynamic requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamicUpdate {
    pub name: String,
    pub value: DynamicValue,
}

/// The value of a dynamic requirement: a string or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DynamicValue {
    Text(String),
    Number(serde_json::Number),
}

impl std::fmt::Display for DynamicValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DynamicValue::Text(s) => f.write_str(s),
            DynamicValue::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `GET /api/1.0/task/<id>/stats`: what a running job's container uses now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatsAnswer {
    pub id: JobId,
    pub cpu_seconds: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: Option<u64>,
}

/// One entry of a job directory listing (`GET /api/1.0/task/<id>/files/<dir>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileEntry {
    pub name: String,
    /// `dir`, `file`, `link` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
}

/// The data of one server-sent event of `GET /api/1.0/events`: a change of the change log. The
/// body depends on the kind: the server sends it as the change log holds it (`B = Value`); a
/// follower of jobs reads the body of `job` and `job_removed` changes as a [`JobSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeEvent<B = serde_json::Value> {
    pub id: u64,
    pub at: f64,
    pub kind: String,
    pub job: Option<u64>,
    pub body: B,
}

/// The body of a `job` change: what a list row shows of the job as the change left it. A
/// `job_removed` change has only the `id`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct JobSummary {
    pub id: u64,
    pub user: Option<String>,
    pub project: Option<String>,
    pub name: Option<String>,
    pub primary: Option<String>,
    pub secondary: Option<String>,
    pub reason: Option<String>,
    pub exitcode: Option<i64>,
    pub parent: Option<u64>,
}

/// The query of `GET /api/1.0/archive/<days>`, `DELETE /api/1.0/archive/<days>` and
/// `DELETE /api/1.0/user/<login>/task`: only the jobs with this tag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The query of `GET /api/1.0/events`: resume after this change id (as `Last-Event-ID`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// The query of the job lists (`GET /api/1.0/task/active[/all]`,
/// `POST|GET /api/1.0/task/over[/all]/<skip>/<limit>`). Without any parameter but `project`,
/// each route answers as the original does; with one, it answers from the one list query:
/// newest first, paged by `after` (the last id of the previous page), and array parents carry
/// `requirements.array.nb_tasks_running` and `nb_tasks_pending`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The jobs of this project: every member's when the configuration shares project tasks
    /// and the caller is a member, else the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// States, comma-separated, among the route's (`pending`, `running`, `active` for both;
    /// `over`, `archived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// This user's jobs (administrators; others may name only themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Jobs with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Jobs whose name or description contains this (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Jobs of this image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Submitted at or after this time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<f64>,
    /// Submitted before this time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<f64>,
    /// Jobs with a lower id: the last id of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many jobs (0: all). On the over routes, the path's limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Array children left out: each parent counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<bool>,
    /// The children of this array parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
}

impl ListQuery {
    /// Only what the original routes take (`project`): answered as the original does.
    pub fn is_original(&self) -> bool {
        *self
            == ListQuery {
                project: self.project.clone(),
                ..Default::default()
            }
    }
}
