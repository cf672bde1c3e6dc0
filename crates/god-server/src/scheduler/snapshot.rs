//! Turn what the database says into the scheduling pass's [`Snapshot`]: intern users, projects
//! and labels, decay recorded usage to `now`, describe the executor's node, and say what is held
//! back (maintenance mode, disabled accounts, inactive guests, full disk quotas, plugin
//! verdicts), so that the pure pass gives every pending job its reason. Pure.

use god_core::config::Config;
use god_core::node::NodeReport;
use god_core::schedule::{
    Account, Dependency, Hold, Interner, Node, NodeReservation, ParentState, Pending, Running,
    Snapshot, Usage,
};
use god_core::size::parse_duration_secs;
use god_core::{deps, JobId, Primary, Task};
use god_store::{Maintenance, PendingRow, ProjectRecord, UsageRecord, UserRecord};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Inputs<'a> {
    pub now: f64,
    pub config: &'a Config,
    pub pending: &'a [PendingRow],
    pub running: &'a [Task],
    pub users: &'a [UserRecord],
    pub projects: &'a [ProjectRecord],
    pub usage: &'a [UsageRecord],
    /// The nodes jobs may be placed onto, named and labelled as the pass sees them (their
    /// own labels, besides the configured `node_labels`).
    pub nodes: &'a [NodeReport],
    /// State and exit code of every dependency parent that exists.
    pub parents: &'a HashMap<JobId, (Primary, Option<i64>)>,
    /// Users whose job directories fill their disk quota: (quota, bytes used).
    pub disk_full: &'a HashMap<String, (u64, u64)>,
    /// Jobs a watcher plugin holds back, and why.
    pub plugin_holds: &'a HashMap<JobId, String>,
    /// Maintenance mode: while on, every job waits with it.
    pub maintenance: &'a Maintenance,
}

fn walltime(own: Option<&str>, config: &Config) -> Option<f64> {
    let secs = own
        .and_then(|m| parse_duration_secs(m).ok())
        .unwrap_or(config.maxlifespan.secs);
    (secs > 0).then_some(secs as f64)
}

