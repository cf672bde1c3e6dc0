//! `god project`: projects over the API. Administrators create, change and delete them; members
//! see theirs and submit to them with `god submit --project ID`.

use super::account::{print_usage, quota};
use super::http::{status_of, Api};
use super::limits::LimitArgs;
use super::output::{emit_line, format_gb, number, print_json, truncate, Table};
use super::raw::Raw;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use god_core::api::projects::Members;
use god_core::api::{ProjectDoc, ProjectUpdate};
use god_core::names::is_default_project;
use reqwest::Method;

#[derive(Subcommand)]
pub enum ProjectCmd {
    /// List projects: all of them for administrators, else `default` and yours
    List(ListArgs),
    /// Show a project: description, priority, quotas, members, volumes
    Show(IdArgs),
    /// Create a project (administrators)
    #[command(long_about = "Create a project (administrators).\n\n\
        Quotas of 0 mean no quota. Examples:\n  \
        god project create genomics --description 'Genome assembly' --members alice,bob\n  \
        god project create big --prio 80 --quota-cpu 64 --quota-ram 256")]
    Create(EditArgs),
    /// Change a project (administrators): only the options given change; --members replaces
    /// the member list
    #[command(
        long_about = "Change a project (administrators): only the options given \
        change; --members replaces the member list (add-member and remove-member change it \
        one login at a time).\n\nThe project is read, changed and written back whole.\n\n\
        Examples:\n  god project set genomics --quota-cpu 32\n  \
        god project set genomics --members ''      # no members left"
    )]
    Set(EditArgs),
    /// Delete a project (administrators); its jobs stay
    Delete(IdArgs),
    /// Add members to a project (administrators)
    AddMember(MembersArgs),
    /// Remove members from a project (administrators)
    RemoveMember(MembersArgs),
    /// Per-day usage of a project in the last 30 days (administrators and members; --days N:
    /// each of the last N days, in hours, with the runs by how they ended)
    Usage(UsageArgs),
    /// Forget a project's recorded usage (administrators)
    ResetUsage(IdArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Print the server's JSON (a list of projects)
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    /// The project id
    id: String,
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UsageArgs {
    /// The project id
    id: String,
    /// Each of the last N days (today the first), in hours, with the runs by how they ended
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct MembersArgs {
    /// The project id
    id: String,
    /// Logins
    #[arg(required = true, value_name = "LOGIN")]
    logins: Vec<String>,
    /// Print the server's JSON (the project as it now is)
    #[arg(long)]
    json: bool,
}

#[derive(Args, Default, Debug)]
pub struct Fields {
    /// Free text description
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Members, comma-separated logins (replaces the list; '' for none)
    #[arg(long, value_name = "LOGIN,...")]
    pub members: Option<String>,
}

#[derive(Args)]
pub struct EditArgs {
    /// The project id (letters, digits, `.`, `_`, `-`)
    id: String,
    #[command(flatten)]
    fields: Fields,
    /// Print the server's JSON reply
    #[arg(long)]
    json: bool,
}

/// `a, b,,a` → `["a", "b"]`.
pub fn split_members(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in raw.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if !out.iter().any(|x| x == m) {
            out.push(m.to_string());
        }
    }
    out
}

/// A project's value as people read it.
fn show_text(s: &str) -> String {
    if s.is_empty() {
        "''".into()
    } else {
        s.to_string()
    }
}

fn show_members(m: &[String]) -> String {
    if m.is_empty() {
        "none".into()
    } else {
        m.join(",")
    }
}

/// The project fields given on the command line, checked, as the server's update takes them:
/// against the project as it is (`now`), only what changes, and `field old → new` of each for
/// people; without `now` (a new project), all of them.
pub fn project_update(
    f: &Fields,
    now: Option<&ProjectDoc>,
) -> Result<(ProjectUpdate, Vec<String>)> {
    let limits = f.limits.checked()?;
    let members = f.members.as_deref().map(split_members);
    let Some(p) = now else {
        let l = limits.update();
        let update = ProjectUpdate {
            description: f.description.clone(),
            prio: l.prio,
            quota_cpu: l.quota_cpu,
            quota_ram: l.quota_ram,
            quota_time: l.quota_time,
            members: members.map(Members::List),
            ..ProjectUpdate::default()
        };
        return Ok((update, Vec::new()));
    };
    let mut changed = Vec::new();
    let mut update = ProjectUpdate::default();
    if let Some(d) = f.description.clone().filter(|d| *d != p.description) {
        changed.push(format!(
            "description {} → {}",
            show_text(&p.description),
            show_text(&d)
        ));
        update.description = Some(d);
    }
    let now = [f64::from(p.prio), p.quota_cpu, p.quota_ram, p.quota_time];
    let (l, notes) = limits.changes("", now);
    changed.extend(notes);
    (
        update.prio,
        update.quota_cpu,
        update.quota_ram,
        update.quota_time,
    ) = (l.prio, l.quota_cpu, l.quota_ram, l.quota_time);
    if let Some(m) = members.filter(|m| *m != p.members) {
        changed.push(format!(
            "members {} → {}",
            show_members(&p.members),
            show_members(&m)
        ));
        update.members = Some(Members::List(m));
    }
    Ok((update, changed))
}

/// Add logins to a member list: the new list and the logins actually added.
pub fn add_members(current: &[String], logins: &[String]) -> (Vec<String>, Vec<String>) {
    let mut list = current.to_vec();
    let mut added = Vec::new();
    for l in logins.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if !list.iter().any(|m| m == l) {
            list.push(l.to_string());
            added.push(l.to_string());
        }
    }
    (list, added)
}

