//! What the scheduling tables share: a base snapshot (three users, five projects, one big
//! node), builders of its parts, and readers of a [`Decision`].

use super::*;
use std::sync::Arc;

pub(super) const NOW: f64 = 1_000_000.0;
pub(super) const ALICE: u32 = 0;
pub(super) const BOB: u32 = 1;
pub(super) const CAROL: u32 = 2;
pub(super) const DEFAULT: u32 = 0;
pub(super) const P80: u32 = 1;
pub(super) const P20: u32 = 2;
pub(super) const P50: u32 = 3;
pub(super) const PUSED: u32 = 4;
pub(super) const SSD: u32 = 0;
pub(super) const NVME: u32 = 1;
pub(super) const GPU: u32 = 2;

pub(super) fn account(name: &str, priority: u8) -> Account {
    Account {
        priority,
        ..Account::named(name)
    }
}

pub(super) fn node(name: &str, cpus: u32, ram: f64, gpus: u32) -> Node {
    Node {
        name: name.into(),
        cpus,
        ram,
        gpus,
        ..Node::default()
    }
}

/// Submitted a few milliseconds apart, as in the reference tests (waiting-time spread < 1 s).
pub(super) fn job(id: u64, user: u32, project: u32, cpu: u32, ram: f64) -> Pending {
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

pub(super) fn running(
    user: u32,
    node: u32,
    cpu: u32,
    ram: f64,
    age: f64,
    walltime: Option<f64>,
) -> Running {
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
pub(super) fn base() -> Snapshot {
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

pub(super) fn config(policy: Policy) -> PassConfig {
    PassConfig {
        policy,
        max_dispatch: 1000,
        ..PassConfig::default()
    }
}

pub(super) fn fairshare_ref() -> Policy {
    Policy::FairShare(Weights::default())
}

/// The ids dispatched, in order.
pub(super) fn ids(d: &Decision) -> Vec<u64> {
    d.dispatch.iter().map(|x| x.job.0).collect()
}

/// Why job `id` waits or is doomed, as the user reads it; "dispatched" if it is not.
pub(super) fn why(d: &Decision, id: u64) -> String {
    d.waiting
        .iter()
        .chain(d.doomed.iter())
        .find(|(j, _)| j.0 == id)
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| "dispatched".into())
}

/// A tiny deterministic generator for property tables.
pub(super) struct Lcg(pub u64);

impl Lcg {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(super) fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}
