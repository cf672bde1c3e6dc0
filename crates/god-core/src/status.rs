//! Status strings of the task document, verbatim from Go-Docker 1.x (reference section 1.3).

use serde::{Deserialize, Serialize};
use std::fmt;

/// `status.primary`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Primary {
    #[default]
    Pending,
    Running,
    Over,
    Archived,
}

impl Primary {
    pub fn as_str(self) -> &'static str {
        match self {
            Primary::Pending => "pending",
            Primary::Running => "running",
            Primary::Over => "over",
            Primary::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Primary> {
        Some(match s {
            "pending" => Primary::Pending,
            "running" => Primary::Running,
            "over" => Primary::Over,
            "archived" => Primary::Archived,
            _ => return None,
        })
    }

    /// Pending and running jobs are "active" in the API's sense.
    pub fn is_active(self) -> bool {
        matches!(self, Primary::Pending | Primary::Running)
    }
}

impl fmt::Display for Primary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status.secondary`. `None` in the document (or the empty string) means "normal".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secondary {
    KillRequested,
    Killed,
    SuspendRequested,
    Suspended,
    SuspendRejected,
    ResumeRequested,
    Resumed,
    ResumeRejected,
    RescheduleRequested,
    Rescheduled,
    RejectedByScheduler,
    QuotaReached,
    DependencyFailed,
    Unknown,
}

const ALL: [(Secondary, &str); 14] = [
    (Secondary::KillRequested, "kill requested"),
    (Secondary::Killed, "killed"),
    (Secondary::SuspendRequested, "suspend requested"),
    (Secondary::Suspended, "suspended"),
    (Secondary::SuspendRejected, "suspend rejected"),
    (Secondary::ResumeRequested, "resume requested"),
    (Secondary::Resumed, "resumed"),
    (Secondary::ResumeRejected, "resume rejected"),
    (Secondary::RescheduleRequested, "reschedule requested"),
    (Secondary::Rescheduled, "rescheduled"),
    (Secondary::RejectedByScheduler, "rejected by scheduler"),
    (Secondary::QuotaReached, "quota reached"),
    (Secondary::DependencyFailed, "dependency failed"),
    (Secondary::Unknown, "unknown"),
];

impl Secondary {
    pub fn as_str(self) -> &'static str {
        ALL.iter()
            .find(|(s, _)| *s == self)
            .map(|(_, name)| *name)
            .unwrap_or("unknown")
    }

    pub fn parse(s: &str) -> Option<Secondary> {
        ALL.iter().find(|(_, name)| *name == s).map(|(s, _)| *s)
    }

    /// A user request that a daemon (the watcher) still has to carry out.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Secondary::KillRequested
                | Secondary::SuspendRequested
                | Secondary::ResumeRequested
                | Secondary::RescheduleRequested
        )
    }
}

impl fmt::Display for Secondary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Secondary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Secondary {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Secondary::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown secondary status {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_strings_round_trip() {
        for (s, name) in ALL {
            assert_eq!(s.as_str(), name);
            assert_eq!(Secondary::parse(name), Some(s));
        }
        assert_eq!(Secondary::ResumeRequested.as_str(), "resume requested");
    }
}
