//! Queue order: `FiFo`, `FairShare` (reference 2.5) and `fairshare` (decayed usage ÷ share).

use super::ledger::Ledger;
use super::model::{Pending, Snapshot};
use super::reason::Ranking;
use crate::config::SchedulerPolicy;

/// `FairShare` weights; config keys `fairshare_*_weight`, defaults of the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// `fairshare_waiting_time_weight` (0.1)
    pub waiting_time: f64,
    /// `fairshare_user_time_weight` (1)
    pub user_time: f64,
    /// `fairshare_user_cpu_weight` (0.2)
    pub user_cpu: f64,
    /// `fairshare_user_ram_weight` (0.2)
    pub user_ram: f64,
    /// `fairshare_group_time_weight` (0.1)
    pub group_time: f64,
    /// `fairshare_group_cpu_weight` (0.01)
    pub group_cpu: f64,
    /// `fairshare_group_ram_weight` (0.01)
    pub group_ram: f64,
    /// `fairshare_user_weight` (1): weight of `1 - user priority`.
    pub user: f64,
    /// `fairshare_group_weight` (1): weight of `1 - project priority`.
    pub group: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            waiting_time: 0.1,
            user_time: 1.0,
            user_cpu: 0.2,
            user_ram: 0.2,
            group_time: 0.1,
            group_cpu: 0.01,
            group_ram: 0.01,
            user: 1.0,
            group: 1.0,
        }
    }
}

impl Weights {
    /// The configuration keys, in field order.
    pub const KEYS: [&'static str; 9] = [
        "fairshare_waiting_time_weight",
        "fairshare_user_time_weight",
        "fairshare_user_cpu_weight",
        "fairshare_user_ram_weight",
        "fairshare_group_time_weight",
        "fairshare_group_cpu_weight",
        "fairshare_group_ram_weight",
        "fairshare_user_weight",
        "fairshare_group_weight",
    ];

    /// Set the weight a configuration key names; false if the key is not one of [`Self::KEYS`].
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        let slot = match key {
            "fairshare_waiting_time_weight" => &mut self.waiting_time,
            "fairshare_user_time_weight" => &mut self.user_time,
            "fairshare_user_cpu_weight" => &mut self.user_cpu,
            "fairshare_user_ram_weight" => &mut self.user_ram,
            "fairshare_group_time_weight" => &mut self.group_time,
            "fairshare_group_cpu_weight" => &mut self.group_cpu,
            "fairshare_group_ram_weight" => &mut self.group_ram,
            "fairshare_user_weight" => &mut self.user,
            "fairshare_group_weight" => &mut self.group,
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// Seven days, the default `fairshare_half_life`.
pub const DEFAULT_HALF_LIFE: f64 = 7.0 * 86_400.0;

/// Parameters of the `fairshare` policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fair {
    /// `fairshare_half_life`, seconds (7 days). The pass does not decay anything itself: the
    /// caller decays finished-job usage with it (see [`decay`](super::decay)).
    pub half_life: f64,
    /// Weight of the user factor (`fairshare_user_weight`, 1).
    pub user_weight: f64,
    /// Weight of the project factor (`fairshare_group_weight`, 1).
    pub project_weight: f64,
}

impl Default for Fair {
    fn default() -> Self {
        Fair {
            half_life: DEFAULT_HALF_LIFE,
            user_weight: 1.0,
            project_weight: 1.0,
        }
    }
}

/// How the queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Policy {
    /// Submission order (id order).
    #[default]
    FiFo,
    /// The reference's ticket score, ascending, ties to the lower id.
    FairShare(Weights),
    /// Decayed consumed cpu·seconds ÷ priority share, ascending, ties to the older job (lower
    /// id).
    Fairshare(Fair),
}

impl Policy {
    /// The policy of `scheduler_policy`, with the `fairshare_*_weight` weights (`fairshare` uses
    /// their `user` and `group` weights for its user and project factors).
    pub fn of(name: SchedulerPolicy, weights: Weights, half_life: f64) -> Policy {
        match name {
            SchedulerPolicy::Fifo => Policy::FiFo,
            SchedulerPolicy::TicketShare => Policy::FairShare(weights),
            SchedulerPolicy::UsageShare => Policy::Fairshare(Fair {
                half_life,
                user_weight: weights.user,
                project_weight: weights.group,
            }),
        }
    }

