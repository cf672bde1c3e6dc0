//! Project routes: `GET|POST /api/1.0/project[/<id>]`.

use crate::config::VolumeConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A project, as `GET /api/1.0/project/<id>` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectDoc {
    pub id: String,
    pub description: String,
    pub prio: u32,
    pub quota_cpu: f64,
    pub quota_ram: f64,
    pub quota_time: f64,
    pub members: Vec<String>,
    pub volumes: Vec<VolumeConfig>,
}

/// `POST /api/1.0/project` (create: `id` required) and `POST /api/1.0/project/<id>` (update:
/// the whole project as `GET` shows it, `id` read and ignored). Absent or `null` fields keep
/// their value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_ram: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Members>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<VolumeConfig>>,
}

/// Members: a list of logins, or (as some clients send them) one comma-separated string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Members {
    List(Vec<String>),
    Csv(String),
}

impl Members {
    /// The logins, trimmed, without empty ones or repeats, in their order.
    pub fn logins(&self) -> Vec<String> {
        let raw: Vec<&str> = match self {
            Members::List(l) => l.iter().map(|m| m.as_str()).collect(),
            // Comma-separated: spaces around names are not part of them.
            Members::Csv(s) => s.split(',').map(str::trim).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for m in raw {
            if !m.is_empty() && !out.iter().any(|x| x == m) {
                out.push(m.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Members;

    #[test]
    fn members_are_a_list_or_a_comma_separated_string() {
        let list = Members::List(vec!["a".into(), " ".into(), "b".into(), "a".into()]);
        assert_eq!(list.logins(), ["a", " ", "b"]);
        assert_eq!(Members::Csv("a, b,,a".into()).logins(), ["a", "b"]);
        assert!(Members::Csv(String::new()).logins().is_empty());
    }
}
