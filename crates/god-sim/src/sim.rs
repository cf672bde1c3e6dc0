//! A discrete-event simulator in virtual time: users submit jobs, the pass dispatches them, they
//! run for their duration and finish; usage is recorded per finished job and decayed, as the
//! server would. Deterministic for a given seed.

use crate::rng::Rng;
use god_core::schedule::{
    pass, Account, Node, PassConfig, Pending, Quotas, Running, Snapshot, Usage,
};
use god_core::JobId;
use std::sync::Arc;

/// A simulated user.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub name: String,
    pub priority: u8,
    /// Index into [`Workload::projects`].
    pub project: u32,
    pub quotas: Quotas,
}

/// What the jobs look like.
#[derive(Debug, Clone)]
pub struct JobMix {
    /// `(cpus, weight)`.
    pub cpus: Vec<(u32, f64)>,
    pub ram_per_cpu: f64,
    /// Run time, uniform in `[min, max)` seconds.
    pub duration: (f64, f64),
    /// Share of jobs submitted with a wall-time limit (`duration × walltime_slack`); the
    /// others are estimated with the pass's default.
    pub with_walltime: f64,
    pub walltime_slack: f64,
}

impl Default for JobMix {
    fn default() -> Self {
        JobMix {
            cpus: vec![(1, 4.0), (2, 2.0), (4, 1.0)],
            ram_per_cpu: 2.0,
            duration: (600.0, 3600.0),
            with_walltime: 0.8,
            walltime_slack: 1.5,
        }
    }
}

/// Who submits what.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub users: Vec<UserSpec>,
    /// `(name, priority)`; name `default` has no quota.
    pub projects: Vec<(String, u8)>,
    pub mix: JobMix,
    /// Each user keeps at least this many jobs pending (closed loop: the cluster stays
    /// saturated as long as the backlog covers it).
    pub backlog: usize,
    /// Poisson arrivals per user per hour, on top of the backlog (0: none).
    pub arrivals_per_hour: f64,
}

/// The cluster and the run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub pass: PassConfig,
    pub nodes: Vec<Node>,
    /// Virtual start time, seconds since the epoch.
    pub start: f64,
    /// Simulated seconds.
    pub horizon: f64,
    /// Half-life of the usage decay (seconds; 0: none).
    pub half_life: f64,
    pub seed: u64,
}

/// What happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Consumed cpu·seconds per user within the horizon (running jobs counted up to its end).
    pub consumed: Vec<f64>,
    pub submitted: usize,
    pub dispatched: usize,
    pub finished: usize,
    pub passes: usize,
    /// Consumed cpu·seconds ÷ (cluster cpus × horizon).
    pub utilization: f64,
}

impl Report {
    /// Each user's fraction of the consumed cpu·seconds.
    pub fn shares(&self) -> Vec<f64> {
        let total: f64 = self.consumed.iter().sum();
        self.consumed
            .iter()
            .map(|c| if total > 0.0 { c / total } else { 0.0 })
            .collect()
    }
}

struct Live {
    run: Running,
    end: f64,
}

/// Decayed usage kept as of `at`.
#[derive(Clone, Copy, Default)]
struct Acc {
    usage: Usage,
    at: f64,
    wall: f64,
}

impl Acc {
    fn now(&self, t: f64, half_life: f64) -> Usage {
        self.usage.decay(t - self.at, half_life)
    }

    fn record(&mut self, r: &Running, end: f64, t: f64, half_life: f64) {
        self.usage =
            self.now(t, half_life) + Usage::decayed_run(r.cpu, r.ram, r.started, end, t, half_life);
        self.at = t;
        self.wall += end - r.started;
    }
}

struct Gen<'a> {
    w: &'a Workload,
    rng: Rng,
    next_id: u64,
}

impl Gen<'_> {
    fn job(&mut self, user: u32, t: f64) -> (Pending, f64) {
        let mix = &self.w.mix;
        let cpu = self.rng.weighted(&mix.cpus).unwrap_or(1);
        let duration = self.rng.range(mix.duration.0, mix.duration.1).round();
        let walltime = self
            .rng
            .chance(mix.with_walltime)
            .then_some((duration * mix.walltime_slack).ceil());
        let project = self.w.users.get(user as usize).map_or(0, |u| u.project);
        let id = self.next_id;
        self.next_id += 1;
        let p = Pending {
            id: JobId(id),
            user,
            project,
            cpu,
            ram: f64::from(cpu) * mix.ram_per_cpu,
            submitted: t,
            walltime,
            ..Pending::default()
        };
        (p, duration)
    }
}

