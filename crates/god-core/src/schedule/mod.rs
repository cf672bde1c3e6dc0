//! The scheduling pass: which pending jobs to dispatch now, on which node, and why the others
//! wait. Pure: [`pass`] reads a [`Snapshot`] (with `now` in it) and returns a [`Decision`]; the
//! caller applies it. No I/O, no clock.
//!
//! # One pass
//!
//! 0. **Holds.** A job held by the caller (its plugin verdict in [`Pending::hold`]) or whose
//!    user is held ([`Account::hold`]: disabled, guest not active, disk quota full) waits with
//!    that reason, before anything else is looked at.
//! 1. **Dependencies.** Each `(parent, condition)` is checked against the parent's state given
//!    in the snapshot: `afterok` holds when the parent is over with exit code 0, `afterany`
//!    when it is over, `afternotok` when it is over with a non-zero code or without one (it
//!    never ran). A parent still active makes the child wait ("waiting for job 41 (afterok)");
//!    a condition that can no longer hold (parent over with the wrong outcome, or missing)
//!    puts the child in [`Decision::doomed`] ("job 41 ended with exit code 1 (afterok)").
//!    Children are visited in id order, so an `afterok` child of a job doomed in this same
//!    pass is doomed too ("job 41 will never run (afterok)").
//! 2. **Order** by the [`Policy`] (below).
//! 3. **In that order**, each job is checked for: a node class able to hold it at all
//!    (labels, reservations, total size: "no node has label storage==ssd", "no node has 64
//!    cpus"); its quotas (below); then placement. Jobs dispatched earlier in the pass count
//!    against quotas and free resources for the later ones.
//!
//! # Policies
//!
//! * **`FiFo`**: submission order, i.e. id order.
//! * **`FairShare`** (reference 2.5, exactly): per job
//!   ```text
//!   ticket = (1 - norm(wait))         * W_wait
//!          + norm(user_time)          * W_user_time  + norm(user_cpu)    * W_user_cpu
//!          + norm(user_ram)           * W_user_ram   + norm(project_time) * W_group_time
//!          + norm(project_cpu)        * W_group_cpu  + norm(project_ram)  * W_group_ram
//!          + (1 - user_prio)          * W_user       + (1 - project_prio) * W_group
//!   ```
//!   ascending, ties to the lower id. `wait = now - submitted`; `norm(v, min, max)` is 0.5 when
//!   `max - min < 1`, else `(v - min) / (max - min)`, with bounds over the users (projects) that
//!   have pending jobs, and over all pending jobs for `wait`. Usage figures are our real ones
//!   (decision 6): time = wall seconds, cpu = cpu·seconds, ram = GB·seconds, decayed as the
//!   caller passes them plus running jobs charged up to `now`. Priorities are `/100`; project
//!   `default` has priority 0.5, counts as zeros in the project bounds, then takes the project
//!   maxima as its usage (the worst consumer).
//! * **`fairshare`** (ours): for every user `u` with pending or running jobs,
//!   `F_u = (usage_u / Σ usage) ÷ (share_u / Σ share)` where `usage` is decayed consumed
//!   cpu·seconds (finished jobs decayed by the caller with `fairshare_half_life`, running jobs
//!   charged `cpu × (now - started)` inside the pass) and `share = clamp(priority, 1, 100)`;
//!   the same `F_p` for projects (project `default` is an ordinary project here). A job's key
//!   is `W_user·F_u + W_project·F_p`, ascending (1 = exactly at its share, below 1 =
//!   under-served), ties to the older job (the lower id). Always serving the most
//!   under-served account keeps `usage_u / share_u` level across competing users, so on a
//!   saturated cluster each user's consumed cpu·seconds converge to its priority's share
//!   (1:2:3 → 1/6, 2/6, 3/6; see the `god-sim` crate). Because running jobs are charged from
//!   the moment they start, a burst of submissions cannot grab more than its share for long.
//!
//! # Quotas
//!
//! A job stays pending ("user cpu quota 8 reached: 8 in use") when it would push its user's or
//! its project's concurrent cpus or GB over the quota, or when the user's or project's wall
//! seconds in the window (finished jobs' `window_wall_seconds` + the running jobs' elapsed
//! time) already reached the time quota. 0 means unlimited; project `default` has no quota. A
//! job that alone exceeds a quota is rejected at submission: [`exceeds_alone`].
//!
//! # Placement: best fit
//!
//! A job may use the nodes carrying all its labels whose reservation, if any, lists its user or
//! its project. Among those with enough free cpus, GB and gpus it goes to the **best fit**: the
//! node left with the fewest spare gpus (GPU nodes stay for GPU jobs), then the fewest spare
//! cpus, then the least spare ram; ties to the lower node index. Within a pass free resources
//! only shrink, so a shape that fit nowhere is remembered per node class and every job at least
//! as large is answered without a scan (this is what keeps a pass over 100k jobs on a
//! saturated cluster in milliseconds).
//!
//! # Backfill: EASY
//!
//! The first job in order that passes its quotas but fits on no node now gets a reservation:
//! the node of its class where it can start the earliest, estimated from the expected ends of
//! the jobs there (running ones: `started + walltime`; ones dispatched earlier in this pass:
//! `now + walltime`; no limit: [`PassConfig::default_walltime`]; an overdue job is expected to
//! end now). Every later job may start now, on the reserved node only if it does not delay the
//! reservation: its own estimated end (`now + walltime`, or the default) is not after the
//! reserved start, or it fits in what the reserved node has left at that start once the
//! reserved job is placed (those resources are then consumed). Other nodes are free for
//! anyone, and the placement avoids the reserved node when another fits. One reservation per
//! pass: when the head job starts, the next blocked job gets the reservation, so no job is
//! starved by smaller ones and small jobs still fill the gaps. With
//! [`PassConfig::backfill`] off there is no reservation: every job that fits starts (the
//! original's greedy behaviour).
//!
//! # Reasons
//!
//! Every job left pending has a [`Reason`] (data; the text is rendered by `Display` only on
//! demand, so the caller can compare and write only changed ones). "Behind N jobs" is given to
//! jobs that fit now but are held by the dispatch limit or by the reservation; N counts the
//! jobs ahead of it that were dispatched or left waiting for resources in this pass. Each
//! reason has a [`ReasonKind`], a stable code the caller stores next to the text: a reason of
//! a new kind is written at once, one whose figures only moved now and then
//! ([`reason_to_write`]).
//!
//! # Cost
//!
//! O(n log n) for the order plus O(n) memo look-ups; nodes are scanned only to place a job and
//! when a new shape fails. See the `god-sim` crate's `sched-bench` for measured times.

