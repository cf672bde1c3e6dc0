//! `/app/usage`: what the viewer and each of their projects used per day (cpu·h, GB·h of
//! memory, hours of run time), against their quotas and what is left, as charts drawn on the
//! server and as tables; `/app/usage.csv` the same figures for a spreadsheet.

use super::{render, Chrome};
use crate::chart::{self, Bar};
use crate::error::WebError;
use crate::session::Viewer;

use crate::WebState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use god_core::api::UsageDay;
use god_core::Primary;
use god_server::api::usage::per_day;
use god_server::api::users;
use god_server::ApiError;
use god_store::{JobQuery, UsageRecord};
use serde::Deserialize;

/// The periods a page may show, in days.
const PERIODS: [u64; 3] = [7, 30, 90];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    days: Option<u64>,
    /// For the CSV: `user` (default) or a project's id.
    of: Option<String>,
}

/// One account's figures: whose, per day, and its quotas against what is in use.
pub struct Account {
    pub name: String,
    pub days: Vec<UsageDay>,
    pub charts: Vec<String>,
    pub limits: Vec<Limit>,
    pub totals: (f64, f64, f64),
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
    days: u64,
    periods: Vec<u64>,
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

/// Per-day figures as hours (the records hold cpu·s and GB·s).
fn charts(name: &str, days: &[UsageDay]) -> Vec<String> {
    let mut oldest_first: Vec<&UsageDay> = days.iter().collect();
    oldest_first.reverse();
    let series = |f: &dyn Fn(&UsageDay) -> f64| -> Vec<Bar> {
        oldest_first
            .iter()
            .map(|d| Bar {
                label: iso_day(&d.date),
                value: f(d) / 3600.0,
            })
            .collect()
    };
    vec![
        chart::bars(
            &format!("{name}: cpu hours per day"),
            &series(&|d| d.cpu),
            "cpu·h",
            None,
        ),
        chart::bars(
            &format!("{name}: memory GB hours per day"),
            &series(&|d| d.ram),
            "GB·h",
            None,
        ),
        chart::bars(
            &format!("{name}: run hours per day"),
            &series(&|d| d.time),
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

fn account(
    name: String,
    records: &[&UsageRecord],
    quotas: (f64, f64, f64),
    in_use: (u64, f64),
    window_time: f64,
) -> Account {
    let days = per_day(records.iter().copied());
    let totals = days.iter().fold((0.0, 0.0, 0.0), |t, d| {
        (
            t.0 + d.cpu / 3600.0,
            t.1 + d.ram / 3600.0,
            t.2 + d.time / 3600.0,
        )
    });
    Account {
        charts: charts(&name, &days),
        limits: vec![
            limit("cpus in use", in_use.0 as f64, quotas.0, "cpus"),
            limit("memory in use", in_use.1, quotas.1, "GB"),
            limit(
                "run time in the quota window",
                window_time / 3600.0,
                quotas.2 / 3600.0,
                "h",
            ),
        ],
        name,
        days,
        totals,
    }
}

async fn accounts(viewer: &Viewer, state: &WebState, days: u64) -> Result<Vec<Account>, WebError> {
    let app = &state.app;
    let now = app.clock.now();
    let login = viewer.login().to_string();
    let window = app.config.user_reset_usage_duration as f64 * 86_400.0;
    let records = app
        .store
        .usage_since(now - (days as f64 * 86_400.0).max(window))
        .await?;
    let running = app
        .store
        .list_jobs(&JobQuery {
            states: vec![Primary::Running],
            ..Default::default()
        })
        .await?;
    let in_use = |f: &dyn Fn(&god_core::Task) -> bool| {
        running.iter().filter(|t| f(t)).fold((0u64, 0.0), |a, t| {
            (
                a.0 + u64::from(t.requirements.cpu),
                a.1 + t.requirements.ram,
            )
        })
    };
    let since = now - days as f64 * 86_400.0;
    let window_time = |rs: &[&UsageRecord]| -> f64 {
        rs.iter()
            .filter(|r| r.ended >= now - window)
            .map(|r| r.wall_seconds)
            .sum()
    };
    let mut out = Vec::new();
    let mine: Vec<&UsageRecord> = records.iter().filter(|r| r.user == login).collect();
    let l = &viewer.caller.user.limits;
    out.push(account(
        format!("you ({login})"),
        &mine
            .iter()
            .copied()
            .filter(|r| r.ended >= since)
            .collect::<Vec<_>>(),
        (l.quota_cpu, l.quota_ram, l.quota_time),
        in_use(&|t| t.user.id == login),
        window_time(&mine),
    ));
    let axum::Json(projects) =
        users::projects(viewer.caller.clone(), State(app.clone()), Path(login)).await?;
    for p in projects.into_iter().filter(|p| p.id != "default") {
        let theirs: Vec<&UsageRecord> = records.iter().filter(|r| r.project == p.id).collect();
        out.push(account(
            format!("project {}", p.id),
            &theirs
                .iter()
                .copied()
                .filter(|r| r.ended >= since)
                .collect::<Vec<_>>(),
            (p.quota_cpu, p.quota_ram, p.quota_time),
            in_use(&|t| t.user.project == p.id),
            window_time(&theirs),
        ));
    }
    Ok(out)
}

fn period(q: &UsageQuery) -> Result<u64, WebError> {
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
    Query(q): Query<UsageQuery>,
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
    Query(q): Query<UsageQuery>,
) -> Result<Response, WebError> {
    let days = period(&q)?;
    let accounts = accounts(&viewer, &state, days).await?;
    let wanted = match q.of.as_deref() {
        None | Some("user") => accounts.into_iter().next(),
        Some(p) => accounts
            .into_iter()
            .find(|a| a.name == format!("project {p}")),
    }
    .ok_or_else(|| WebError::Api(ApiError::not_found("no such project of yours").field("of")))?;
    let mut out = String::from("date,cpu_hours,ram_gb_hours,run_hours\n");
    for d in wanted.days.iter().rev() {
        out += &format!(
            "{},{:.4},{:.4},{:.4}\n",
            iso_day(&d.date),
            d.cpu / 3600.0,
            d.ram / 3600.0,
            d.time / 3600.0
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
