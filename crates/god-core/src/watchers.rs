//! Watcher plugins (reference 3.6): hooks the scheduler and watcher call on each job.
//! `maxlifespan` is the first: it kills a job that ran longer than its limit.
//!
//! Pure: plugins get the task and `now`, and answer with a decision the loops carry out.

use crate::config::{Config, WatcherName};
use crate::size::parse_duration_secs;
use crate::task::Task;

/// What a plugin says about a running job.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Continue,
    /// Kill it, with this reason.
    Kill(String),
}

pub trait WatcherPlugin: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether `can_start` looks at jobs at all (the scheduler reads whole pending jobs for it
    /// only then).
    fn checks_start(&self) -> bool {
        false
    }
    /// Before dispatch: `Some(reason)` keeps the job pending this pass.
    fn can_start(&self, _task: &Task, _now: f64) -> Option<String> {
        None
    }
    /// The job was handed to the executor.
    fn started(&self, _task: &Task) {}
    /// On every watcher pass over a running job.
    fn can_run(&self, _task: &Task, _now: f64) -> Verdict {
        Verdict::Continue
    }
    /// The job is over.
    fn done(&self, _task: &Task) {}
}

/// Kill jobs running longer than `requirements.maxlifespan`, else the configured `maxlifespan`.
pub struct MaxLifespan {
    default_secs: Option<u64>,
}

impl MaxLifespan {
    pub fn new(config: &Config) -> Self {
        MaxLifespan {
            default_secs: Some(config.maxlifespan.secs),
        }
    }

    /// The limit of a job, in seconds (`None`: no limit).
    pub fn limit(&self, task: &Task) -> Option<u64> {
        match task.requirements.maxlifespan.as_deref() {
            Some(own) => parse_duration_secs(own).ok(),
            None => self.default_secs,
        }
        .filter(|s| *s > 0)
    }
}

impl WatcherPlugin for MaxLifespan {
    fn name(&self) -> &'static str {
        "maxlifespan"
    }

    fn can_run(&self, task: &Task, now: f64) -> Verdict {
        match (self.limit(task), task.status.date_running) {
            (Some(limit), Some(started)) if now - started > limit as f64 => {
                Verdict::Kill(format!("Max duration reached ({limit} s)"))
            }
            _ => Verdict::Continue,
        }
    }
}

/// The `fake` plugin of the original's tests: a job named `norun` never starts.
pub struct FakePlugin;

impl WatcherPlugin for FakePlugin {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn checks_start(&self) -> bool {
        true
    }

    fn can_start(&self, task: &Task, _now: f64) -> Option<String> {
        (task.meta.name == "norun").then(|| "the fake watcher holds jobs named norun".to_string())
    }
}

/// The plugins named in `watchers`, in order.
pub fn from_config(config: &Config) -> Vec<Box<dyn WatcherPlugin>> {
    config
        .watchers
        .iter()
        .map(|name| -> Box<dyn WatcherPlugin> {
            match name {
                WatcherName::Maxlifespan => Box::new(MaxLifespan::new(config)),
                WatcherName::Fake => Box::new(FakePlugin),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TaskBuilder;

    fn running_since(t0: f64, own: Option<&str>) -> Task {
        let mut b = TaskBuilder::new().running_since(t0);
        if let Some(lifespan) = own {
            b = b.maxlifespan(lifespan);
        }
        b.build()
    }

    #[test]
    fn maxlifespan_table() {
        let mut c = Config::default();
        c.maxlifespan = crate::config::DurationSpec::hours(1);
        let p = MaxLifespan::new(&c);
        let cases = [
            (None, 3000.0, true),
            (None, 3700.0, false),
            (Some("10s"), 5.0, true),
            (Some("10s"), 11.0, false),
            (Some("2d"), 90_000.0, true),
        ];
        for (own, elapsed, keeps) in cases {
            let v = p.can_run(&running_since(100.0, own), 100.0 + elapsed);
            assert_eq!(v == Verdict::Continue, keeps, "{own:?} after {elapsed}");
        }
        let pending = TaskBuilder::new().build();
        assert_eq!(p.can_run(&pending, 1e12), Verdict::Continue);
    }

    #[test]
    fn unknown_watchers_are_refused() {
        let c = crate::config::load("watchers: [maxlifespan, fake]", &[])
            .unwrap()
            .config;
        let names: Vec<&str> = from_config(&c).iter().map(|p| p.name()).collect();
        assert_eq!(names, ["maxlifespan", "fake"]);
        let e = crate::config::load("watchers: [maxlifespan, godflow]", &[]).unwrap_err();
        assert!(e.to_string().contains("watchers[1]"), "{e}");
    }
}