mod deps;
mod ledger;
mod model;
mod order;
mod place;
mod reason;
#[cfg(test)]
mod test_support;

pub use ledger::exceeds_alone;
pub use model::{
    decay, Account, Condition, Dependency, Interner, LabelId, Node, NodeIx, NodeReservation,
    ParentState, Pending, ProjectIx, Quotas, Running, Snapshot, Usage, UserIx,
};
pub use order::{Fair, Policy, Weights, DEFAULT_HALF_LIFE};
pub use reason::{reason_to_write, Dim, Hold, Limit, Ranking, Reason, ReasonKind, Scope};

use crate::task::JobId;
use deps::Gate;
use ledger::Ledger;
use place::{Find, Placer, Shape, Want};
use std::sync::Arc;

/// Settings of a pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassConfig {
    pub policy: Policy,
    /// Jobs dispatched per pass at most (`max_job_pop`).
    pub max_dispatch: usize,
    /// Estimated run time, in seconds, of a job without a wall-time limit (for backfill).
    pub default_walltime: f64,
    /// EASY backfill (reservation for the first blocked job); off: greedy.
    pub backfill: bool,
    /// Keep the ready jobs' order and scores in [`Decision::ranked`] (the administrators'
    /// view of the queue; the scheduler's own passes do not need it).
    pub keep_order: bool,
}

impl Default for PassConfig {
    fn default() -> Self {
        PassConfig {
            policy: Policy::FiFo,
            max_dispatch: 100,
            default_walltime: 7.0 * 86_400.0,
            backfill: true,
            keep_order: false,
        }
    }
}

/// A job to start now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispatch {
    pub job: JobId,
    pub node: NodeIx,
    /// The policy's score (`FairShare`: the ticket, to persist as `ticket_share`;
    /// `fairshare`: the usage/share factor; `FiFo`: 0).
    pub score: f64,
}

/// The backfill reservation held in this pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reserved {
    pub job: JobId,
    pub node: NodeIx,
    /// Estimated start, seconds since the epoch.
    pub start: f64,
}

/// What the pass decided. Every pending job of the snapshot is in exactly one of `dispatch`,
/// `waiting`, `doomed`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// In policy order.
    pub dispatch: Vec<Dispatch>,
    /// Jobs left pending, with why.
    pub waiting: Vec<(JobId, Reason)>,
    /// Jobs whose dependency can never be satisfied: to end as over, `dependency failed`.
    pub doomed: Vec<(JobId, Reason)>,
    pub reserved: Option<Reserved>,
    /// With [`PassConfig::keep_order`]: the jobs whose gates are open (not held, dependencies
    /// met), in policy order, with their score.
    pub ranked: Vec<(JobId, f64)>,
}

