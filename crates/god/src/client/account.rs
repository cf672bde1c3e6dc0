//! `god whoami` and `god account`: accounts over the API (the server-side `god user`
//! commands open the database instead). `god login` is in `session.rs`.

use super::http::Api;
use super::limits::{LimitArgs, Limits};
use super::output::{emit_line, format_duration, format_gb, number, print_json, Table};
use super::raw::Raw;
use super::session::save_renewed_key;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use god_core::api::users::{ApiKeyAnswer, CredentialsUpdate, LimitsUpdate};
use god_core::api::{QuotaAnswer, UsageDay, UserDoc, UserUpdate};
use reqwest::Method;

#[derive(Args)]
pub struct WhoamiArgs {
    /// Print the server's JSON (the user document)
    #[arg(long)]
    json: bool,
}

pub fn whoami(a: WhoamiArgs) -> Result<i32> {
    show_account(None, a.json)
}

/// Quotas are 0 when there is none.
pub fn quota(v: Option<f64>, unit: &dyn Fn(f64) -> String) -> String {
    match v {
        Some(q) if q > 0.0 => unit(q),
        _ => "none".into(),
    }
}

/// The human view of a user document (`god whoami`, `god account show`).
pub fn describe_user(u: &UserDoc, server: &str, login: &str) -> String {
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
    let login = Some(u.id.as_str())
        .filter(|v| !v.is_empty())
        .unwrap_or(login);
    let mut roles = Vec::new();
    if u.admin {
        roles.push("administrator");
    }
    if u.disabled {
        roles.push("disabled");
    }
    if u.guest {
        roles.push(if u.active {
            "guest"
        } else {
            "guest, waiting for an administrator to activate it"
        });
    }
    let mut out = format!("User:     {login}");
    if !roles.is_empty() {
        out.push_str(&format!(" ({})", roles.join(", ")));
    }
    out.push_str(&format!("\nServer:   {server}"));
    out.push_str(&format!("\nIds:      uid {}, gid {}", u.uid, u.gid));
    if !u.sgids.is_empty() {
        let groups: Vec<String> = u.sgids.iter().map(|g| g.to_string()).collect();
        out.push_str(&format!(", groups {}", groups.join(",")));
    }
    out.push_str(&format!(
        "\nEmail:    {}",
        nonempty(&u.email).unwrap_or_else(|| "-".into())
    ));
    out.push_str(&format!(
        "\nHome:     {}",
        nonempty(&u.home_directory).unwrap_or_else(|| "-".into())
    ));
    let l = &u.usage;
    out.push_str(&format!("\nPriority: {}", number(f64::from(l.prio))));
    out.push_str(&format!(
        "\nQuotas:   cpu {}, ram {}, time {}",
        quota(Some(l.quota_cpu), &number),
        quota(Some(l.quota_ram), &format_gb),
        quota(Some(l.quota_time), &|t| format!("{}s", number(t))),
    ));
    out.push_str(&format!(
        "\nSSH key:  {}",
        nonempty(&u.credentials.public)
            .map(|k| ssh_key_summary(&k))
            .unwrap_or_else(|| "-".into())
    ));
    out
}

/// `ssh-ed25519 …Xy12 me@host`: the type, the end of the key, the comment.
pub fn ssh_key_summary(key: &str) -> String {
    let mut words = key.split_whitespace();
    let kind = words.next().unwrap_or("");
    let body = words.next().unwrap_or("");
    let comment: Vec<&str> = words.collect();
    let tail: String = {
        let chars: Vec<char> = body.chars().collect();
        chars[chars.len().saturating_sub(8)..].iter().collect()
    };
    let mut out = format!("{kind} …{tail}");
    if !comment.is_empty() {
        out.push(' ');
        out.push_str(&comment.join(" "));
    }
    out
}

/// `GET /api/1.0/user/<login>` (yours without a login).
fn get_user(api: &mut Api, login: &str) -> Result<Raw> {
    let url = api.url_with("/api/1.0/user", &[login])?;
    api.get_url(url)
        .map_err(|e| with_context(e, &format!("account {login}")))
}

/// Prefix an error with what it was about, keeping the server's error for `status_of`.
fn with_context(e: anyhow::Error, what: &str) -> anyhow::Error {
    e.context(what.to_string())
}

