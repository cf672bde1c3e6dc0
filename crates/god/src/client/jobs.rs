//! Job commands: `list`, `show`, the requests on running jobs (`kill`, `suspend`, `resume`,
//! `reschedule`) and `archive`.

use super::http::{self, Api};
use super::output::{
    emit, emit_line, format_duration, format_gb, format_time, print_json, truncate, Job, Table,
};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use reqwest::Method;
use serde_json::Value;

#[derive(Args)]
pub struct ListArgs {
    /// Finished jobs (over or archived), newest first, instead of active ones
    #[arg(long)]
    over: bool,
    /// Everybody's jobs (administrators)
    #[arg(long)]
    all: bool,
    /// With --over: how many jobs at most (array tasks count as jobs)
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: u64,
    /// List each task of a job array under its parent (by default an array is one line, with
    /// how many of its tasks are in each state)
    #[arg(long)]
    expand: bool,
    /// Print the server's JSON (a list of task documents)
    #[arg(long)]
    json: bool,
}

/// The API path that lists what `god list` was asked for.
pub fn list_path(over: bool, all: bool, limit: u64) -> (Method, String) {
    match (over, all) {
        (false, false) => (Method::GET, "/api/1.0/task/active".into()),
        (false, true) => (Method::GET, "/api/1.0/task/active/all".into()),
        (true, false) => (Method::POST, format!("/api/1.0/task/over/0/{limit}")),
        (true, true) => (Method::POST, format!("/api/1.0/task/over/all/0/{limit}")),
    }
}

/// How many tasks of an array are in each state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrayCounts {
    /// `(primary state, count)`, in first-seen order; see [`ArrayCounts::summary`] for the
    /// order shown.
    pub states: Vec<(String, u64)>,
    /// Tasks over with a non-zero exit code (or never run), from the parent.
    pub failed: u64,
}

impl ArrayCounts {
    fn add(&mut self, state: &str, n: u64) {
        if n == 0 {
            return;
        }
        match self.states.iter_mut().find(|(s, _)| s == state) {
            Some((_, c)) => *c += n,
            None => self.states.push((state.to_string(), n)),
        }
    }

