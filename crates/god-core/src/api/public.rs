//! Routes without a token: `POST /api/1.0/authenticate`, `GET /api/1.0/config`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /api/1.0/authenticate`: `{user, apikey}` or `{user, password}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apikey: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A session: the token and when it expires (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenAnswer {
    pub token: String,
    pub expires: f64,
}

/// The answer of an OpenID Connect login asked for as JSON: a session, whose user, and whether
/// the guest account is active yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GuestLoginAnswer {
    pub token: String,
    pub expires: f64,
    pub user: String,
    pub active: bool,
}

/// `GET /api/1.0/config`: what clients need to build a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigAnswer {
    pub images: Vec<ImageEntry>,
    pub constraints: Vec<ConstraintEntry>,
    pub volumes: Vec<VolumeEntry>,
    /// The primary executor's features (the original's key: `kill`, `pause`).
    pub executor_features: Vec<String>,
    /// Every executor a job may name in `requirements.executor`, the primary first.
    pub executors: Vec<ExecutorEntry>,
    pub defaults_cpu: u32,
    pub defaults_ram: f64,
    pub allow_root: bool,
    pub allow_user_images: bool,
    pub dynamic_fields: Vec<DynamicFieldEntry>,
    pub version: String,
}

/// An executor of the server and what it can do to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutorEntry {
    pub name: String,
    pub features: Vec<String>,
}

/// A default image (`default_images`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageEntry {
    pub name: String,
    pub url: String,
    pub interactive: bool,
    pub default: bool,
}

/// A constraint and its allowed values, as a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConstraintEntry {
    pub name: String,
    pub value: Vec<String>,
}

/// A volume users may ask for (its host path is not shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VolumeEntry {
    pub name: String,
    pub acl: String,
    pub mount: Option<String>,
}

/// A requirement that can change after submission (`PUT /api/1.0/task/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DynamicFieldEntry {
    pub name: String,
    pub admin_only: bool,
}
