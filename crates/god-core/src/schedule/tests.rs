//! Table-driven tests of the pass.

use super::order::{norm, Tickets};
use super::*;
use std::collections::HashMap;
use std::sync::Arc;

const NOW: f64 = 1_000_000.0;
const ALICE: u32 = 0;
const BOB: u32 = 1;
const CAROL: u32 = 2;
const DEFAULT: u32 = 0;
const P80: u32 = 1;
const P20: u32 = 2;
const P50: u32 = 3;
const PUSED: u32 = 4;
const SSD: u32 = 0;
const NVME: u32 = 1;
const GPU: u32 = 2;

fn account(name: &str, priority: u8) -> Account {
    Account {
        priority,
        ..Account::named(name)
    }
}

fn node(name: &str, cpus: u32, ram: f64, gpus: u32) -> Node {
    Node {
        name: name.into(),
        cpus,
        ram,
        gpus,
        ..Node::default()
    }
}

/// Submitted a few milliseconds apart, as in the reference tests (waiting-time spread < 1 s).
fn job(id: u64, user: u32, project: u32, cpu: u32, ram: f64) -> Pending {
    Pending {
        id: JobId(id),
        user,
        project,
        cpu,
        ram,
        submitted: NOW - 10.0 + id as f64 * 0.001,
        ..Pending::default()
    }
}

fn running(user: u32, node: u32, cpu: u32, ram: f64, age: f64, walltime: Option<f64>) -> Running {
    Running {
        user,
        project: DEFAULT,
        node,
        cpu,
        ram,
        started: NOW - age,
        walltime,
        ..Running::default()
    }
}

/// Three users, projects `default`, p80, p20, p50, pused, one big node.
fn base() -> Snapshot {
    Snapshot {
        now: NOW,
        users: vec![
            account("alice", 50),
            account("bob", 50),
            account("carol", 50),
        ],
        projects: vec![
            account("default", 50),
            account("p80", 80),
            account("p20", 20),
            account("p50", 50),
            account("pused", 50),
        ],
        nodes: vec![node("big", 64, 256.0, 0)],
        labels: ["storage==ssd", "storage==nvme", "gpu==yes"]
            .iter()
            .map(|l| Arc::from(*l))
            .collect(),
        ..Snapshot::default()
    }
}

fn config(policy: Policy) -> PassConfig {
    PassConfig {
        policy,
        max_dispatch: 1000,
        ..PassConfig::default()
    }
}

fn ids(d: &Decision) -> Vec<u64> {
    d.dispatch.iter().map(|x| x.job.0).collect()
}

fn why(d: &Decision, id: u64) -> String {
    d.waiting
        .iter()
        .chain(d.doomed.iter())
        .find(|(j, _)| j.0 == id)
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| "dispatched".into())
}

fn fairshare_ref() -> Policy {
    Policy::FairShare(Weights::default())
}

