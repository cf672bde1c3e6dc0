//! Job commands: `show`, the requests on running jobs (`kill`, `suspend`, `resume`,
//! `reschedule`), `update` and `archive`. `god list` is in `list.rs`.

use super::http::{self, Api};
use super::list::{array_spec, parent_of};
use super::output::{emit, emit_line, format_duration, format_gb, format_time, print_json, Job};
use super::raw::Raw;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use god_core::api::tasks::DynamicValue;
use god_core::api::{CountAnswer, DynamicUpdate, MsgAnswer, RequestAnswer};
use god_core::deps::{Condition, Dependency};
use god_core::Task;
use reqwest::Method;

#[derive(Args)]
pub struct ShowArgs {
    /// The job id
    id: u64,
    /// Print the server's JSON (the task document)
    #[arg(long)]
    json: bool,
}

/// `home (rw) on /mnt/home` for each volume.
fn volumes_of(v: &Task) -> Vec<String> {
    v.container
        .volumes
        .iter()
        .map(|vol| {
            let acl = if vol.acl.is_empty() { "ro" } else { &vol.acl };
            let mut text = format!("{} ({acl})", vol.name);
            if let Some(m) = vol.mount.as_deref().filter(|m| !m.is_empty()) {
                text.push_str(&format!(" on {m}"));
            }
            text
        })
        .collect()
}

/// A dependency as people read it: `after job 3` (it must succeed), `after job 4 ends`,
/// `after job 5 fails`.
pub fn dependency_text(d: &Dependency) -> String {
    let id = d.id;
    match d.condition {
        Condition::AfterAny => format!("after job {id} ends"),
        Condition::AfterNotOk => format!("after job {id} fails"),
        Condition::AfterOk => format!("after job {id}"),
    }
}

