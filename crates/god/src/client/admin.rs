//! `god maintenance` (switch maintenance mode; its status for anyone) and `god audit` (the
//! audit log, administrators).

use super::http::Api;
use super::output::{emit_line, format_time, print_json, Table};
use anyhow::Result;
use clap::{Args, Subcommand};
use god_core::api::{AuditAnswer, MaintenanceDoc, MaintenanceUpdate};

#[derive(Subcommand)]
pub enum MaintenanceCmd {
    /// Stop every job start (running jobs go on; pending ones say why) (administrators)
    On(MaintenanceOnArgs),
    /// Let jobs start again (administrators)
    Off(JsonArg),
    /// Whether maintenance mode is on, since when, by whom, and why
    Status(JsonArg),
}

#[derive(Args)]
pub struct MaintenanceOnArgs {
    /// Why, and until when: pending jobs and the web UI's banner show it
    #[arg(long, short)]
    message: Option<String>,
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct JsonArg {
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

/// `maintenance mode: on since 2024-05-01 10:00 (by root): new disks` / `off`.
pub fn describe_maintenance(m: &MaintenanceDoc) -> String {
    let mut out = format!("maintenance mode: {}", if m.on { "on" } else { "off" });
    if let Some(at) = m.at {
        out.push_str(&format!(" since {}", format_time(at)));
    }
    if let Some(by) = &m.by {
        out.push_str(&format!(" (by {by})"));
    }
    if let Some(msg) = m.message.as_deref().filter(|_| m.on) {
        out.push_str(&format!(": {msg}"));
    }
    if m.on {
        out.push_str("\nno job starts until it is switched off (god maintenance off)");
    }
    out
}

pub fn maintenance(cmd: MaintenanceCmd) -> Result<i32> {
    let mut api = Api::connect()?;
    let (raw, json) = match cmd {
        MaintenanceCmd::On(a) => {
            let body = MaintenanceUpdate {
                on: true,
                message: a.message,
            };
            (api.put("/api/1.0/maintenance", &body)?, a.json)
        }
        MaintenanceCmd::Off(a) => {
            let body = MaintenanceUpdate {
                on: false,
                message: None,
            };
            (api.put("/api/1.0/maintenance", &body)?, a.json)
        }
        MaintenanceCmd::Status(a) => (api.get("/api/1.0/maintenance")?, a.json),
    };
    if json {
        print_json(&raw)?;
        return Ok(0);
    }
    let m: MaintenanceDoc = raw.read("maintenance mode")?;
    emit_line(&describe_maintenance(&m))?;
    Ok(0)
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only what this user did
    #[arg(long)]
    actor: Option<String>,
    /// Only what was done to this user or project
    #[arg(long)]
    target: Option<String>,
    /// Only this action (job_killed, quota_changed, guest_activated, maintenance_on...)
    #[arg(long)]
    action: Option<String>,
    /// Entries older than this id (the next page)
    #[arg(long, value_name = "ID")]
    before: Option<u64>,
    /// How many entries at most (newest first)
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: u64,
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

/// The table of audit entries.
pub fn audit_table(a: &AuditAnswer) -> Table {
    let mut t = Table::new(&[
        ("ID", true),
        ("WHEN", false),
        ("ACTOR", false),
        ("ACTION", false),
        ("TARGET", false),
        ("DETAIL", false),
    ]);
    for e in &a.entries {
        t.row(vec![
            e.id.to_string(),
            format_time(e.at),
            e.actor.clone(),
            e.action.clone(),
            if e.target.is_empty() {
                "-".into()
            } else {
                e.target.clone()
            },
            e.detail.clone(),
        ]);
    }
    t
}

pub fn audit(a: AuditArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let mut url = api.url("/api/1.0/audit")?;
    {
        let mut q = url.query_pairs_mut();
        for (key, value) in [
            ("actor", a.actor),
            ("target", a.target),
            ("action", a.action),
            ("before", a.before.map(|b| b.to_string())),
            ("limit", Some(a.limit.to_string())),
        ] {
            if let Some(v) = value {
                q.append_pair(key, &v);
            }
        }
    }
    let raw = api.get_url(url)?;
    if a.json {
        print_json(&raw)?;
        return Ok(0);
    }
    let answer: AuditAnswer = raw.read("the audit log")?;
    if answer.entries.is_empty() {
        emit_line("No audit entries.")?;
        return Ok(0);
    }
    audit_table(&answer).print()?;
    if let Some(next) = answer.next {
        emit_line(&format!("(more: god audit --before {next})"))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use god_core::api::AuditEntryDoc;

    #[test]
    fn maintenance_status() {
        let never = MaintenanceDoc {
            on: false,
            message: None,
            by: None,
            at: None,
        };
        assert_eq!(describe_maintenance(&never), "maintenance mode: off");
        let on = MaintenanceDoc {
            on: true,
            message: Some("new disks".into()),
            by: Some("root".into()),
            at: Some(0.0),
        };
        let text = describe_maintenance(&on);
        assert!(text.starts_with("maintenance mode: on since "), "{text}");
        assert!(
            text.contains("(by root): new disks\nno job starts until it is switched off"),
            "{text}"
        );
    }

    #[test]
    fn the_audit_table() {
        let entry = |id, actor: &str, action: &str, target: &str, detail: &str| AuditEntryDoc {
            id,
            at: 0.0,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
        };
        let a = AuditAnswer {
            entries: vec![
                entry(3, "root", "maintenance_on", "", "new disks"),
                entry(2, "root", "job_killed", "alice", "job 42"),
            ],
            next: None,
        };
        let text = audit_table(&a).render();
        let when = format_time(0.0);
        let text = text.replace(&when, &format!("{:<1$}", "<when>", when.len()));
        expect![[r#"
            ID  WHEN                 ACTOR  ACTION          TARGET  DETAIL
             3  <when>               root   maintenance_on  -       new disks
             2  <when>               root   job_killed      alice   job 42
        "#]]
        .assert_eq(&text);
    }
}
