//! The task document: the wire format of the Go-Docker 1.0 REST API (reference section 1.1).
//!
//! Field names and nesting are those of the original. Our additions are marked as such and are
//! never renames. Every field has a default so that a partial document (old clients, old rows)
//! still reads.

use crate::status::{Primary, Secondary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A job's identifier: an integer allocated by the store, increasing.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    JsonSchema,
)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Task {
    pub id: JobId,
    pub parent_task_id: Option<JobId>,
    /// Submission time, seconds since the epoch.
    pub date: f64,
    pub notify: Notify,
    pub user: TaskUser,
    pub meta: Meta,
    pub requirements: Requirements,
    pub container: Container,
    pub command: Command,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Notify {
    pub email: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct TaskUser {
    /// The login.
    pub id: String,
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub email: Option<String>,
    pub project: String,
    pub guest: bool,
    pub credentials: Credentials,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Credentials {
    /// Never stored nor returned in a task: API keys are kept hashed. Present for the wire shape.
    pub apikey: Option<String>,
    pub public: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Meta {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Requirements {
    pub cpu: u32,
    /// Memory in GB. Whole numbers go out as integers, as the original's; fractions are our
    /// addition (small test jobs).
    #[serde(serialize_with = "ser_gb")]
    pub ram: f64,
    pub gpus: u32,
    pub array: ArraySpec,
    pub label: Vec<String>,
    /// Dependencies: ids (numbers or strings) of tasks that must be over first.
    pub tasks: Vec<Value>,
    pub ports: Vec<u16>,
    pub uris: Vec<String>,
    pub tmpstorage: Option<TmpStorage>,
    pub failure_policy: u32,
    pub network: Option<String>,
    pub executor: Option<String>,
    pub maxlifespan: Option<String>,
    pub user_quota_time: f64,
    pub user_quota_cpu: f64,
    pub user_quota_ram: f64,
    pub project_quota_time: f64,
    pub project_quota_cpu: f64,
    pub project_quota_ram: f64,
    pub ticket_share: f64,
}

fn ser_gb<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct ArraySpec {
    pub values: Option<String>,
    pub task_id: Option<i64>,
    pub nb_tasks: u64,
    pub nb_tasks_over: u64,
    /// Filled when the document is read (children are not listed in the stored parent).
    pub tasks: Vec<JobId>,
    /// Our addition, on children: the parent's range (`first:last:step`), for the
    /// `GODOCKER_TASK_FIRST/LAST/STEP` variables.
    pub range: Option<String>,
    /// Our addition, on parents: children over with a non-zero exit code (or never run).
    pub nb_tasks_failed: u64,
    /// Our addition, on parents: children created so far.
    pub nb_tasks_created: u64,
    /// Our addition, on parents in lists asked with the new parameters: children running now.
    /// Never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_tasks_running: Option<u64>,
    /// Our addition, on parents in lists asked with the new parameters: children pending now,
    /// created or not yet. Never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_tasks_pending: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct TmpStorage {
    pub size: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Container {
    pub image: String,
    pub volumes: Vec<Volume>,
    /// The engine's default network (`true`, also when absent) or none at all (`false`).
    pub network: bool,
    pub root: bool,
    /// Engine container id once started.
    pub id: Option<String>,
    /// Executor metadata: `Node.Name`, and `State.ExitCode` once over. `null` until dispatched.
    pub meta: Option<Value>,
    pub stats: Option<Value>,
    pub ports: Vec<u16>,
    pub port_mapping: Vec<PortMapping>,
    pub ip_address: Option<String>,
    pub status: Option<String>,
    /// Our addition: the deterministic name of the container of the current attempt, written
    /// before the container is created, so recovery finds it after a crash.
    pub name: Option<String>,
}

impl Default for Container {
    fn default() -> Self {
        Container {
            image: String::new(),
            volumes: Vec::new(),
            network: true,
            root: false,
            id: None,
            meta: None,
            stats: None,
            ports: Vec::new(),
            port_mapping: Vec::new(),
            ip_address: None,
            status: None,
            name: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Volume {
    pub name: String,
    pub acl: String,
    pub path: Option<String>,
    pub mount: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Command {
    pub cmd: String,
    pub interactive: bool,
    pub script: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Status {
    pub primary: Primary,
    #[schemars(with = "Option<String>")]
    pub secondary: Option<Secondary>,
    pub reason: Option<String>,
    /// Absent (not null) until the job runs: the PyPI client tests for the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_running: Option<f64>,
    pub date_over: Option<f64>,
    pub duration: Option<f64>,
    pub exitcode: Option<i64>,
    pub failure: Failure,
    pub kill_tentative: u32,
    #[serde(rename = "override")]
    pub override_: bool,
    /// Our addition: how many times the job was handed to an executor.
    pub attempts: u32,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            primary: Primary::Pending,
            secondary: None,
            reason: None,
            date_running: None,
            date_over: None,
            duration: None,
            exitcode: None,
            failure: Failure::default(),
            kill_tentative: 0,
            override_: false,
            attempts: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default)]
pub struct Failure {
    pub reason: Option<String>,
    pub nodes: Vec<String>,
    pub count: u32,
}

impl Task {
    /// An array parent never runs itself.
    pub fn is_array_parent(&self) -> bool {
        self.requirements.array.values.is_some()
    }

    /// Name of the node the job was placed on, if any.
    pub fn node_name(&self) -> Option<&str> {
        self.container
            .meta
            .as_ref()
            .and_then(|m| m.get("Node"))
            .and_then(|n| n.get("Name"))
            .and_then(|n| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_running_is_absent_until_set_and_date_over_is_null() {
        let t = Task::default();
        let v = serde_json::to_value(&t).unwrap();
        assert!(v["status"].get("date_running").is_none());
        assert!(v["status"]["date_over"].is_null());
        assert_eq!(v["status"]["primary"], "pending");
        assert!(v["status"]["secondary"].is_null());
    }

    #[test]
    fn whole_ram_serializes_as_integer() {
        let mut t = Task::default();
        t.requirements.ram = 2.0;
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["requirements"]["ram"].to_string(), "2");
        t.requirements.ram = 0.25;
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["requirements"]["ram"].to_string(), "0.25");
    }

    #[test]
    fn old_document_without_most_fields_reads() {
        let t: Task = serde_json::from_str(r#"{"id": 3, "meta": {"name": "x"}}"#).unwrap();
        assert_eq!(t.id, JobId(3));
        assert_eq!(t.status.primary, Primary::Pending);
    }
}
