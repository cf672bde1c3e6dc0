//! The service's own state that administrators set, and what they did: maintenance mode
//! (`GET|PUT /api/1.0/maintenance`) and the audit log (`GET /api/1.0/audit`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /api/1.0/maintenance` (any authenticated user: the web UI shows a banner), and the
/// answer of `PUT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MaintenanceDoc {
    /// While on, the scheduler starts no job (running jobs go on; pending ones say why).
    pub on: bool,
    /// The administrator's words, shown with it.
    pub message: Option<String>,
    /// Who switched it last (`null`: nobody ever did).
    pub by: Option<String>,
    /// When (seconds since the epoch).
    pub at: Option<f64>,
}

/// `PUT /api/1.0/maintenance` (administrators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceUpdate {
    pub on: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntryDoc {
    pub id: u64,
    /// Seconds since the epoch.
    pub at: f64,
    /// Who did it.
    pub actor: String,
    /// What (`god_core::audit::AuditAction` codes: `job_killed`, `quota_changed`...).
    pub action: String,
    /// To whom: a login, a project id, or empty for the whole service.
    pub target: String,
    /// The particulars, for people ("job 42", "quota_cpu 0 -> 8").
    pub detail: String,
}

/// `GET /api/1.0/audit`: newest first; `next` is the `before` of the next page (`null`: this
/// was the last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditAnswer {
    pub entries: Vec<AuditEntryDoc>,
    pub next: Option<u64>,
}

/// The query of `GET /api/1.0/audit`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Entries older than this id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}
