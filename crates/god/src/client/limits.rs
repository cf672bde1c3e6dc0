//! The priority and quotas of an account or a project, as `god account set` and
//! `god project create|set` take them (one set of options, one set of checks).

use super::output::number;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use god_core::api::users::LimitsUpdate;

#[derive(Args, Default, Debug, Clone, PartialEq)]
pub struct LimitArgs {
    /// Scheduling priority, 0 to 100
    #[arg(long, value_name = "N")]
    pub prio: Option<u32>,
    /// CPU quota: CPUs its running jobs may hold at once, all together (a job that would go
    /// past it waits); 0 for none
    #[arg(long, value_name = "N")]
    pub quota_cpu: Option<f64>,
    /// RAM quota in GB: memory its running jobs may hold at once, all together; 0 for none
    #[arg(long, value_name = "GB")]
    pub quota_ram: Option<f64>,
    /// Time quota: wall time its jobs may use within the usage window (the server's
    /// user_reset_usage_duration), in seconds or a duration (12h, 30d); 0 for none
    #[arg(long, value_name = "SECONDS")]
    pub quota_time: Option<String>,
}

/// [`LimitArgs`] checked: what to change.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Limits {
    pub prio: Option<u32>,
    pub quota_cpu: Option<f64>,
    pub quota_ram: Option<f64>,
    /// Seconds.
    pub quota_time: Option<f64>,
}

impl LimitArgs {
    pub fn checked(&self) -> Result<Limits> {
        if let Some(p) = self.prio.filter(|p| *p > 100) {
            bail!("--prio {p}: the priority goes from 0 to 100");
        }
        Ok(Limits {
            prio: self.prio,
            quota_cpu: self
                .quota_cpu
                .map(|n| non_negative("--quota-cpu", n))
                .transpose()?,
            quota_ram: self
                .quota_ram
                .map(|n| non_negative("--quota-ram", n))
                .transpose()?,
            quota_time: self
                .quota_time
                .as_deref()
                .map(|t| parse_seconds("--quota-time", t))
                .transpose()?,
        })
    }
}

impl Limits {
    /// All the given fields, as the server's update takes them (a new project).
    pub fn update(&self) -> LimitsUpdate {
        LimitsUpdate {
            guest_home: None,
            prio: self.prio.map(f64::from),
            quota_cpu: self.quota_cpu,
            quota_ram: self.quota_ram,
            quota_time: self.quota_time,
        }
    }

    /// The given fields that differ from `now` (`[prio, quota_cpu, quota_ram, quota_time]`):
    /// the update (only what changes) and, for people, `PREFIXfield old → new` of each.
    pub fn changes(&self, prefix: &str, now: [f64; 4]) -> (LimitsUpdate, Vec<String>) {
        let given = self.update();
        let mut out = LimitsUpdate::default();
        let mut notes = Vec::new();
        let fields = [
            ("prio", given.prio, &mut out.prio),
            ("quota_cpu", given.quota_cpu, &mut out.quota_cpu),
            ("quota_ram", given.quota_ram, &mut out.quota_ram),
            ("quota_time", given.quota_time, &mut out.quota_time),
        ];
        for ((name, new, slot), old) in fields.into_iter().zip(now) {
            if let Some(new) = new.filter(|n| *n != old) {
                notes.push(format!("{prefix}{name} {} → {}", number(old), number(new)));
                *slot = Some(new);
            }
        }
        (out, notes)
    }
}

/// A number of seconds: `3600`, `0.5`, or a duration (`12h`, `30d`).
pub fn parse_seconds(option: &str, raw: &str) -> Result<f64> {
    let t = raw.trim();
    if let Ok(n) = t.parse::<f64>() {
        if n.is_finite() && n >= 0.0 {
            return Ok(n);
        }
        bail!("{option} {raw}: must be 0 or more");
    }
    god_core::size::parse_duration_secs(t)
        .map(|n| n as f64)
        .map_err(|_| anyhow!("{option} {raw:?}: give seconds, or a duration such as 12h or 30d"))
}

fn non_negative(option: &str, n: f64) -> Result<f64> {
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        bail!("{option} {n}: must be 0 or more")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_and_named_as_the_server_names_them() {
        let a = LimitArgs {
            prio: Some(60),
            quota_cpu: Some(8.0),
            quota_ram: None,
            quota_time: Some("2h".into()),
        };
        let limits = a.checked().unwrap();
        assert_eq!(
            serde_json::to_value(limits.update()).unwrap(),
            serde_json::json!({"prio": 60.0, "quota_cpu": 8.0, "quota_time": 7200.0})
        );
        let (update, notes) = limits.changes("usage.", [50.0, 8.0, 0.0, 0.0]);
        assert_eq!(notes, ["usage.prio 50 → 60", "usage.quota_time 0 → 7200"]);
        assert_eq!(
            serde_json::to_value(update).unwrap(),
            serde_json::json!({"prio": 60.0, "quota_time": 7200.0})
        );
        let bad = [
            LimitArgs {
                prio: Some(101),
                ..Default::default()
            },
            LimitArgs {
                quota_ram: Some(-1.0),
                ..Default::default()
            },
            LimitArgs {
                quota_time: Some("soon".into()),
                ..Default::default()
            },
        ];
        for a in bad {
            assert!(a.checked().is_err(), "{a:?}");
        }
        let none = LimitArgs::default().checked().unwrap();
        assert_eq!(none.update(), LimitsUpdate::default());
    }
}