fn show_account(login: Option<&str>, json: bool) -> Result<i32> {
    let mut api = Api::connect()?;
    let login = login
        .map(str::to_string)
        .unwrap_or_else(|| api.user.clone());
    let u = get_user(&mut api, &login)?;
    if json {
        print_json(&u)?;
    } else {
        let doc: UserDoc = u.read(&format!("account {login}"))?;
        emit_line(&describe_user(&doc, &api.server, &login))?;
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Show an account: ids, e-mail, administrator, priority, quotas, SSH key [default: yours]
    Show(AccountShowArgs),
    /// Change an account: priority, quotas, administrator, disabled (administrators), SSH key
    /// and e-mail (also your own)
    #[command(
        long_about = "Change an account: priority, quotas, administrator, disabled \
        (administrators), SSH key and e-mail (also your own).\n\n\
        The account is read, changed and written back whole (GET then PUT \
        /api/1.0/user/LOGIN). Quotas of 0 mean no quota.\n\n\
        Examples:\n  god account set alice --quota-cpu 8 --quota-ram 32 --prio 60\n  \
        god account set bob --disabled true\n  \
        god account set guest-carol --active true            # let a guest in\n  \
        god account set --ssh-key ~/.ssh/id_ed25519.pub      # your own key"
    )]
    Set(AccountSetArgs),
    /// Per-day usage of the last 30 days: CPUs and GB of RAM summed over the runs, run time
    /// (--days N: each of the last N days, in hours, with the runs by how they ended)
    Usage(AccountUsageArgs),
    /// Quotas and what is used of them now, yours and each of your projects' [default: yours]
    Quota(AccountShowArgs),
    /// Issue a new API key (yours, or any user's for administrators) and print it
    #[command(
        long_about = "Issue a new API key (yours, or any user's for administrators) \
        and print it.\n\nThe old key stops working at once, and so do the tokens obtained \
        with it. When it is your own key, the credentials saved by `god login` are updated \
        (GOD_APIKEY, if you use it, must be changed by hand)."
    )]
    RenewKey(AccountRenewArgs),
}

pub fn account(cmd: AccountCmd) -> Result<i32> {
    match cmd {
        AccountCmd::Show(a) => show_account(a.login.as_deref(), a.json),
        AccountCmd::Set(a) => set_account(a),
        AccountCmd::Usage(a) => account_usage(a),
        AccountCmd::Quota(a) => account_quota(a),
        AccountCmd::RenewKey(a) => renew_key(a),
    }
}

#[derive(Args)]
pub struct AccountShowArgs {
    /// The login [default: yours]
    login: Option<String>,
    /// Print the server's JSON (the user document)
    #[arg(long)]
    json: bool,
}

#[derive(Args, Default)]
pub struct AccountSetArgs {
    /// The login [default: yours]
    pub login: Option<String>,
    /// Priority and quotas: administrators only.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Make the user an administrator, or not (administrators)
    #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub admin: Option<bool>,
    /// Disable the account (its API key and tokens stop working), or enable it again
    /// (administrators)
    #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub disabled: Option<bool>,
    /// Activate a guest (an OpenID Connect login: it runs nothing until activated), or
    /// deactivate them (administrators)
    #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub active: Option<bool>,
    /// SSH public key file (`-`: standard input), e.g. ~/.ssh/id_ed25519.pub
    #[arg(long, value_name = "FILE", conflicts_with = "no_ssh_key")]
    pub ssh_key: Option<String>,
    /// Remove the SSH public key
    #[arg(long)]
    pub no_ssh_key: bool,
    /// E-mail address (empty: none)
    #[arg(long, value_name = "ADDR")]
    pub email: Option<String>,
    /// Print the server's JSON (the updated user document)
    #[arg(long)]
    pub json: bool,
}

/// Read an SSH public key file; refuse a private key.
pub fn read_public_key(path: &str) -> Result<String> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| anyhow!("reading the SSH key from standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| anyhow!("reading the SSH key {path}: {e}"))?
    };
    check_public_key(&text).map_err(|e| anyhow!("--ssh-key {path}: {e}"))
}

/// The public key line of a key file's text.
pub fn check_public_key(text: &str) -> Result<String> {
    if text.contains("PRIVATE KEY") {
        bail!("this is a private key: give the public one (the .pub file)");
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| anyhow!("the file is empty"))?;
    let kind = line.split_whitespace().next().unwrap_or("");
    let known = kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-");
    if !known || line.split_whitespace().count() < 2 {
        bail!("not an SSH public key (expected a line such as `ssh-ed25519 AAAA... me@host`)");
    }
    Ok(line.to_string())
}

