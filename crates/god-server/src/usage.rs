//! Per-day usage, of a user (`GET /api/1.0/user/<login>/usage`) or a project
//! (`GET /api/1.0/project/<id>/usage`): the original's days with usage of the last 30, or with
//! `?days=N` every day of the window with hours and how the runs ended; and what a user and
//! their projects use of their quotas (`GET /api/1.0/user/<login>/quota`). The API's handlers
//! and the web UI both call [`usage_answer`] and [`quota_answer`] (who may see what is theirs
//! to check).

use crate::error::ApiError;
use crate::state::AppState;
use god_core::api::{QuotaAnswer, QuotaUse, RunCounts, UsageDay, UsageQuery};
use god_core::Task;
use god_store::{Limits, UsageOwner, UsageRecord};
use std::collections::BTreeMap;

/// The window of the original's answer, in days.
const ORIGINAL_DAYS: u32 = 30;
/// The longest window one may ask for, in days.
const MAX_DAYS: u32 = 3660;

/// The answer of a usage route for `owner`, as `q` asks.
pub async fn usage_answer(
    state: &AppState,
    owner: UsageOwner,
    q: &UsageQuery,
) -> Result<Vec<UsageDay>, ApiError> {
    let now = state.clock.now();
    match q.days {
        None => {
            let since = now - f64::from(ORIGINAL_DAYS) * 86_400.0;
            Ok(per_day(state.store.usage_of(&owner, since).await?.iter()))
        }
        Some(days) if (1..=MAX_DAYS).contains(&days) => {
            let first = day_of(now) - i64::from(days) + 1;
            let records = state
                .store
                .usage_of(&owner, first as f64 * 86_400.0)
                .await?;
            Ok(every_day(&records, first, day_of(now)))
        }
        Some(_) => Err(
            ApiError::bad_request(format!("days must be between 1 and {MAX_DAYS}")).field("days"),
        ),
    }
}

/// What `login` and each of their projects (not `default`) use of their quotas now.
pub async fn quota_answer(state: &AppState, login: &str) -> Result<QuotaAnswer, ApiError> {
    let u = state
        .store
        .get_user(login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {login} does not exist")))?;
    let now = state.clock.now();
    let window_days = state.config.user_reset_usage_duration;
    let since = now - window_days as f64 * 86_400.0;
    let running = state.store.running().await?;
    let records = state
        .store
        .usage_of(&UsageOwner::User(login.to_string()), since)
        .await?;
    let user = quota_use(
        login,
        &u.limits,
        &running,
        |t| t.user.id == login,
        &records,
        now,
    );
    let mut projects = Vec::new();
    for p in state.store.list_projects().await? {
        if !p.members.iter().any(|m| m == login) {
            continue;
        }
        let records = state
            .store
            .usage_of(&UsageOwner::Project(p.id.clone()), since)
            .await?;
        projects.push(quota_use(
            &p.id,
            &p.limits,
            &running,
            |t| t.user.project == p.id,
            &records,
            now,
        ));
    }
    Ok(QuotaAnswer {
        window_days,
        user,
        projects,
    })
}

fn day_of(t: f64) -> i64 {
    (t / 86_400.0).floor() as i64
}

/// Group usage records by day, newest first: the original's answer (days with usage only).
pub fn per_day<'a>(records: impl Iterator<Item = &'a UsageRecord>) -> Vec<UsageDay> {
    let mut days: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for r in records {
        let e = days.entry(day_of(r.ended)).or_default();
        e.0 += r.cpu;
        e.1 += r.ram;
        e.2 += r.wall_seconds;
    }
    days.into_iter()
        .rev()
        .map(|(day, (cpu, ram, time))| UsageDay {
            date: civil_date(day),
            cpu,
            ram,
            time,
            cpu_hours: None,
            ram_gb_hours: None,
            wall_hours: None,
            jobs: None,
        })
        .collect()
}

/// Every day from `first` to `last` (day numbers since the epoch), newest first, each with
/// the original's sums, hours and the runs by how they ended.
pub fn every_day(records: &[UsageRecord], first: i64, last: i64) -> Vec<UsageDay> {
    let mut days: BTreeMap<i64, UsageDay> = (first..=last)
        .map(|d| {
            let day = UsageDay {
                date: civil_date(d),
                cpu: 0.0,
                ram: 0.0,
                time: 0.0,
                cpu_hours: Some(0.0),
                ram_gb_hours: Some(0.0),
                wall_hours: Some(0.0),
                jobs: Some(RunCounts::default()),
            };
            (d, day)
        })
        .collect();
    for r in records {
        let Some(day) = days.get_mut(&day_of(r.ended)) else {
            continue;
        };
        let hours = r.wall_seconds / 3600.0;
        day.cpu += r.cpu;
        day.ram += r.ram;
        day.time += r.wall_seconds;
        for (sum, add) in [
            (&mut day.cpu_hours, r.cpu * hours),
            (&mut day.ram_gb_hours, r.ram * hours),
            (&mut day.wall_hours, hours),
        ] {
            *sum = Some(sum.unwrap_or(0.0) + add);
        }
        day.jobs.get_or_insert_with(Default::default).add(r.outcome);
    }
    days.into_values().rev().collect()
}

