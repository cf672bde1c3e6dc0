//! Large synthetic snapshots for benchmarking one pass: many users and projects with decayed
//! usage and quotas, a thousand nodes with labels and a few reservations, 97% busy, and a
//! queue far larger than the free room, so most jobs stay pending.

use crate::rng::Rng;
use god_core::schedule::{
    Account, Condition, Dependency, Interner, Node, NodeReservation, ParentState, Pending, Quotas,
    Running, Snapshot, Usage,
};
use god_core::JobId;
use std::collections::HashMap;

/// The shape of a benchmark snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub pending: usize,
    pub users: usize,
    pub projects: usize,
    pub nodes: usize,
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            pending: 100_000,
            users: 1_000,
            projects: 50,
            nodes: 1_000,
            seed: 1,
        }
    }
}

pub const NOW: f64 = 1.7e9;
const DAY: f64 = 86_400.0;

/// Label ids of [`cluster`]'s label table.
pub const SSD: u32 = 0;
pub const HIGHMEM: u32 = 1;
pub const GPU: u32 = 2;
pub const RACK0: u32 = 3;
pub const RACKS: u32 = 10;

/// A user or project that has consumed `cpu_seconds` (4 GB per cpu, two cpus per job).
fn account(name: String, priority: u8, quotas: Quotas, cpu_seconds: f64) -> Account {
    Account {
        name,
        priority,
        quotas,
        usage: Usage {
            cpu_seconds,
            ram_seconds: cpu_seconds * 4.0,
            wall_seconds: cpu_seconds / 2.0,
        },
        window_wall_seconds: cpu_seconds / 2.0,
        hold: None,
    }
}

/// Everything but the pending jobs: accounts, nodes (about 97% of their cpus busy), running
/// jobs.
pub fn cluster(spec: &Spec) -> Snapshot {
    let mut rng = Rng::new(spec.seed ^ 0xC1u64);
    let mut labels = Interner::default();
    for l in ["storage==ssd", "mem==high", "gpu==yes"] {
        labels.intern(l);
    }
    for r in 0..RACKS {
        labels.intern(&format!("rack==r{r}"));
    }
    let users: Vec<Account> = (0..spec.users)
        .map(|i| {
            let cpu_seconds = 10f64.powf(rng.range(3.0, 7.0));
            let priority = if rng.chance(0.8) {
                50
            } else {
                rng.range(10.0, 95.0) as u8
            };
            let quotas = if i % 10 == 0 {
                Quotas {
                    cpu: 256,
                    ram: 1024.0,
                    time: 0.0,
                }
            } else {
                Quotas::default()
            };
            account(format!("user{i}"), priority, quotas, cpu_seconds)
        })
        .collect();
    let projects: Vec<Account> = (0..spec.projects.max(1))
        .map(|i| {
            if i == 0 {
                return Account::named("default");
            }
            let cpu_seconds = 10f64.powf(rng.range(4.0, 8.0));
            let priority = rng.range(20.0, 80.0) as u8;
            let quotas = if i % 10 == 3 {
                Quotas {
                    cpu: 4_000,
                    ram: 0.0,
                    time: 0.0,
                }
            } else {
                Quotas::default()
            };
            account(format!("project{i}"), priority, quotas, cpu_seconds)
        })
        .collect();
    let nodes: Vec<Node> = (0..spec.nodes)
        .map(|i| {
            let kind = rng.unit();
            let (cpus, ram, gpus, mut l) = if kind < 0.02 {
                (32, 256.0, 4, vec![GPU])
            } else if kind < 0.10 {
                (64, 1024.0, 0, vec![HIGHMEM])
            } else {
                (64, 256.0, 0, vec![])
            };
            if rng.chance(0.3) {
                l.push(SSD);
            }
            l.push(RACK0 + (i as u32 % RACKS));
            let reservation = (i % 50 == 7).then(|| NodeReservation {
                users: (0..3)
                    .map(|k| ((i * 7 + k * 13) % spec.users) as u32)
                    .collect(),
                projects: vec![1 + (i % (spec.projects.max(2) - 1)) as u32],
            });
            Node {
                name: format!("node{i:04}"),
                cpus,
                ram,
                gpus,
                labels: l,
                reservation,
            }
        })
        .collect();
    let mut running = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let (mut cpu, mut ram, mut gpus) = (0u32, 0.0f64, 0u32);
        let target = f64::from(n.cpus) * 0.97;
        let mut misses = 0;
        while f64::from(cpu) < target && misses < 20 {
            let c = [1, 2, 4, 8, 16][rng.below(5) as usize];
            let r = f64::from(c) * [1.0, 2.0, 4.0][rng.below(3) as usize];
            let g = u32::from(n.gpus > gpus && rng.chance(0.5));
            if cpu + c > n.cpus || ram + r > n.ram {
                misses += 1;
                continue;
            }
            let user = rng.below(spec.users as u64) as u32;
            running.push(Running {
                user,
                project: home_project(user, spec),
                node: i as u32,
                cpu: c,
                gpus: g,
                ram: r,
                started: NOW - rng.range(0.0, DAY),
                walltime: rng
                    .chance(0.8)
                    .then(|| rng.range(3600.0, 2.0 * DAY).round()),
            });
            cpu += c;
            ram += r;
            gpus += g;
        }
    }
    Snapshot {
        now: NOW,
        pending: Vec::new(),
        running,
        users,
        projects,
        nodes,
        labels: labels.names().to_vec(),
        parents: HashMap::new(),
        hold_all: None,
    }
}

