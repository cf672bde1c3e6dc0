//! Job dependencies: `requirements.tasks`, with a condition per parent.
//!
//! On the wire a dependency is a job id (number or string: `afterok`, as old clients send),
//! `"afterany:43"` / `"afternotok:43"` / `"afterok:43"`, or `{"id": 43, "condition": "afterany"}`.
//! Stored documents use the plain id for `afterok` and the `"condition:id"` string otherwise.

use crate::task::JobId;
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Condition {
    /// The parent ended with exit code 0.
    #[default]
    AfterOk,
    /// The parent ended, whatever its exit code.
    AfterAny,
    /// The parent ended with a non-zero exit code (or never ran).
    AfterNotOk,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::AfterOk => "afterok",
            Condition::AfterAny => "afterany",
            Condition::AfterNotOk => "afternotok",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        match s.trim() {
            "afterok" | "ok" => Some(Condition::AfterOk),
            "afterany" | "any" => Some(Condition::AfterAny),
            "afternotok" | "notok" => Some(Condition::AfterNotOk),
            _ => None,
        }
    }

    fn short(self) -> &'static str {
        match self {
            Condition::AfterOk => "ok",
            Condition::AfterAny => "any",
            Condition::AfterNotOk => "notok",
        }
    }

    /// Does a parent that ended with `exit_code` (`None`: it never ran) satisfy the condition?
    pub fn satisfied_by(self, exit_code: Option<i64>) -> bool {
        match self {
            Condition::AfterAny => true,
            Condition::AfterOk => exit_code == Some(0),
            Condition::AfterNotOk => exit_code != Some(0),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dependency {
    pub id: JobId,
    pub condition: Condition,
}

fn positive(n: u64) -> Option<JobId> {
    (n > 0).then_some(JobId(n))
}

/// Read one dependency from its wire form.
pub fn parse(v: &Value) -> Option<Dependency> {
    let dep = |id, condition| Some(Dependency { id, condition });
    match v {
        Value::Number(n) => dep(positive(n.as_u64()?)?, Condition::AfterOk),
        Value::String(s) => match s.split_once(':') {
            Some((cond, id)) => dep(positive(id.trim().parse().ok()?)?, Condition::parse(cond)?),
            None => dep(positive(s.trim().parse().ok()?)?, Condition::AfterOk),
        },
        Value::Object(o) => {
            let id = match o.get("id")? {
                Value::Number(n) => n.as_u64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            let condition = match o.get("condition") {
                None | Some(Value::Null) => Condition::AfterOk,
                Some(Value::String(c)) => Condition::parse(c)?,
                _ => return None,
            };
            dep(positive(id)?, condition)
        }
        _ => None,
    }
}

/// The wire form stored in documents.
pub fn to_value(d: &Dependency) -> Value {
    match d.condition {
        Condition::AfterOk => Value::from(d.id.0),
        c => Value::String(format!("{}:{}", c.as_str(), d.id)),
    }
}

/// Compact column form: `41:ok,43:any`.
pub fn encode(deps: &[Dependency]) -> String {
    deps.iter()
        .map(|d| format!("{}:{}", d.id, d.condition.short()))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn decode(s: &str) -> Vec<Dependency> {
    s.split(',')
        .filter_map(|part| {
            let (id, cond) = part.split_once(':').unwrap_or((part, "ok"));
            Some(Dependency {
                id: JobId(id.trim().parse().ok()?),
                condition: Condition::parse(cond)?,
            })
        })
        .collect()
}

/// Dependencies of a stored document.
pub fn of_values(values: &[Value]) -> Vec<Dependency> {
    values.iter().filter_map(parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_forms() {
        let cases = [
            (json!(41), Some((41, Condition::AfterOk))),
            (json!("41"), Some((41, Condition::AfterOk))),
            (json!("afterany:43"), Some((43, Condition::AfterAny))),
            (json!("afternotok:44"), Some((44, Condition::AfterNotOk))),
            (
                json!({"id": 45, "condition": "afterany"}),
                Some((45, Condition::AfterAny)),
            ),
            (json!({"id": "46"}), Some((46, Condition::AfterOk))),
            (json!("sometimes:4"), None),
            (json!(0), None),
            (json!(-1), None),
            (json!("x"), None),
            (json!([1]), None),
        ];
        for (v, want) in cases {
            let got = parse(&v).map(|d| (d.id.0, d.condition));
            assert_eq!(got, want, "{v}");
        }
    }

    #[test]
    fn column_round_trip_and_conditions() {
        let deps = vec![
            Dependency {
                id: JobId(1),
                condition: Condition::AfterOk,
            },
            Dependency {
                id: JobId(2),
                condition: Condition::AfterNotOk,
            },
        ];
        assert_eq!(decode(&encode(&deps)), deps);
        assert_eq!(decode(""), vec![]);
        assert_eq!(
            decode("7"),
            vec![Dependency {
                id: JobId(7),
                condition: Condition::AfterOk
            }]
        );
        assert!(Condition::AfterOk.satisfied_by(Some(0)));
        assert!(!Condition::AfterOk.satisfied_by(Some(1)));
        assert!(!Condition::AfterOk.satisfied_by(None));
        assert!(Condition::AfterNotOk.satisfied_by(None));
        assert!(Condition::AfterAny.satisfied_by(Some(3)));
        assert_eq!(to_value(&deps[1]), json!("afternotok:2"));
    }
}