#[test]
fn fairshare_reference_scenarios() {
    // (scenario, snapshot edit, pending, expected order)
    type Edit = fn(&mut Snapshot);
    let cases: Vec<(&str, Edit, Vec<Pending>, Vec<u64>)> = vec![
        (
            "equal users: lower id first",
            |_| {},
            vec![job(2, BOB, DEFAULT, 1, 1.0), job(1, ALICE, DEFAULT, 1, 1.0)],
            vec![1, 2],
        ),
        (
            "user prio 60 beats 50",
            |s| s.users[BOB as usize].priority = 60,
            vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "project prio 80 beats default",
            |_| {},
            vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, ALICE, P80, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "project prio 20 loses to default",
            |_| {},
            vec![job(1, ALICE, P20, 1, 1.0), job(2, ALICE, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "a user with usage goes after one without",
            |s| {
                s.users[ALICE as usize].usage = Usage {
                    cpu_seconds: 3600.0,
                    ram_seconds: 3600.0,
                    wall_seconds: 3600.0,
                }
            },
            vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "a running job counts as usage",
            |s| s.running = vec![running(ALICE, 0, 1, 1.0, 3600.0, None)],
            vec![job(1, ALICE, DEFAULT, 1, 1.0), job(2, BOB, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "default project counts as the worst consumer",
            |s| {
                s.projects[PUSED as usize].usage = Usage {
                    cpu_seconds: 1e4,
                    ram_seconds: 1e4,
                    wall_seconds: 1e4,
                }
            },
            vec![
                job(1, ALICE, DEFAULT, 1, 1.0),
                job(2, ALICE, P50, 1, 1.0),
                job(3, BOB, PUSED, 1, 1.0),
            ],
            vec![2, 1, 3],
        ),
        (
            "waiting time: the older job first when priorities are equal",
            |_| {},
            vec![
                Pending {
                    submitted: NOW - 100.0,
                    ..job(2, BOB, DEFAULT, 1, 1.0)
                },
                Pending {
                    submitted: NOW - 10.0,
                    ..job(1, ALICE, DEFAULT, 1, 1.0)
                },
            ],
            vec![2, 1],
        ),
        (
            "three users scheduled, all at once",
            |_| {},
            vec![
                job(3, CAROL, DEFAULT, 1, 1.0),
                job(1, ALICE, DEFAULT, 1, 1.0),
                job(2, BOB, DEFAULT, 1, 1.0),
            ],
            vec![1, 2, 3],
        ),
    ];
    for (name, edit, pending, want) in cases {
        let mut s = base();
        edit(&mut s);
        s.pending = pending;
        let d = pass(&s, &config(fairshare_ref()));
        assert_eq!(ids(&d), want, "{name}");
        for w in d.dispatch.windows(2) {
            assert!(w[0].score <= w[1].score, "{name}: scores ascending");
        }
    }
}

/// A tiny deterministic generator for property tables.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

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
        let ledger = ledger::Ledger::new(&s);
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
    // norm: 0.5 under a spread of 1, else the position.
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
    // (scenario, users, running, pending, expected order)
    let cases: Vec<(&str, Vec<Account>, Vec<Running>, Vec<Pending>, Vec<u64>)> = vec![
        (
            "no usage anywhere: older job first",
            vec![user("a", 10, 0.0), user("b", 90, 0.0)],
            vec![],
            vec![job(2, 1, DEFAULT, 1, 1.0), job(1, 0, DEFAULT, 1, 1.0)],
            vec![1, 2],
        ),
        (
            "usage ÷ share: 100/10 is worse than 150/20",
            vec![user("a", 10, 100.0), user("b", 20, 150.0)],
            vec![],
            vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "same usage: higher priority first",
            vec![user("a", 10, 100.0), user("b", 20, 100.0)],
            vec![],
            vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "running jobs are charged up to now",
            vec![user("a", 50, 100.0), user("b", 50, 200.0)],
            vec![running(0, 0, 1, 1.0, 500.0, None)],
            vec![job(1, 0, DEFAULT, 1, 1.0), job(2, 1, DEFAULT, 1, 1.0)],
            vec![2, 1],
        ),
        (
            "older (lower id) job first within a user",
            vec![user("a", 50, 100.0)],
            vec![],
            vec![job(2, 0, DEFAULT, 1, 1.0), job(1, 0, DEFAULT, 1, 1.0)],
            vec![1, 2],
        ),
    ];
    for (name, users, running, pending, want) in cases {
        let mut s = base();
        s.users = users;
        s.running = running;
        s.pending = pending;
        let d = pass(&s, &config(Policy::Fairshare(Fair::default())));
        assert_eq!(ids(&d), want, "{name}");
    }

    // Project priorities weigh in: same users, same usage, project p80 vs p20.
    let mut s = base();
    s.projects[P80 as usize].usage.cpu_seconds = 100.0;
    s.projects[P20 as usize].usage.cpu_seconds = 100.0;
    s.pending = vec![job(1, ALICE, P20, 1, 1.0), job(2, BOB, P80, 1, 1.0)];
    s.users[ALICE as usize].usage.cpu_seconds = 100.0;
    s.users[BOB as usize].usage.cpu_seconds = 100.0;
    let d = pass(&s, &config(Policy::Fairshare(Fair::default())));
    assert_eq!(ids(&d), vec![2, 1], "project priority");
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
fn max_dispatch_holds_the_rest_behind() {
    // (policy, limit, expected dispatched, expected reason of job 3, of job 5)
    let cases = [
        (
            Policy::FiFo,
            2,
            vec![1, 2],
            "behind 2 older jobs",
            "behind 4 older jobs",
        ),
        (
            fairshare_ref(),
            2,
            vec![1, 2],
            "behind 2 jobs with a better fair-share ticket",
            "behind 4 jobs with a better fair-share ticket",
        ),
        (
            Policy::Fairshare(Fair::default()),
            2,
            vec![1, 2],
            "behind 2 jobs of users with less usage",
            "behind 4 jobs of users with less usage",
        ),
        (
            Policy::FiFo,
            0,
            vec![],
            "behind 2 older jobs",
            "behind 4 older jobs",
        ),
    ];
    for (policy, limit, want, r3, r5) in cases {
        let mut s = base();
        s.pending = (1..=5).map(|i| job(i, ALICE, DEFAULT, 1, 1.0)).collect();
        let cfg = PassConfig {
            max_dispatch: limit,
            ..config(policy)
        };
        let d = pass(&s, &cfg);
        assert_eq!(ids(&d), want, "{policy:?}");
        assert_eq!(why(&d, 3), r3, "{policy:?}");
        assert_eq!(why(&d, 5), r5, "{policy:?}");
        assert_eq!(d.waiting.len() + d.dispatch.len(), 5);
        assert_eq!(d.reserved, None, "no reservation once the limit is reached");
    }
}

#[test]
fn quotas() {
    let q = |cpu, ram, time| Quotas { cpu, ram, time };
    // (scenario, user quotas, project (p80) quotas, window wall seconds of alice, running of
    //  alice in p80 (cpu, ram, age), pending (cpu, ram, project), expected per job)
    type Case = (
        &'static str,
        Quotas,
        Quotas,
        f64,
        Vec<(u32, f64, f64)>,
        Vec<(u32, f64, u32)>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "user cpu quota reached",
            q(8, 0.0, 0.0),
            q(0, 0.0, 0.0),
            0.0,
            vec![(8, 1.0, 10.0)],
            vec![(1, 1.0, DEFAULT)],
            vec!["user cpu quota 8 reached: 8 in use"],
        ),
        (
            "user cpu quota would be exceeded",
            q(8, 0.0, 0.0),
            q(0, 0.0, 0.0),
            0.0,
            vec![(6, 1.0, 10.0)],
            vec![(4, 1.0, DEFAULT), (2, 1.0, DEFAULT)],
            vec!["user cpu quota 8 reached: 6 in use", "dispatched"],
        ),
        (
            "jobs dispatched in the pass count",
            q(6, 0.0, 0.0),
            q(0, 0.0, 0.0),
            0.0,
            vec![],
            vec![(4, 1.0, DEFAULT), (4, 1.0, DEFAULT)],
            vec!["dispatched", "user cpu quota 6 reached: 4 in use"],
        ),
        (
            "user ram quota",
            q(0, 16.0, 0.0),
            q(0, 0.0, 0.0),
            0.0,
            vec![(1, 12.0, 10.0)],
            vec![(1, 8.0, DEFAULT), (1, 4.0, DEFAULT)],
            vec!["user ram quota 16 GB reached: 12 GB in use", "dispatched"],
        ),
        (
            "user time quota: window plus running time",
            q(0, 0.0, 3600.0),
            q(0, 0.0, 0.0),
            3000.0,
            vec![(1, 1.0, 700.0)],
            vec![(1, 1.0, DEFAULT)],
            vec!["user time quota 3600 s reached: 3700 s used"],
        ),
        (
            "user time quota not reached yet",
            q(0, 0.0, 3600.0),
            q(0, 0.0, 0.0),
            3000.0,
            vec![(1, 1.0, 500.0)],
            vec![(1, 1.0, DEFAULT)],
            vec!["dispatched"],
        ),
        (
            "project cpu quota",
            q(0, 0.0, 0.0),
            q(4, 0.0, 0.0),
            0.0,
            vec![(4, 1.0, 10.0)],
            vec![(1, 1.0, P80), (1, 1.0, DEFAULT)],
            vec!["project cpu quota 4 reached: 4 in use", "dispatched"],
        ),
        (
            "project ram quota",
            q(0, 0.0, 0.0),
            q(0, 10.0, 0.0),
            0.0,
            vec![(1, 8.0, 10.0)],
            vec![(1, 4.0, P80)],
            vec!["project ram quota 10 GB reached: 8 GB in use"],
        ),
        (
            "project time quota",
            q(0, 0.0, 0.0),
            q(0, 0.0, 100.0),
            0.0,
            vec![(1, 1.0, 150.0)],
            vec![(1, 1.0, P80)],
            vec!["project time quota 100 s reached: 150 s used"],
        ),
    ];
    for (name, uq, pq, window, run, pend, want) in cases {
        let mut s = base();
        s.users[ALICE as usize].quotas = uq;
        s.users[ALICE as usize].window_wall_seconds = window;
        s.projects[P80 as usize].quotas = pq;
        // The project `default` has no quota, whatever is set.
        s.projects[DEFAULT as usize].quotas = q(1, 1.0, 1.0);
        s.running = run
            .iter()
            .map(|&(cpu, ram, age)| Running {
                project: P80,
                ..running(ALICE, 0, cpu, ram, age, None)
            })
            .collect();
        s.pending = pend
            .iter()
            .enumerate()
            .map(|(i, &(cpu, ram, p))| job(i as u64 + 1, ALICE, p, cpu, ram))
            .collect();
        let d = pass(&s, &config(Policy::FiFo));
        let got: Vec<String> = (1..=pend.len() as u64).map(|i| why(&d, i)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn exceeds_alone_table() {
    let q = |cpu, ram| Quotas {
        cpu,
        ram,
        time: 10.0,
    };
    // (cpu, ram, user quotas, project quotas, expected)
    let cases: Vec<(u32, f64, Quotas, Option<Quotas>, Option<&str>)> = vec![
        (4, 4.0, q(8, 16.0), None, None),
        (
            16,
            4.0,
            q(8, 16.0),
            None,
            Some("job needs 16 cpus, more than the user cpu quota of 8"),
        ),
        (
            4,
            32.0,
            q(8, 16.0),
            None,
            Some("job needs 32 GB, more than the user ram quota of 16 GB"),
        ),
        (
            4,
            4.0,
            q(0, 0.0),
            Some(q(2, 0.0)),
            Some("job needs 4 cpus, more than the project cpu quota of 2"),
        ),
        (4, 4.0, q(0, 0.0), Some(q(0, 0.0)), None),
    ];
    for (cpu, ram, uq, pq, want) in cases {
        let got = exceeds_alone(cpu, ram, &uq, pq.as_ref()).map(|r| r.to_string());
        assert_eq!(got.as_deref(), want, "{cpu} cpu {ram} GB");
    }
}

#[test]
fn dependencies() {
    use Condition::*;
    let over = |c| ParentState::Over { exit_code: c };
    // (parent state or None for absent from the map, condition, expected)
    let cases: Vec<(Option<ParentState>, Condition, &str)> = vec![
        (
            Some(ParentState::Active),
            AfterOk,
            "waiting for job 41 (afterok)",
        ),
        (
            Some(ParentState::Active),
            AfterAny,
            "waiting for job 41 (afterany)",
        ),
        (
            Some(ParentState::Active),
            AfterNotOk,
            "waiting for job 41 (afternotok)",
        ),
        (Some(over(Some(0))), AfterOk, "dispatched"),
        (Some(over(Some(0))), AfterAny, "dispatched"),
        (
            Some(over(Some(0))),
            AfterNotOk,
            "job 41 ended with exit code 0 (afternotok)",
        ),
        (
            Some(over(Some(1))),
            AfterOk,
            "job 41 ended with exit code 1 (afterok)",
        ),
        (Some(over(Some(1))), AfterAny, "dispatched"),
        (Some(over(Some(137))), AfterNotOk, "dispatched"),
        (
            Some(over(None)),
            AfterOk,
            "job 41 ended without running (afterok)",
        ),
        (Some(over(None)), AfterAny, "dispatched"),
        (Some(over(None)), AfterNotOk, "dispatched"),
        (
            Some(ParentState::Missing),
            AfterOk,
            "job 41 does not exist (afterok)",
        ),
        (None, AfterAny, "job 41 does not exist (afterany)"),
    ];
    for (state, condition, want) in cases {
        let mut s = base();
        s.pending = vec![Pending {
            deps: vec![Dependency {
                parent: JobId(41),
                condition,
            }],
            ..job(50, ALICE, DEFAULT, 1, 1.0)
        }];
        if let Some(st) = state {
            s.parents.insert(JobId(41), st);
        }
        let d = pass(&s, &config(Policy::FiFo));
        assert_eq!(why(&d, 50), want, "{state:?} {condition}");
        let doomed = !d.doomed.is_empty();
        assert_eq!(
            doomed,
            !want.starts_with("waiting") && want != "dispatched",
            "{state:?} {condition}: doomed"
        );
    }
}

/// What the caller holds back waits with its reason, before dependencies and placement: a
/// disabled user, a guest not yet active, a full disk quota, a plugin's verdict.
#[test]
fn holds_come_first_and_say_why() {
    let hold = |h: Hold| Some(Arc::new(h));
    let cases: Vec<(Option<Arc<Hold>>, Option<Arc<Hold>>, &str)> = vec![
        (None, None, "dispatched"),
        (
            hold(Hold::AccountDisabled),
            None,
            "the account is disabled: its jobs wait",
        ),
        (
            hold(Hold::GuestInactive),
            None,
            "the guest account is not active: its jobs wait for an administrator",
        ),
        (
            hold(Hold::DiskQuota { quota: 100, used: 150 }),
            None,
            "disk quota 100 bytes reached: 150 bytes in job directories (archive old jobs to free them)",
        ),
        (
            None,
            hold(Hold::Plugin {
                reason: Arc::from("the fake watcher holds jobs named norun"),
            }),
            "the fake watcher holds jobs named norun",
        ),
    ];
    for (user_hold, job_hold, want) in cases {
        let mut s = base();
        s.users[ALICE as usize].hold = user_hold.clone();
        // Its dependency is doomed, but the hold is said first (and the job is not ended).
        let doomed_dep = Dependency {
            parent: JobId(41),
            condition: Condition::AfterOk,
        };
        s.parents.insert(JobId(41), ParentState::Missing);
        s.pending = vec![
            Pending {
                hold: job_hold.clone(),
                ..job(50, ALICE, DEFAULT, 1, 1.0)
            },
            Pending {
                deps: vec![doomed_dep],
                ..job(51, ALICE, DEFAULT, 1, 1.0)
            },
            job(52, BOB, DEFAULT, 1, 1.0),
        ];
        let d = pass(&s, &config(Policy::FiFo));
        assert_eq!(why(&d, 50), want, "{user_hold:?} {job_hold:?}");
        if user_hold.is_some() {
            assert_eq!(why(&d, 51), want, "the whole account waits");
            assert!(d.doomed.is_empty(), "held before its dependency is judged");
        }
        assert_eq!(why(&d, 52), "dispatched", "bob's job is not held");
    }
}

#[test]
fn doomed_propagates_within_the_pass() {
    let dep = |parent, condition| Dependency {
        parent: JobId(parent),
        condition,
    };
    let with = |id, deps: Vec<Dependency>| Pending {
        deps,
        ..job(id, ALICE, DEFAULT, 1, 1.0)
    };
    let mut s = base();
    // Listed children first: the pass must still visit parents first.
    s.pending = vec![
        with(44, vec![dep(42, Condition::AfterOk)]),
        with(43, vec![dep(41, Condition::AfterAny)]),
        with(42, vec![dep(41, Condition::AfterOk)]),
        with(41, vec![dep(40, Condition::AfterOk)]),
        with(
            45,
            vec![dep(40, Condition::AfterNotOk), dep(39, Condition::AfterOk)],
        ),
        with(
            46,
            vec![dep(38, Condition::AfterOk), dep(39, Condition::AfterOk)],
        ),
    ];
    s.parents = HashMap::from([
        (JobId(38), ParentState::Over { exit_code: Some(0) }),
        (JobId(39), ParentState::Active),
        (JobId(40), ParentState::Over { exit_code: Some(1) }),
        (JobId(41), ParentState::Active),
        (JobId(42), ParentState::Active),
    ]);
    let d = pass(&s, &config(Policy::FiFo));
    let cases = [
        (41, "job 40 ended with exit code 1 (afterok)"),
        (42, "job 41 will never run (afterok)"),
        (43, "waiting for job 41 (afterany)"),
        (44, "job 42 will never run (afterok)"),
        (45, "waiting for job 39 (afterok)"),
        (46, "waiting for job 39 (afterok)"),
    ];
    for (id, want) in cases {
        assert_eq!(why(&d, id), want, "job {id}");
    }
    let mut doomed: Vec<u64> = d.doomed.iter().map(|(j, _)| j.0).collect();
    doomed.sort_unstable();
    assert_eq!(doomed, vec![41, 42, 44]);
}

#[test]
fn placement() {
    let labelled = |mut n: Node, labels: &[u32]| {
        n.labels = labels.to_vec();
        n
    };
    let reserved = |mut n: Node, users: &[u32], projects: &[u32]| {
        n.reservation = Some(NodeReservation {
            users: users.to_vec(),
            projects: projects.to_vec(),
        });
        n
    };
    let with_labels = |mut j: Pending, labels: &[u32]| {
        j.labels = labels.to_vec();
        j
    };
    let gpus = |mut j: Pending, g: u32| {
        j.gpus = g;
        j
    };
    let plain = || node("plain", 8, 32.0, 0);
    // (scenario, nodes, running (user, node, cpu, ram, gpus), job, expected node or reason)
    type Case = (
        &'static str,
        Vec<Node>,
        Vec<(u32, u32, u32, f64, u32)>,
        Pending,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "label constraint picks the labelled node",
            vec![plain(), labelled(node("ssd", 8, 32.0, 0), &[SSD])],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[SSD]),
            "ssd",
        ),
        (
            "label no node has",
            vec![plain(), labelled(node("ssd", 8, 32.0, 0), &[SSD])],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[NVME]),
            "no node has label storage==nvme",
        ),
        (
            "labels no single node has",
            vec![
                labelled(node("ssd", 8, 32.0, 0), &[SSD]),
                labelled(node("gpu", 8, 32.0, 1), &[GPU]),
            ],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[SSD, GPU]),
            "no node has all the requested labels",
        ),
        (
            "gpu job goes to the gpu node",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 1),
            "gpu",
        ),
        (
            "cpu job keeps off the gpu node (best fit)",
            vec![node("gpu", 8, 32.0, 2), node("small", 2, 8.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "small",
        ),
        (
            "too many gpus",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 3),
            "no node has 3 gpus",
        ),
        (
            "gpus in use",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![(BOB, 1, 1, 1.0, 2)],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 1),
            "no node with 1 gpu free",
        ),
        (
            "reserved node is closed to others",
            vec![reserved(plain(), &[BOB], &[])],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "every node that fits is reserved for other users or projects",
        ),
        (
            "reserved node admits its user",
            vec![node("other", 8, 32.0, 0), reserved(plain(), &[ALICE], &[])],
            vec![(BOB, 0, 8, 1.0, 0)],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "plain",
        ),
        (
            "reserved node admits its project",
            vec![reserved(plain(), &[BOB], &[P80])],
            vec![],
            job(1, ALICE, P80, 1, 1.0),
            "plain",
        ),
        (
            "free room only on a node reserved for others",
            vec![node("full", 8, 32.0, 0), reserved(plain(), &[BOB], &[])],
            vec![(BOB, 0, 8, 1.0, 0)],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "no node with 1 cpu free",
        ),
        (
            "ram in use",
            vec![node("n", 8, 128.0, 0)],
            vec![(BOB, 0, 1, 96.0, 0)],
            job(1, ALICE, DEFAULT, 1, 64.0),
            "no node with 64 GB free",
        ),
        (
            "ram no node has",
            vec![node("n", 8, 128.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 1, 256.0),
            "no node has 256 GB",
        ),
        (
            "cpus no node has",
            vec![node("n", 8, 128.0, 0), node("m", 16, 16.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 32, 1.0),
            "no node has 32 cpus",
        ),
        (
            "cpus and ram on different nodes",
            vec![node("n", 8, 128.0, 0), node("m", 16, 16.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 12, 64.0),
            "no node has 12 cpus and 64 GB at once",
        ),
        (
            "free cpus and free ram on different nodes",
            vec![node("a", 8, 64.0, 0), node("b", 8, 64.0, 0)],
            vec![(BOB, 0, 0, 60.0, 0), (BOB, 1, 6, 0.0, 0)],
            job(1, ALICE, DEFAULT, 4, 16.0),
            "no node with 4 cpus and 16 GB free at once",
        ),
        (
            "best fit: the fullest node that fits",
            vec![node("roomy", 8, 32.0, 0), node("tight", 8, 32.0, 0)],
            vec![(BOB, 1, 6, 1.0, 0)],
            job(1, ALICE, DEFAULT, 2, 1.0),
            "tight",
        ),
        (
            "empty cluster",
            vec![],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "the cluster has no node",
        ),
    ];
    for (name, nodes, run, j, want) in cases {
        let mut s = base();
        s.nodes = nodes;
        s.running = run
            .iter()
            .map(|&(user, node, cpu, ram, gpus)| Running {
                gpus,
                ..running(user, node, cpu, ram, 10.0, None)
            })
            .collect();
        s.pending = vec![j];
        let d = pass(&s, &config(Policy::FiFo));
        let got = match d.dispatch.first() {
            Some(x) => s.nodes[x.node as usize].name.clone(),
            None => why(&d, 1),
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn backfill() {
    // node0: 8 cpus, 6 in use until now+100; node1: 4 cpus, 2 in use until now+1000.
    // (scenario, backfill, pending (id, cpu, walltime), dispatched, reasons, reservation)
    type Case = (
        &'static str,
        bool,
        Vec<(u64, u32, Option<f64>)>,
        Vec<u64>,
        Vec<(u64, &'static str)>,
        Option<(u64, u32, f64)>,
    );
    let cases: Vec<Case> = vec![
        (
            "small job uses a node the head does not need",
            true,
            vec![(1, 8, None), (2, 2, Some(500.0))],
            vec![2],
            vec![(1, "no node with 8 cpus free")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "a long job may not delay the head; a short one may fill the gap",
            true,
            vec![
                (1, 8, None),
                (2, 2, Some(500.0)),
                (3, 2, Some(500.0)),
                (4, 2, Some(50.0)),
            ],
            vec![2, 4],
            vec![(3, "behind 2 older jobs")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "a job without limit is estimated with the default",
            true,
            vec![(1, 8, None), (2, 2, Some(500.0)), (3, 2, None)],
            vec![2],
            vec![(3, "behind 2 older jobs")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "resources the head does not need at its start are free to use",
            true,
            vec![
                (1, 6, None),
                (2, 2, Some(500.0)),
                (3, 2, Some(500.0)),
                (4, 1, Some(500.0)),
            ],
            vec![2, 3],
            vec![(4, "no node with 1 cpu free")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "without backfill the small jobs take everything",
            false,
            vec![(1, 8, None), (2, 2, Some(500.0)), (3, 2, Some(500.0))],
            vec![2, 3],
            vec![(1, "no node with 8 cpus free")],
            None,
        ),
        (
            "jobs started in the pass count in the reservation estimate",
            true,
            vec![(1, 2, Some(50.0)), (2, 8, None), (3, 2, Some(50.0))],
            vec![1, 3],
            vec![(2, "no node with 8 cpus free")],
            Some((2, 0, NOW + 100.0)),
        ),
    ];
    for (name, backfill, pend, want, reasons, reservation) in cases {
        let mut s = base();
        s.nodes = vec![node("n0", 8, 64.0, 0), node("n1", 4, 64.0, 0)];
        s.running = vec![
            running(BOB, 0, 6, 1.0, 100.0, Some(200.0)),
            running(BOB, 1, 2, 1.0, 0.0, Some(1000.0)),
        ];
        s.pending = pend
            .iter()
            .map(|&(id, cpu, walltime)| Pending {
                walltime,
                ..job(id, ALICE, DEFAULT, cpu, 1.0)
            })
            .collect();
        let cfg = PassConfig {
            backfill,
            ..config(Policy::FiFo)
        };
        let d = pass(&s, &cfg);
        assert_eq!(ids(&d), want, "{name}");
        for (id, r) in reasons {
            assert_eq!(why(&d, id), r, "{name}: job {id}");
        }
        let got = d.reserved.map(|r| (r.job.0, r.node, r.start));
        assert_eq!(got, reservation, "{name}: reservation");
    }
}

/// Several passes over time: with EASY backfill the big job starts at its reserved time while
/// a stream of small jobs keeps arriving; without it, it waits until the stream dries up.
#[test]
fn head_job_is_not_starved() {
    fn simulate(backfill: bool) -> Option<f64> {
        let mut s = base();
        s.nodes = vec![node("n", 4, 64.0, 0)];
        let mut now = NOW;
        s.running = (0..4)
            .map(|i| running(BOB, 0, 1, 1.0, 0.0, Some(30.0 + 20.0 * f64::from(i))))
            .collect();
        let mut pending = vec![Pending {
            walltime: Some(100.0),
            ..job(1, ALICE, DEFAULT, 4, 1.0)
        }];
        let mut next_id = 2;
        let cfg = PassConfig {
            backfill,
            ..config(Policy::FiFo)
        };
        while now < NOW + 2000.0 {
            // Two short jobs arrive every 10 s.
            for _ in 0..2 {
                pending.push(Pending {
                    walltime: Some(40.0),
                    submitted: now,
                    ..job(next_id, BOB, DEFAULT, 1, 1.0)
                });
                next_id += 1;
            }
            s.now = now;
            s.running
                .retain(|r| r.started + r.walltime.unwrap_or(0.0) > now);
            s.pending = pending.clone();
            let d = pass(&s, &cfg);
            for x in &d.dispatch {
                if x.job.0 == 1 {
                    return Some(now);
                }
                if let Some(p) = pending.iter().find(|p| p.id == x.job) {
                    s.running.push(Running {
                        user: p.user,
                        node: x.node,
                        cpu: p.cpu,
                        ram: p.ram,
                        started: now,
                        walltime: p.walltime,
                        ..Running::default()
                    });
                }
            }
            pending.retain(|p| !d.dispatch.iter().any(|x| x.job == p.id));
            now += 10.0;
        }
        None
    }
    // The last of the initial jobs ends at now+90: the big one starts then.
    assert_eq!(simulate(true), Some(NOW + 90.0));
    assert_eq!(simulate(false), None);
}

#[test]
fn reasons_render() {
    use Condition::*;
    let cases: Vec<(Reason, &str)> = vec![
        (
            Reason::WaitingFor {
                parent: JobId(41),
                condition: AfterOk,
            },
            "waiting for job 41 (afterok)",
        ),
        (
            Reason::ParentEnded {
                parent: JobId(41),
                condition: AfterOk,
                exit_code: 1,
            },
            "job 41 ended with exit code 1 (afterok)",
        ),
        (
            Reason::Quota {
                scope: Scope::User,
                limit: Limit::Cpu,
                quota: 8.0,
                used: 8.0,
            },
            "user cpu quota 8 reached: 8 in use",
        ),
        (
            Reason::Quota {
                scope: Scope::Project,
                limit: Limit::Ram,
                quota: 64.0,
                used: 60.5,
            },
            "project ram quota 64 GB reached: 60.5 GB in use",
        ),
        (
            Reason::NoFreeNode {
                cpu: 1,
                gpus: 0,
                ram: 64.0,
                dim: Some(Dim::Ram),
            },
            "no node with 64 GB free",
        ),
        (
            Reason::NoFreeNode {
                cpu: 8,
                gpus: 2,
                ram: 0.5,
                dim: None,
            },
            "no node with 8 cpus, 0.5 GB and 2 gpus free at once",
        ),
        (
            Reason::TooLarge {
                cpu: 1,
                gpus: 1,
                ram: 1.0,
                dim: Some(Dim::Gpus),
            },
            "no node has 1 gpu",
        ),
        (
            Reason::NoLabel {
                label: Arc::from("storage==ssd"),
            },
            "no node has label storage==ssd",
        ),
        (
            Reason::Behind {
                ahead: 120,
                ranking: Ranking::Usage,
            },
            "behind 120 jobs of users with less usage",
        ),
        (
            Reason::Behind {
                ahead: 1,
                ranking: Ranking::Submission,
            },
            "behind 1 older job",
        ),
        (
            Reason::Invalid {
                what: "unknown user",
            },
            "invalid snapshot: unknown user",
        ),
    ];
    for (r, want) in cases {
        assert_eq!(r.to_string(), want);
    }
    assert!(std::mem::size_of::<Reason>() <= 24);
}

#[test]
fn invalid_indices_wait_with_a_reason() {
    let mut s = base();
    s.pending = vec![
        job(1, 99, DEFAULT, 1, 1.0),
        job(2, ALICE, 99, 1, 1.0),
        Pending {
            labels: vec![99],
            ..job(3, ALICE, DEFAULT, 1, 1.0)
        },
    ];
    s.running = vec![running(99, 99, 1, 1.0, 1.0, None)];
    let d = pass(&s, &config(fairshare_ref()));
    assert_eq!(why(&d, 1), "invalid snapshot: unknown user");
    assert_eq!(why(&d, 2), "invalid snapshot: unknown project");
    assert_eq!(why(&d, 3), "invalid snapshot: unknown label");
}

#[test]
fn decay_and_usage() {
    let day = 86_400.0;
    let cases = [
        (100.0, 7.0 * day, 7.0 * day, 50.0),
        (100.0, 14.0 * day, 7.0 * day, 25.0),
        (100.0, 0.0, 7.0 * day, 100.0),
        (100.0, -5.0, 7.0 * day, 100.0),
        (100.0, day, 0.0, 100.0),
    ];
    for (v, age, h, want) in cases {
        assert!(
            (decay(v, age, h) - want).abs() < 1e-9,
            "decay({v}, {age}, {h})"
        );
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

#[test]
fn weights_and_policy_from_config() {
    let mut w = Weights::default();
    for (i, key) in Weights::KEYS.iter().enumerate() {
        assert!(w.set(key, i as f64), "{key}");
    }
    assert!(!w.set("fairshare_nope", 1.0));
    assert_eq!(w.waiting_time, 0.0);
    assert_eq!(w.group, 8.0);
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

/// Random snapshots: every pending job is answered exactly once, and what is dispatched fits
/// the nodes, the labels, the reservations and the quotas.
#[test]
fn invariants_over_random_snapshots() {
    for seed in 1..60u64 {
        let mut g = Lcg(seed);
        let mut s = base();
        s.users = (0..6)
            .map(|i| Account {
                priority: g.below(101) as u8,
                quotas: Quotas {
                    cpu: [0, 8, 16][g.below(3) as usize],
                    ram: [0.0, 32.0][g.below(2) as usize],
                    time: 0.0,
                },
                usage: Usage::of_run(1, 1.0, g.unit() * 1e5),
                ..Account::named(&format!("u{i}"))
            })
            .collect();
        for p in s.projects.iter_mut() {
            p.quotas.cpu = [0, 12][g.below(2) as usize];
        }
        s.nodes = (0..8)
            .map(|i| {
                let mut n = node(&format!("n{i}"), 16, 64.0, [0, 0, 2][g.below(3) as usize]);
                if g.below(3) == 0 {
                    n.labels.push(SSD);
                }
                if g.below(5) == 0 {
                    n.reservation = Some(NodeReservation {
                        users: vec![g.below(6) as u32],
                        projects: vec![],
                    });
                }
                n
            })
            .collect();
        s.running = (0..10)
            .map(|_| Running {
                project: g.below(5) as u32,
                ..running(
                    g.below(6) as u32,
                    g.below(8) as u32,
                    1 + g.below(4) as u32,
                    1.0 + g.below(8) as f64,
                    g.unit() * 1000.0,
                    Some(2000.0),
                )
            })
            .collect();
        s.pending = (1..=80)
            .map(|id| {
                let mut j = job(
                    id,
                    g.below(6) as u32,
                    g.below(5) as u32,
                    1 + g.below(8) as u32,
                    1.0 + g.below(20) as f64,
                );
                j.gpus = if g.below(6) == 0 { 1 } else { 0 };
                if g.below(5) == 0 {
                    j.labels.push(SSD);
                }
                if g.below(8) == 0 {
                    j.deps.push(Dependency {
                        parent: JobId(g.below(id)),
                        condition: Condition::AfterAny,
                    });
                }
                j.walltime = Some(100.0 + g.unit() * 5000.0);
                j
            })
            .collect();
        for p in 0..80 {
            if g.below(2) == 0 {
                s.parents.insert(JobId(p), ParentState::Active);
            } else {
                s.parents
                    .insert(JobId(p), ParentState::Over { exit_code: Some(0) });
            }
        }
        for policy in [
            Policy::FiFo,
            fairshare_ref(),
            Policy::Fairshare(Fair::default()),
        ] {
            let cfg = PassConfig {
                max_dispatch: 1 + g.below(30) as usize,
                ..config(policy)
            };
            let d = pass(&s, &cfg);
            let mut seen: Vec<u64> = d
                .dispatch
                .iter()
                .map(|x| x.job.0)
                .chain(d.waiting.iter().map(|(j, _)| j.0))
                .chain(d.doomed.iter().map(|(j, _)| j.0))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (1..=80).collect::<Vec<u64>>(), "seed {seed}");
            assert!(d.dispatch.len() <= cfg.max_dispatch);
            let mut cpu = vec![0i64; s.nodes.len()];
            let mut ram = vec![0f64; s.nodes.len()];
            let mut gpu = vec![0i64; s.nodes.len()];
            let mut ucpu = vec![0u32; s.users.len()];
            let mut pcpu = vec![0u32; s.projects.len()];
            for r in &s.running {
                cpu[r.node as usize] += i64::from(r.cpu);
                ram[r.node as usize] += r.ram;
                gpu[r.node as usize] += i64::from(r.gpus);
                ucpu[r.user as usize] += r.cpu;
                pcpu[r.project as usize] += r.cpu;
            }
            for x in &d.dispatch {
                let j = s.pending.iter().find(|p| p.id == x.job).unwrap();
                let n = &s.nodes[x.node as usize];
                assert!(j.labels.iter().all(|l| n.labels.contains(l)), "seed {seed}");
                if let Some(r) = &n.reservation {
                    assert!(r.admits(j.user, j.project), "seed {seed}");
                }
                let k = x.node as usize;
                cpu[k] += i64::from(j.cpu);
                ram[k] += j.ram;
                gpu[k] += i64::from(j.gpus);
                assert!(
                    cpu[k] <= i64::from(n.cpus),
                    "seed {seed}: cpus of {}",
                    n.name
                );
                assert!(ram[k] <= n.ram + 1e-9, "seed {seed}: ram");
                assert!(gpu[k] <= i64::from(n.gpus), "seed {seed}: gpus");
                ucpu[j.user as usize] += j.cpu;
                pcpu[j.project as usize] += j.cpu;
                let uq = s.users[j.user as usize].quotas.cpu;
                assert!(
                    uq == 0 || ucpu[j.user as usize] <= uq,
                    "seed {seed}: user quota"
                );
                let pq = s.projects[j.project as usize].quotas.cpu;
                if j.project != DEFAULT {
                    assert!(pq == 0 || pcpu[j.project as usize] <= pq, "seed {seed}");
                }
            }
        }
    }
}