/// Remove logins from a member list: the new list and the logins that were not members.
pub fn remove_members(current: &[String], logins: &[String]) -> (Vec<String>, Vec<String>) {
    let missing = logins
        .iter()
        .filter(|l| !current.contains(l))
        .cloned()
        .collect();
    let list = current
        .iter()
        .filter(|m| !logins.contains(m))
        .cloned()
        .collect();
    (list, missing)
}

pub fn project(cmd: ProjectCmd) -> Result<i32> {
    let mut api = Api::connect()?;
    match cmd {
        ProjectCmd::List(a) => list(&mut api, a),
        ProjectCmd::Show(a) => {
            let p = get(&mut api, &a.id)?;
            if a.json {
                print_json(&p)?;
            } else {
                emit_line(&describe(&p.read(&format!("project {}", a.id))?))?;
            }
            Ok(0)
        }
        ProjectCmd::Create(a) => create(&mut api, a),
        ProjectCmd::Set(a) => set(&mut api, a),
        ProjectCmd::Delete(a) => simple(&mut api, Method::DELETE, &a, &[], "deleted"),
        ProjectCmd::ResetUsage(a) => {
            simple(&mut api, Method::DELETE, &a, &["quota"], "usage reset")
        }
        ProjectCmd::Usage(a) => {
            let mut url = api.url_with("/api/1.0/project", &[&a.id, "usage"])?;
            if let Some(days) = a.days {
                url.query_pairs_mut().append_pair("days", &days.to_string());
            }
            let rows = api
                .get_url(url)
                .map_err(|e| e.context(format!("project {}", a.id)))?;
            print_usage(&rows, a.json, &format!("Project {} has", a.id))
        }
        ProjectCmd::AddMember(a) => members(&mut api, a, true),
        ProjectCmd::RemoveMember(a) => members(&mut api, a, false),
    }
}

fn get(api: &mut Api, id: &str) -> Result<Raw> {
    let url = api.url_with("/api/1.0/project", &[id])?;
    api.get_url(url)
        .map_err(|e| e.context(format!("project {id}")))
}

fn post_update(api: &mut Api, id: &str, p: &ProjectUpdate) -> Result<Raw> {
    let url = api.url_with("/api/1.0/project", &[id])?;
    api.call_url(Method::POST, url, Some(p))
        .map_err(|e| e.context(format!("project {id}")))
}

fn simple(api: &mut Api, method: Method, a: &IdArgs, tail: &[&str], done: &str) -> Result<i32> {
    let mut segments = vec![a.id.as_str()];
    segments.extend_from_slice(tail);
    let url = api.url_with("/api/1.0/project", &segments)?;
    let reply = api
        .call_url(method, url, None::<&()>)
        .map_err(|e| e.context(format!("project {}", a.id)))?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("project {}: {done}", a.id))?;
    }
    Ok(0)
}

fn list(api: &mut Api, a: ListArgs) -> Result<i32> {
    let projects = match api.get("/api/1.0/project") {
        Ok(v) => v,
        // Not an administrator: the projects one is a member of.
        Err(e) if status_of(&e) == Some(403) => {
            let url = api.url_with("/api/1.0/user", &[&api.user.clone(), "project"])?;
            api.get_url(url)?
        }
        Err(e) => return Err(e),
    };
    if a.json {
        print_json(&projects)?;
        return Ok(0);
    }
    let list: Vec<ProjectDoc> = projects.read("the project list")?;
    projects_table(&list).print()?;
    Ok(0)
}