/// What `god account set` changes, checked.
#[derive(Debug, Default, PartialEq)]
pub struct UserChanges {
    pub limits: Limits,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    pub active: Option<bool>,
    /// `Some(None)`: remove the key.
    pub ssh_key: Option<Option<String>>,
    pub email: Option<Option<String>>,
}

impl UserChanges {
    pub fn from_args(a: &AccountSetArgs) -> Result<UserChanges> {
        let c = UserChanges {
            limits: a.limits.checked()?,
            admin: a.admin,
            disabled: a.disabled,
            active: a.active,
            ssh_key: if a.no_ssh_key {
                Some(None)
            } else {
                a.ssh_key
                    .as_deref()
                    .map(read_public_key)
                    .transpose()?
                    .map(Some)
            },
            email: a
                .email
                .as_ref()
                .map(|e| Some(e.trim().to_string()).filter(|e| !e.is_empty())),
        };
        if c == UserChanges::default() {
            bail!(
                "nothing to change: give --prio, --quota-cpu, --quota-ram, --quota-time, --admin, \
                 --disabled, --active, --ssh-key, --no-ssh-key or --email"
            );
        }
        Ok(c)
    }
}

/// A user's value as people read it: `none`, an SSH key shortened.
fn show_text(v: Option<&str>) -> String {
    match v {
        None => "none".into(),
        Some(s) if s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-") => {
            ssh_key_summary(s)
        }
        Some(s) => s.to_string(),
    }
}

/// The update of a user document: only the fields that change, and what changed, `field old →
/// new`, for people. `admin` is only sent when it changes: the server reports as administrators
/// also the logins its configuration names, and writing that back would make them
/// administrators in the database too.
pub fn user_update(doc: &UserDoc, c: &UserChanges) -> (UserUpdate, Vec<String>) {
    let u = &doc.usage;
    let (limits, mut changed) = c.limits.changes(
        "usage.",
        [f64::from(u.prio), u.quota_cpu, u.quota_ram, u.quota_time],
    );
    let mut update = UserUpdate {
        usage: Some(limits).filter(|l| *l != LimitsUpdate::default()),
        ..UserUpdate::default()
    };
    let flags = [
        ("admin", c.admin, doc.admin, &mut update.admin),
        ("disabled", c.disabled, doc.disabled, &mut update.disabled),
        ("active", c.active, doc.active, &mut update.active),
    ];
    for (name, new, old, slot) in flags {
        if let Some(new) = new.filter(|n| *n != old) {
            changed.push(format!("{name} {old} → {new}"));
            *slot = Some(new);
        }
    }
    let old_key = doc.credentials.public.clone();
    if let Some(new) = c.ssh_key.clone().filter(|k| *k != old_key) {
        changed.push(format!(
            "credentials.public {} → {}",
            show_text(old_key.as_deref()),
            show_text(new.as_deref())
        ));
        update.credentials = Some(CredentialsUpdate {
            apikey: None,
            public: Some(new),
        });
    }
    if let Some(new) = c.email.clone().filter(|e| *e != doc.email) {
        changed.push(format!(
            "email {} → {}",
            show_text(doc.email.as_deref()),
            show_text(new.as_deref())
        ));
        update.email = Some(new);
    }
    (update, changed)
}

fn set_account(a: AccountSetArgs) -> Result<i32> {
    let changes = UserChanges::from_args(&a)?;
    let mut api = Api::connect()?;
    let login = a.login.clone().unwrap_or_else(|| api.user.clone());
    let raw = get_user(&mut api, &login)?;
    let doc: UserDoc = raw.read(&format!("account {login}"))?;
    let (update, changed) = user_update(&doc, &changes);
    if changed.is_empty() {
        if a.json {
            print_json(&raw)?;
        } else {
            emit_line(&format!("account {login}: nothing to change"))?;
        }
        return Ok(0);
    }
    let url = api.url_with("/api/1.0/user", &[&login])?;
    let reply = api
        .call_url(Method::PUT, url, Some(&update))
        .map_err(|e| with_context(e, &format!("account {login}")))?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&format!("account {login}: {}", changed.join(", ")))?;
    }
    Ok(0)
}