/// The human view of `god show`.
pub fn describe(v: &Task, now: f64) -> String {
    let j = Job(v);
    let mut lines: Vec<(&str, String)> = Vec::new();
    let user = match Some(v.user.project.as_str()).filter(|p| !p.is_empty()) {
        Some(p) => format!("{} (project {p})", j.user()),
        None => j.user().to_string(),
    };
    lines.push(("User", user));
    if !v.meta.description.is_empty() {
        lines.push(("Description", v.meta.description.clone()));
    }
    if !v.meta.tags.is_empty() {
        lines.push(("Tags", v.meta.tags.join(", ")));
    }
    lines.push(("Image", j.image().to_string()));
    if v.container.root {
        lines.push(("Runs as", "root".into()));
    }
    lines.push(("State", j.state()));
    if let Some(r) = j.reason() {
        lines.push(("Reason", r.to_string()));
    }
    let mut req = Vec::new();
    if let Some(c) = j.cpu() {
        req.push(format!("{c} CPU"));
    }
    if let Some(r) = j.ram() {
        req.push(format!("{} RAM", format_gb(r)));
    }
    let r = &v.requirements;
    if r.gpus > 0 {
        req.push(format!("{} GPU", r.gpus));
    }
    if !r.label.is_empty() {
        req.push(format!("on {}", r.label.join(", ")));
    }
    // The server stores dependencies in their wire form; one it could not read is shown as is.
    req.extend(r.tasks.iter().map(|d| match god_core::deps::parse(d) {
        Some(dep) => dependency_text(&dep),
        None => format!("after job {d}"),
    }));
    if let Some(m) = &r.maxlifespan {
        req.push(format!("at most {m}"));
    }
    lines.push(("Requires", req.join(", ")));
    if let Some(spec) = array_spec(v) {
        let a = &r.array;
        lines.push((
            "Array",
            format!(
                "{spec}: {} tasks, {} created, {} over, {} failed",
                a.nb_tasks, a.nb_tasks_created, a.nb_tasks_over, a.nb_tasks_failed
            ),
        ));
    }
    if let Some(parent) = parent_of(v) {
        let index = r
            .array
            .task_id
            .map(|i| format!("task {i} of "))
            .unwrap_or_default();
        lines.push(("Array", format!("{index}array job {parent}")));
    }
    if r.failure_policy > 0 {
        lines.push((
            "Retries",
            format!("up to {} when its node fails", r.failure_policy),
        ));
    }
    if let Some(d) = j.date() {
        lines.push(("Submitted", format_time(d)));
    }
    if let Some(d) = j.date_running() {
        lines.push(("Started", format_time(d)));
    }
    if let Some(d) = j.date_over() {
        lines.push(("Ended", format_time(d)));
    }
    match (j.duration(), j.date_running(), j.primary()) {
        (Some(d), _, _) => lines.push(("Duration", format_duration(d))),
        (None, Some(start), "running") => {
            lines.push(("Running for", format_duration((now - start).max(0.0))))
        }
        _ => {}
    }
    if let Some(c) = j.exitcode() {
        lines.push(("Exit code", c.to_string()));
    }
    if let Some(n) = j.node() {
        lines.push(("Node", n.to_string()));
    }
    if let Some(c) = j.container_id() {
        lines.push(("Container", c.to_string()));
    }
    let vols = volumes_of(v);
    if !vols.is_empty() {
        lines.push(("Volumes", vols.join(", ")));
    }
    if v.status.attempts > 1 {
        lines.push(("Attempts", v.status.attempts.to_string()));
    }
    if let Some(f) = v.status.failure.reason.as_deref().filter(|f| !f.is_empty()) {
        lines.push(("Failure", f.to_string()));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = format!("Job {}: {}\n", j.id(), j.name());
    for (k, val) in lines {
        out.push_str(&format!("  {:<width$} {val}\n", format!("{k}:")));
    }
    if !v.command.cmd.is_empty() {
        let cmd = &v.command.cmd;
        out.push_str("  Command:\n");
        for l in cmd.trim_end().lines() {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out
}

pub fn show(a: ShowArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let path = format!("/api/1.0/task/{}", a.id);
    let job = api.get(&path)?;
    if a.json {
        print_json(&job)?;
    } else {
        emit(&describe(&job.read(&path)?, http::now()))?;
    }
    Ok(0)
}

#[derive(Args)]
pub struct ControlArgs {
    /// Job ids
    #[arg(required = true, value_name = "ID")]
    ids: Vec<u64>,
    /// Print the server's JSON replies, one a line
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    Kill,
    Suspend,
    Resume,
    Reschedule,
}

impl Action {
    fn request(self, id: u64) -> (Method, String) {
        match self {
            Action::Kill => (Method::DELETE, format!("/api/1.0/task/{id}")),
            Action::Suspend => (Method::GET, format!("/api/1.0/task/{id}/suspend")),
            Action::Resume => (Method::GET, format!("/api/1.0/task/{id}/resume")),
            Action::Reschedule => (Method::GET, format!("/api/1.0/task/{id}/reschedule")),
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::Kill => "kill requested",
            Action::Suspend => "suspend requested",
            Action::Resume => "resume requested",
            Action::Reschedule => "reschedule requested",
        }
    }
}

/// Run one request per job: one line each, and a non-zero status if any failed.
fn each_job(
    ids: &[u64],
    json: bool,
    what: &mut dyn FnMut(u64) -> Result<Raw>,
    done: &dyn Fn(&Raw) -> Result<String>,
) -> Result<i32> {
    let mut failed = 0;
    for &id in ids {
        match what(id).and_then(|reply| Ok((done(&reply)?, reply))) {
            Ok((_, reply)) if json => print_json_line(&reply)?,
            Ok((line, _)) => emit_line(&format!("job {id}: {line}"))?,
            Err(e) => {
                let msg = format!("{e:#}").replace('\n', " ");
                // The server's messages often name the job already.
                if msg.starts_with(&format!("job {id} ")) {
                    eprintln!("god: {msg}");
                } else {
                    eprintln!("god: job {id}: {msg}");
                }
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn print_json_line(v: &Raw) -> Result<()> {
    emit_line(&serde_json::to_string(v).map_err(|e| anyhow!("printing JSON: {e}"))?)
}

/// The server's message, or `default` when it has none.
fn msg_or(msg: String, default: &str) -> String {
    if msg.is_empty() {
        default.to_string()
    } else {
        msg
    }
}

pub fn control(a: ControlArgs, action: Action) -> Result<i32> {
    let mut api = Api::connect()?;
    each_job(
        &a.ids,
        a.json,
        &mut |id| {
            let (method, path) = action.request(id);
            api.call(method, &path)
        },
        &|reply| {
            let answer: RequestAnswer = reply.read(action.done())?;
            Ok(msg_or(answer.msg, action.done()))
        },
    )
}

#[derive(Args)]
pub struct UpdateArgs {
    /// Job ids
    #[arg(required = true, value_name = "ID")]
    ids: Vec<u64>,
    /// New maximum run time: `30m`, `12h`, `7d`, or seconds; the job is killed when it has run
    /// this long
    #[arg(long, value_name = "DURATION", required = true)]
    maxlifespan: String,
    /// Print the server's JSON replies, one a line
    #[arg(long)]
    json: bool,
}

/// `PUT /api/1.0/task/<id>` body of a dynamic requirement change.
pub fn update_body(name: &str, value: &str) -> DynamicUpdate {
    DynamicUpdate {
        name: name.into(),
        value: DynamicValue::Text(value.into()),
    }
}

pub fn update(a: UpdateArgs) -> Result<i32> {
    let value = super::submit::check_duration("--maxlifespan", &a.maxlifespan)?;
    let body = update_body("maxlifespan", &value);
    let mut api = Api::connect()?;
    each_job(
        &a.ids,
        a.json,
        &mut |id| api.put(&format!("/api/1.0/task/{id}"), &body),
        &|reply| {
            let _: MsgAnswer<u64> = reply.read("the update")?;
            Ok(format!("maxlifespan set to {value}"))
        },
    )
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "older_than"])))]
pub struct ArchiveArgs {
    /// Job ids (finished jobs)
    #[arg(value_name = "ID")]
    ids: Vec<u64>,
    /// Instead of ids: all your jobs over for more than DAYS days (fractions allowed)
    #[arg(long, value_name = "DAYS", conflicts_with = "ids")]
    older_than: Option<f64>,
    /// With --older-than: only the jobs with this tag
    #[arg(long, short = 't', value_name = "T", requires = "older_than")]
    tag: Option<String>,
    /// Delete the jobs and their files for good instead of archiving them
    #[arg(long)]
    purge: bool,
    /// Print the server's JSON replies, one a line
    #[arg(long)]
    json: bool,
}

pub fn archive(a: ArchiveArgs) -> Result<i32> {
    let method = if a.purge { Method::DELETE } else { Method::GET };
    let mut api = Api::connect()?;
    if let Some(days) = a.older_than {
        if !days.is_finite() || days < 0.0 {
            bail!("--older-than {days}: give a number of days, 0 or more");
        }
        let mut url = api.url(&format!("/api/1.0/archive/{days}"))?;
        if let Some(tag) = &a.tag {
            url.query_pairs_mut().append_pair("tag", tag);
        }
        let resp = api.send(method, url, &|r| r)?;
        let reply = api.json_of(resp)?;
        if a.json {
            print_json(&reply)?;
        } else {
            let answer: CountAnswer = reply.read("the archive request")?;
            emit_line(&msg_or(answer.msg, "done"))?;
        }
        return Ok(0);
    }
    let default = if a.purge {
        "purged"
    } else {
        "archive requested"
    };
    each_job(
        &a.ids,
        a.json,
        &mut |id| api.call(method.clone(), &format!("/api/1.0/task/{id}/archive")),
        &|reply| {
            let answer: MsgAnswer<u64> = reply.read(default)?;
            Ok(msg_or(answer.msg, default))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    #[test]
    fn dependencies_read() {
        let text = |v| dependency_text(&god_core::deps::parse(&v).unwrap());
        assert_eq!(text(json!(3)), "after job 3");
        assert_eq!(text(json!("4")), "after job 4");
        assert_eq!(text(json!("afterany:5")), "after job 5 ends");
        assert_eq!(text(json!("afternotok:6")), "after job 6 fails");
        assert_eq!(text(json!("afterok:7")), "after job 7");
    }

    #[test]
    fn update_bodies_and_arguments() {
        assert_eq!(
            serde_json::to_value(update_body("maxlifespan", "2h")).unwrap(),
            json!({"name": "maxlifespan", "value": "2h"})
        );
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            a: UpdateArgs,
        }
        use clap::Parser;
        let w = Wrap::try_parse_from(["update", "3", "4", "--maxlifespan", "30m"]).unwrap();
        assert_eq!((w.a.ids, w.a.maxlifespan.as_str()), (vec![3, 4], "30m"));
        assert!(Wrap::try_parse_from(["update", "3"]).is_err());
        assert!(Wrap::try_parse_from(["update", "--maxlifespan", "1h"]).is_err());
    }

    #[test]
    fn show_view() {
        let v = json!({"id": 12, "date": 0.0, "user": {"id": "bob", "project": "default"},
            "meta": {"name": "make", "tags": ["a", "b"]}, "requirements": {"cpu": 2, "ram": 2, "tasks": [3]},
            "container": {"image": "debian", "id": "abc", "meta": {"Node": {"Name": "n1"}},
                "volumes": [{"name": "home", "acl": "rw", "mount": "/mnt/home"}]},
            "command": {"cmd": "make\nmake test\n"},
            "status": {"primary": "over", "exitcode": 2, "duration": 65.0}});
        expect![[r#"
            Job 12: make
              User:      bob (project default)
              Tags:      a, b
              Image:     debian
              State:     over
              Requires:  2 CPU, 2G RAM, after job 3
              Duration:  1:05
              Exit code: 2
              Node:      n1
              Container: abc
              Volumes:   home (rw) on /mnt/home
              Command:
                make
                make test
        "#]]
        .assert_eq(&describe(&serde_json::from_value(v).unwrap(), 0.0));
        let pending = json!({"id": 3, "user": {"id": "alice"}, "meta": {"name": "big"},
            "requirements": {"cpu": 16, "ram": 64, "gpus": 1, "label": ["disk==ssd"],
                "tasks": ["afterany:1", "afternotok:2"], "maxlifespan": "2h", "failure_policy": 2},
            "container": {"image": "god-test/minimal", "root": true},
            "command": {"cmd": "./run"},
            "status": {"primary": "pending", "reason": "waiting for resources: 16 CPU, 64G RAM"}});
        expect![[r#"
            Job 3: big
              User:     alice
              Image:    god-test/minimal
              Runs as:  root
              State:    pending
              Reason:   waiting for resources: 16 CPU, 64G RAM
              Requires: 16 CPU, 64G RAM, 1 GPU, on disk==ssd, after job 1 ends, after job 2 fails, at most 2h
              Retries:  up to 2 when its node fails
              Command:
                ./run
        "#]].assert_eq(&describe(&serde_json::from_value(pending).unwrap(), 0.0));
    }
}
