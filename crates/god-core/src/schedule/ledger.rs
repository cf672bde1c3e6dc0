//! Per-account figures during a pass: resources in use (for the cpu and ram quotas), usage with
//! the running jobs charged up to `now` (for fair share), wall seconds in the window (for the
//! time quota).

use super::model::{Account, Quotas, Snapshot, Usage};
use super::place::Shape;
use super::reason::{Limit, Reason, Scope};

/// One side: users or projects.
pub(crate) struct Side {
    pub cpu: Vec<u64>,
    pub ram: Vec<f64>,
    pub time: Vec<f64>,
    pub usage: Vec<Usage>,
}

impl Side {
    fn new(accounts: &[Account]) -> Side {
        Side {
            cpu: vec![0; accounts.len()],
            ram: vec![0.0; accounts.len()],
            time: accounts.iter().map(|a| a.window_wall_seconds).collect(),
            usage: accounts.iter().map(|a| a.usage).collect(),
        }
    }

    fn charge_running(&mut self, i: usize, cpu: u32, ram: f64, elapsed: f64) {
        if i < self.cpu.len() {
            self.cpu[i] += u64::from(cpu);
            self.ram[i] += ram;
            self.time[i] += elapsed;
            self.usage[i] += Usage::of_run(cpu, ram, elapsed);
        }
    }

    fn quota(&self, i: usize, q: &Quotas, scope: Scope, cpu: u32, ram: f64) -> Option<Reason> {
        let reason = |limit, quota: f64, used: f64| {
            Some(Reason::Quota {
                scope,
                limit,
                quota,
                used,
            })
        };
        if q.cpu > 0 && self.cpu[i] + u64::from(cpu) > u64::from(q.cpu) {
            return reason(Limit::Cpu, f64::from(q.cpu), self.cpu[i] as f64);
        }
        if q.ram > 0.0 && self.ram[i] + ram > q.ram + 1e-9 {
            return reason(Limit::Ram, q.ram, self.ram[i]);
        }
        if q.time > 0.0 && self.time[i] >= q.time {
            return reason(Limit::Time, q.time, self.time[i]);
        }
        None
    }
}

pub(crate) struct Ledger {
    pub users: Side,
    pub projects: Side,
    /// The project named `default`: no quota.
    pub default_project: Option<u32>,
}

impl Ledger {
    pub(crate) fn new(s: &Snapshot) -> Ledger {
        let mut l = Ledger {
            users: Side::new(&s.users),
            projects: Side::new(&s.projects),
            default_project: s
                .projects
                .iter()
                .position(|p| &*p.name == crate::names::DEFAULT_PROJECT)
                .map(|p| p as u32),
        };
        for r in &s.running {
            let elapsed = (s.now - r.started).max(0.0);
            l.users
                .charge_running(r.user as usize, r.cpu, r.ram, elapsed);
            l.projects
                .charge_running(r.project as usize, r.cpu, r.ram, elapsed);
        }
        l
    }

    /// The first quota the job would break (user cpu, ram, time, then project's).
    pub(crate) fn quota_block(
        &self,
        s: &Snapshot,
        user: u32,
        project: u32,
        shape: Shape,
    ) -> Option<Reason> {
        let (u, p) = (user as usize, project as usize);
        let (cpu, ram) = (shape.cpu, shape.ram);
        self.users
            .quota(u, &s.users[u].quotas, Scope::User, cpu, ram)
            .or_else(|| {
                if Some(project) == self.default_project {
                    None
                } else {
                    self.projects
                        .quota(p, &s.projects[p].quotas, Scope::Project, cpu, ram)
                }
            })
    }

    /// A job was dispatched: its resources count against the quotas for the rest of the pass.
    pub(crate) fn take(&mut self, user: u32, project: u32, shape: Shape) {
        for (side, i) in [
            (&mut self.users, user as usize),
            (&mut self.projects, project as usize),
        ] {
            side.cpu[i] += u64::from(shape.cpu);
            side.ram[i] += shape.ram;
        }
    }
}

/// Does the job alone exceed a quota (to reject it at submission)? `project` is `None` for the
/// project `default`, which has no quota. Only the cpu and ram quotas are concurrent limits a
/// single job can exceed; the time quota is checked at dispatch.
pub fn exceeds_alone(
    cpu: u32,
    ram: f64,
    user: &Quotas,
    project: Option<&Quotas>,
) -> Option<Reason> {
    let check = |q: &Quotas, scope| {
        if q.cpu > 0 && cpu > q.cpu {
            return Some(Reason::ExceedsQuota {
                scope,
                limit: Limit::Cpu,
                quota: f64::from(q.cpu),
                need: f64::from(cpu),
            });
        }
        if q.ram > 0.0 && ram > q.ram + 1e-9 {
            return Some(Reason::ExceedsQuota {
                scope,
                limit: Limit::Ram,
                quota: q.ram,
                need: ram,
            });
        }
        None
    };
    check(user, Scope::User).or_else(|| project.and_then(|q| check(q, Scope::Project)))
}