#[derive(Args)]
pub struct AccountUsageArgs {
    /// The login [default: yours]
    login: Option<String>,
    /// Each of the last N days (today the first), in hours, with the runs by how they ended
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Print the server's JSON (`[{date, cpu, ram, time}]`, newest first)
    #[arg(long)]
    json: bool,
}

fn account_usage(a: AccountUsageArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let login = a.login.clone().unwrap_or_else(|| api.user.clone());
    let mut url = api.url_with("/api/1.0/user", &[&login, "usage"])?;
    if let Some(days) = a.days {
        url.query_pairs_mut().append_pair("days", &days.to_string());
    }
    let rows = api
        .get_url(url)
        .map_err(|e| with_context(e, &format!("account {login}")))?;
    print_usage(&rows, a.json, &format!("{login} has"))
}

fn account_quota(a: AccountShowArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let login = a.login.clone().unwrap_or_else(|| api.user.clone());
    let url = api.url_with("/api/1.0/user", &[&login, "quota"])?;
    let raw = api
        .get_url(url)
        .map_err(|e| with_context(e, &format!("account {login}")))?;
    if a.json {
        print_json(&raw)?;
        return Ok(0);
    }
    let q: QuotaAnswer = raw.read("the quotas")?;
    quota_table(&q).print()?;
    emit_line(&format!(
        "(time: wall time of the last {} days; 0 or none: no quota)",
        q.window_days
    ))?;
    Ok(0)
}

/// Used / quota of a user and their projects.
pub fn quota_table(q: &QuotaAnswer) -> Table {
    let mut t = Table::new(&[
        ("", false),
        ("PRIO", true),
        ("RUNNING", true),
        ("CPU", true),
        ("RAM", true),
        ("TIME", true),
    ]);
    let of = |used: String, quota: f64, unit: &dyn Fn(f64) -> String| {
        if quota > 0.0 {
            format!("{used} / {}", unit(quota))
        } else {
            format!("{used} / none")
        }
    };
    let rows = std::iter::once(("user", &q.user)).chain(q.projects.iter().map(|p| ("project", p)));
    for (kind, u) in rows {
        t.row(vec![
            format!("{kind} {}", u.id),
            u.prio.to_string(),
            u.running.to_string(),
            of(number(u.used_cpu), u.quota_cpu, &number),
            of(format_gb(u.used_ram), u.quota_ram, &format_gb),
            of(format_duration(u.used_time), u.quota_time, &format_duration),
        ]);
    }
    t
}

/// Print a per-day usage list (`god account usage`, `god project usage`).
pub fn print_usage(rows: &Raw, json: bool, who_has: &str) -> Result<i32> {
    if json {
        print_json(rows)?;
        return Ok(0);
    }
    let list: Vec<UsageDay> = rows.read("the usage")?;
    if list.is_empty() {
        emit_line(&format!("{who_has} no usage in the last 30 days."))?;
        return Ok(0);
    }
    if list.iter().all(|d| d.jobs.is_some()) {
        usage_outcomes_table(&list).print()?;
    } else {
        usage_table(&list).print()?;
    }
    Ok(0)
}

/// The table of per-day usage asked with `--days`: hours and the runs by how they ended, with a
/// total.
pub fn usage_outcomes_table(rows: &[UsageDay]) -> Table {
    let mut t = Table::new(&[
        ("DATE", false),
        ("CPU·H", true),
        ("GB·H", true),
        ("WALL·H", true),
        ("OK", true),
        ("FAILED", true),
        ("KILLED", true),
        ("LIMIT", true),
        ("NODE", true),
        ("UNKNOWN", true),
    ]);
    let hours = |h: Option<f64>| format!("{:.2}", h.unwrap_or(0.0));
    let mut total = UsageDay {
        date: "total".into(),
        cpu: 0.0,
        ram: 0.0,
        time: 0.0,
        cpu_hours: Some(0.0),
        ram_gb_hours: Some(0.0),
        wall_hours: Some(0.0),
        jobs: Some(Default::default()),
    };
    let line = |t: &mut Table, r: &UsageDay, date: String| {
        let j = r.jobs.clone().unwrap_or_default();
        t.row(vec![
            date,
            hours(r.cpu_hours),
            hours(r.ram_gb_hours),
            hours(r.wall_hours),
            j.ok.to_string(),
            j.failed.to_string(),
            j.killed.to_string(),
            j.limit_reached.to_string(),
            j.node_failure.to_string(),
            j.unknown.to_string(),
        ]);
    };
    for r in rows {
        line(&mut t, r, usage_date(&r.date));
        for (sum, add) in [
            (&mut total.cpu_hours, r.cpu_hours),
            (&mut total.ram_gb_hours, r.ram_gb_hours),
            (&mut total.wall_hours, r.wall_hours),
        ] {
            *sum = Some(sum.unwrap_or(0.0) + add.unwrap_or(0.0));
        }
        if let (Some(tj), Some(j)) = (total.jobs.as_mut(), &r.jobs) {
            tj.ok += j.ok;
            tj.failed += j.failed;
            tj.killed += j.killed;
            tj.limit_reached += j.limit_reached;
            tj.node_failure += j.node_failure;
            tj.unknown += j.unknown;
        }
    }
    if rows.len() > 1 {
        line(&mut t, &total, "total".into());
    }
    t
}

