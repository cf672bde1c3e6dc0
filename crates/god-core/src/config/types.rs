//! Configuration values parsed into types once, at load: a misspelt policy or a duration that is
//! not one stops start-up naming the key, and the rest of the code never parses a string again.
//! Each type reads (and writes back) the original's spelling.

use crate::size::{parse_duration_secs, parse_size};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Read a value through its `FromStr`, whose message says what was expected.
fn from_str<'de, D: Deserializer<'de>, T: FromStr<Err = String>>(d: D) -> Result<T, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// `scheduler_policy`: how the queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SchedulerPolicy {
    /// `FiFo` (or `fifo`): submission order.
    #[serde(rename = "FiFo")]
    Fifo,
    /// `FairShare`: the original's ticket score (waiting time, usage, priorities).
    #[serde(rename = "FairShare")]
    TicketShare,
    /// `fairshare`: decayed consumed cpu·seconds against priority shares.
    #[serde(rename = "fairshare")]
    UsageShare,
}

impl FromStr for SchedulerPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "FiFo" | "fifo" => Ok(SchedulerPolicy::Fifo),
            "FairShare" => Ok(SchedulerPolicy::TicketShare),
            "fairshare" => Ok(SchedulerPolicy::UsageShare),
            _ => Err(format!(
                "unknown policy {s:?} (expected FiFo, FairShare or fairshare)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for SchedulerPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// `auth_policy`: who may log in, and as whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthPolicyName {
    /// Our database (API keys, argon2 passwords).
    #[serde(rename = "local")]
    Local,
    /// The host's accounts (NSS + PAM).
    #[serde(rename = "system")]
    System,
    /// An LDAP directory (`goauth` is the original's name).
    #[serde(rename = "ldap")]
    Ldap,
    /// Any password (tests only, with `allow_fake_auth`).
    #[serde(rename = "fake")]
    Fake,
}

impl AuthPolicyName {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthPolicyName::Local => "local",
            AuthPolicyName::System => "system",
            AuthPolicyName::Ldap => "ldap",
            AuthPolicyName::Fake => "fake",
        }
    }
}

impl FromStr for AuthPolicyName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(AuthPolicyName::Local),
            "system" => Ok(AuthPolicyName::System),
            "ldap" | "goauth" => Ok(AuthPolicyName::Ldap),
            "fake" => Ok(AuthPolicyName::Fake),
            _ => Err(format!(
                "unknown policy {s:?} (expected local, system, ldap (or goauth) or fake)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for AuthPolicyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// `sqlite_synchronous`: when a commit is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// fsync at every commit: an acknowledged job survives power loss.
    Full,
    /// Survives a crash of the server, not of the machine.
    Normal,
}

impl FromStr for SyncMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(SyncMode::Full),
            "normal" => Ok(SyncMode::Normal),
            _ => Err(format!("unknown mode {s:?} (expected full or normal)")),
        }
    }
}

impl<'de> Deserialize<'de> for SyncMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// A watcher plugin of `watchers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WatcherName {
    /// Kill jobs that run longer than their `maxlifespan`.
    Maxlifespan,
    /// The original's test plugin: jobs named `norun` never start.
    Fake,
}

impl FromStr for WatcherName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "maxlifespan" => Ok(WatcherName::Maxlifespan),
            "fake" => Ok(WatcherName::Fake),
            _ => Err(format!(
                "unknown watcher plugin {s:?} (expected maxlifespan or fake)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for WatcherName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// What runs jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    /// The Docker Engine (`docker`; `swarm` is the original's name for it: the Docker API at
    /// `docker.url`, one Engine or a classic Swarm).
    Docker,
    /// A Docker Swarm-mode cluster through its manager at `swarm.url` (`swarm-mode`): one
    /// replicated-job service per attempt, placed by us on the Swarm's nodes.
    SwarmMode,
    /// Host processes as the user, without containers.
    Native,
    /// The original's fake executor (tests, benchmarks).
    Fake,
}

impl ExecutorKind {
    /// The kind a name (its first `:`-separated token) denotes.
    pub fn of(name: &str) -> Option<ExecutorKind> {
        match name.split(':').next().unwrap_or("") {
            "docker" | "swarm" => Some(ExecutorKind::Docker),
            "swarm-mode" => Some(ExecutorKind::SwarmMode),
            "native" => Some(ExecutorKind::Native),
            "fake" => Some(ExecutorKind::Fake),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Docker => "docker",
            ExecutorKind::SwarmMode => "swarm-mode",
            ExecutorKind::Native => "native",
            ExecutorKind::Fake => "fake",
        }
    }
}

/// One entry of `executors`, in the original's `name[:option[:option]]` form (e.g.
/// `sge:all.q:docker`); kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorSpec {
    pub kind: ExecutorKind,
    /// As written (`swarm`, `docker`…): what requirements and messages name.
    pub written: String,
    /// What follows the name, `:`-separated.
    pub options: Vec<String>,
}

impl ExecutorSpec {
    pub fn parse(s: &str) -> Result<ExecutorSpec, String> {
        let mut parts = s.split(':');
        let name = parts.next().unwrap_or("").trim();
        let kind = ExecutorKind::of(name).ok_or_else(|| {
            format!("unknown executor {s:?} (known: docker, swarm, swarm-mode, native, fake)")
        })?;
        Ok(ExecutorSpec {
            kind,
            written: s.trim().to_string(),
            options: parts.map(|p| p.trim().to_string()).collect(),
        })
    }

    /// The name (before any option).
    pub fn name(&self) -> &str {
        self.written.split(':').next().unwrap_or("")
    }
}

