//! The priority and quotas of an account or a project, as `god account set` and
//! `god project create|set` take them (one set of options, one set of checks).

use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::{json, Value};

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
    /// The changed fields, as the server names them.
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        let mut m = Vec::new();
        if let Some(p) = self.prio {
            m.push(("prio", json!(p)));
        }
        for (name, v) in [
            ("quota_cpu", self.quota_cpu),
            ("quota_ram", self.quota_ram),
            ("quota_time", self.quota_time),
        ] {
            if let Some(v) = v {
                m.push((name, json!(v)));
            }
        }
        m
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
        let fields = a.checked().unwrap().fields();
        assert_eq!(
            fields,
            vec![
                ("prio", json!(60)),
                ("quota_cpu", json!(8.0)),
                ("quota_time", json!(7200.0))
            ]
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
        assert!(LimitArgs::default().checked().unwrap().fields().is_empty());
    }
}
