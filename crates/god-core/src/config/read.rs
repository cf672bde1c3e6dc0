//! The document read into a [`Config`], every value that is not one reported (not only the
//! first): a bad value is recorded with its key, taken out so that its default applies, and the
//! rest read again.

use super::Config;
use crate::error::FieldError;
use serde_json::Value;
use serde_path_to_error::Segment;

/// Most values reported as not values; past them, reading stops (the rest is likely as wrong).
const MAX_PROBLEMS: usize = 32;

/// `root` read into a `Config`. Each value that does not read is a problem pushed onto
/// `problems`, named by its key in the document as written (`executors[1]` even after
/// `executors[0]` was taken out); the returned `Config` then has defaults in their place, and
/// is only good for finding further problems.
pub(super) fn read(mut root: Value, problems: &mut Vec<FieldError>) -> Config {
    // Elements taken out of arrays: (the array's key as written, the element's index as written).
    let mut taken: Vec<(String, usize)> = Vec::new();
    let before = problems.len();
    for _ in 0..MAX_PROBLEMS {
        let err = match serde_path_to_error::deserialize::<_, Config>(&root) {
            Ok(config) => return config,
            Err(e) => e,
        };
        let segments: Vec<Segment> = err.path().iter().cloned().collect();
        let (field, element) = as_written(&segments, &taken);
        // A key whose value was taken out from inside it (`executors` left empty once
        // `executors[0]` was): already said.
        if !problems[before..].iter().any(|p| inside(&p.field, &field)) {
            problems.push(FieldError::new(field, err.into_inner().to_string()));
        }
        if !take_out(&mut root, &segments) {
            return Config::default();
        }
        if let Some(element) = element {
            taken.push(element);
        }
    }
    Config::default()
}

/// Is `inner` a key inside `outer` (`executors[0]` in `executors`, `ldap.ssl` in `ldap`)?
pub(super) fn inside(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// The key of `segments` (indices as they are now) as written in the document, and when the
/// last segment is an array element, that array's key and the element's index as written.
fn as_written(
    segments: &[Segment],
    taken: &[(String, usize)],
) -> (String, Option<(String, usize)>) {
    let mut key = String::new();
    let mut element = None;
    for segment in segments {
        match segment {
            Segment::Seq { index } => {
                let gone: Vec<usize> = taken
                    .iter()
                    .filter(|(array, _)| *array == key)
                    .map(|(_, i)| *i)
                    .collect();
                // The `index`-th element of those still there.
                let written = (0..)
                    .filter(|i| !gone.contains(i))
                    .nth(*index)
                    .unwrap_or(*index);
                element = Some((key.clone(), written));
                key.push_str(&format!("[{written}]"));
            }
            Segment::Map { key: k } | Segment::Enum { variant: k } => {
                element = None;
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(k);
            }
            Segment::Unknown => {
                element = None;
                if !key.is_empty() {
                    key.push('.');
                }
                key.push('?');
            }
        }
    }
    (key, element)
}

/// Remove the value at `segments` from `root`; false when there is none to remove.
fn take_out(root: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut cur = root;
    for segment in parents {
        let next = match segment {
            Segment::Seq { index } => cur.get_mut(*index),
            Segment::Map { key } => cur.get_mut(key.as_str()),
            Segment::Enum { .. } | Segment::Unknown => None,
        };
        let Some(next) = next else {
            return false;
        };
        cur = next;
    }
    match (last, cur) {
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(doc: Value) -> Vec<String> {
        let mut problems = Vec::new();
        read(doc, &mut problems);
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn every_bad_value_is_named_as_written() {
        let cases = [
            (
                serde_json::json!({"executors": ["mesos", "docker", "sge"]}),
                vec!["executors[0]", "executors[2]"],
            ),
            (
                serde_json::json!({"volumes": [3, {"name": "x", "acl": 4}]}),
                vec!["volumes[0]", "volumes[1].acl"],
            ),
            (
                serde_json::json!({"docker": {"tls": 3, "pids_limit": "many"}, "backfill": "x"}),
                // Keys in the order of the document's mapping (sorted).
                vec!["backfill", "docker.pids_limit", "docker.tls"],
            ),
            (
                serde_json::json!({"ldap": {"fields": {"homeDirectory": 1}}}),
                vec!["ldap.fields.homeDirectory"],
            ),
            (
                serde_json::json!({"executors": ["mesos"], "watchers": []}),
                vec!["executors[0]"],
            ),
            (serde_json::json!({"executors": []}), vec!["executors"]),
            (serde_json::json!({"tick_seconds": 1}), vec![]),
        ];
        for (doc, want) in cases {
            assert_eq!(problems(doc.clone()), want, "{doc}");
        }
    }

    #[test]
    fn reading_stops_after_many_problems() {
        let doc = serde_json::json!({ "watchers": vec!["nope"; 100] });
        assert_eq!(problems(doc).len(), MAX_PROBLEMS);
    }
}