impl fmt::Display for ExecutorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl Serialize for ExecutorSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for ExecutorSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ExecutorSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl From<ExecutorKind> for ExecutorSpec {
    /// The executor by its name, without options (defaults and tests).
    fn from(kind: ExecutorKind) -> Self {
        ExecutorSpec {
            kind,
            written: kind.as_str().to_string(),
            options: Vec::new(),
        }
    }
}

/// `executors`: at least one, each kind at most once (`swarm` is the Docker executor's old
/// name). Every one runs jobs: a job names its own in `requirements.executor`; one that does not
/// goes to the first, the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executors {
    primary: ExecutorSpec,
    others: Vec<ExecutorSpec>,
}

impl Executors {
    /// All of them, in one list (the first is the primary).
    pub fn new(all: Vec<ExecutorSpec>) -> Result<Executors, String> {
        let mut all = all.into_iter();
        let Some(primary) = all.next() else {
            return Err("at least one executor is needed".into());
        };
        let others: Vec<ExecutorSpec> = all.collect();
        for (i, e) in others.iter().enumerate() {
            let mut before = std::iter::once(&primary).chain(&others[..i]);
            if let Some(same) = before.find(|s| s.kind == e.kind) {
                return Err(format!(
                    "{e} and {same} are the same executor ({}): list it once",
                    e.kind.as_str()
                ));
            }
        }
        Ok(Executors { primary, others })
    }

    /// The executor of jobs that name none.
    pub fn primary(&self) -> &ExecutorSpec {
        &self.primary
    }

    /// All of them, as written, the primary first.
    pub fn iter(&self) -> impl Iterator<Item = &ExecutorSpec> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    /// The one a job's `requirements.executor` names (by its first `:`-separated token; `swarm`
    /// and `docker` name the same one).
    pub fn named(&self, name: &str) -> Option<&ExecutorSpec> {
        let kind = ExecutorKind::of(name)?;
        self.iter().find(|e| e.kind == kind)
    }
}

impl From<ExecutorKind> for Executors {
    /// That executor alone (defaults and tests).
    fn from(kind: ExecutorKind) -> Self {
        Executors {
            primary: kind.into(),
            others: Vec::new(),
        }
    }
}

impl Serialize for Executors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Executors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Executors::new(Vec::<ExecutorSpec>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A duration as written (`7d`, `12h`, `30m`, `3600s`, or a number of seconds), with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationSpec {
    pub secs: u64,
    written: String,
}

impl DurationSpec {
    pub fn parse(s: &str) -> Result<DurationSpec, String> {
        Ok(DurationSpec {
            secs: parse_duration_secs(s)?,
            written: s.trim().to_string(),
        })
    }

    /// `n` days, written `<n>d` (defaults and tests).
    pub fn days(n: u64) -> DurationSpec {
        DurationSpec {
            secs: n * 86_400,
            written: format!("{n}d"),
        }
    }

    /// `n` hours, written `<n>h` (defaults and tests).
    pub fn hours(n: u64) -> DurationSpec {
        DurationSpec {
            secs: n * 3600,
            written: format!("{n}h"),
        }
    }

    pub fn as_f64(&self) -> f64 {
        self.secs as f64
    }
}

impl fmt::Display for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DurationSpec::parse(&string_or_number(d, "a duration")?).map_err(serde::de::Error::custom)
    }
}

/// A value written as a string or a bare number (`12h` or `3600`, `40G` or `1000`).
fn string_or_number<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("{other} is not {what}"))),
    }
}

/// A size as written (`40G`, decimal multipliers as the original), with its value in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeSpec {
    pub bytes: u64,
    written: String,
}

impl SizeSpec {
    pub fn parse(s: &str) -> Result<SizeSpec, String> {
        Ok(SizeSpec {
            bytes: parse_size(s)?,
            written: s.trim().to_string(),
        })
    }
}

impl fmt::Display for SizeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl Serialize for SizeSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for SizeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SizeSpec::parse(&string_or_number(d, "a size")?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_the_originals_spelling() {
        let policy = |s: &str| serde_json::from_value::<SchedulerPolicy>(s.into()).ok();
        assert_eq!(policy("FiFo"), Some(SchedulerPolicy::Fifo));
        assert_eq!(policy("fifo"), Some(SchedulerPolicy::Fifo));
        assert_eq!(policy("FairShare"), Some(SchedulerPolicy::TicketShare));
        assert_eq!(policy("fairshare"), Some(SchedulerPolicy::UsageShare));
        assert_eq!(policy("Fairshare"), None);
        let auth = |s: &str| serde_json::from_value::<AuthPolicyName>(s.into()).ok();
        assert_eq!(auth("goauth"), Some(AuthPolicyName::Ldap));
        assert_eq!(auth("kerberos"), None);
        let e = ExecutorSpec::parse("sge:all.q:docker");
        assert!(e.is_err(), "sge is not an executor of this version");
        let e = ExecutorSpec::parse("swarm:opt").unwrap();
        assert_eq!(
            (e.kind, e.name(), e.options.clone()),
            (ExecutorKind::Docker, "swarm", vec!["opt".to_string()])
        );
        assert_eq!(serde_json::to_value(&e).unwrap(), "swarm:opt");
        let d: DurationSpec = serde_json::from_value("12h".into()).unwrap();
        assert_eq!((d.secs, d.to_string()), (43_200, "12h".to_string()));
        let d: DurationSpec = serde_json::from_value(90.into()).unwrap();
        assert_eq!(d.secs, 90);
        assert!(serde_json::from_value::<DurationSpec>("forever".into()).is_err());
        let q: SizeSpec = serde_json::from_value("40G".into()).unwrap();
        assert_eq!(q.bytes, 40_000_000_000);
    }
}
