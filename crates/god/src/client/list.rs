//! `god list`: the listing, job arrays grouped into one line each (their tasks counted by
//! state), or expanded under their parent.

use super::http::Api;
use super::output::{emit_line, format_gb, format_time, print_json, truncate, Job, Table};
use anyhow::{bail, Result};
use clap::Args;
use god_core::Task;
use reqwest::Method;

#[derive(Args)]
pub struct ListArgs {
    /// Finished jobs (over or archived), newest first, instead of active ones
    #[arg(long)]
    over: bool,
    /// Everybody's jobs (administrators)
    #[arg(long)]
    all: bool,
    /// How many jobs at most (with --over: 100 when not given; array tasks count as jobs
    /// unless a filter or --after is given: then an array is one job)
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// The next page: jobs older than this id (the last one listed)
    #[arg(long, value_name = "ID")]
    after: Option<u64>,
    /// Only jobs in these states, comma-separated (pending, running, active; with --over:
    /// over, archived)
    #[arg(long, value_name = "STATES")]
    state: Option<String>,
    /// Only this user's jobs (administrators, with --all)
    #[arg(long)]
    user: Option<String>,
    /// Only jobs of this project (every member's when the project shares its jobs)
    #[arg(long)]
    project: Option<String>,
    /// Only jobs with this tag
    #[arg(long)]
    tag: Option<String>,
    /// Only jobs whose name or description contains this (any case)
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    /// Only jobs of this image
    #[arg(long)]
    image: Option<String>,
    /// Only jobs submitted in the last DURATION (30m, 12h, 2d)
    #[arg(long, value_name = "DURATION")]
    since: Option<String>,
    /// List each task of a job array under its parent (by default an array is one line, with
    /// how many of its tasks are in each state)
    #[arg(long)]
    expand: bool,
    /// Print the server's JSON (a list of task documents)
    #[arg(long)]
    json: bool,
}