/// `2017_3_8` (the server's day) → `2017-03-08`.
pub fn usage_date(raw: &str) -> String {
    let parts: Vec<&str> = raw.split('_').collect();
    match parts.as_slice() {
        [y, m, d] => match (m.parse::<u32>(), d.parse::<u32>()) {
            (Ok(m), Ok(d)) => format!("{y}-{m:02}-{d:02}"),
            _ => raw.to_string(),
        },
        _ => raw.to_string(),
    }
}

/// The table of per-day usage, with a total.
pub fn usage_table(rows: &[UsageDay]) -> Table {
    let mut t = Table::new(&[
        ("DATE", false),
        ("CPU", true),
        ("RAM", true),
        ("TIME", true),
    ]);
    let mut total = (0.0, 0.0, 0.0);
    for r in rows {
        total.0 += r.cpu;
        total.1 += r.ram;
        total.2 += r.time;
        t.row(vec![
            usage_date(&r.date),
            number(r.cpu),
            format_gb(r.ram),
            format_duration(r.time),
        ]);
    }
    if rows.len() > 1 {
        t.row(vec![
            "total".into(),
            number(total.0),
            format_gb(total.1),
            format_duration(total.2),
        ]);
    }
    t
}

#[derive(Args)]
pub struct AccountRenewArgs {
    /// The login [default: yours]
    login: Option<String>,
    /// Print the server's JSON (`{id, apikey}`)
    #[arg(long)]
    json: bool,
}

