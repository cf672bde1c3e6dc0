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
//! jobs ahead of it that were dispatched or left waiting for resources in this pass.
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
mod tests;

pub use ledger::exceeds_alone;
pub use model::{
    decay, Account, Condition, Dependency, Interner, LabelId, Node, NodeIx, NodeReservation,
    ParentState, Pending, ProjectIx, Quotas, Running, Snapshot, Usage, UserIx,
};
pub use order::{Fair, Policy, Weights, DEFAULT_HALF_LIFE};
pub use reason::{Dim, Hold, Limit, Ranking, Reason, Scope};

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
}

impl Default for PassConfig {
    fn default() -> Self {
        PassConfig {
            policy: Policy::FiFo,
            max_dispatch: 100,
            default_walltime: 7.0 * 86_400.0,
            backfill: true,
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