/// Who is in a project, for people: `everybody` in `default`.
fn members_text(p: &ProjectDoc, sep: &str) -> String {
    if is_default_project(&p.id) {
        "everybody".to_string()
    } else if p.members.is_empty() {
        "-".to_string()
    } else {
        p.members.join(sep)
    }
}

/// The table of `god project list`.
pub fn projects_table(list: &[ProjectDoc]) -> Table {
    let mut t = Table::new(&[
        ("ID", false),
        ("PRIO", true),
        ("CPU", true),
        ("RAM", true),
        ("TIME", true),
        ("MEMBERS", false),
        ("DESCRIPTION", false),
    ]);
    for p in list {
        let q = |v: f64, unit: &dyn Fn(f64) -> String| {
            let v = quota(Some(v), unit);
            if v == "none" {
                "-".to_string()
            } else {
                v
            }
        };
        t.row(vec![
            p.id.clone(),
            number(f64::from(p.prio)),
            q(p.quota_cpu, &number),
            q(p.quota_ram, &format_gb),
            q(p.quota_time, &|s| format!("{}s", number(s))),
            truncate(&members_text(p, ","), 40),
            truncate(&p.description, 50),
        ]);
    }
    t
}

/// The human view of `god project show`.
pub fn describe(p: &ProjectDoc) -> String {
    let mut out = format!("Project:     {}", p.id);
    let d = p.description.as_str();
    out.push_str(&format!(
        "\nDescription: {}",
        if d.is_empty() { "-" } else { d }
    ));
    out.push_str(&format!("\nPriority:    {}", number(f64::from(p.prio))));
    out.push_str(&format!(
        "\nQuotas:      cpu {}, ram {}, time {}",
        quota(Some(p.quota_cpu), &number),
        quota(Some(p.quota_ram), &format_gb),
        quota(Some(p.quota_time), &|t| format!("{}s", number(t))),
    ));
    out.push_str(&format!("\nMembers:     {}", members_text(p, ", ")));
    let vols: Vec<String> = p
        .volumes
        .iter()
        .map(|v| format!("{} ({})", v.name, v.path))
        .collect();
    if !vols.is_empty() {
        out.push_str(&format!("\nVolumes:     {}", vols.join(", ")));
    }
    out
}

fn create(api: &mut Api, a: EditArgs) -> Result<i32> {
    let (update, _) = project_update(&a.fields, None)?;
    let body = ProjectUpdate {
        id: Some(a.id.clone()),
        ..update
    };
    let reply = api
        .post("/api/1.0/project", &body)
        .map_err(|e| e.context(format!("project {}", a.id)))?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("project {} created", a.id))?;
    }
    Ok(0)
}

fn set(api: &mut Api, a: EditArgs) -> Result<i32> {
    let (given, _) = project_update(&a.fields, None)?;
    if given == ProjectUpdate::default() {
        bail!(
            "nothing to change: give --description, --prio, --quota-cpu, --quota-ram, \
             --quota-time or --members"
        );
    }
    let raw = get(api, &a.id)?;
    let p: ProjectDoc = raw.read(&format!("project {}", a.id))?;
    let (update, changed) = project_update(&a.fields, Some(&p))?;
    if changed.is_empty() {
        if a.json {
            print_json(&raw)?;
        } else {
            emit_line(&format!("project {}: nothing to change", a.id))?;
        }
        return Ok(0);
    }
    let reply = post_update(api, &a.id, &update)?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("project {}: {}", a.id, changed.join(", ")))?;
    }
    Ok(0)
}

