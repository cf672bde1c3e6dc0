//! The snapshot a pass reads: pending and running jobs, accounts, nodes. Users, projects, nodes
//! and labels are interned as `u32` indices into the snapshot's tables.

use super::reason::Hold;
use crate::task::JobId;
use std::collections::HashMap;
use std::ops::{Add, AddAssign};
use std::sync::Arc;

/// Index into [`Snapshot::users`].
pub type UserIx = u32;
/// Index into [`Snapshot::projects`].
pub type ProjectIx = u32;
/// Index into [`Snapshot::nodes`].
pub type NodeIx = u32;
/// Index into [`Snapshot::labels`]: one `name==value` pair.
pub type LabelId = u32;

/// When a dependency is satisfied: the same conditions submissions carry.
pub use crate::deps::Condition;

/// One dependency of a pending job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dependency {
    pub parent: JobId,
    pub condition: Condition,
}

/// What a dependency parent is doing, as the caller knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentState {
    /// Pending, running, suspended: not over yet.
    Active,
    /// Over (or archived). `exit_code: None` when it ended without running (killed while
    /// pending, dependency failed, quota...): counts as "not ok".
    Over { exit_code: Option<i64> },
    /// No such job.
    Missing,
}

/// A job waiting to be placed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pending {
    pub id: JobId,
    pub user: UserIx,
    pub project: ProjectIx,
    pub cpu: u32,
    pub gpus: u32,
    /// GB.
    pub ram: f64,
    /// Submission time, seconds since the epoch.
    pub submitted: f64,
    /// Wall-time limit in seconds (`maxlifespan`), used for backfill estimates.
    pub walltime: Option<f64>,
    /// Label constraints (`name==value`), ids into [`Snapshot::labels`].
    pub labels: Vec<LabelId>,
    pub deps: Vec<Dependency>,
    /// Held back whatever the cluster offers (a watcher plugin's `can_start`).
    pub hold: Option<Arc<Hold>>,
}

/// A job holding resources on a node.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Running {
    pub user: UserIx,
    pub project: ProjectIx,
    pub node: NodeIx,
    pub cpu: u32,
    pub gpus: u32,
    /// GB.
    pub ram: f64,
    /// Start time, seconds since the epoch.
    pub started: f64,
    /// Wall-time limit in seconds; `None`: [`PassConfig::default_walltime`](super::PassConfig)
    /// is used as its estimate.
    pub walltime: Option<f64>,
}

/// Consumed resources: cpu·seconds, GB·seconds, wall seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub ram_seconds: f64,
    pub wall_seconds: f64,
}

impl Usage {
    /// What a job of `cpu` CPUs and `ram` GB consumes in `seconds`.
    pub fn of_run(cpu: u32, ram: f64, seconds: f64) -> Usage {
        let s = seconds.max(0.0);
        Usage {
            cpu_seconds: f64::from(cpu) * s,
            ram_seconds: ram * s,
            wall_seconds: s,
        }
    }

    /// What a job that ran from `started` to `ended` consumed, each instant weighed by its
    /// decay at `now` (the exact integral of `rate × 2^(-(now - t) / half_life)`).
    /// `half_life <= 0` or infinite: no decay.
    pub fn decayed_run(
        cpu: u32,
        ram: f64,
        started: f64,
        ended: f64,
        now: f64,
        half_life: f64,
    ) -> Usage {
        let end = ended.min(now);
        let start = started.min(end);
        let len = end - start;
        if !(half_life > 0.0 && half_life.is_finite()) {
            return Usage::of_run(cpu, ram, len);
        }
        // ∫_start^end 2^(-(now-t)/h) dt = h/ln2 · (2^(-(now-end)/h) − 2^(-(now-start)/h))
        let k = std::f64::consts::LN_2 / half_life;
        let weight = ((-(now - end) * k).exp() - (-(now - start) * k).exp()) / k;
        let mut u = Usage::of_run(cpu, ram, 1.0).scale(weight);
        u.wall_seconds = weight;
        u
    }

    /// Every figure multiplied by `factor`.
    pub fn scale(self, factor: f64) -> Usage {
        Usage {
            cpu_seconds: self.cpu_seconds * factor,
            ram_seconds: self.ram_seconds * factor,
            wall_seconds: self.wall_seconds * factor,
        }
    }

    /// This usage, recorded `age_seconds` ago, seen now (see [`decay`]).
    pub fn decay(self, age_seconds: f64, half_life: f64) -> Usage {
        self.scale(decay(1.0, age_seconds, half_life))
    }
}

impl Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            cpu_seconds: self.cpu_seconds + o.cpu_seconds,
            ram_seconds: self.ram_seconds + o.ram_seconds,
            wall_seconds: self.wall_seconds + o.wall_seconds,
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        *self = *self + o;
    }
}

/// Exponential decay: `value × 2^(-age / half_life)`. A negative age counts as 0;
/// `half_life <= 0` (or infinite, or NaN) means no decay.
pub fn decay(value: f64, age_seconds: f64, half_life: f64) -> f64 {
    if !(half_life > 0.0 && half_life.is_finite()) {
        return value;
    }
    value * (-age_seconds.max(0.0) / half_life).exp2()
}

/// Limits of a user or project. 0 means unlimited, for each.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quotas {
    /// CPUs in use at once.
    pub cpu: u32,
    /// GB in use at once.
    pub ram: f64,
    /// Wall seconds within the usage window.
    pub time: f64,
}