pub fn build(i: &Inputs<'_>) -> Snapshot {
    let config = i.config;
    let half_life = config.fairshare_half_life.as_f64();
    let window_start = i.now - config.user_reset_usage_duration as f64 * 86_400.0;
    let mut users = Interner::default();
    let mut projects = Interner::default();
    let mut labels = Interner::default();

    let pending: Vec<Pending> = i
        .pending
        .iter()
        .map(|p| Pending {
            id: p.id,
            user: users.intern(&p.user),
            project: projects.intern(&p.project),
            cpu: p.cpu,
            gpus: p.gpus,
            ram: p.ram,
            submitted: p.date,
            walltime: walltime(p.maxlifespan.as_deref(), config),
            labels: p.labels.iter().map(|l| labels.intern(l)).collect(),
            deps: deps::decode(&p.deps)
                .into_iter()
                .map(|d| Dependency {
                    parent: d.id,
                    condition: d.condition,
                })
                .collect(),
            hold: i.plugin_holds.get(&p.id).map(|why| {
                Arc::new(Hold::Plugin {
                    reason: Arc::from(why.as_str()),
                })
            }),
        })
        .collect();

    // A running job on a node that takes no jobs now (drained, down, gone) counts for its
    // user's and project's quotas, not for any node's room; with a single node, a job that
    // recorded another name (a server that had several executors) runs on it.
    let unplaced = if i.nodes.len() == 1 { 0 } else { u32::MAX };
    let node_index: HashMap<&str, u32> = i
        .nodes
        .iter()
        .enumerate()
        .map(|(k, n)| (n.name.as_str(), k as u32))
        .collect();
    let running: Vec<Running> = i
        .running
        .iter()
        .map(|t| Running {
            user: users.intern(&t.user.id),
            project: projects.intern(&t.user.project),
            node: t
                .node_name()
                .and_then(|n| node_index.get(n).copied())
                .unwrap_or(unplaced),
            cpu: t.requirements.cpu,
            gpus: t.requirements.gpus,
            ram: t.requirements.ram,
            started: t.status.date_running.unwrap_or(i.now),
            walltime: walltime(t.requirements.maxlifespan.as_deref(), config),
        })
        .collect();

    // Usage of finished runs, decayed to now; wall seconds in the window for time quotas.
    let mut user_usage: HashMap<u32, (Usage, f64)> = HashMap::new();
    let mut project_usage: HashMap<u32, (Usage, f64)> = HashMap::new();
    for r in i.usage {
        let started = r.ended - r.wall_seconds;
        let u = Usage::decayed_run(
            r.cpu.round() as u32,
            r.ram,
            started,
            r.ended,
            i.now,
            half_life,
        );
        let in_window = if r.ended >= window_start {
            r.wall_seconds
        } else {
            0.0
        };
        for (slot, id) in [
            (&mut user_usage, users.intern(&r.user)),
            (&mut project_usage, projects.intern(&r.project)),
        ] {
            let e = slot.entry(id).or_default();
            e.0 += u;
            e.1 += in_window;
        }
    }

    // Reservations name users or projects: intern the names both ways before building accounts.
    let mut reservation_of = |names: &[String]| {
        (!names.is_empty()).then(|| NodeReservation {
            users: names.iter().map(|n| users.intern(n)).collect(),
            projects: names.iter().map(|n| projects.intern(n)).collect(),
        })
    };
    let configured = reservation_of(&config.node_reservation);
    let reservations: Vec<Option<NodeReservation>> = i
        .nodes
        .iter()
        .map(|n| {
            if n.reserved_for.is_empty() {
                configured.clone()
            } else {
                reservation_of(&n.reserved_for)
            }
        })
        .collect();
    let node_labels: Vec<u32> = config
        .node_labels
        .iter()
        .map(|(k, v)| labels.intern(&format!("{k}=={v}")))
        .collect();
    let nodes: Vec<Node> = i
        .nodes
        .iter()
        .zip(reservations)
        .map(|(n, reservation)| Node {
            name: n.name.clone(),
            cpus: n.cpus.max(0.0).floor() as u32,
            ram: n.ram,
            gpus: n.gpus,
            labels: node_labels
                .iter()
                .copied()
                .chain(n.labels.iter().map(|l| labels.intern(l)))
                .collect(),
            reservation,
        })
        .collect();

    let user_records: HashMap<&str, &UserRecord> =
        i.users.iter().map(|u| (u.login.as_str(), u)).collect();
    let user_accounts: Vec<Account> = users
        .names()
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut a = Account::named(name);
            if let Some(u) = user_records.get(name.as_ref()) {
                a.priority = u.limits.prio.min(100) as u8;
                a.quotas = u.limits.quotas();
                a.hold = if u.disabled {
                    Some(Arc::new(Hold::AccountDisabled))
                } else if u.inactive_guest() {
                    Some(Arc::new(Hold::GuestInactive))
                } else {
                    None
                };
            }
            if a.hold.is_none() {
                if let Some(&(quota, used)) = i.disk_full.get(name.as_ref()) {
                    a.hold = Some(Arc::new(Hold::DiskQuota { quota, used }));
                }
            }
            if let Some((u, w)) = user_usage.get(&(k as u32)) {
                a.usage = *u;
                a.window_wall_seconds = *w;
            }
            a
        })
        .collect();
    let project_records: HashMap<&str, &ProjectRecord> =
        i.projects.iter().map(|p| (p.id.as_str(), p)).collect();
    let project_accounts: Vec<Account> = projects
        .names()
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut a = Account::named(name);
            if let Some(p) = project_records.get(name.as_ref()) {
                a.priority = p.limits.prio.min(100) as u8;
                a.quotas = p.limits.quotas();
            }
            if let Some((u, w)) = project_usage.get(&(k as u32)) {
                a.usage = *u;
                a.window_wall_seconds = *w;
            }
            a
        })
        .collect();

    let mut parents = HashMap::new();
    for p in &pending {
        for d in &p.deps {
            let state = match i.parents.get(&d.parent) {
                Some((Primary::Over | Primary::Archived, code)) => {
                    ParentState::Over { exit_code: *code }
                }
                Some(_) => ParentState::Active,
                None => ParentState::Missing,
            };
            parents.insert(d.parent, state);
        }
    }

    Snapshot {
        now: i.now,
        pending,
        running,
        users: user_accounts,
        projects: project_accounts,
        nodes,
        labels: labels.names().iter().map(Arc::clone).collect(),
        parents,
        hold_all: i.maintenance.on.then(|| {
            Arc::new(Hold::Maintenance {
                message: i.maintenance.message.as_deref().map(Arc::from),
            })
        }),
    }
}