fn home_project(user: u32, spec: &Spec) -> u32 {
    // A third of the users work in the project `default`.
    let np = spec.projects.max(2) as u32;
    match user % 3 {
        0 => 0,
        _ => 1 + user % (np - 1),
    }
}

/// The pending queue: skewed users, a realistic size mix (most small, a few wide), 2% GPU,
/// some label constraints, 1% with a dependency. Submitted over the last week, in id order.
pub fn pending(spec: &Spec) -> (Vec<Pending>, HashMap<JobId, ParentState>) {
    let mut rng = Rng::new(spec.seed ^ 0x9E4u64);
    let n = spec.pending;
    let mut jobs = Vec::with_capacity(n);
    let mut parents = HashMap::new();
    let cpus = [
        (1u32, 40.0),
        (2, 20.0),
        (4, 20.0),
        (8, 10.0),
        (16, 7.0),
        (32, 3.0),
    ];
    for k in 0..n {
        let id = 1_000_000 + k as u64;
        // Skewed: a few users own most of the queue.
        let user = ((rng.unit().powi(3)) * spec.users as f64) as u32;
        let project = if rng.chance(0.7) {
            home_project(user, spec)
        } else {
            rng.below(spec.projects.max(1) as u64) as u32
        };
        let cpu = rng.weighted(&cpus).unwrap_or(1);
        let gpus = u32::from(rng.chance(0.02));
        let mut ram = f64::from(cpu) * [1.0, 2.0, 4.0, 8.0][rng.below(4) as usize];
        let x = rng.unit();
        let labels = if x < 0.05 {
            vec![SSD]
        } else if x < 0.07 {
            ram *= 4.0;
            vec![HIGHMEM]
        } else if x < 0.08 {
            vec![RACK0 + rng.below(u64::from(RACKS)) as u32]
        } else if gpus > 0 {
            vec![GPU]
        } else {
            Vec::new()
        };
        let deps = if k > 0 && rng.chance(0.01) {
            let parent = JobId(id - 1 - rng.below((k as u64).min(1000)));
            let state = if rng.chance(0.5) {
                ParentState::Active
            } else {
                ParentState::Over {
                    exit_code: Some(if rng.chance(0.9) { 0 } else { 1 }),
                }
            };
            parents.insert(parent, state);
            vec![Dependency {
                parent,
                condition: Condition::AfterOk,
            }]
        } else {
            Vec::new()
        };
        jobs.push(Pending {
            id: JobId(id),
            user,
            project,
            cpu,
            gpus,
            ram,
            submitted: NOW - 7.0 * DAY * (1.0 - k as f64 / n as f64),
            walltime: rng.chance(0.8).then(|| rng.range(600.0, 2.0 * DAY).round()),
            labels,
            deps,
            hold: None,
        });
    }
    (jobs, parents)
}

/// A full benchmark snapshot.
pub fn snapshot(spec: &Spec) -> Snapshot {
    let mut s = cluster(spec);
    let (jobs, parents) = pending(spec);
    s.pending = jobs;
    s.parents = parents;
    s
}

/// Bytes of the pending-job representation: the structs plus their heap (labels, deps).
pub fn pending_bytes(jobs: &[Pending]) -> usize {
    jobs.iter()
        .map(|j| {
            std::mem::size_of::<Pending>()
                + j.labels.capacity() * std::mem::size_of::<u32>()
                + j.deps.capacity() * std::mem::size_of::<Dependency>()
        })
        .sum()
}