/// The query parameters of the one list query `god list`'s options ask for (empty: the
/// original listing), `now` for `--since`. Filtered lists leave array tasks out (`top`): each
/// parent counts them.
pub fn list_params(a: &ListArgs, now: f64) -> Result<Vec<(&'static str, String)>> {
    if let Some(states) = &a.state {
        let finished = |s: &str| matches!(s.trim(), "over" | "archived");
        if !a.over && states.split(',').any(finished) {
            bail!("--state {states}: finished jobs are listed with --over");
        }
        if a.over && states.split(',').any(|s| !finished(s)) {
            bail!("--state {states}: with --over, the states are over and archived");
        }
    }
    let mut p: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in [
        ("state", &a.state),
        ("user", &a.user),
        ("tag", &a.tag),
        ("name", &a.name),
        ("image", &a.image),
    ] {
        if let Some(v) = value {
            p.push((key, v.clone()));
        }
    }
    if let Some(since) = &a.since {
        let secs = god_core::size::parse_duration_secs(since)
            .map_err(|e| anyhow::anyhow!("--since {since:?}: {e} (30m, 12h, 2d)"))?;
        p.push(("since", format!("{:.0}", now - secs as f64)));
    }
    if let Some(after) = a.after {
        p.push(("after", after.to_string()));
    }
    // The active lists take a limit as a parameter; the over lists have it in their path.
    if let (Some(limit), false) = (a.limit, a.over) {
        p.push(("limit", limit.to_string()));
    }
    if p.is_empty() {
        // The project alone is a parameter of the original listing.
        if let Some(project) = &a.project {
            p.push(("project", project.clone()));
        }
        return Ok(p);
    }
    if let Some(project) = &a.project {
        p.push(("project", project.clone()));
    }
    p.push(("top", "true".into()));
    Ok(p)
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

/// The array spec of a parent (`requirements.array.values`), if it is one.
pub fn array_spec(v: &Task) -> Option<&str> {
    v.requirements
        .array
        .values
        .as_deref()
        .filter(|s| !s.trim().is_empty())
}

/// The parent of an array task, if it is one.
pub fn parent_of(v: &Task) -> Option<u64> {
    v.parent_task_id.map(|p| p.0)
}

/// Count an array's tasks: those in the listing by `status.primary`; the parent's count of
/// tasks over that the listing does not show (an active listing holds no finished tasks) as
/// over; the tasks not created yet (`nb_tasks - nb_tasks_created`) as pending.
pub fn array_counts(parent: Option<&Task>, children: &[&Task]) -> ArrayCounts {
    let mut c = ArrayCounts::default();
    for child in children {
        c.add(Job(child).primary(), 1);
    }
    let Some(p) = parent else {
        return c;
    };
    let a = &p.requirements.array;
    // The server counted them (a filtered list leaves the tasks out).
    if let (Some(running), Some(pending), true) =
        (a.nb_tasks_running, a.nb_tasks_pending, children.is_empty())
    {
        c.add("running", running);
        c.add("pending", pending);
        c.add("over", a.nb_tasks_over);
        c.failed = a.nb_tasks_failed;
        return c;
    }
    let finished = c.get("over") + c.get("archived");
    let over_elsewhere = a.nb_tasks_over.saturating_sub(finished);
    c.add("over", over_elsewhere);
    let accounted = (children.len() as u64 + over_elsewhere).max(a.nb_tasks_created);
    c.add("pending", a.nb_tasks.saturating_sub(accounted));
    c.failed = a.nb_tasks_failed;
    c
}

/// One line of `god list`.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    /// A job that is not part of an array.
    Job(&'a Task),
    /// An array parent and how its tasks are.
    Array(&'a Task, ArrayCounts),
    /// Tasks of an array whose parent is not in the listing (cut by --limit): its id, one of
    /// the tasks (for the name and owner), the counts.
    Orphans(u64, &'a Task, ArrayCounts),
    /// One task of an array (with --expand), after its parent.
    Task(&'a Task),
}

/// Group a listing: each array parent takes the place of its tasks, which follow it only when
/// `expand` is set. The order is the server's, an array at its parent's place (or its first
/// task's, when the parent is not listed).
pub fn group_jobs(jobs: &[Task], expand: bool) -> Vec<Row<'_>> {
    use std::collections::{HashMap, HashSet};
    let parents: HashSet<u64> = jobs
        .iter()
        .filter(|j| array_spec(j).is_some())
        .map(|j| j.id.0)
        .collect();
    let mut children: HashMap<u64, Vec<&Task>> = HashMap::new();
    for j in jobs {
        if let Some(p) = parent_of(j) {
            children.entry(p).or_default().push(j);
        }
    }
    let mut rows = Vec::new();
    let mut orphans_done: HashSet<u64> = HashSet::new();
    for j in jobs {
        let id = Some(j.id.0);
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
                    .requirements
                    .array
                    .task_id
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
    let limit = a.limit.unwrap_or(100);
    let (method, path) = list_path(a.over, a.all, limit);
    let params = list_params(&a, super::http::now())?;
    let mut url = api.url(&path)?;
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params.iter());
    }
    let filtered = params.iter().any(|(k, _)| *k == "top");
    let reply = api.call_url::<()>(method, url, None)?;
    if a.json {
        print_json(&reply)?;
        return Ok(0);
    }
    let jobs: Vec<Task> = reply.read(&path)?;
    if jobs.is_empty() {
        let what = if a.over { "finished" } else { "active" };
        let whose = if a.all { "" } else { " of yours" };
        let which = if filtered { " that match" } else { "" };
        emit_line(&format!("No {what} jobs{whose}{which}."))?;
        return Ok(0);
    }
    rows_table(&group_jobs(&jobs, a.expand)).print()?;
    let page = if a.over { Some(limit) } else { a.limit };
    if let (true, Some(page), Some(last)) = (filtered, page, jobs.last()) {
        if page > 0 && jobs.len() as u64 >= page {
            emit_line(&format!("(a full page: the next with --after {})", last.id))?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::{json, Value};

    fn task(v: Value) -> Task {
        serde_json::from_value(v).unwrap()
    }

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
    fn list_parameters() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            a: ListArgs,
        }
        let params = |args: &[&str]| {
            let cli =
                Cli::try_parse_from(std::iter::once("list").chain(args.iter().copied())).unwrap();
            list_params(&cli.a, 1_000_000.0).map_err(|e| e.to_string())
        };
        let p = |pairs: &[(&'static str, &str)]| {
            Ok(pairs
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect::<Vec<_>>())
        };
        assert_eq!(params(&[]), p(&[]), "the original listing");
        assert_eq!(
            params(&["--over", "--limit", "5"]),
            p(&[]),
            "limit in the path"
        );
        assert_eq!(
            params(&["--project", "lab"]),
            p(&[("project", "lab")]),
            "the original's parameter"
        );
        assert_eq!(
            params(&["--limit", "20", "--tag", "x", "--project", "lab"]),
            p(&[
                ("tag", "x"),
                ("limit", "20"),
                ("project", "lab"),
                ("top", "true")
            ])
        );
        assert_eq!(
            params(&["--over", "--after", "90", "--since", "2d", "--state", "over"]),
            p(&[
                ("state", "over"),
                ("since", "827200"),
                ("after", "90"),
                ("top", "true")
            ])
        );
        assert!(params(&["--since", "soon"])
            .unwrap_err()
            .contains("--since"));
    }

    #[test]
    fn a_filtered_listing_counts_array_tasks_from_the_parent() {
        let parent = task(
            json!({"id": 10, "user": {"id": "alice"}, "meta": {"name": "sweep"},
            "requirements": {"cpu": 1, "ram": 1, "array": {"values": "1:1000", "nb_tasks": 1000,
                "nb_tasks_over": 688, "nb_tasks_created": 700, "nb_tasks_failed": 3,
                "nb_tasks_running": 12, "nb_tasks_pending": 300}},
            "status": {"primary": "running"}}),
        );
        let c = array_counts(Some(&parent), &[]);
        assert_eq!(c.summary(), "12 running, 300 pending, 688 over (3 failed)");
    }

    #[test]
    fn list_table() {
        let jobs: Vec<Task> = vec![
            json!({"id": 3, "date": 0.0, "user": {"id": "alice"}, "meta": {"name": "sleep"},
                "requirements": {"cpu": 1, "ram": 0.5},
                "status": {"primary": "pending", "secondary": "rejected by scheduler",
                           "reason": "not enough resources available right now for this job, sorry"}}),
            json!({"id": 12, "user": {"id": "bob"}, "meta": {"name": "make"},
                "requirements": {"cpu": 2, "ram": 2}, "status": {"primary": "over", "exitcode": 0}}),
        ]
        .into_iter()
        .map(task)
        .collect();
        let text = rows_table(&group_jobs(&jobs, false)).render();
        expect![[r#"
            ID  USER   NAME   STATE                          CPU   RAM  SUBMITTED  EXIT  REASON
             3  alice  sleep  pending/rejected by scheduler    1  0.5G  -             -  not enough resources available right no…
            12  bob    make   over                             2    2G  -             0
        "#]].assert_eq(&text);
    }

    fn array_listing() -> Vec<Task> {
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
        jobs.into_iter().map(task).collect()
    }

    #[test]
    fn arrays_are_counted() {
        let jobs = array_listing();
        let children: Vec<&Task> = jobs.iter().filter(|j| parent_of(j).is_some()).collect();
        let c = array_counts(Some(&jobs[1]), &children);
        // 12 listed running; 688 over (not listed); 1000 - 700 created = 300 pending.
        assert_eq!(
            (c.get("running"), c.get("pending"), c.get("over")),
            (12, 300, 688)
        );
        assert_eq!(c.summary(), "12 running, 300 pending, 688 over (3 failed)");

        // An over listing: all tasks listed, some archived.
        let parent = task(
            json!({"id": 1, "requirements": {"array": {"values": "1:9:3", "nb_tasks": 3,
            "nb_tasks_over": 3, "nb_tasks_created": 3}}, "status": {"primary": "over"}}),
        );
        let over = task(json!({"status": {"primary": "over"}}));
        let archived = task(json!({"status": {"primary": "archived"}}));
        let c = array_counts(Some(&parent), &[&over, &over, &archived]);
        assert_eq!(c.summary(), "2 over, 1 archived");
        // Old documents without nb_tasks_created: listed tasks are not counted twice.
        let parent =
            task(json!({"id": 1, "requirements": {"array": {"values": "4", "nb_tasks": 4}}}));
        let pending = task(json!({"status": {"primary": "pending"}}));
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
            let parent = task(
                json!({"id": 1, "user": {"id": "alice"}, "meta": {"name": "sweep"},
                "requirements": {"array": {"values": "1:3", "nb_tasks": 3, "nb_tasks_over": 3,
                    "nb_tasks_created": 3, "nb_tasks_failed": failed}},
                "status": {"primary": "over", "reason": reason}}),
            );
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
        assert!(matches!(&rows[1], Row::Array(p, _) if p.id.0 == 10));
        expect![[r#"
            ID  USER   NAME   STATE    CPU  RAM  SUBMITTED  EXIT  REASON
             5  alice  solo   pending    -    -  -             -
            10  alice  sweep  running    1   1G  -             -  array 1:1000: 12 running, 300 pending, 688 over (3 failed)
        "#]].assert_eq(&rows_table(&rows).render());
        let rows = group_jobs(&jobs, true);
        assert_eq!(rows.len(), 14);
        assert!(matches!(rows[2], Row::Task(t) if t.id.0 == 700));
        expect![[r#"
             ID  USER   NAME        STATE    CPU  RAM  SUBMITTED  EXIT  REASON
              5  alice  solo        pending    -    -  -             -
             10  alice  sweep       running    1   1G  -             -  array 1:1000: 12 running, 300 pending, 688 over (3 failed)
            700         sweep[689]  running    -    -  -             -
            701         sweep[690]  running    -    -  -             -
            702         sweep[691]  running    -    -  -             -
            703         sweep[692]  running    -    -  -             -
            704         sweep[693]  running    -    -  -             -
            705         sweep[694]  running    -    -  -             -
            706         sweep[695]  running    -    -  -             -
            707         sweep[696]  running    -    -  -             -
            708         sweep[697]  running    -    -  -             -
            709         sweep[698]  running    -    -  -             -
            710         sweep[699]  running    -    -  -             -
            711         sweep[700]  running    -    -  -             -
        "#]].assert_eq(&rows_table(&rows).render());

        // The parent cut off the listing: its tasks still make one line, under its id.
        let orphans: Vec<Task> = jobs.iter().filter(|j| j.id.0 != 10).cloned().collect();
        let rows = group_jobs(&orphans, false);
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[1], Row::Orphans(10, _, c) if c.get("running") == 12));
        expect![[r#"
            ID  USER   NAME   STATE    CPU  RAM  SUBMITTED  EXIT  REASON
             5  alice  solo   pending    -    -  -             -
            10         sweep  -          -    -  -             -  array (parent not listed): 12 running
        "#]].assert_eq(&rows_table(&rows).render());
    }
}