/// A user or a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    /// 0–100, default 50.
    pub priority: u8,
    pub quotas: Quotas,
    /// Consumed resources of finished jobs, already decayed to `now` by the caller. Running
    /// jobs are charged inside the pass.
    pub usage: Usage,
    /// Wall seconds of finished jobs within the usage window (not decayed), for the time quota.
    pub window_wall_seconds: f64,
    /// Every job of this account waits (a user disabled, a guest not active, a disk quota
    /// full).
    pub hold: Option<Arc<Hold>>,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            name: String::new(),
            priority: 50,
            quotas: Quotas::default(),
            usage: Usage::default(),
            window_wall_seconds: 0.0,
            hold: None,
        }
    }
}

impl Account {
    pub fn named(name: &str) -> Account {
        Account {
            name: name.to_string(),
            ..Account::default()
        }
    }
}

/// Who may use a reserved node. Anyone else never goes there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeReservation {
    pub users: Vec<UserIx>,
    pub projects: Vec<ProjectIx>,
}

impl NodeReservation {
    pub fn admits(&self, user: UserIx, project: ProjectIx) -> bool {
        self.users.contains(&user) || self.projects.contains(&project)
    }
}

/// A host and its total capacity. Its free capacity is computed from the running jobs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub name: String,
    pub cpus: u32,
    /// GB.
    pub ram: f64,
    pub gpus: u32,
    /// The node's labels (`name==value`), ids into [`Snapshot::labels`].
    pub labels: Vec<LabelId>,
    pub reservation: Option<NodeReservation>,
}

/// Everything one pass reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Seconds since the epoch.
    pub now: f64,
    pub pending: Vec<Pending>,
    pub running: Vec<Running>,
    pub users: Vec<Account>,
    /// The project named `default` has no quota and, under `FairShare`, counts as the worst
    /// consumer.
    pub projects: Vec<Account>,
    pub nodes: Vec<Node>,
    /// Label texts `name==value`, indexed by [`LabelId`].
    pub labels: Vec<Arc<str>>,
    /// State of every parent named in a pending job's dependencies. A parent absent from this
    /// map is [`ParentState::Missing`].
    pub parents: HashMap<JobId, ParentState>,
    /// Every pending job waits with this, whatever else holds it (maintenance mode:
    /// [`Hold::Maintenance`]); nothing is dispatched, doomed or reserved.
    pub hold_all: Option<Arc<Hold>>,
}

/// Assigns dense `u32` indices to names (users, projects, nodes, labels) while building a
/// [`Snapshot`].
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    /// The index of `name`, allocating the next one on first sight.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.ids.insert(name.clone(), i);
        self.names.push(name);
        i
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, i: u32) -> Option<&str> {
        self.names.get(i as usize).map(|n| &**n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names in index order (for [`Snapshot::labels`]).
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_and_usage() {
        let day = 86_400.0;
        struct Case {
            name: &'static str,
            value: f64,
            age: f64,
            half_life: f64,
            want: f64,
        }
        let cases = [
            Case {
                name: "one half-life: half",
                value: 100.0,
                age: 7.0 * day,
                half_life: 7.0 * day,
                want: 50.0,
            },
            Case {
                name: "two half-lives: a quarter",
                value: 100.0,
                age: 14.0 * day,
                half_life: 7.0 * day,
                want: 25.0,
            },
            Case {
                name: "no age: all of it",
                value: 100.0,
                age: 0.0,
                half_life: 7.0 * day,
                want: 100.0,
            },
            Case {
                name: "from the future (clock skew): all of it",
                value: 100.0,
                age: -5.0,
                half_life: 7.0 * day,
                want: 100.0,
            },
            Case {
                name: "half-life 0: no decay",
                value: 100.0,
                age: day,
                half_life: 0.0,
                want: 100.0,
            },
        ];
        for c in cases {
            let got = decay(c.value, c.age, c.half_life);
            assert!((got - c.want).abs() < 1e-9, "{}: {got}", c.name);
        }
        let u = Usage::of_run(2, 4.0, 10.0);
        assert_eq!(
            u,
            Usage {
                cpu_seconds: 20.0,
                ram_seconds: 40.0,
                wall_seconds: 10.0
            }
        );
        assert_eq!(u + u, u.scale(2.0));
        // The decayed integral equals a fine Riemann sum.
        let (start, end, now, h) = (0.0, 3600.0, 7200.0, 3600.0);
        let exact = Usage::decayed_run(2, 1.0, start, end, now, h);
        let steps = 100_000;
        let dt = (end - start) / steps as f64;
        let sum: f64 = (0..steps)
            .map(|i| 2.0 * dt * decay(1.0, now - (start + (i as f64 + 0.5) * dt), h))
            .sum();
        assert!((exact.cpu_seconds - sum).abs() < 1e-6 * sum);
        assert_eq!(
            Usage::decayed_run(2, 1.0, start, end, now, 0.0),
            Usage::of_run(2, 1.0, 3600.0)
        );
        // Adding a run then decaying is the same as decaying each part.
        let a = Usage::decayed_run(1, 1.0, 0.0, 100.0, 100.0, h).decay(50.0, h);
        let b = Usage::decayed_run(1, 1.0, 0.0, 100.0, 150.0, h);
        assert!((a.cpu_seconds - b.cpu_seconds).abs() < 1e-9);
    }
}
