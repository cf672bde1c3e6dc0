//! `god project`: projects over the API. Administrators create, change and delete them; members
//! see theirs and submit to them with `god submit --project ID`.

use super::account::{number, print_usage, quota};
use super::http::{decode, status_of, Api};
use super::limits::LimitArgs;
use super::output::{emit_line, format_gb, print_json, truncate, Table};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use god_core::api::ProjectDoc;
use god_core::names::is_default_project;
use reqwest::Method;
use serde_json::{json, Value};

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
    /// Per-day usage of a project in the last 30 days (administrators and members)
    Usage(IdArgs),
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

/// The project fields given on the command line, checked, as the server names them.
pub fn fields_json(f: &Fields) -> Result<Vec<(&'static str, Value)>> {
    let mut m = Vec::new();
    if let Some(d) = &f.description {
        m.push(("description", json!(d)));
    }
    m.extend(f.limits.checked()?.fields());
    if let Some(members) = &f.members {
        m.push(("members", json!(split_members(members))));
    }
    Ok(m)
}

/// The full project the server's update takes, from a project document.
pub fn full_project(p: &Value) -> Value {
    let get = |k: &str, default: Value| {
        p.get(k)
            .cloned()
            .filter(|v| !v.is_null())
            .unwrap_or(default)
    };
    json!({
        "id": get("id", json!("")),
        "description": get("description", json!("")),
        "prio": get("prio", json!(0)),
        "quota_cpu": get("quota_cpu", json!(0)),
        "quota_ram": get("quota_ram", json!(0)),
        "quota_time": get("quota_time", json!(0)),
        "members": get("members", json!([])),
        "volumes": get("volumes", json!([])),
    })
}

fn members_of(p: &Value) -> Vec<String> {
    p.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn show_field(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "''".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(number).unwrap_or_else(|| n.to_string()),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// Apply `changes` to a full project; what changed, `field old → new`.
pub fn apply_project(p: &mut Value, changes: &[(&str, Value)]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, new) in changes {
        let old = p.get(k).cloned().unwrap_or(Value::Null);
        let same = match (old.as_f64(), new.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => old == *new,
        };
        if !same {
            out.push(format!("{k} {} → {}", show_field(&old), show_field(new)));
            p[*k] = new.clone();
        }
    }
    out
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
                emit_line(&describe(&decode(&format!("project {}", a.id), p)?))?;
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
            let url = api.url_with("/api/1.0/project", &[&a.id, "usage"])?;
            let rows = api
                .get_url(url)
                .map_err(|e| e.context(format!("project {}", a.id)))?;
            print_usage(&rows, a.json, &format!("Project {} has", a.id))
        }
        ProjectCmd::AddMember(a) => members(&mut api, a, true),
        ProjectCmd::RemoveMember(a) => members(&mut api, a, false),
    }
}

fn get(api: &mut Api, id: &str) -> Result<Value> {
    let url = api.url_with("/api/1.0/project", &[id])?;
    api.get_url(url)
        .map_err(|e| e.context(format!("project {id}")))
}

fn post_full(api: &mut Api, id: &str, p: &Value) -> Result<Value> {
    let url = api.url_with("/api/1.0/project", &[id])?;
    api.call_url(Method::POST, url, Some(p))
        .map_err(|e| e.context(format!("project {id}")))
}

fn simple(api: &mut Api, method: Method, a: &IdArgs, tail: &[&str], done: &str) -> Result<i32> {
    let mut segments = vec![a.id.as_str()];
    segments.extend_from_slice(tail);
    let url = api.url_with("/api/1.0/project", &segments)?;
    let reply = api
        .call_url(method, url, None)
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
    let list: Vec<ProjectDoc> = decode("the project list", projects)?;
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
    let mut body = serde_json::Map::new();
    body.insert("id".into(), json!(a.id));
    for (k, v) in fields_json(&a.fields)? {
        body.insert(k.into(), v);
    }
    let reply = api
        .post("/api/1.0/project", &Value::Object(body))
        .map_err(|e| e.context(format!("project {}", a.id)))?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("project {} created", a.id))?;
    }
    Ok(0)
}

fn set(api: &mut Api, a: EditArgs) -> Result<i32> {
    let changes = fields_json(&a.fields)?;
    if changes.is_empty() {
        bail!(
            "nothing to change: give --description, --prio, --quota-cpu, --quota-ram, \
             --quota-time or --members"
        );
    }
    let mut p = full_project(&get(api, &a.id)?);
    let changed = apply_project(&mut p, &changes);
    if changed.is_empty() {
        if a.json {
            print_json(&p)?;
        } else {
            emit_line(&format!("project {}: nothing to change", a.id))?;
        }
        return Ok(0);
    }
    let reply = post_full(api, &a.id, &p)?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("project {}: {}", a.id, changed.join(", ")))?;
    }
    Ok(0)
}

fn members(api: &mut Api, a: MembersArgs, add: bool) -> Result<i32> {
    let mut p = full_project(&get(api, &a.id)?);
    let current = members_of(&p);
    let (list, noted) = if add {
        add_members(&current, &a.logins)
    } else {
        remove_members(&current, &a.logins)
    };
    if list != current {
        p["members"] = json!(list);
        post_full(api, &a.id, &p)?;
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
        let m = fields_json(&f).unwrap();
        assert_eq!(
            Value::Object(m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
            json!({"description": "Genomes", "prio": 60, "quota_cpu": 8.0, "quota_time": 7200.0,
                   "members": ["alice", "bob"]})
        );
        let limits = LimitArgs {
            prio: Some(101),
            ..Default::default()
        };
        assert!(fields_json(&Fields {
            limits,
            ..Default::default()
        })
        .is_err());
        assert!(fields_json(&Fields::default()).unwrap().is_empty());

        let stored = json!({"id": "g", "description": "", "prio": 50, "quota_cpu": 8, "quota_ram": 0,
            "quota_time": 0, "members": ["alice"], "volumes": [{"name": "v", "path": "/v"}]});
        let mut p = full_project(&stored);
        let changed = apply_project(&mut p, &m);
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
            p["volumes"], stored["volumes"],
            "volumes are sent back as they were"
        );
        assert_eq!(p["quota_cpu"], 8);
        assert!(
            apply_project(&mut p, &m).is_empty(),
            "a second time changes nothing"
        );
        assert_eq!(full_project(&json!({"id": "x"}))["members"], json!([]));
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