/// Run the workload on the cluster for `cfg.horizon` virtual seconds.
pub fn simulate(w: &Workload, cfg: &SimConfig) -> Report {
    let nu = w.users.len();
    let np = w.projects.len();
    let h = cfg.half_life;
    let end_time = cfg.start + cfg.horizon;
    let mut gen = Gen {
        w,
        rng: Rng::new(cfg.seed),
        next_id: 1,
    };
    let mut report = Report {
        consumed: vec![0.0; nu],
        ..Report::default()
    };
    let mut snap = Snapshot {
        nodes: cfg.nodes.clone(),
        labels: Vec::<Arc<str>>::new(),
        ..Snapshot::default()
    };
    let mut pending: Vec<(Pending, f64)> = Vec::new();
    let mut queued = vec![0usize; nu];
    let mut running: Vec<Live> = Vec::new();
    let mut acc_u = vec![
        Acc {
            at: cfg.start,
            ..Acc::default()
        };
        nu
    ];
    let mut acc_p = vec![
        Acc {
            at: cfg.start,
            ..Acc::default()
        };
        np
    ];
    let mean_gap = if w.arrivals_per_hour > 0.0 {
        3600.0 / w.arrivals_per_hour
    } else {
        f64::INFINITY
    };
    let mut next_arrival: Vec<f64> = (0..nu).map(|_| cfg.start + gen.rng.exp(mean_gap)).collect();
    let mut t = cfg.start;
    loop {
        for u in 0..nu {
            while next_arrival[u] <= t {
                pending.push(gen.job(u as u32, next_arrival[u]));
                queued[u] += 1;
                report.submitted += 1;
                next_arrival[u] += gen.rng.exp(mean_gap);
            }
            while queued[u] < w.backlog {
                pending.push(gen.job(u as u32, t));
                queued[u] += 1;
                report.submitted += 1;
            }
        }

        snap.now = t;
        snap.pending.clear();
        snap.pending.extend(pending.iter().map(|(p, _)| p.clone()));
        snap.running.clear();
        snap.running.extend(running.iter().map(|l| l.run));
        snap.users = w
            .users
            .iter()
            .zip(&acc_u)
            .map(|(u, a)| Account {
                name: u.name.clone(),
                priority: u.priority,
                quotas: u.quotas,
                usage: a.now(t, h),
                window_wall_seconds: a.wall,
                hold: None,
            })
            .collect();
        snap.projects = w
            .projects
            .iter()
            .zip(&acc_p)
            .map(|((name, priority), a)| Account {
                name: name.clone(),
                priority: *priority,
                quotas: Quotas::default(),
                usage: a.now(t, h),
                window_wall_seconds: a.wall,
                hold: None,
            })
            .collect();
        let d = pass(&snap, &cfg.pass);
        report.passes += 1;
        for x in &d.dispatch {
            let Some(i) = pending.iter().position(|(p, _)| p.id == x.job) else {
                continue;
            };
            let (p, duration) = pending.swap_remove(i);
            queued[p.user as usize] -= 1;
            report.dispatched += 1;
            running.push(Live {
                run: Running {
                    user: p.user,
                    project: p.project,
                    node: x.node,
                    cpu: p.cpu,
                    gpus: p.gpus,
                    ram: p.ram,
                    started: t,
                    walltime: p.walltime,
                },
                end: t + duration,
            });
        }

        let next_end = running.iter().map(|l| l.end).fold(f64::INFINITY, f64::min);
        let next_arr = next_arrival.iter().copied().fold(f64::INFINITY, f64::min);
        let next = next_end.min(next_arr);
        if !next.is_finite() || next > end_time {
            break;
        }
        t = next;
        let mut k = 0;
        while k < running.len() {
            if running[k].end <= t {
                let l = running.swap_remove(k);
                let r = &l.run;
                report.consumed[r.user as usize] += f64::from(r.cpu) * (l.end - r.started);
                report.finished += 1;
                acc_u[r.user as usize].record(r, l.end, t, h);
                if let Some(a) = acc_p.get_mut(r.project as usize) {
                    a.record(r, l.end, t, h);
                }
            } else {
                k += 1;
            }
        }
    }
    for l in &running {
        let r = &l.run;
        report.consumed[r.user as usize] += f64::from(r.cpu) * (end_time - r.started).max(0.0);
    }
    let cpus: f64 = cfg.nodes.iter().map(|n| f64::from(n.cpus)).sum();
    let total: f64 = report.consumed.iter().sum();
    report.utilization = if cpus > 0.0 && cfg.horizon > 0.0 {
        total / (cpus * cfg.horizon)
    } else {
        0.0
    };
    report
}

/// Three users with priorities 10, 20, 30 (shares 1:2:3) in project `default`, each keeping
/// 40 jobs pending, on 8 nodes of 16 cpus for a day: the scenario of the shares test.
pub fn three_users(policy: god_core::schedule::Policy) -> (Workload, SimConfig) {
    let users = [("u1", 10), ("u2", 20), ("u3", 30)]
        .iter()
        .map(|&(name, priority)| UserSpec {
            name: name.into(),
            priority,
            project: 0,
            quotas: Quotas::default(),
        })
        .collect();
    let w = Workload {
        users,
        projects: vec![("default".into(), 50)],
        mix: JobMix::default(),
        backlog: 40,
        arrivals_per_hour: 0.0,
    };
    let nodes = (0..8)
        .map(|i| Node {
            name: format!("n{i}"),
            cpus: 16,
            ram: 64.0,
            ..Node::default()
        })
        .collect();
    let cfg = SimConfig {
        pass: PassConfig {
            policy,
            max_dispatch: 100,
            default_walltime: 4.0 * 3600.0,
            backfill: true,
            keep_order: false,
        },
        nodes,
        start: 1.7e9,
        horizon: 86_400.0,
        half_life: policy.half_life().unwrap_or(0.0),
        seed: 42,
    };
    (w, cfg)
}