fn members(api: &mut Api, a: MembersArgs, add: bool) -> Result<i32> {
    let mut p: ProjectDoc = get(api, &a.id)?.read(&format!("project {}", a.id))?;
    let current = p.members.clone();
    let (list, noted) = if add {
        add_members(&current, &a.logins)
    } else {
        remove_members(&current, &a.logins)
    };
    if list != current {
        let update = ProjectUpdate {
            members: Some(Members::List(list.clone())),
            ..ProjectUpdate::default()
        };
        post_update(api, &a.id, &update)?;
        p.members = list.clone();
    }
    if a.json {
        print_json(&p)?;
    } else {
        let now = if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        };
        emit_line(&format!("project {}: members {now}", a.id))?;
    }
    if add {
        for l in &a.logins {
            if !noted.contains(l) && current.contains(l) {
                eprintln!("god: {l} was already a member of project {}", a.id);
            }
        }
        Ok(0)
    } else {
        for l in &noted {
            eprintln!("god: {l} is not a member of project {}", a.id);
        }
        Ok(if noted.is_empty() { 0 } else { 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::{json, Value};

    #[test]
    fn member_lists() {
        assert_eq!(split_members("a, b,,a"), vec!["a", "b"]);
        assert!(split_members("").is_empty());
        let cur = vec!["a".to_string(), "b".to_string()];
        let (list, added) = add_members(&cur, &["b".into(), "c".into()]);
        assert_eq!(
            (list, added),
            (
                vec!["a".into(), "b".into(), "c".into()],
                vec!["c".to_string()]
            )
        );
        let (list, missing) = remove_members(&cur, &["a".into(), "z".into()]);
        assert_eq!(
            (list, missing),
            (vec!["b".to_string()], vec!["z".to_string()])
        );
    }

    #[test]
    fn fields_and_updates() {
        let f = Fields {
            description: Some("Genomes".into()),
            limits: LimitArgs {
                prio: Some(60),
                quota_cpu: Some(8.0),
                quota_ram: None,
                quota_time: Some("2h".into()),
            },
            members: Some("alice,bob".into()),
        };
        let (create, _) = project_update(&f, None).unwrap();
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            json!({"description": "Genomes", "prio": 60.0, "quota_cpu": 8.0, "quota_time": 7200.0,
                   "members": ["alice", "bob"]})
        );
        let limits = LimitArgs {
            prio: Some(101),
            ..Default::default()
        };
        assert!(project_update(
            &Fields {
                limits,
                ..Default::default()
            },
            None
        )
        .is_err());
        let (none, _) = project_update(&Fields::default(), None).unwrap();
        assert_eq!(none, ProjectUpdate::default());

        let stored: ProjectDoc = serde_json::from_value(json!({"id": "g", "description": "",
            "prio": 50, "quota_cpu": 8, "quota_ram": 0, "quota_time": 0, "members": ["alice"],
            "volumes": [{"name": "v", "path": "/v"}]}))
        .unwrap();
        let (update, changed) = project_update(&f, Some(&stored)).unwrap();
        assert_eq!(
            changed,
            vec![
                "description '' → Genomes",
                "prio 50 → 60",
                "quota_time 0 → 7200",
                "members alice → alice,bob"
            ]
        );
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"description": "Genomes", "prio": 60.0, "quota_time": 7200.0,
                   "members": ["alice", "bob"]}),
            "only what changes is sent: volumes and the CPU quota keep their value"
        );
    }

    #[test]
    fn project_views() {
        let doc = |v: Value| -> ProjectDoc { serde_json::from_value(v).unwrap() };
        let p = doc(
            json!({"id": "g", "description": "Genomes", "prio": 60, "quota_cpu": 8,
            "quota_ram": 0.5, "quota_time": 0, "members": ["alice", "bob"], "volumes": []}),
        );
        expect![[r#"
            Project:     g
            Description: Genomes
            Priority:    60
            Quotas:      cpu 8, ram 0.5G, time none
            Members:     alice, bob"#]]
        .assert_eq(&describe(&p));
        let default = doc(json!({"id": "default", "description": "", "prio": 50,
            "quota_cpu": 0, "quota_ram": 0, "quota_time": 0, "members": [],
            "volumes": [{"name": "scratch", "path": "/scratch"}]}));
        expect![[r#"
            Project:     default
            Description: -
            Priority:    50
            Quotas:      cpu none, ram none, time none
            Members:     everybody
            Volumes:     scratch (/scratch)"#]]
        .assert_eq(&describe(&default));
        let long = doc(
            json!({"id": "lab", "prio": 50, "quota_cpu": 0, "quota_ram": 0,
            "quota_time": 3600, "members": ["a-very-long-login-name",
            "another-very-long-login", "third"], "description": "x".repeat(60), "volumes": []}),
        );
        expect![[r#"
            ID       PRIO  CPU   RAM   TIME  MEMBERS                                   DESCRIPTION
            default    50    -     -      -  everybody
            g          60    8  0.5G      -  alice,bob                                 Genomes
            lab        50    -     -  3600s  a-very-long-login-name,another-very-lon…  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
        "#]].assert_eq(&projects_table(&[default, p, long]).render());
    }
}
