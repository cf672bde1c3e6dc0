//! The queue as the next pass would see it, for the administrators' queue page: every pending
//! job in the policy's order with its score, and why each waits. Built from the store and the
//! node views the scheduler published (no executor is asked, nothing is written) by the same
//! snapshot and the same pure pass as the scheduler's; watcher plugins' holds are not asked.

use super::{executor_label, pass_config, snapshot};
use crate::state::AppState;
use crate::ServerError;
use god_core::config::ExecutorKind;
use god_core::node::NodeReport;
use god_core::schedule::{pass, ReasonKind};
use god_core::{JobId, Primary};
use std::collections::HashMap;

/// One pending job in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    pub id: JobId,
    pub user: String,
    pub project: String,
    pub cpu: u32,
    pub ram: f64,
    /// Submitted, seconds since the epoch.
    pub date: f64,
    /// Its place among the jobs ready to run (1: next), `None` when held or gated.
    pub position: Option<usize>,
    /// The policy's score (fair share); `None` when not ranked.
    pub score: Option<f64>,
    /// Why it waits, in words; `None`: the next pass starts it.
    pub reason: Option<String>,
    pub kind: Option<ReasonKind>,
}

/// The queue, ranked jobs first in order, then the others by id.
pub async fn queue(app: &AppState) -> Result<Vec<QueueEntry>, ServerError> {
    let store = &app.store;
    let mut pending = store.pending(0).await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let now = app.clock.now();
    let config = &app.config;
    let several = app.executors().len() > 1;
    if several {
        let names: Vec<&str> = app.executors().iter().map(|(n, _)| n.as_str()).collect();
        for p in &mut pending {
            let kind = p.executor.as_deref().and_then(ExecutorKind::of);
            let name = names
                .iter()
                .find(|n| kind.is_some() && ExecutorKind::of(n) == kind)
                .or(names.first())
                .copied()
                .unwrap_or_default();
            p.labels.push(executor_label(name));
        }
    }
    let running = store.running().await?;
    let users = store.list_users().await?;
    let projects = store.list_projects().await?;
    let half_life = config.fairshare_half_life.as_f64();
    let horizon = (config.user_reset_usage_duration as f64 * 86_400.0).max(8.0 * half_life);
    let usage = store.usage_since(now - horizon).await?;
    let dep_ids: Vec<JobId> = pending
        .iter()
        .flat_map(|p| god_core::deps::decode(&p.deps).into_iter().map(|d| d.id))
        .collect();
    let parents: HashMap<JobId, (Primary, Option<i64>)> = store
        .states(&dep_ids)
        .await?
        .into_iter()
        .map(|(id, p, code)| (id, (p, code)))
        .collect();
    let disk_full: HashMap<String, (u64, u64)> =
        match config.disk_default_quota.as_ref().map(|q| q.bytes) {
            Some(quota) => store
                .disk_usage()
                .await?
                .into_iter()
                .filter(|(_, used)| *used >= quota)
                .map(|(user, used)| (user, (quota, used)))
                .collect(),
            None => HashMap::new(),
        };
    let nodes: Vec<NodeReport> = app
        .nodes
        .get(store)
        .await?
        .nodes
        .into_iter()
        .filter(|n| n.state.takes_jobs())
        .map(|n| NodeReport {
            name: n.name,
            cpus: n.cpus,
            ram: n.ram,
            gpus: n.gpus,
            labels: n.labels,
            reserved_for: n.reserved_for,
            state: n.state,
        })
        .collect();
    let snap = snapshot::build(&snapshot::Inputs {
        now,
        config,
        pending: &pending,
        running: &running,
        users: &users,
        projects: &projects,
        usage: &usage,
        nodes: &nodes,
        parents: &parents,
        disk_full: &disk_full,
        plugin_holds: &HashMap::new(),
    });
    let mut cfg = pass_config(config);
    cfg.keep_order = true;
    let decision = pass(&snap, &cfg);
    let why: HashMap<JobId, (String, ReasonKind)> = decision
        .waiting
        .iter()
        .chain(decision.doomed.iter())
        .map(|(id, r)| (*id, (r.to_string(), r.kind())))
        .collect();
    let rows: HashMap<JobId, &god_store::PendingRow> = pending.iter().map(|p| (p.id, p)).collect();
    let entry = |id: JobId, position: Option<usize>, score: Option<f64>| {
        let row = rows.get(&id)?;
        let (reason, kind) = match why.get(&id) {
            Some((r, k)) => (Some(r.clone()), Some(*k)),
            None => (None, None),
        };
        Some(QueueEntry {
            id,
            user: row.user.clone(),
            project: row.project.clone(),
            cpu: row.cpu,
            ram: row.ram,
            date: row.date,
            position,
            score,
            reason,
            kind,
        })
    };
    let mut out: Vec<QueueEntry> = decision
        .ranked
        .iter()
        .enumerate()
        .filter_map(|(i, (id, score))| entry(*id, Some(i + 1), Some(*score)))
        .collect();
    let ranked: std::collections::HashSet<JobId> =
        decision.ranked.iter().map(|(id, _)| *id).collect();
    let mut rest: Vec<JobId> = pending
        .iter()
        .map(|p| p.id)
        .filter(|id| !ranked.contains(id))
        .collect();
    rest.sort();
    out.extend(rest.into_iter().filter_map(|id| entry(id, None, None)));
    Ok(out)
}