/// A ready job, with what the placement loop reads.
#[derive(Clone, Copy)]
struct Hot<'a> {
    id: JobId,
    want: Want<'a>,
    score: f64,
}

/// One scheduling pass.
pub fn pass(s: &Snapshot, cfg: &PassConfig) -> Decision {
    let mut d = Decision::default();
    let gates = deps::gates(s);
    let mut ledger = Ledger::new(s);
    let scorer = order::Scorer::new(s, &cfg.policy, &ledger);
    let mut placer = Placer::new(s, cfg.default_walltime);
    let (nu, np, nl) = (s.users.len(), s.projects.len(), s.labels.len());
    // One sequential sweep: gates, then what the placement loop reads, and the sort key.
    let mut ready: Vec<Hot> = Vec::with_capacity(s.pending.len());
    let mut keys: Vec<(u64, u64, u32)> = Vec::with_capacity(s.pending.len());
    for (i, j) in s.pending.iter().enumerate() {
        let invalid = if j.user as usize >= nu {
            Some("unknown user")
        } else if j.project as usize >= np {
            Some("unknown project")
        } else if j.labels.iter().any(|&l| l as usize >= nl) {
            Some("unknown label")
        } else {
            None
        };
        if let Some(what) = invalid {
            d.waiting.push((j.id, Reason::Invalid { what }));
            continue;
        }
        let hold = j.hold.as_ref().or(s.users[j.user as usize].hold.as_ref());
        if let Some(hold) = hold {
            d.waiting.push((j.id, Reason::Held(Arc::clone(hold))));
            continue;
        }
        if !j.deps.is_empty() {
            match gates.get(&(i as u32)) {
                Some(Gate::Wait(r)) => {
                    d.waiting.push((j.id, r.clone()));
                    continue;
                }
                Some(Gate::Doomed(r)) => {
                    d.doomed.push((j.id, r.clone()));
                    continue;
                }
                None => {}
            }
        }
        let (k1, k2, score) = scorer.key(s.now, j);
        keys.push((k1, k2, ready.len() as u32));
        ready.push(Hot {
            id: j.id,
            want: Want {
                class: placer.class_of(j),
                shape: Shape::of(j),
                user: j.user,
                project: j.project,
                labels: &j.labels,
                est_end: s.now + j.walltime.unwrap_or(cfg.default_walltime).max(0.0),
            },
            score,
        });
    }
    drop(gates);
    drop(scorer);
    keys.sort_unstable();
    // In policy order. The reads are random but independent, so they overlap; the loop below
    // then reads sequentially.
    let hot: Vec<Hot> = keys.iter().map(|k| ready[k.2 as usize]).collect();
    drop(keys);
    drop(ready);
    if cfg.keep_order {
        d.ranked = hot.iter().map(|j| (j.id, j.score)).collect();
    }
    d.waiting.reserve(hot.len());
    let ranking = cfg.policy.ranking();
    let mut ahead: u32 = 0;
    let mut reserved = Vec::new();
    for j in &hot {
        let w = &j.want;
        let shape = w.shape;
        placer.reserved_for(w, &mut reserved);
        if let Err(reason) = placer.static_check(w, &reserved) {
            d.waiting.push((j.id, reason));
            continue;
        }
        if let Some(reason) = ledger.quota_block(s, w.user, w.project, shape) {
            d.waiting.push((j.id, reason));
            continue;
        }
        let open = d.dispatch.len() < cfg.max_dispatch;
        match placer.find(w, &reserved, open) {
            Find::Node(node) if open => {
                placer.commit(node, shape, w.est_end);
                ledger.take(w.user, w.project, shape);
                d.dispatch.push(Dispatch {
                    job: j.id,
                    node,
                    score: j.score,
                });
            }
            Find::Node(_) | Find::Held => {
                d.waiting.push((j.id, Reason::Behind { ahead, ranking }));
            }
            Find::NoFree(dim) => {
                d.waiting.push((
                    j.id,
                    Reason::NoFreeNode {
                        cpu: shape.cpu,
                        gpus: shape.gpus,
                        ram: shape.ram,
                        dim,
                    },
                ));
                if open && cfg.backfill {
                    placer.reserve(j.id, w, &reserved);
                }
            }
        }
        ahead = ahead.saturating_add(1);
    }
    d.reserved = placer.shadow.map(|sh| Reserved {
        job: sh.job,
        node: sh.node,
        start: sh.start,
    });
    d
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn max_dispatch_holds_the_rest_behind() {
        struct Case {
            name: &'static str,
            policy: Policy,
            max_dispatch: usize,
            want: Vec<u64>,
            /// Why job 3 waits, why job 5 does.
            why3: &'static str,
            why5: &'static str,
        }
        let cases = [
            Case {
                name: "FiFo, 2 a pass",
                policy: Policy::FiFo,
                max_dispatch: 2,
                want: vec![1, 2],
                why3: "behind 2 older jobs",
                why5: "behind 4 older jobs",
            },
            Case {
                name: "FairShare, 2 a pass",
                policy: fairshare_ref(),
                max_dispatch: 2,
                want: vec![1, 2],
                why3: "behind 2 jobs with a better fair-share ticket",
                why5: "behind 4 jobs with a better fair-share ticket",
            },
            Case {
                name: "fairshare, 2 a pass",
                policy: Policy::Fairshare(Fair::default()),
                max_dispatch: 2,
                want: vec![1, 2],
                why3: "behind 2 jobs of users with less usage",
                why5: "behind 4 jobs of users with less usage",
            },
            Case {
                name: "FiFo, none a pass",
                policy: Policy::FiFo,
                max_dispatch: 0,
                want: vec![],
                why3: "behind 2 older jobs",
                why5: "behind 4 older jobs",
            },
        ];
        for c in cases {
            let mut s = base();
            s.pending = (1..=5).map(|i| job(i, ALICE, DEFAULT, 1, 1.0)).collect();
            let cfg = PassConfig {
                max_dispatch: c.max_dispatch,
                ..config(c.policy)
            };
            let d = pass(&s, &cfg);
            assert_eq!(ids(&d), c.want, "{}", c.name);
            assert_eq!(why(&d, 3), c.why3, "{}: job 3", c.name);
            assert_eq!(why(&d, 5), c.why5, "{}: job 5", c.name);
            assert_eq!(d.waiting.len() + d.dispatch.len(), 5, "{}", c.name);
            assert_eq!(
                d.reserved, None,
                "{}: no reservation once the limit is reached",
                c.name
            );
        }
    }

    /// What the caller holds back waits with its reason, before dependencies and placement: a
    /// disabled user, a guest not yet active, a full disk quota, a plugin's verdict.
    #[test]
    fn holds_come_first_and_say_why() {
        struct Case {
            name: &'static str,
            /// Of alice, whose jobs are 50 and 51.
            user: Option<Hold>,
            /// Of job 50.
            job: Option<Hold>,
            want: &'static str,
        }
        let cases = [
            Case {
                name: "nothing held",
                user: None,
                job: None,
                want: "dispatched",
            },
            Case {
                name: "a disabled account",
                user: Some(Hold::AccountDisabled),
                job: None,
                want: "the account is disabled: its jobs wait",
            },
            Case {
                name: "a guest not active",
                user: Some(Hold::GuestInactive),
                job: None,
                want: "the guest account is not active: its jobs wait for an administrator",
            },
            Case {
                name: "a full disk quota",
                user: Some(Hold::DiskQuota {
                    quota: 100,
                    used: 150,
                }),
                job: None,
                want: "disk quota 100 bytes reached: 150 bytes in job directories (archive \
                       old jobs to free them)",
            },
            Case {
                name: "a plugin's verdict",
                user: None,
                job: Some(Hold::Plugin {
                    reason: Arc::from("the fake watcher holds jobs named norun"),
                }),
                want: "the fake watcher holds jobs named norun",
            },
        ];
        for c in cases {
            let name = c.name;
            let mut s = base();
            let user_held = c.user.is_some();
            s.users[ALICE as usize].hold = c.user.map(Arc::new);
            // Its dependency is doomed, but the hold is said first (and the job is not ended).
            let doomed_dep = Dependency {
                parent: JobId(41),
                condition: Condition::AfterOk,
            };
            s.parents.insert(JobId(41), ParentState::Missing);
            s.pending = vec![
                Pending {
                    hold: c.job.map(Arc::new),
                    ..job(50, ALICE, DEFAULT, 1, 1.0)
                },
                Pending {
                    deps: vec![doomed_dep],
                    ..job(51, ALICE, DEFAULT, 1, 1.0)
                },
                job(52, BOB, DEFAULT, 1, 1.0),
            ];
            let d = pass(&s, &config(Policy::FiFo));
            assert_eq!(why(&d, 50), c.want, "{name}");
            if user_held {
                assert_eq!(why(&d, 51), c.want, "{name}: the whole account waits");
                assert!(
                    d.doomed.is_empty(),
                    "{name}: held before its dependency is judged"
                );
            }
            assert_eq!(why(&d, 52), "dispatched", "{name}: bob's job is not held");
        }
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
        let cases = [
            (1, "invalid snapshot: unknown user"),
            (2, "invalid snapshot: unknown project"),
            (3, "invalid snapshot: unknown label"),
        ];
        for (id, want) in cases {
            assert_eq!(why(&d, id), want, "job {id}");
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
}