/// What `id` (a user or a project) uses of `limits` now: the running jobs `mine` says are its,
/// and the wall seconds of the window (runs ended in it, running jobs so far).
pub fn quota_use(
    id: &str,
    limits: &Limits,
    running: &[Task],
    mine: impl Fn(&Task) -> bool,
    window_records: &[UsageRecord],
    now: f64,
) -> QuotaUse {
    let mut used = QuotaUse {
        id: id.to_string(),
        prio: limits.prio,
        quota_cpu: limits.quota_cpu,
        quota_ram: limits.quota_ram,
        quota_time: limits.quota_time,
        used_cpu: 0.0,
        used_ram: 0.0,
        used_time: window_records.iter().map(|r| r.wall_seconds).sum(),
        running: 0,
    };
    for t in running.iter().filter(|t| mine(t)) {
        used.used_cpu += f64::from(t.requirements.cpu);
        used.used_ram += t.requirements.ram;
        used.used_time += t
            .status
            .date_running
            .map_or(0.0, |started| (now - started).max(0.0));
        used.running += 1;
    }
    used
}

/// `Y_M_D` (no zero padding, as the original) of a day number since the epoch.
fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y}_{m}_{d}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use god_core::ending::RunOutcome;
    use god_core::JobId;

    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970_1_1");
        assert_eq!(super::civil_date(17_233), "2017_3_8");
    }

    fn record(day: i64, cpu: f64, ram: f64, wall: f64, outcome: RunOutcome) -> UsageRecord {
        UsageRecord {
            job: JobId(1),
            user: "alice".into(),
            project: "default".into(),
            cpu,
            ram,
            wall_seconds: wall,
            ended: day as f64 * 86_400.0 + 3600.0,
            outcome,
        }
    }

    #[test]
    fn days_with_hours_and_outcomes() {
        let records = [
            record(100, 2.0, 4.0, 3600.0, RunOutcome::Ok),
            record(100, 1.0, 1.0, 1800.0, RunOutcome::Failed),
            record(102, 4.0, 8.0, 900.0, RunOutcome::LimitReached),
            record(102, 1.0, 1.0, 0.0, RunOutcome::Unknown),
            record(99, 1.0, 1.0, 60.0, RunOutcome::Ok),
        ];
        // The original: the days with usage, newest first, its four fields only.
        let original = per_day(records.iter());
        let shown: Vec<(&str, f64, f64, f64)> = original
            .iter()
            .map(|d| (d.date.as_str(), d.cpu, d.ram, d.time))
            .collect();
        assert_eq!(
            shown,
            [
                ("1970_4_13", 5.0, 9.0, 900.0),
                ("1970_4_11", 3.0, 5.0, 5400.0),
                ("1970_4_10", 1.0, 1.0, 60.0)
            ]
        );
        assert!(original
            .iter()
            .all(|d| d.jobs.is_none() && d.cpu_hours.is_none()));
        let json = serde_json::to_value(&original[0]).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["cpu", "date", "ram", "time"],
            "the original's keys only"
        );
        // Every day of the window (100..=103), the one before it left out.
        let days = every_day(&records, 100, 103);
        let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["1970_4_14", "1970_4_13", "1970_4_12", "1970_4_11"]);
        let empty = &days[0];
        assert_eq!(empty.jobs.as_ref().unwrap().total(), 0);
        assert_eq!(empty.cpu_hours, Some(0.0));
        let d100 = &days[3];
        assert_eq!(d100.cpu_hours, Some(2.5), "2 cpus × 1 h + 1 cpu × 0.5 h");
        assert_eq!(d100.ram_gb_hours, Some(4.5));
        assert_eq!(d100.wall_hours, Some(1.5));
        let jobs = d100.jobs.as_ref().unwrap();
        assert_eq!((jobs.ok, jobs.failed, jobs.total()), (1, 1, 2));
        let d102 = days[1].jobs.as_ref().unwrap();
        assert_eq!((d102.limit_reached, d102.unknown), (1, 1));
    }

    #[test]
    fn quota_use_counts_running_jobs_and_the_window() {
        let running = |user: &str, cpu: u32, ram: f64, started: f64| {
            let mut t = god_core::testing::TaskBuilder::new()
                .user(user, 2001)
                .cpu(cpu)
                .ram(ram)
                .build();
            t.status.date_running = Some(started);
            t
        };
        let jobs = [
            running("alice", 2, 4.0, 900.0),
            running("alice", 1, 0.5, 1000.0),
            running("bob", 8, 8.0, 0.0),
        ];
        let limits = Limits {
            prio: 60,
            quota_cpu: 8.0,
            quota_ram: 0.0,
            quota_time: 7200.0,
        };
        let window = [record(0, 1.0, 1.0, 600.0, RunOutcome::Ok)];
        let u = quota_use(
            "alice",
            &limits,
            &jobs,
            |t| t.user.id == "alice",
            &window,
            1000.0,
        );
        assert_eq!(
            (u.used_cpu, u.used_ram, u.used_time, u.running),
            (3.0, 4.5, 700.0, 2)
        );
        assert_eq!((u.quota_cpu, u.quota_time, u.prio), (8.0, 7200.0, 60));
    }
}
