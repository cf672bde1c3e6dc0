//! `god watch`: your jobs' changes as the server commits them, one line each, from its event
//! stream (what `squeue -i` or `kubectl get -w` give, without polling).

use super::events;
use super::http::Api;
use super::output::{emit_line, format_time, one_line, print_json, truncate};
use anyhow::{bail, Result};
use clap::Args;
use god_core::api::tasks::JobSummary;
use god_core::Task;
use std::collections::{BTreeSet, HashMap};

#[derive(Args)]
pub struct WatchArgs {
    /// Only these jobs; `god watch` then ends once they are all over (exit 1 if one failed)
    ids: Vec<u64>,
    /// Print each event's JSON, one per line
    #[arg(long)]
    json: bool,
}

/// A job's state as a list shows it: `running`, `running (suspended)`.
fn state_of(body: &JobSummary) -> String {
    let primary = body.primary.as_deref().unwrap_or("?");
    match body.secondary.as_deref() {
        Some(s) => format!("{primary} ({s})"),
        None => primary.to_string(),
    }
}

/// The job's summary as a change of it would tell it.
fn summary_of(job: &Task) -> JobSummary {
    JobSummary {
        id: job.id.0,
        name: Some(job.meta.name.clone()),
        primary: Some(job.status.primary.as_str().into()),
        secondary: job.status.secondary.map(|s| s.as_str().into()),
        reason: job.status.reason.clone(),
        exitcode: job.status.exitcode,
        ..JobSummary::default()
    }
}

fn is_over(body: &JobSummary) -> bool {
    body.primary.as_deref() == Some("over")
}

/// The line for one change of a job: its state before (when seen), after, and what the change
/// says (exit code, reason).
pub fn change_line(when: &str, before: Option<&str>, body: &JobSummary) -> String {
    let id = body.id;
    let name = body.name.as_deref().filter(|n| !n.is_empty());
    let state = state_of(body);
    let mut line = format!("{when}  job {id}");
    if let Some(n) = name {
        line.push_str(&format!(" {}", truncate(n, 30)));
    }
    match before {
        Some(b) if b != state => line.push_str(&format!(": {b} → {state}")),
        _ => line.push_str(&format!(": {state}")),
    }
    if is_over(body) {
        if let Some(code) = body.exitcode {
            line.push_str(&format!(", exit {code}"));
        }
    }
    if let Some(r) = body.reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(&format!(" — {}", truncate(&one_line(r), 80)));
    }
    line
}

pub fn watch(a: WatchArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let Some(stream) = events::open(&mut api)? else {
        bail!("this server has no event stream: use `god list` instead");
    };
    let only: BTreeSet<u64> = a.ids.iter().copied().collect();
    let mut waiting = only.clone();
    let mut failed = false;
    // Each job's state and reason as last shown: a change is a line only when they move.
    let mut shown: HashMap<u64, (String, Option<String>)> = HashMap::new();
    // Jobs asked for by id: their state now first (they may be over already).
    for id in a.ids {
        let job: Task = api.get_as(&format!("/api/1.0/task/{id}"))?;
        let summary = JobSummary {
            id,
            ..summary_of(&job)
        };
        if !a.json {
            emit_line(&change_line(
                &format_time(super::http::now()),
                None,
                &summary,
            ))?;
        }
        shown.insert(id, (state_of(&summary), summary.reason.clone()));
        if is_over(&summary) {
            waiting.remove(&id);
            failed |= summary.exitcode != Some(0);
        }
    }
    if !only.is_empty() && waiting.is_empty() {
        return Ok(i32::from(failed));
    }
    for event in stream {
        let e = match event {
            Ok(e) => e,
            Err(why) => bail!("{why}"),
        };
        // Changes of accounts and projects, and the `end` event (the stream closes after it).
        let Some((id, change)) = e.job_change() else {
            continue;
        };
        if !only.is_empty() && !only.contains(&id) {
            continue;
        }
        let body = &change.body;
        if a.json {
            print_json(&e.data)?;
        } else if e.kind == "job_removed" {
            emit_line(&format!("{}  job {id}: removed", format_time(change.at)))?;
        } else {
            // A change that shows nothing new (a container id recorded) is not a line.
            let seen = (state_of(body), body.reason.clone());
            if shown.get(&id) != Some(&seen) {
                let when = format_time(change.at);
                let before = shown.get(&id).map(|(state, _)| state.as_str());
                emit_line(&change_line(&when, before, body))?;
                shown.insert(id, seen);
            }
        }
        if is_over(body) && waiting.remove(&id) {
            failed |= body.exitcode != Some(0);
            if waiting.is_empty() {
                return Ok(i32::from(failed));
            }
        }
    }
    bail!("the event stream ended")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    #[test]
    fn change_lines() {
        let t = "2026-11-30 10:00:00";
        let s = |v| serde_json::from_value::<JobSummary>(v).unwrap();
        let lines = [
            change_line(t, None, &s(json!({"id": 7, "name": "build", "primary": "pending", "reason": "behind 2 older jobs"}))),
            change_line(t, Some("pending"), &s(json!({"id": 7, "name": "build", "primary": "running"}))),
            change_line(t, Some("running"), &s(json!({"id": 7, "name": "build", "primary": "running", "secondary": "suspended"}))),
            change_line(t, Some("running"), &s(json!({"id": 7, "name": "", "primary": "over", "exitcode": 3}))),
            change_line(t, Some("over"), &s(json!({"id": 7, "primary": "over", "exitcode": 0, "reason": "node failed:\nengine stopped"}))),
        ]
        .join("\n");
        expect![[r#"
            2026-11-30 10:00:00  job 7 build: pending — behind 2 older jobs
            2026-11-30 10:00:00  job 7 build: pending → running
            2026-11-30 10:00:00  job 7 build: running → running (suspended)
            2026-11-30 10:00:00  job 7: running → over, exit 3
            2026-11-30 10:00:00  job 7: over, exit 0 — node failed: engine stopped"#]]
        .assert_eq(&lines);
    }
}