    /// The policy a `scheduler_policy` value names: `FiFo` (or `fifo`), `FairShare`,
    /// `fairshare`. `weights` come from the `fairshare_*_weight` keys; `fairshare` uses their
    /// `user` and `group` weights for its user and project factors.
    pub fn named(name: &str, weights: Weights, half_life: f64) -> Option<Policy> {
        let name: SchedulerPolicy = serde_json::from_value(name.into()).ok()?;
        Some(Policy::of(name, weights, half_life))
    }

    pub fn ranking(&self) -> Ranking {
        match self {
            Policy::FiFo => Ranking::Submission,
            Policy::FairShare(_) => Ranking::Ticket,
            Policy::Fairshare(_) => Ranking::Usage,
        }
    }

    /// The half-life usage is decayed with (`None`: the policy does not use decay).
    pub fn half_life(&self) -> Option<f64> {
        match self {
            Policy::Fairshare(f) => Some(f.half_life),
            _ => None,
        }
    }
}

/// Computes each job's sort key `(k1, k2)` (ascending; `k2` is the id) and score.
pub(crate) enum Scorer {
    FiFo,
    Tickets(Tickets),
    Factors(Factors),
}

impl Scorer {
    pub(crate) fn new(s: &Snapshot, policy: &Policy, ledger: &Ledger) -> Scorer {
        match policy {
            Policy::FiFo => Scorer::FiFo,
            Policy::FairShare(w) => Scorer::Tickets(Tickets::new(s, w, ledger)),
            Policy::Fairshare(f) => Scorer::Factors(Factors::new(s, f, ledger)),
        }
    }

    /// `(k1, k2, score)` of a job whose user and project indices are valid.
    pub(crate) fn key(&self, now: f64, j: &Pending) -> (u64, u64, f64) {
        let score = match self {
            Scorer::FiFo => return (j.id.0, 0, 0.0),
            Scorer::Tickets(t) => t.ticket(now - j.submitted, j.user, j.project),
            Scorer::Factors(f) => f.user[j.user as usize] + f.project[j.project as usize],
        };
        (fkey(score), j.id.0, score)
    }
}

