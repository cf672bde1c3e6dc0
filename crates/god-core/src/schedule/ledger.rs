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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;

    fn q(cpu: u32, ram: f64, time: f64) -> Quotas {
        Quotas { cpu, ram, time }
    }

    /// Alice's jobs against her quotas and project p80's; the project `default` has none.
    #[test]
    fn quotas() {
        struct Case {
            name: &'static str,
            user: Quotas,
            /// Of project p80.
            project: Quotas,
            /// Alice's wall seconds in the usage window.
            window: f64,
            /// Alice's running jobs in p80: (cpu, ram, age).
            running: Vec<(u32, f64, f64)>,
            /// Alice's pending jobs, ids from 1: (cpu, ram, project).
            pending: Vec<(u32, f64, u32)>,
            /// Per pending job.
            want: Vec<&'static str>,
        }
        let none = q(0, 0.0, 0.0);
        let cases = [
            Case {
                name: "user cpu quota reached",
                user: q(8, 0.0, 0.0),
                project: none,
                window: 0.0,
                running: vec![(8, 1.0, 10.0)],
                pending: vec![(1, 1.0, DEFAULT)],
                want: vec!["user cpu quota 8 reached: 8 in use"],
            },
            Case {
                name: "user cpu quota would be exceeded",
                user: q(8, 0.0, 0.0),
                project: none,
                window: 0.0,
                running: vec![(6, 1.0, 10.0)],
                pending: vec![(4, 1.0, DEFAULT), (2, 1.0, DEFAULT)],
                want: vec!["user cpu quota 8 reached: 6 in use", "dispatched"],
            },
            Case {
                name: "jobs dispatched in the pass count",
                user: q(6, 0.0, 0.0),
                project: none,
                window: 0.0,
                running: vec![],
                pending: vec![(4, 1.0, DEFAULT), (4, 1.0, DEFAULT)],
                want: vec!["dispatched", "user cpu quota 6 reached: 4 in use"],
            },
            Case {
                name: "user ram quota",
                user: q(0, 16.0, 0.0),
                project: none,
                window: 0.0,
                running: vec![(1, 12.0, 10.0)],
                pending: vec![(1, 8.0, DEFAULT), (1, 4.0, DEFAULT)],
                want: vec!["user ram quota 16 GB reached: 12 GB in use", "dispatched"],
            },
            Case {
                name: "user time quota: window plus running time",
                user: q(0, 0.0, 3600.0),
                project: none,
                window: 3000.0,
                running: vec![(1, 1.0, 700.0)],
                pending: vec![(1, 1.0, DEFAULT)],
                want: vec!["user time quota 3600 s reached: 3700 s used"],
            },
            Case {
                name: "user time quota not reached yet",
                user: q(0, 0.0, 3600.0),
                project: none,
                window: 3000.0,
                running: vec![(1, 1.0, 500.0)],
                pending: vec![(1, 1.0, DEFAULT)],
                want: vec!["dispatched"],
            },
            Case {
                name: "project cpu quota",
                user: none,
                project: q(4, 0.0, 0.0),
                window: 0.0,
                running: vec![(4, 1.0, 10.0)],
                pending: vec![(1, 1.0, P80), (1, 1.0, DEFAULT)],
                want: vec!["project cpu quota 4 reached: 4 in use", "dispatched"],
            },
            Case {
                name: "project ram quota",
                user: none,
                project: q(0, 10.0, 0.0),
                window: 0.0,
                running: vec![(1, 8.0, 10.0)],
                pending: vec![(1, 4.0, P80)],
                want: vec!["project ram quota 10 GB reached: 8 GB in use"],
            },
            Case {
                name: "project time quota",
                user: none,
                project: q(0, 0.0, 100.0),
                window: 0.0,
                running: vec![(1, 1.0, 150.0)],
                pending: vec![(1, 1.0, P80)],
                want: vec!["project time quota 100 s reached: 150 s used"],
            },
        ];
        for c in cases {
            let mut s = base();
            s.users[ALICE as usize].quotas = c.user;
            s.users[ALICE as usize].window_wall_seconds = c.window;
            s.projects[P80 as usize].quotas = c.project;
            // The project `default` has no quota, whatever is set.
            s.projects[DEFAULT as usize].quotas = q(1, 1.0, 1.0);
            s.running = c
                .running
                .iter()
                .map(|&(cpu, ram, age)| Running {
                    project: P80,
                    ..running(ALICE, 0, cpu, ram, age, None)
                })
                .collect();
            s.pending = c
                .pending
                .iter()
                .enumerate()
                .map(|(i, &(cpu, ram, p))| job(i as u64 + 1, ALICE, p, cpu, ram))
                .collect();
            let d = pass(&s, &config(Policy::FiFo));
            let got: Vec<String> = (1..=c.pending.len() as u64).map(|i| why(&d, i)).collect();
            assert_eq!(got, c.want, "{}", c.name);
        }
    }

    #[test]
    fn exceeds_alone_table() {
        struct Case {
            name: &'static str,
            cpu: u32,
            ram: f64,
            user: Quotas,
            /// `None`: the project `default`.
            project: Option<Quotas>,
            want: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "within the user's quotas",
                cpu: 4,
                ram: 4.0,
                user: q(8, 16.0, 10.0),
                project: None,
                want: None,
            },
            Case {
                name: "more cpus than the user quota",
                cpu: 16,
                ram: 4.0,
                user: q(8, 16.0, 10.0),
                project: None,
                want: Some("job needs 16 cpus, more than the user cpu quota of 8"),
            },
            Case {
                name: "more ram than the user quota",
                cpu: 4,
                ram: 32.0,
                user: q(8, 16.0, 10.0),
                project: None,
                want: Some("job needs 32 GB, more than the user ram quota of 16 GB"),
            },
            Case {
                name: "more cpus than the project quota",
                cpu: 4,
                ram: 4.0,
                user: q(0, 0.0, 10.0),
                project: Some(q(2, 0.0, 10.0)),
                want: Some("job needs 4 cpus, more than the project cpu quota of 2"),
            },
            Case {
                name: "no cpu or ram quota anywhere",
                cpu: 4,
                ram: 4.0,
                user: q(0, 0.0, 10.0),
                project: Some(q(0, 0.0, 10.0)),
                want: None,
            },
        ];
        for c in cases {
            let got =
                exceeds_alone(c.cpu, c.ram, &c.user, c.project.as_ref()).map(|r| r.to_string());
            assert_eq!(got.as_deref(), c.want, "{}", c.name);
        }
    }
}
