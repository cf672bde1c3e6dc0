//! `/app/usage`: what the viewer and each of their projects used per day (cpu·h, GB·h of
//! memory, hours of run time), against their quotas and what is left, as charts drawn on the
//! server and as tables; `/app/usage.csv` the same figures for a spreadsheet.

use super::{render, Chrome};
use crate::chart::{self, Bar};
use crate::error::WebError;
use crate::session::Viewer;

use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use god_core::api::{QuotaUse, RunCounts, UsageDay, UsageQuery};
use god_server::usage::{quota_answer, usage_answer};
use god_server::ApiError;
use god_store::UsageOwner;
use serde::Deserialize;

/// The periods a page may show, in days.
const PERIODS: [u32; 3] = [7, 30, 90];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    days: Option<u32>,
    /// For the CSV: `user` (default) or a project's id.
    of: Option<String>,
}

/// One account's figures: whose, per day, and its quotas against what is in use.
pub struct Account {
    /// The login or the project.
    pub id: String,
    pub name: String,
    pub days: Vec<UsageDay>,
    pub charts: Vec<String>,
    pub limits: Vec<Limit>,
    pub totals: (f64, f64, f64),
    /// Runs that ended in the period, by how they ended.
    pub outcomes: RunCounts,
}

/// A quota and what is used of it.
pub struct Limit {
    pub what: &'static str,
    pub used: String,
    pub quota: String,
    pub left: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    chrome: Chrome,
    days: u32,
    periods: Vec<u32>,
    accounts: Vec<Account>,
    window_days: u64,
}

/// The original's `Y_M_D` day (no zero padding) as `YYYY-MM-DD`.
pub fn iso_day(d: &str) -> String {
    let parts: Vec<&str> = d.split('_').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{y}-{m:0>2}-{d:0>2}"),
        _ => d.to_string(),
    }
}

fn hours(v: Option<f64>) -> f64 {
    v.unwrap_or(0.0)
}

/// Per-day figures (oldest first) as charts: cpu·h, GB·h of memory, run hours.
fn charts(name: &str, days: &[UsageDay]) -> Vec<String> {
    let series = |f: &dyn Fn(&UsageDay) -> f64| -> Vec<Bar> {
        days.iter()
            .map(|d| Bar {
                label: iso_day(&d.date),
                value: f(d),
            })
            .collect()
    };
    vec![
        chart::bars(
            &format!("{name}: cpu hours per day"),
            &series(&|d| hours(d.cpu_hours)),
            "cpu·h",
            None,
        ),
        chart::bars(
            &format!("{name}: memory GB hours per day"),
            &series(&|d| hours(d.ram_gb_hours)),
            "GB·h",
            None,
        ),
        chart::bars(
            &format!("{name}: run hours per day"),
            &series(&|d| hours(d.wall_hours)),
            "h",
            None,
        ),
    ]
}

fn limit(what: &'static str, used: f64, quota: f64, unit: &str) -> Limit {
    let fmt = |v: f64| format!("{} {unit}", chart::number(v));
    Limit {
        what,
        used: fmt(used),
        quota: if quota > 0.0 {
            fmt(quota)
        } else {
            "none".into()
        },
        left: if quota > 0.0 {
            fmt((quota - used).max(0.0))
        } else {
            "no limit".into()
        },
    }
}

fn account(name: String, days: Vec<UsageDay>, q: &QuotaUse) -> Account {
    let totals = days.iter().fold((0.0, 0.0, 0.0), |t, d| {
        (
            t.0 + hours(d.cpu_hours),
            t.1 + hours(d.ram_gb_hours),
            t.2 + hours(d.wall_hours),
        )
    });
    let mut outcomes = RunCounts::default();
    for d in &days {
        if let Some(j) = &d.jobs {
            outcomes.ok += j.ok;
            outcomes.failed += j.failed;
            outcomes.killed += j.killed;
            outcomes.node_failure += j.node_failure;
            outcomes.limit_reached += j.limit_reached;
            outcomes.unknown += j.unknown;
        }
    }
    Account {
        charts: charts(&name, &days),
        limits: vec![
            limit("cpus in use", q.used_cpu, q.quota_cpu, "cpus"),
            limit("memory in use", q.used_ram, q.quota_ram, "GB"),
            limit(
                "run time in the quota window",
                q.used_time / 3600.0,
                q.quota_time / 3600.0,
                "h",
            ),
        ],
        id: q.id.clone(),
        name,
        days,
        totals,
        outcomes,
    }
}

/// The viewer's figures, then each of their projects'.
async fn accounts(viewer: &Viewer, state: &WebState, days: u32) -> Result<Vec<Account>, WebError> {
    let app = &state.app;
    let login = viewer.login().to_string();
    let quotas = quota_answer(app, &login).await?;
    let query = UsageQuery { days: Some(days) };
    let mine = usage_answer(app, UsageOwner::User(login.clone()), &query).await?;
    let mut out = vec![account(format!("you ({login})"), mine, &quotas.user)];
    for p in &quotas.projects {
        let theirs = usage_answer(app, UsageOwner::Project(p.id.clone()), &query).await?;
        out.push(account(format!("project {}", p.id), theirs, p));
    }
    Ok(out)
}

fn period(q: &PageQuery) -> Result<u32, WebError> {
    match q.days {
        None => Ok(30),
        Some(d) if (1..=366).contains(&d) => Ok(d),
        Some(d) => Err(WebError::Api(
            ApiError::bad_request(format!("{d} days: from 1 to 366")).field("days"),
        )),
    }
}

/// `GET /app/usage?days=30`.
pub async fn show(
    viewer: Viewer,
    State(state): State<WebState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let days = period(&q)?;
    let accounts = accounts(&viewer, &state, days).await?;
    render(&UsagePage {
        chrome: Chrome::new(&viewer, "Usage", "usage"),
        days,
        periods: PERIODS.to_vec(),
        accounts,
        window_days: state.app.config.user_reset_usage_duration,
    })
}

/// `GET /app/usage.csv?days=30&of=user|<project>`.
pub async fn csv(
    viewer: Viewer,
    State(state): State<WebState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let days = period(&q)?;
    let accounts = accounts(&viewer, &state, days).await?;
    let wanted = match q.of.as_deref() {
        None | Some("user") => accounts.into_iter().next(),
        Some(p) => accounts.into_iter().skip(1).find(|a| a.id == p),
    }
    .ok_or_else(|| WebError::Api(ApiError::not_found("no such project of yours").field("of")))?;
    let mut out = String::from(
        "date,cpu_hours,ram_gb_hours,run_hours,jobs_ok,jobs_failed,jobs_killed,jobs_node_failure,jobs_limit_reached\n",
    );
    for d in &wanted.days {
        let j = d.jobs.clone().unwrap_or_default();
        out += &format!(
            "{},{:.4},{:.4},{:.4},{},{},{},{},{}\n",
            iso_day(&d.date),
            hours(d.cpu_hours),
            hours(d.ram_gb_hours),
            hours(d.wall_hours),
            j.ok,
            j.failed,
            j.killed,
            j.node_failure,
            j.limit_reached
        );
    }
    let name = format!(
        "attachment; filename=\"usage-{}-{days}d.csv\"",
        wanted
            .name
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}