/// Order-preserving map of an `f64` onto `u64` (total order, NaN last).
fn fkey(f: f64) -> u64 {
    let b = f.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The reference's `norm`: 0.5 when the spread is under 1, else the position in `[min, max]`.
pub(crate) fn norm(v: f64, min: f64, max: f64) -> f64 {
    if max - min < 1.0 {
        0.5
    } else {
        (v - min) / (max - min)
    }
}

#[derive(Clone, Copy)]
struct Bounds {
    min: [f64; 3],
    max: [f64; 3],
}

impl Bounds {
    fn new() -> Bounds {
        Bounds {
            min: [f64::INFINITY; 3],
            max: [f64::NEG_INFINITY; 3],
        }
    }
    fn add(&mut self, v: [f64; 3]) {
        for ((min, max), x) in self.min.iter_mut().zip(self.max.iter_mut()).zip(v) {
            *min = min.min(x);
            *max = max.max(x);
        }
    }
    fn norm(&self, v: [f64; 3]) -> [f64; 3] {
        [
            norm(v[0], self.min[0], self.max[0]),
            norm(v[1], self.min[1], self.max[1]),
            norm(v[2], self.min[2], self.max[2]),
        ]
    }
}

/// Reference `FairShare`: per-user and per-project parts of the ticket, and the waiting-time
/// bounds.
pub(crate) struct Tickets {
    w: Weights,
    wait_min: f64,
    wait_max: f64,
    user: Vec<f64>,
    project: Vec<f64>,
}

impl Tickets {
    pub(crate) fn new(s: &Snapshot, w: &Weights, ledger: &Ledger) -> Tickets {
        let nu = s.users.len();
        let np = s.projects.len();
        let mut seen_u = vec![false; nu];
        let mut seen_p = vec![false; np];
        let (mut wait_min, mut wait_max) = (f64::INFINITY, f64::NEG_INFINITY);
        for j in &s.pending {
            let (u, p) = (j.user as usize, j.project as usize);
            if u < nu && p < np {
                seen_u[u] = true;
                seen_p[p] = true;
                let wait = s.now - j.submitted;
                wait_min = wait_min.min(wait);
                wait_max = wait_max.max(wait);
            }
        }
        let figures = |u: &super::model::Usage| [u.wall_seconds, u.cpu_seconds, u.ram_seconds];
        let mut ub = Bounds::new();
        for (u, _) in seen_u.iter().enumerate().filter(|(_, s)| **s) {
            ub.add(figures(&ledger.users.usage[u]));
        }
        // The default project counts as zeros in the bounds, then as the maxima.
        let default = ledger.default_project.map(|d| d as usize);
        let mut pb = Bounds::new();
        for (p, _) in seen_p.iter().enumerate().filter(|(_, s)| **s) {
            if Some(p) == default {
                pb.add([0.0; 3]);
            } else {
                pb.add(figures(&ledger.projects.usage[p]));
            }
        }
        let user = (0..nu)
            .map(|u| {
                if !seen_u[u] {
                    return 0.0;
                }
                let n = ub.norm(figures(&ledger.users.usage[u]));
                let prio = f64::from(s.users[u].priority.min(100)) / 100.0;
                n[0] * w.user_time + n[1] * w.user_cpu + n[2] * w.user_ram + (1.0 - prio) * w.user
            })
            .collect();
        let project = (0..np)
            .map(|p| {
                if !seen_p[p] {
                    return 0.0;
                }
                let (n, prio) = if Some(p) == default {
                    (pb.norm(pb.max), 0.5)
                } else {
                    (
                        pb.norm(figures(&ledger.projects.usage[p])),
                        f64::from(s.projects[p].priority.min(100)) / 100.0,
                    )
                };
                n[0] * w.group_time
                    + n[1] * w.group_cpu
                    + n[2] * w.group_ram
                    + (1.0 - prio) * w.group
            })
            .collect();
        Tickets {
            w: *w,
            wait_min,
            wait_max,
            user,
            project,
        }
    }

    pub(crate) fn ticket(&self, wait: f64, user: u32, project: u32) -> f64 {
        (1.0 - norm(wait, self.wait_min, self.wait_max)) * self.w.waiting_time
            + self.user[user as usize]
            + self.project[project as usize]
    }
}

/// `fairshare`: `F = (usage / Σ usage) ÷ (share / Σ share)` per user and per project, over the
/// accounts with pending or running jobs; `share = max(priority, 1)`.
pub(crate) struct Factors {
    pub user: Vec<f64>,
    pub project: Vec<f64>,
}

impl Factors {
    pub(crate) fn new(s: &Snapshot, f: &Fair, ledger: &Ledger) -> Factors {
        let nu = s.users.len();
        let np = s.projects.len();
        let mut active_u = vec![false; nu];
        let mut active_p = vec![false; np];
        let pairs = s
            .pending
            .iter()
            .map(|j| (j.user, j.project))
            .chain(s.running.iter().map(|r| (r.user, r.project)));
        for (u, p) in pairs {
            if let Some(a) = active_u.get_mut(u as usize) {
                *a = true;
            }
            if let Some(a) = active_p.get_mut(p as usize) {
                *a = true;
            }
        }
        let user = factors(
            &active_u,
            |u| s.users[u].priority,
            |u| ledger.users.usage[u].cpu_seconds,
            f.user_weight,
        );
        let project = factors(
            &active_p,
            |p| s.projects[p].priority,
            |p| ledger.projects.usage[p].cpu_seconds,
            f.project_weight,
        );
        Factors { user, project }
    }
}

fn factors(
    active: &[bool],
    prio: impl Fn(usize) -> u8,
    usage: impl Fn(usize) -> f64,
    weight: f64,
) -> Vec<f64> {
    let share = |i: usize| f64::from(prio(i).clamp(1, 100));
    let (mut total_share, mut total_usage) = (0.0, 0.0);
    for (i, _) in active.iter().enumerate().filter(|(_, a)| **a) {
        total_share += share(i);
        total_usage += usage(i).max(0.0);
    }
    (0..active.len())
        .map(|i| {
            if !active[i] || total_usage <= 0.0 {
                return 0.0;
            }
            weight * (usage(i).max(0.0) / total_usage) / (share(i) / total_share)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use super::{norm, Tickets};

    /// The reference's `FairShare` scenarios: the order of a few jobs.
    #[test]
    fn fairshare_reference_scenarios() {
        struct Case {
            name: &'static str,
            edit: fn(&mut Snapshot),
            pending: Vec<Pending>,
            want: Vec<u64>,
        }
        let cases = [
            Case {
                name: "equal users: lower id first",
                edit: |_| {},
                pending: vec![job(2, BOB, DEFAULT, 1, 1.0), job(1, ALICE, DEFAULT, 1, 1.0)],
                want: vec![1, 2],
            },
            Case {
                name: "user prio 60 beats 50",
                edit: |s| s.users[BOB as usize].priority = 60,
                pending: vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "project prio 80 beats default",
                edit: |_| {},
                pending: vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, ALICE, P80, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "project prio 20 loses to default",
                edit: |_| {},
                pending: vec![job(1, ALICE, P20, 1, 1.0), job(2, ALICE, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "a user with usage goes after one without",
                edit: |s| {
                    s.users[ALICE as usize].usage = Usage {
                        cpu_seconds: 3600.0,
                        ram_seconds: 3600.0,
                        wall_seconds: 3600.0,
                    }
                },
                pending: vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "a running job counts as usage",
                edit: |s| s.running = vec![running(ALICE, 0, 1, 1.0, 3600.0, None)],
                pending: vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "default project counts as the worst consumer",
                edit: |s| {
                    s.projects[PUSED as usize].usage = Usage {
                        cpu_seconds: 1e4,
                        ram_seconds: 1e4,
                        wall_seconds: 1e4,
                    }
                },
                pending: vec![
                    job(1, ALICE, DEFAULT, 1, 1.0),
                    job(2, ALICE, P50, 1, 1.0),
                    job(3, BOB, PUSED, 1, 1.0),
                ],
                want: vec![2, 1, 3],
            },
            Case {
                name: "waiting time: the older job first when priorities are equal",
                edit: |_| {},
                pending: vec![
                    Pending {
                        submitted: NOW - 100.0,
                        ..job(2, BOB, DEFAULT, 1, 1.0)
                    },
                    Pending {
                        submitted: NOW - 10.0,
                        ..job(1, ALICE, DEFAULT, 1, 1.0)
                    },
                ],
                want: vec![2, 1],
            },
            Case {
                name: "three users scheduled, all at once",
                edit: |_| {},
                pending: vec![
                    job(3, CAROL, DEFAULT, 1, 1.0),
                    job(1, ALICE, DEFAULT, 1, 1.0),
                    job(2, BOB, DEFAULT, 1, 1.0),
                ],
                want: vec![1, 2, 3],
            },
        ];
        for c in cases {
            let mut s = base();
            (c.edit)(&mut s);
            s.pending = c.pending;
            let d = pass(&s, &config(fairshare_ref()));
            assert_eq!(ids(&d), c.want, "{}", c.name);
            for w in d.dispatch.windows(2) {
                assert!(w[0].score <= w[1].score, "{}: scores ascending", c.name);
            }
        }
    }

    /// Random accounts and queues: every ticket within its bounds, dispatch in ticket order.
    #[test]
    fn fairshare_bounds_sanity() {
        let w = Weights::default();
        let max_ticket = w.waiting_time
            + w.user_time
            + w.user_cpu
            + w.user_ram
            + w.group_time
            + w.group_cpu
            + w.group_ram
            + w.user
            + w.group;
        for seed in 0..20 {
            let mut g = Lcg(seed);
            let mut s = base();
            s.users = (0..10)
                .map(|i| Account {
                    priority: g.below(101) as u8,
                    usage: Usage {
                        cpu_seconds: g.unit() * 1e6,
                        ram_seconds: g.unit() * 1e6,
                        wall_seconds: g.unit() * 1e5,
                    },
                    ..Account::named(&format!("u{i}"))
                })
                .collect();
            for p in s.projects.iter_mut().skip(1) {
                p.usage.cpu_seconds = g.unit() * 1e6;
                p.usage.wall_seconds = g.unit() * 1e5;
            }
            s.pending = (1..=50)
                .map(|id| Pending {
                    submitted: NOW - g.unit() * 1e4,
                    ..job(id, g.below(10) as u32, g.below(5) as u32, 1, 1.0)
                })
                .collect();
            let ledger = Ledger::new(&s);
            let t = Tickets::new(&s, &w, &ledger);
            for j in &s.pending {
                let ticket = t.ticket(NOW - j.submitted, j.user, j.project);
                assert!(
                    (0.0..=max_ticket + 1e-9).contains(&ticket),
                    "seed {seed}: ticket {ticket} out of [0, {max_ticket}]"
                );
            }
            let d = pass(&s, &config(fairshare_ref()));
            assert_eq!(d.dispatch.len(), 50, "seed {seed}");
            for x in d.dispatch.windows(2) {
                assert!(
                    (x[0].score, x[0].job) <= (x[1].score, x[1].job),
                    "seed {seed}"
                );
            }
        }
    }

    #[test]
    fn norm_is_one_half_under_a_spread_of_one_else_the_position() {
        // (v, min, max, expected)
        let cases = [
            (5.0, 5.0, 5.5, 0.5),
            (0.0, 0.0, 10.0, 0.0),
            (10.0, 0.0, 10.0, 1.0),
            (2.5, 0.0, 10.0, 0.25),
        ];
        for (v, min, max, want) in cases {
            assert_eq!(norm(v, min, max), want, "norm({v}, {min}, {max})");
        }
    }

    #[test]
    fn our_fairshare_orders_by_usage_over_share() {
        fn user(name: &str, priority: u8, cpu_seconds: f64) -> Account {
            Account {
                priority,
                usage: Usage {
                    cpu_seconds,
                    ..Usage::default()
                },
                ..Account::named(name)
            }
        }
        struct Case {
            name: &'static str,
            users: Vec<Account>,
            /// Decayed cpu·seconds of projects.
            projects: Vec<(u32, f64)>,
            running: Vec<Running>,
            pending: Vec<Pending>,
            want: Vec<u64>,
        }
        let cases = [
            Case {
                name: "no usage anywhere: older job first",
                users: vec![user("a", 10, 0.0), user("b", 90, 0.0)],
                projects: vec![],
                running: vec![],
                pending: vec![job(2, 1, DEFAULT, 1, 1.0), job(1, 0, DEFAULT, 1, 1.0)],
                want: vec![1, 2],
            },
            Case {
                name: "usage ÷ share: 100/10 is worse than 150/20",
                users: vec![user("a", 10, 100.0), user("b", 20, 150.0)],
                projects: vec![],
                running: vec![],
                pending: vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "same usage: higher priority first",
                users: vec![user("a", 10, 100.0), user("b", 20, 100.0)],
                projects: vec![],
                running: vec![],
                pending: vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "running jobs are charged up to now",
                users: vec![user("a", 50, 100.0), user("b", 50, 200.0)],
                projects: vec![],
                running: vec![running(0, 0, 1, 1.0, 500.0, None)],
                pending: vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
                want: vec![2, 1],
            },
            Case {
                name: "older (lower id) job first within a user",
                users: vec![user("a", 50, 100.0)],
                projects: vec![],
                running: vec![],
                pending: vec![job(2, 0, DEFAULT, 1, 1.0), job(1, 0, DEFAULT, 1, 1.0)],
                want: vec![1, 2],
            },
            Case {
                name: "same users, same usage: project priority 80 before 20",
                users: vec![
                    user("alice", 50, 100.0),
                    user("bob", 50, 100.0),
                    user("carol", 50, 0.0),
                ],
                projects: vec![(P80, 100.0), (P20, 100.0)],
                running: vec![],
                pending: vec![job(1, ALICE, P20, 1, 1.0), job(2, BOB, P80, 1, 1.0)],
                want: vec![2, 1],
            },
        ];
        for c in cases {
            let mut s = base();
            s.users = c.users;
            for (p, cpu_seconds) in c.projects {
                s.projects[p as usize].usage.cpu_seconds = cpu_seconds;
            }
            s.running = c.running;
            s.pending = c.pending;
            let d = pass(&s, &config(Policy::Fairshare(Fair::default())));
            assert_eq!(ids(&d), c.want, "{}", c.name);
        }
    }

    #[test]
    fn fifo_order_is_id_order() {
        let mut s = base();
        s.pending = vec![
            job(3, ALICE, DEFAULT, 1, 1.0),
            job(1, BOB, DEFAULT, 1, 1.0),
            job(2, CAROL, DEFAULT, 1, 1.0),
        ];
        s.users[ALICE as usize].priority = 100;
        let d = pass(&s, &config(Policy::FiFo));
        assert_eq!(ids(&d), vec![1, 2, 3]);
        assert!(d.dispatch.iter().all(|x| x.score == 0.0));
    }

    #[test]
    fn weights_and_policy_from_config() {
        let mut w = Weights::default();
        for (i, key) in Weights::KEYS.iter().enumerate() {
            assert!(w.set(key, i as f64), "{key}");
        }
        assert!(!w.set("fairshare_nope", 1.0));
        assert_eq!(w.waiting_time, 0.0);
        assert_eq!(w.group, 8.0);
        // (scheduler_policy, the ranking of its policy)
        let cases = [
            ("FiFo", Some(Ranking::Submission)),
            ("fifo", Some(Ranking::Submission)),
            ("FairShare", Some(Ranking::Ticket)),
            ("fairshare", Some(Ranking::Usage)),
            ("lottery", None),
        ];
        for (name, want) in cases {
            let p = Policy::named(name, Weights::default(), DEFAULT_HALF_LIFE);
            assert_eq!(p.map(|p| p.ranking()), want, "{name}");
        }
    }
}
