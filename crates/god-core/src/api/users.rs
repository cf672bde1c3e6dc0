//! User routes: `GET|PUT /api/1.0/user/<login>`, `GET /api/1.0/user`, the API key, the password,
//! and per-day usage (also of projects).

use super::nullable;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /api/1.0/user/<login>` (and each entry of `GET /api/1.0/user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserDoc {
    pub id: String,
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub email: Option<String>,
    #[serde(rename = "homeDirectory")]
    pub home_directory: Option<String>,
    pub admin: bool,
    pub disabled: bool,
    /// Guests log in through the identity provider and run nothing until activated.
    pub guest: bool,
    pub active: bool,
    pub credentials: UserCredentials,
    pub usage: UserLimits,
}

/// API keys are stored hashed: `apikey` is always `null` here (shown once, when issued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserCredentials {
    pub apikey: Option<String>,
    pub public: Option<String>,
}

/// Priority and quotas (0: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserLimits {
    pub prio: u32,
    pub quota_cpu: f64,
    pub quota_ram: f64,
    pub quota_time: f64,
    /// Bytes a guest's home holds (the original's `usage.guest_home`), shown to
    /// administrators only, measured at most once a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_home: Option<u64>,
}

/// `PUT /api/1.0/user/<login>`: the user document, as `GET` gives it, with changes. Absent
/// fields keep their value. `id`, `uid`, `gid`, `sgids`, `homeDirectory`, `guest` and
/// `credentials.apikey` are the account's identity: read and ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sgids: Option<Vec<u32>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    #[serde(
        rename = "homeDirectory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub home_directory: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsUpdate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<LimitsUpdate>,
}

/// `credentials` of a user update: `public` (the SSH key; `null` removes it) is the user's,
/// `apikey` is read and ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apikey: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub public: Option<Option<String>>,
}

/// `usage` of a user update: priority and quotas (administrators); `guest_home` (measured) is
/// read and ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_home: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_ram: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_time: Option<f64>,
}

/// `POST /api/1.0/user/<login>/apikey`: the new key, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyAnswer {
    pub id: String,
    pub apikey: String,
}

/// `POST /api/1.0/user/<login>/password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub password: String,
}

/// The answer of a password change: `{id, password: "set"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordAnswer {
    pub id: String,
    pub password: String,
}

/// One day of `GET /api/1.0/user/<login>/usage` and `GET /api/1.0/project/<id>/usage`. The
/// original's fields are `date`, `cpu` (the runs' cpus, summed), `ram` (their GB, summed) and
/// `time` (wall seconds); asked with `?days=N`, every day of the window is there and so are the
/// other fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UsageDay {
    /// `Y_M_D`, no zero padding (as the original).
    pub date: String,
    pub cpu: f64,
    pub ram: f64,
    pub time: f64,
    /// CPU hours (cpus × wall time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_hours: Option<f64>,
    /// GB hours (GB × wall time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_gb_hours: Option<f64>,
    /// Wall hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_hours: Option<f64>,
    /// Runs that ended that day, by how they ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<RunCounts>,
}

/// Runs by how they ended (`god_core::ending::RunOutcome`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct RunCounts {
    pub ok: u64,
    pub failed: u64,
    pub killed: u64,
    pub node_failure: u64,
    pub limit_reached: u64,
    /// Runs recorded before outcomes were.
    pub unknown: u64,
}

impl RunCounts {
    pub fn add(&mut self, outcome: crate::ending::RunOutcome) {
        use crate::ending::RunOutcome;
        *match outcome {
            RunOutcome::Ok => &mut self.ok,
            RunOutcome::Failed => &mut self.failed,
            RunOutcome::Killed => &mut self.killed,
            RunOutcome::NodeFailure => &mut self.node_failure,
            RunOutcome::LimitReached => &mut self.limit_reached,
            RunOutcome::Unknown => &mut self.unknown,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.ok + self.failed + self.killed + self.node_failure + self.limit_reached + self.unknown
    }
}

/// The query of the usage routes: every day of the last `days` (the day of the request the
/// first), with hours and outcomes. Without it, the original's answer: the days with usage of
/// the last 30.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// `GET /api/1.0/user/<login>/quota`: what the user and each of their projects use of their
/// quotas now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaAnswer {
    /// The window the time quota counts (`user_reset_usage_duration`), in days.
    pub window_days: u64,
    pub user: QuotaUse,
    /// The projects the user is a member of (not `default`: it has no quota).
    pub projects: Vec<QuotaUse>,
}

/// A user's or a project's quotas (0: none) and what is used of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaUse {
    /// The login or the project id.
    pub id: String,
    pub prio: u32,
    pub quota_cpu: f64,
    pub quota_ram: f64,
    /// Wall seconds within the window.
    pub quota_time: f64,
    /// CPUs of the running jobs.
    pub used_cpu: f64,
    /// GB of the running jobs.
    pub used_ram: f64,
    /// Wall seconds within the window: runs that ended in it and the running jobs so far.
    pub used_time: f64,
    /// Jobs running now.
    pub running: u64,
}