    pub fn get(&self, state: &str) -> u64 {
        self.states
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, c)| *c)
            .unwrap_or(0)
    }

    /// `12 running, 300 pending, 688 over (3 failed)`.
    pub fn summary(&self) -> String {
        const ORDER: [&str; 4] = ["running", "pending", "over", "archived"];
        let mut parts: Vec<String> = ORDER
            .iter()
            .map(|s| (*s, self.get(s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        parts.extend(
            self.states
                .iter()
                .filter(|(s, n)| *n > 0 && !ORDER.contains(&s.as_str()))
                .map(|(s, n)| format!("{n} {s}")),
        );
        let mut text = if parts.is_empty() {
            "no tasks".to_string()
        } else {
            parts.join(", ")
        };
        if self.failed > 0 {
            text.push_str(&format!(" ({} failed)", self.failed));
        }
        text
    }
}

/// What the parent of an array says about its tasks (`requirements.array`).
fn array_field(parent: &Value, key: &str) -> u64 {
    parent
        .pointer(&format!("/requirements/array/{key}"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The array spec of a parent (`requirements.array.values`), if it is one.
pub fn array_spec(v: &Value) -> Option<&str> {
    v.pointer("/requirements/array/values")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The parent of an array task, if it is one.
pub fn parent_of(v: &Value) -> Option<u64> {
    v.get("parent_task_id").and_then(Value::as_u64)
}

/// Count an array's tasks: those in the listing by `status.primary`; the parent's count of
/// tasks over that the listing does not show (an active listing holds no finished tasks) as
/// over; the tasks not created yet (`nb_tasks - nb_tasks_created`) as pending.
pub fn array_counts(parent: Option<&Value>, children: &[&Value]) -> ArrayCounts {
    let mut c = ArrayCounts::default();
    for child in children {
        c.add(Job(child).primary(), 1);
    }
    let Some(p) = parent else {
        return c;
    };
    let finished = c.get("over") + c.get("archived");
    let over_elsewhere = array_field(p, "nb_tasks_over").saturating_sub(finished);
    c.add("over", over_elsewhere);
    let accounted =
        (children.len() as u64 + over_elsewhere).max(array_field(p, "nb_tasks_created"));
    c.add(
        "pending",
        array_field(p, "nb_tasks").saturating_sub(accounted),
    );
    c.failed = array_field(p, "nb_tasks_failed");
    c
}

/// One line of `god list`.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    /// A job that is not part of an array.
    Job(&'a Value),
    /// An array parent and how its tasks are.
    Array(&'a Value, ArrayCounts),
    /// Tasks of an array whose parent is not in the listing (cut by --limit): its id, one of
    /// the tasks (for the name and owner), the counts.
    Orphans(u64, &'a Value, ArrayCounts),
    /// One task of an array (with --expand), after its parent.
    Task(&'a Value),
}

/// Group a listing: each array parent takes the place of its tasks, which follow it only when
/// `expand` is set. The order is the server's, an array at its parent's place (or its first
/// task's, when the parent is not listed).
pub fn group_jobs(jobs: &[Value], expand: bool) -> Vec<Row<'_>> {
    use std::collections::{HashMap, HashSet};
    let parents: HashSet<u64> = jobs
        .iter()
        .filter(|j| array_spec(j).is_some())
        .filter_map(|j| j.get("id").and_then(Value::as_u64))
        .collect();
    let mut children: HashMap<u64, Vec<&Value>> = HashMap::new();
    for j in jobs {
        if let Some(p) = parent_of(j) {
            children.entry(p).or_default().push(j);
        }
    }
    let mut rows = Vec::new();
    let mut orphans_done: HashSet<u64> = HashSet::new();
    for j in jobs {
        let id = j.get("id").and_then(Value::as_u64);
        let tasks = |p: u64| children.get(&p).cloned().unwrap_or_default();
        match (parent_of(j), id) {
            (Some(p), _) if parents.contains(&p) => {}
            (Some(p), _) => {
                if orphans_done.insert(p) {
                    let mine = tasks(p);
                    rows.push(Row::Orphans(p, j, array_counts(None, &mine)));
                    if expand {
                        rows.extend(mine.into_iter().map(Row::Task));
                    }
                }
            }
            (None, Some(id)) if parents.contains(&id) => {
                let mine = tasks(id);
                rows.push(Row::Array(j, array_counts(Some(j), &mine)));
                if expand {
                    rows.extend(mine.into_iter().map(Row::Task));
                }
            }
            _ => rows.push(Row::Job(j)),
        }
    }
    rows
}

/// The table of `god list`, arrays grouped.
pub fn rows_table(rows: &[Row]) -> Table {
    let mut t = Table::new(&[
        ("ID", true),
        ("USER", false),
        ("NAME", false),
        ("STATE", false),
        ("CPU", true),
        ("RAM", true),
        ("SUBMITTED", false),
        ("EXIT", true),
        ("REASON", false),
    ]);
    let reason = |j: Job| {
        truncate(
            &j.reason().map(super::output::one_line).unwrap_or_default(),
            40,
        )
    };
    for row in rows {
        let (v, id, name, state, info) = match row {
            Row::Job(v) => (
                *v,
                Job(v).id(),
                truncate(Job(v).name(), 30),
                Job(v).state(),
                reason(Job(v)),
            ),
            Row::Array(v, counts) => {
                let spec = array_spec(v).unwrap_or("?");
                let mut info = format!("array {spec}: {}", counts.summary());
                // The parent's own reason, unless it is the failure count the summary shows.
                let failure_count = god_core::array::failed_reason(counts.failed);
                if let Some(r) = Job(v).reason().filter(|r| *r != failure_count) {
                    info.push_str(&format!("; {}", truncate(&super::output::one_line(r), 40)));
                }
                (
                    *v,
                    Job(v).id(),
                    truncate(Job(v).name(), 30),
                    Job(v).state(),
                    info,
                )
            }
            Row::Orphans(parent, v, counts) => (
                *v,
                parent.to_string(),
                truncate(Job(v).name(), 30),
                "-".to_string(),
                format!("array (parent not listed): {}", counts.summary()),
            ),
            Row::Task(v) => {
                let index = v
                    .pointer("/requirements/array/task_id")
                    .and_then(Value::as_i64)
                    .map(|i| format!("[{i}]"))
                    .unwrap_or_default();
                let name = format!("{}{index}", truncate(Job(v).name(), 30));
                (*v, Job(v).id(), name, Job(v).state(), reason(Job(v)))
            }
        };
        let j = Job(v);
        let exit = match row {
            Row::Orphans(..) => "-".to_string(),
            _ => j
                .exitcode()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
        };
        let submitted = match row {
            Row::Orphans(..) => "-".to_string(),
            _ => j.date().map(format_time).unwrap_or_else(|| "-".into()),
        };
        t.row(vec![
            id,
            j.user().to_string(),
            name,
            state,
            j.cpu().map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
            j.ram().map(format_gb).unwrap_or_else(|| "-".into()),
            submitted,
            exit,
            info,
        ]);
    }
    t
}

pub fn list(a: ListArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let (method, path) = list_path(a.over, a.all, a.limit);
    let reply = api.call(method, &path)?;
    if a.json {
        print_json(&reply)?;
        return Ok(0);
    }
    let jobs = reply
        .as_array()
        .ok_or_else(|| anyhow!("the server answered {path} with something that is not a list"))?;
    if jobs.is_empty() {
        let what = if a.over { "finished" } else { "active" };
        let whose = if a.all { "" } else { " of yours" };
        emit_line(&format!("No {what} jobs{whose}."))?;
        return Ok(0);
    }
    rows_table(&group_jobs(jobs, a.expand)).print()?;
    Ok(0)
}

#[derive(Args)]
pub struct ShowArgs {
    /// The job id
    id: u64,
    /// Print the server's JSON (the task document)
    #[arg(long)]
    json: bool,
}

/// `home (rw) on /mnt/home` for each volume.
fn volumes_of(v: &Value) -> Vec<String> {
    let Some(vols) = v.pointer("/container/volumes").and_then(Value::as_array) else {
        return Vec::new();
    };
    vols.iter()
        .map(|vol| {
            let s = |k: &str| vol.get(k).and_then(Value::as_str).unwrap_or("");
            let mut text = format!(
                "{} ({})",
                s("name"),
                if s("acl").is_empty() { "ro" } else { s("acl") }
            );
            if !s("mount").is_empty() {
                text.push_str(&format!(" on {}", s("mount")));
            }
            text
        })
        .collect()
}

/// A dependency as people read it: `after job 3` (it must succeed), `after job 4 ends`,
/// `after job 5 fails`.
pub fn dependency_text(d: &Value) -> String {
    let raw = d
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| d.to_string());
    match raw.split_once(':') {
        Some(("afterany", id)) => format!("after job {id} ends"),
        Some(("afternotok", id)) => format!("after job {id} fails"),
        Some(("afterok", id)) => format!("after job {id}"),
        _ => format!("after job {raw}"),
    }
}

/// The human view of `god show`.
pub fn describe(v: &Value, now: f64) -> String {
    let j = Job(v);
    let mut lines: Vec<(&str, String)> = Vec::new();
    let user = match v
        .pointer("/user/project")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{} (project {p})", j.user()),
        None => j.user().to_string(),
    };
    lines.push(("User", user));
    if let Some(d) = v
        .pointer("/meta/description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        lines.push(("Description", d.to_string()));
    }
    let tags: Vec<&str> = v
        .pointer("/meta/tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !tags.is_empty() {
        lines.push(("Tags", tags.join(", ")));
    }
    lines.push(("Image", j.image().to_string()));
    if v.pointer("/container/root")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
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
    if let Some(g) = v
        .pointer("/requirements/gpus")
        .and_then(Value::as_u64)
        .filter(|g| *g > 0)
    {
        req.push(format!("{g} GPU"));
    }
    let labels: Vec<&str> = v
        .pointer("/requirements/label")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !labels.is_empty() {
        req.push(format!("on {}", labels.join(", ")));
    }
    let deps: Vec<String> = v
        .pointer("/requirements/tasks")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(dependency_text).collect())
        .unwrap_or_default();
    req.extend(deps);
    if let Some(m) = v
        .pointer("/requirements/maxlifespan")
        .and_then(Value::as_str)
    {
        req.push(format!("at most {m}"));
    }
    lines.push(("Requires", req.join(", ")));
    if let Some(spec) = array_spec(v) {
        let n = |k: &str| array_field(v, k);
        lines.push((
            "Array",
            format!(
                "{spec}: {} tasks, {} created, {} over, {} failed",
                n("nb_tasks"),
                n("nb_tasks_created"),
                n("nb_tasks_over"),
                n("nb_tasks_failed")
            ),
        ));
    }
    if let Some(parent) = parent_of(v) {
        let index = v
            .pointer("/requirements/array/task_id")
            .and_then(Value::as_i64)
            .map(|i| format!("task {i} of "))
            .unwrap_or_default();
        lines.push(("Array", format!("{index}array job {parent}")));
    }
    if let Some(n) = v
        .pointer("/requirements/failure_policy")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
    {
        lines.push(("Retries", format!("up to {n} when its node fails")));
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
    if let Some(n) = v
        .pointer("/status/attempts")
        .and_then(Value::as_u64)
        .filter(|n| *n > 1)
    {
        lines.push(("Attempts", n.to_string()));
    }
    if let Some(f) = v
        .pointer("/status/failure/reason")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
    {
        lines.push(("Failure", f.to_string()));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = format!("Job {}: {}\n", j.id(), j.name());
    for (k, val) in lines {
        out.push_str(&format!("  {:<width$} {val}\n", format!("{k}:")));
    }
    if let Some(cmd) = v.pointer("/command/cmd").and_then(Value::as_str) {
        out.push_str("  Command:\n");
        for l in cmd.trim_end().lines() {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out
}

pub fn show(a: ShowArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let job = api.get(&format!("/api/1.0/task/{}", a.id))?;
    if a.json {
        print_json(&job)?;
    } else {
        emit(&describe(&job, http::now()))?;
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
    what: &mut dyn FnMut(u64) -> Result<Value>,
    done: &dyn Fn(&Value) -> String,
) -> Result<i32> {
    let mut failed = 0;
    for &id in ids {
        match what(id) {
            Ok(reply) if json => print_json_line(&reply)?,
            Ok(reply) => emit_line(&format!("job {id}: {}", done(&reply)))?,
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

fn print_json_line(v: &Value) -> Result<()> {
    emit_line(&serde_json::to_string(v).map_err(|e| anyhow!("printing JSON: {e}"))?)
}

fn msg_of(reply: &Value, default: &str) -> String {
    reply
        .get("msg")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(default)
        .to_string()
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
        &|reply| msg_of(reply, action.done()),
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
pub fn update_body(name: &str, value: &str) -> Value {
    serde_json::json!({ "name": name, "value": value })
}

pub fn update(a: UpdateArgs) -> Result<i32> {
    let value = super::submit::check_duration("--maxlifespan", &a.maxlifespan)?;
    let body = update_body("maxlifespan", &value);
    let mut api = Api::connect()?;
    each_job(
        &a.ids,
        a.json,
        &mut |id| api.put(&format!("/api/1.0/task/{id}"), &body),
        &|_| format!("maxlifespan set to {value}"),
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
        let reply: Value = resp
            .json()
            .map_err(|e| anyhow!("the server answered something that is not JSON: {e}"))?;
        if a.json {
            print_json(&reply)?;
        } else {
            emit_line(&msg_of(&reply, "done"))?;
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
        &|reply| msg_of(reply, default),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_routes() {
        assert_eq!(
            list_path(false, false, 100),
            (Method::GET, "/api/1.0/task/active".to_string())
        );
        assert_eq!(
            list_path(false, true, 100),
            (Method::GET, "/api/1.0/task/active/all".to_string())
        );
        assert_eq!(
            list_path(true, false, 5),
            (Method::POST, "/api/1.0/task/over/0/5".to_string())
        );
        assert_eq!(
            list_path(true, true, 7),
            (Method::POST, "/api/1.0/task/over/all/0/7".to_string())
        );
    }

    #[test]
    fn list_table() {
        let jobs = vec![
            json!({"id": 3, "date": 0.0, "user": {"id": "alice"}, "meta": {"name": "sleep"},
                "requirements": {"cpu": 1, "ram": 0.5},
                "status": {"primary": "pending", "secondary": "rejected by scheduler",
                           "reason": "not enough resources available right now for this job, sorry"}}),
            json!({"id": 12, "user": {"id": "bob"}, "meta": {"name": "make"},
                "requirements": {"cpu": 2, "ram": 2}, "status": {"primary": "over", "exitcode": 0}}),
        ];
        let text = rows_table(&group_jobs(&jobs, false)).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  USER   NAME   STATE"), "{text}");
        assert!(
            lines[1].starts_with(" 3  alice  sleep  pending/rejected by scheduler"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("not enough resources available right no…"),
            "{text}"
        );
        assert!(lines[2].contains(" 2G  - "), "{text}");
    }

    fn array_listing() -> Vec<Value> {
        let parent = json!({"id": 10, "user": {"id": "alice"}, "meta": {"name": "sweep"},
            "requirements": {"cpu": 1, "ram": 1, "array": {"values": "1:1000", "nb_tasks": 1000,
                "nb_tasks_over": 688, "nb_tasks_created": 700, "nb_tasks_failed": 3}},
            "status": {"primary": "running"}});
        let mut jobs = vec![
            json!({"id": 5, "user": {"id": "alice"}, "meta": {"name": "solo"},
            "status": {"primary": "pending"}}),
        ];
        jobs.push(parent);
        for k in 0..12 {
            jobs.push(
                json!({"id": 700 + k, "parent_task_id": 10, "meta": {"name": "sweep"},
                "requirements": {"array": {"task_id": 689 + k}}, "status": {"primary": "running"}}),
            );
        }
        jobs
    }

    #[test]
    fn arrays_are_counted() {
        let jobs = array_listing();
        let children: Vec<&Value> = jobs.iter().filter(|j| parent_of(j).is_some()).collect();
        let c = array_counts(Some(&jobs[1]), &children);
        // 12 listed running; 688 over (not listed); 1000 - 700 created = 300 pending.
        assert_eq!(
            (c.get("running"), c.get("pending"), c.get("over")),
            (12, 300, 688)
        );
        assert_eq!(c.summary(), "12 running, 300 pending, 688 over (3 failed)");

        // An over listing: all tasks listed, some archived.
        let parent = json!({"id": 1, "requirements": {"array": {"values": "1:9:3", "nb_tasks": 3,
            "nb_tasks_over": 3, "nb_tasks_created": 3}}, "status": {"primary": "over"}});
        let over = json!({"status": {"primary": "over"}});
        let archived = json!({"status": {"primary": "archived"}});
        let c = array_counts(Some(&parent), &[&over, &over, &archived]);
        assert_eq!(c.summary(), "2 over, 1 archived");
        // Old documents without nb_tasks_created: listed tasks are not counted twice.
        let parent = json!({"id": 1, "requirements": {"array": {"values": "4", "nb_tasks": 4}}});
        let pending = json!({"status": {"primary": "pending"}});
        let c = array_counts(Some(&parent), &[&pending, &pending]);
        assert_eq!(c.summary(), "4 pending");
        assert_eq!(array_counts(None, &[]).summary(), "no tasks");
    }

    /// An array's line shows the parent's reason, unless it is the failure count the summary
    /// already gives.
    #[test]
    fn an_arrays_reason_is_not_its_failure_count_again() {
        let cases = [
            ("3 of the array's tasks failed", 3, false),
            ("2 of the array's tasks failed", 3, true),
            ("the engine is gone", 3, true),
        ];
        for (reason, failed, shown) in cases {
            let parent = json!({"id": 1, "user": {"id": "alice"}, "meta": {"name": "sweep"},
                "requirements": {"array": {"values": "1:3", "nb_tasks": 3, "nb_tasks_over": 3,
                    "nb_tasks_created": 3, "nb_tasks_failed": failed}},
                "status": {"primary": "over", "reason": reason}});
            let rows = group_jobs(std::slice::from_ref(&parent), false);
            let text = rows_table(&rows).render();
            assert_eq!(text.contains(reason), shown, "{reason}: {text}");
            assert!(text.contains(&format!("({failed} failed)")), "{text}");
        }
    }

    #[test]
    fn arrays_are_grouped() {
        let jobs = array_listing();
        let rows = group_jobs(&jobs, false);
        assert_eq!(rows.len(), 2);
        assert!(matches!(rows[0], Row::Job(_)));
        assert!(matches!(&rows[1], Row::Array(p, _) if p["id"] == 10));
        let text = rows_table(&rows).render();
        assert!(
            text.lines()
                .nth(2)
                .unwrap()
                .ends_with("array 1:1000: 12 running, 300 pending, 688 over (3 failed)"),
            "{text}"
        );
        let rows = group_jobs(&jobs, true);
        assert_eq!(rows.len(), 14);
        assert!(matches!(rows[2], Row::Task(t) if t["id"] == 700));
        let text = rows_table(&rows).render();
        assert!(text.contains("sweep[689]"), "{text}");

        // The parent cut off the listing: its tasks still make one line, under its id.
        let orphans: Vec<Value> = jobs.iter().filter(|j| j["id"] != 10).cloned().collect();
        let rows = group_jobs(&orphans, false);
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[1], Row::Orphans(10, _, c) if c.get("running") == 12));
        let text = rows_table(&rows).render();
        assert!(
            text.contains("array (parent not listed): 12 running"),
            "{text}"
        );
    }

    #[test]
    fn dependencies_read() {
        assert_eq!(dependency_text(&json!(3)), "after job 3");
        assert_eq!(dependency_text(&json!("4")), "after job 4");
        assert_eq!(dependency_text(&json!("afterany:5")), "after job 5 ends");
        assert_eq!(dependency_text(&json!("afternotok:6")), "after job 6 fails");
        assert_eq!(dependency_text(&json!("afterok:7")), "after job 7");
    }

    #[test]
    fn update_bodies_and_arguments() {
        assert_eq!(
            update_body("maxlifespan", "2h"),
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
        let text = describe(&v, 0.0);
        assert!(text.starts_with("Job 12: make\n"), "{text}");
        assert!(
            text.contains("  Requires:  2 CPU, 2G RAM, after job 3\n"),
            "{text}"
        );
        assert!(text.contains("  Duration:  1:05\n"), "{text}");
        assert!(text.contains("  Exit code: 2\n"), "{text}");
        assert!(text.contains("  Node:      n1\n"), "{text}");
        assert!(
            text.contains("  Volumes:   home (rw) on /mnt/home\n"),
            "{text}"
        );
        assert!(
            text.ends_with("  Command:\n    make\n    make test\n"),
            "{text}"
        );
    }
}
