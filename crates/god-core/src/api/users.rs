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

/// `usage` of a user update: priority and quotas (administrators).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsUpdate {
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

/// One day of `GET /api/1.0/user/<login>/usage` and `GET /api/1.0/project/<id>/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UsageDay {
    /// `Y_M_D`, no zero padding (as the original).
    pub date: String,
    pub cpu: f64,
    pub ram: f64,
    pub time: f64,
}