fn renew_key(a: AccountRenewArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let login = a.login.clone().unwrap_or_else(|| api.user.clone());
    let url = api.url_with("/api/1.0/user", &[&login, "apikey"])?;
    let reply = api
        .call_url(Method::POST, url, None::<&()>)
        .map_err(|e| with_context(e, &format!("account {login}")))?;
    let key = reply
        .read::<ApiKeyAnswer>("the key renewal")
        .ok()
        .map(|k| k.apikey)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| anyhow!("the server renewed the key but did not send it"))?;
    if a.json {
        print_json(&reply)?;
    } else {
        emit_line(&key)?;
    }
    if login == api.user {
        // Our own key: the saved one no longer works.
        let note = save_renewed_key(&api.server, &login, &key)?;
        eprintln!("{note}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    fn user() -> serde_json::Value {
        json!({"id": "alice", "uid": 1001, "gid": 1001, "sgids": [], "email": null,
            "homeDirectory": "/home/alice", "admin": true, "disabled": false,
            "guest": false, "active": true,
            "credentials": {"apikey": null, "public": null},
            "usage": {"prio": 50, "quota_cpu": 0.0, "quota_ram": 0.0, "quota_time": 0.0}})
    }

    #[test]
    fn user_updates_send_only_what_changes() {
        let doc: UserDoc = serde_json::from_value(user()).unwrap();
        let c = UserChanges {
            limits: Limits {
                prio: Some(60),
                quota_cpu: Some(4.0),
                quota_ram: Some(0.0),
                quota_time: None,
            },
            disabled: Some(true),
            ssh_key: Some(Some(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabcdefgh me@host".into(),
            )),
            ..Default::default()
        };
        let (update, changed) = user_update(&doc, &c);
        assert_eq!(
            changed,
            vec![
                "usage.prio 50 → 60",
                "usage.quota_cpu 0 → 4",
                "disabled false → true",
                "credentials.public none → ssh-ed25519 …abcdefgh me@host",
            ]
        );
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"disabled": true, "usage": {"prio": 60.0, "quota_cpu": 4.0},
                "credentials": {"public": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabcdefgh me@host"}}),
            "admin and the unchanged fields are not sent"
        );

        let c = UserChanges {
            admin: Some(false),
            ssh_key: Some(None),
            email: Some(Some("a@b.c".into())),
            ..Default::default()
        };
        let (update, changed) = user_update(&doc, &c);
        assert_eq!(changed, vec!["admin true → false", "email none → a@b.c"]);
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"admin": false, "email": "a@b.c"})
        );
        let (update, changed) = user_update(&doc, &UserChanges::default());
        assert!(changed.is_empty());
        assert_eq!(update, UserUpdate::default());
    }

    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        a: AccountSetArgs,
    }

    fn set_args(args: &[&str]) -> Result<AccountSetArgs, clap::Error> {
        use clap::Parser;
        Wrap::try_parse_from(std::iter::once("set").chain(args.iter().copied())).map(|w| w.a)
    }

    #[test]
    fn set_arguments() {
        let a = set_args(&[
            "alice",
            "--prio",
            "60",
            "--quota-cpu",
            "4",
            "--quota-ram",
            "0.5",
            "--quota-time",
            "2h",
            "--admin",
            "yes",
            "--disabled",
            "false",
        ])
        .unwrap();
        let c = UserChanges::from_args(&a).unwrap();
        assert_eq!(a.login.as_deref(), Some("alice"));
        assert_eq!(
            c,
            UserChanges {
                limits: Limits {
                    prio: Some(60),
                    quota_cpu: Some(4.0),
                    quota_ram: Some(0.5),
                    quota_time: Some(7200.0),
                },
                admin: Some(true),
                disabled: Some(false),
                ..Default::default()
            }
        );
        let err = UserChanges::from_args(&set_args(&["alice"]).unwrap()).unwrap_err();
        assert!(err.to_string().starts_with("nothing to change"), "{err}");
        assert!(UserChanges::from_args(&set_args(&["--prio", "101"]).unwrap()).is_err());
        assert!(set_args(&["--quota-cpu", "-1"]).is_err());
        assert!(set_args(&["--admin", "perhaps"]).is_err());
        assert!(set_args(&["--ssh-key", "k.pub", "--no-ssh-key"]).is_err());
        let c =
            UserChanges::from_args(&set_args(&["--no-ssh-key", "--email", " "]).unwrap()).unwrap();
        assert_eq!((c.ssh_key, c.email), (Some(None), Some(None)));
    }

    #[test]
    fn seconds_and_keys() {
        use crate::client::limits::parse_seconds;
        assert_eq!(parse_seconds("--quota-time", "3600").unwrap(), 3600.0);
        assert_eq!(parse_seconds("--quota-time", "1.5").unwrap(), 1.5);
        assert_eq!(parse_seconds("--quota-time", "30d").unwrap(), 2_592_000.0);
        assert!(parse_seconds("--quota-time", "-1").is_err());
        assert!(parse_seconds("--quota-time", "soon").is_err());
        assert_eq!(
            check_public_key("# mine\n\nssh-ed25519 AAAA me@host\n").unwrap(),
            "ssh-ed25519 AAAA me@host"
        );
        let err = check_public_key("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n").unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        assert!(check_public_key("hello world").is_err());
        assert!(check_public_key("ssh-rsa").is_err());
        assert!(check_public_key("").is_err());
        assert_eq!(
            ssh_key_summary("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ12345678"),
            "ssh-rsa …12345678"
        );
    }

    #[test]
    fn user_view() {
        let mut u = user();
        u["usage"]["quota_cpu"] = json!(4);
        u["usage"]["quota_time"] = json!(7200);
        expect![[r#"
            User:     alice (administrator)
            Server:   http://h:1
            Ids:      uid 1001, gid 1001
            Email:    -
            Home:     /home/alice
            Priority: 50
            Quotas:   cpu 4, ram none, time 7200s
            SSH key:  -"#]]
        .assert_eq(&describe_user(
            &serde_json::from_value(u).unwrap(),
            "http://h:1",
            "alice",
        ));
        let guest = json!({"id": "guest-carol", "uid": 2000, "gid": 2000, "sgids": [10, 20],
            "email": "carol@example.org", "homeDirectory": "/home/guests/carol",
            "guest": true, "active": false, "disabled": true, "admin": false,
            "credentials": {"apikey": null, "public": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabcdefgh carol@laptop"},
            "usage": {"prio": 50, "quota_cpu": 0, "quota_ram": 0, "quota_time": 0}});
        expect![[r#"
            User:     guest-carol (disabled, guest, waiting for an administrator to activate it)
            Server:   http://h:1
            Ids:      uid 2000, gid 2000, groups 10,20
            Email:    carol@example.org
            Home:     /home/guests/carol
            Priority: 50
            Quotas:   cpu none, ram none, time none
            SSH key:  ssh-ed25519 …abcdefgh carol@laptop"#]]
        .assert_eq(&describe_user(
            &serde_json::from_value(guest).unwrap(),
            "http://h:1",
            "guest-carol",
        ));
    }

    #[test]
    fn usage_rows() {
        assert_eq!(usage_date("2017_3_8"), "2017-03-08");
        assert_eq!(usage_date("2024_12_31"), "2024-12-31");
        assert_eq!(usage_date("weird"), "weird");
        let rows: Vec<UsageDay> = serde_json::from_value(json!([
            {"date": "2024_1_2", "cpu": 4, "ram": 2.5, "time": 3600.0},
            {"date": "2024_1_1", "cpu": 1, "ram": 0.5, "time": 65.0},
        ]))
        .unwrap();
        expect![[r#"
            DATE        CPU   RAM     TIME
            2024-01-02    4  2.5G  1:00:00
            2024-01-01    1  0.5G     1:05
            total         5    3G  1:01:05
        "#]]
        .assert_eq(&usage_table(&rows).render());
        // One day: no total.
        expect![[r#"
            DATE        CPU   RAM     TIME
            2024-01-02    4  2.5G  1:00:00
        "#]]
        .assert_eq(&usage_table(&rows[..1]).render());
    }

    #[test]
    fn usage_with_outcomes_and_quotas() {
        let rows: Vec<UsageDay> = serde_json::from_value(json!([
            {"date": "2024_1_2", "cpu": 4, "ram": 2.5, "time": 3600.0, "cpu_hours": 4.0,
             "ram_gb_hours": 2.5, "wall_hours": 1.0, "jobs": {"ok": 2, "failed": 1, "killed": 0,
             "node_failure": 0, "limit_reached": 1, "unknown": 0}},
            {"date": "2024_1_1", "cpu": 0, "ram": 0, "time": 0, "cpu_hours": 0.0,
             "ram_gb_hours": 0.0, "wall_hours": 0.0, "jobs": {"ok": 0, "failed": 0, "killed": 0,
             "node_failure": 0, "limit_reached": 0, "unknown": 3}},
        ]))
        .unwrap();
        expect![[r#"
            DATE        CPU·H  GB·H  WALL·H  OK  FAILED  KILLED  LIMIT  NODE  UNKNOWN
            2024-01-02   4.00  2.50    1.00   2       1       0      1     0        0
            2024-01-01   0.00  0.00    0.00   0       0       0      0     0        3
            total        4.00  2.50    1.00   2       1       0      1     0        3
        "#]]
        .assert_eq(&usage_outcomes_table(&rows).render());
        let q: QuotaAnswer = serde_json::from_value(json!({"window_days": 30,
            "user": {"id": "alice", "prio": 60, "quota_cpu": 8, "quota_ram": 0,
                     "quota_time": 36000, "used_cpu": 3, "used_ram": 4.5, "used_time": 700,
                     "running": 2},
            "projects": [{"id": "lab", "prio": 50, "quota_cpu": 0, "quota_ram": 64,
                          "quota_time": 0, "used_cpu": 1, "used_ram": 1, "used_time": 60,
                          "running": 1}]}))
        .unwrap();
        expect![[r#"
                         PRIO  RUNNING       CPU          RAM              TIME
            user alice     60        2     3 / 8  4.5G / none  11:40 / 10:00:00
            project lab    50        1  1 / none     1G / 64G       1:00 / none
        "#]]
        .assert_eq(&quota_table(&q).render());
    }
}
