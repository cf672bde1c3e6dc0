//! The scheduler loop: build a snapshot, run the pure pass (`god_core::schedule::pass`), then
//! carry out its decisions.
//!
//! Dispatch order for the jobs of one pass: (1) one transaction marks them all running, each with
//! the name its container will have, (2) their job directories are written, (3) the executor
//! creates and starts the containers, (4) one transaction records the container ids (or puts the
//! jobs that could not start back, or ends them). A crash between any two steps leaves a trace
//! that recovery resolves without running a job twice.

pub mod preview;
mod snapshot;

use crate::state::LoopState;
use crate::ServerError;
use futures_util::stream::{self, StreamExt};
use god_core::node::{NodeState, NodeView};
use god_core::roles::SchedulerEvent;
use god_core::schedule::{pass as plan, reason_to_write, PassConfig, Policy, ReasonKind, Weights};
use god_core::transition::Event;
use god_core::{launch, JobId, Primary, Task};
use god_exec::{jobdir, ExecError, NodeReport, Placement};
use god_store::{PendingRow, WaitReason};
use rand::Rng;
use snapshot::Inputs;
use std::collections::HashMap;
use std::time::Duration;

/// Exit code recorded when a job's container could not be created (as `docker run`).
pub const START_FAILED_EXIT_CODE: i64 = 125;

/// Containers started concurrently.
const START_CONCURRENCY: usize = 8;

/// Children of an array kept pending at most (more are created as these leave).
const ARRAY_WINDOW: u64 = 1000;

/// Shortest time between the starts of two passes when wake-ups come quickly.
const MIN_PASS_INTERVAL: Duration = Duration::from_millis(20);

/// How often reasons of the same kind whose text changed (a figure moved) are written again.
pub const REASON_REFRESH: Duration = Duration::from_secs(10);

/// When reasons were last refreshed in full, on the loops' clock (seconds since the epoch).
#[derive(Default)]
pub struct ReasonClock {
    last: Option<f64>,
}

impl ReasonClock {
    /// Whether a full refresh is due at `now` (it then counts as done). A clock that went back
    /// makes it due.
    fn due(&mut self, now: f64) -> bool {
        let due = self
            .last
            .is_none_or(|t| now < t || now - t >= REASON_REFRESH.as_secs_f64());
        if due {
            self.last = Some(now);
        }
        due
    }
}

/// One executor's answer to "what can you run?".
pub struct Answer {
    /// The executor's configured name (what jobs record).
    pub executor: String,
    pub placement: Placement,
    pub nodes: Result<Vec<NodeReport>, ExecError>,
}

/// First wait before asking an executor that failed again; doubled at each failure.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between two questions to an executor that keeps failing.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How long to wait before asking again an executor that failed `after` the last wait (`None`:
/// it had not failed): capped exponential backoff.
fn backoff(after: Option<Duration>) -> Duration {
    after.map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX))
}

/// An executor that failed: when to ask it again, the wait that led there, and its answer.
struct Failing {
    retry_at: tokio::time::Instant,
    wait: Duration,
    why: String,
}

/// The executors' nodes, each executor asked at most every `Executor::nodes_valid_for`; one that fails is
/// asked again after a capped exponential backoff (a manager in trouble is not hammered).
#[derive(Default)]
pub struct CapacityCache {
    cached: HashMap<String, (tokio::time::Instant, Vec<NodeReport>)>,
    failing: HashMap<String, Failing>,
    /// The node views this scheduler last published.
    published: Option<Vec<NodeView>>,
}

impl CapacityCache {
    /// Ask the executors afresh at the next pass, failing ones too (what was published is
    /// kept).
    pub fn expire(&mut self) {
        self.cached.clear();
        for f in self.failing.values_mut() {
            f.retry_at = tokio::time::Instant::now();
        }
    }

    /// Every executor's nodes, asked afresh when the cached answer is too old; what changed
    /// is published into the store as node views (for processes that never talk to the
    /// engines). Only the store's failure is an error: an executor's is its answer.
    pub(crate) async fn get(&mut self, state: &LoopState) -> Result<Vec<Answer>, ServerError> {
        let mut answers = Vec::new();
        for m in state.execs.iter() {
            let fresh = self
                .cached
                .get(&m.name)
                .filter(|(at, _)| at.elapsed() < m.exec.nodes_valid_for())
                .map(|(_, nodes)| nodes.clone());
            let now = tokio::time::Instant::now();
            let backing_off = self.failing.get(&m.name).filter(|f| now < f.retry_at);
            let asked = fresh.is_none() && backing_off.is_none();
            let nodes = match (fresh, backing_off) {
                (Some(nodes), _) => Ok(nodes),
                (None, Some(f)) => Err(ExecError::Unavailable(f.why.clone())),
                (None, None) => m.exec.nodes().await,
            };
            match &nodes {
                Ok(_) if !asked => {}
                Ok(nodes) => {
                    self.failing.remove(&m.name);
                    self.cached.insert(m.name.clone(), (now, nodes.clone()));
                }
                Err(e) => {
                    self.cached.remove(&m.name);
                    if backing_off.is_none() {
                        let wait = backoff(self.failing.get(&m.name).map(|f| f.wait));
                        let why = match e {
                            ExecError::Unavailable(why) => why.clone(),
                            other => other.to_string(),
                        };
                        self.failing.insert(
                            m.name.clone(),
                            Failing {
                                retry_at: now + wait,
                                wait,
                                why,
                            },
                        );
                    }
                }
            }
            answers.push(Answer {
                executor: m.name.clone(),
                placement: m.exec.placement(),
                nodes,
            });
        }
        let views = node_views(
            &state.config,
            &answers,
            state.execs.several(),
            self.published.as_deref(),
        );
        if self.published.as_ref() != Some(&views) {
            state.store.publish_nodes(&views, state.clock.now()).await?;
            self.published = Some(views);
        }
        Ok(answers)
    }
}

/// The name the pass and the job record give an executor's node: its own, prefixed with the
/// executor's when there are several (two executors on one host both report its host name).
/// [`launch::spec`] takes the prefix off again for the executor.
fn node_name(several: bool, executor: &str, node: &str) -> String {
    if several {
        format!("{executor}/{node}")
    } else {
        node.to_string()
    }
}

/// The label that ties a job to its executor's nodes when there are several.
fn executor_label(executor: &str) -> String {
    format!("executor=={executor}")
}

/// The labels of a node as the pass sees them: its own, and its executor's when there are
/// several (the configured `node_labels` are added by the snapshot).
fn own_labels(several: bool, executor: &str, node: &NodeReport) -> Vec<String> {
    node.labels
        .iter()
        .cloned()
        .chain(several.then(|| executor_label(executor)))
        .collect()
}

/// The nodes the pass places onto: those that take jobs now (the running jobs of the others
/// keep counting for quotas, not for any node's room); an engine that places jobs itself is
/// one node, its nodes pooled, named after it.
fn pass_nodes(answers: &[Answer], several: bool) -> Vec<NodeReport> {
    let mut out = Vec::new();
    for a in answers {
        let Ok(nodes) = a.nodes.as_ref() else {
            continue;
        };
        let pool;
        let placed: &[NodeReport] = match a.placement {
            Placement::OnNodes => nodes,
            Placement::Delegated => {
                pool = [god_core::node::pooled(&a.executor, nodes)];
                &pool
            }
        };
        out.extend(
            placed
                .iter()
                .filter(|n| n.state.takes_jobs())
                .map(|n| NodeReport {
                    name: node_name(several, &a.executor, &n.name),
                    labels: own_labels(several, &a.executor, n),
                    ..n.clone()
                }),
        );
    }
    out
}

/// The node views to publish: each executor's nodes as it answered, or the ones last
/// published for it marked unreachable when it did not answer.
fn node_views(
    config: &god_core::config::Config,
    answers: &[Answer],
    several: bool,
    last: Option<&[NodeView]>,
) -> Vec<NodeView> {
    let mut views = Vec::new();
    for a in answers {
        match &a.nodes {
            Ok(nodes) => views.extend(nodes.iter().map(|n| {
                NodeView {
                    name: node_name(several, &a.executor, &n.name),
                    executor: a.executor.clone(),
                    cpus: n.cpus,
                    ram: n.ram,
                    gpus: n.gpus,
                    labels: config
                        .node_labels
                        .iter()
                        .map(|(k, v)| format!("{k}=={v}"))
                        .chain(own_labels(several, &a.executor, n))
                        .collect(),
                    state: n.state,
                    reserved_for: n.reserved_for.clone(),
                }
            })),
            Err(_) => views.extend(
                last.unwrap_or_default()
                    .iter()
                    .filter(|n| n.executor == a.executor)
                    .map(|n| NodeView {
                        state: NodeState::Unreachable,
                        ..n.clone()
                    }),
            ),
        }
    }
    views
}

/// The scheduler's loop, with the capacities asked at start-up (not asked again until they
/// are `Executor::nodes_valid_for` old).
pub async fn run(state: LoopState, mut capacity: CapacityCache) {
    let tick = Duration::from_secs_f64(state.config.tick_seconds);
    let mut reasons = ReasonClock::default();
    loop {
        let started = tokio::time::Instant::now();
        match pass(&state, &mut capacity, &mut reasons).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("scheduler: dispatched {n} jobs"),
            Err(e) => tracing::warn!("scheduler pass failed: {e}"),
        }
        tokio::select! {
            _ = state.wake.scheduler.notified() => {
                // Under load, wake-ups come in streams (each finished job frees a slot): one
                // pass every MIN_PASS_INTERVAL serves them all; an idle system is not delayed.
                tokio::time::sleep_until(started + MIN_PASS_INTERVAL).await;
            }
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// The pass settings the configuration asks for.
pub fn pass_config(config: &god_core::config::Config) -> PassConfig {
    let mut w = Weights::default();
    w.waiting_time = config.fairshare_waiting_time_weight;
    w.user_time = config.fairshare_user_time_weight;
    w.user_cpu = config.fairshare_user_cpu_weight;
    w.user_ram = config.fairshare_user_ram_weight;
    w.group_time = config.fairshare_group_time_weight;
    w.group_cpu = config.fairshare_group_cpu_weight;
    w.group_ram = config.fairshare_group_ram_weight;
    w.user = config.fairshare_user_weight;
    w.group = config.fairshare_group_weight;
    PassConfig {
        policy: Policy::of(
            config.scheduler_policy,
            w,
            config.fairshare_half_life.as_f64(),
        ),
        max_dispatch: config.max_job_pop.max(1) as usize,
        default_walltime: config.maxlifespan.as_f64(),
        backfill: config.backfill,
        keep_order: false,
    }
}

/// Create more children of arrays whose pending window is not full.
async fn fill_arrays(state: &LoopState) -> Result<(), ServerError> {
    for a in state.store.arrays_to_fill().await? {
        if a.pending < ARRAY_WINDOW {
            let n = (ARRAY_WINDOW - a.pending).min(a.total - a.created);
            state
                .store
                .create_children(a.parent, n, state.clock.now())
                .await?;
        }
    }
    Ok(())
}

/// One scheduling pass; returns how many jobs were handed to the executor.
pub async fn pass(
    state: &LoopState,
    capacity: &mut CapacityCache,
    reasons: &mut ReasonClock,
) -> Result<usize, ServerError> {
    let clock = std::time::Instant::now();
    fill_arrays(state).await?;
    let mut pending = state.store.pending(0).await?;
    // Asked even when nothing waits: the published node views stay current for the API (each
    // executor is asked at most every Executor::nodes_valid_for).
    let answers = capacity.get(state).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let t = state.clock.now();
    let several = state.execs.several();
    // The executor each pending job runs on, by its configured name.
    let executor_of = |p: &PendingRow| state.execs.named(p.executor.as_deref()).name.as_str();
    // Jobs of an executor that does not answer wait, saying why; the others go on.
    let down: HashMap<&str, String> = answers
        .iter()
        .filter_map(|a| {
            let why = a.nodes.as_ref().err()?;
            let reason = if several {
                format!("waiting for the executor {}: {why}", a.executor)
            } else {
                format!("waiting for the executor: {why}")
            };
            Some((a.executor.as_str(), reason))
        })
        .collect();
    if !down.is_empty() {
        let changed: Vec<WaitReason> = pending
            .iter()
            .filter_map(|p| {
                let reason = down.get(executor_of(p))?;
                let same = p.reason_kind == Some(ReasonKind::Executor)
                    && p.reason.as_deref() == Some(reason.as_str());
                (!same).then(|| WaitReason {
                    id: p.id,
                    kind: ReasonKind::Executor,
                    text: reason.clone(),
                })
            })
            .collect();
        state.store.set_reasons(&changed).await?;
    }
    // Jobs that cannot be placed now: their executor is down, or answers again but start-up
    // recovery has not run on it yet (it runs first, then we are woken). Asked once per
    // executor, not per job.
    let held: Vec<&str> = state
        .execs
        .iter()
        .map(|m| m.name.as_str())
        .filter(|name| down.contains_key(name) || !state.recovered.is_open_for(name))
        .collect();
    if !held.is_empty() {
        pending.retain(|p| !held.contains(&executor_of(p)));
    }
    if pending.is_empty() {
        return Ok(0);
    }
    if several {
        for p in &mut pending {
            let label = executor_label(executor_of(p));
            p.labels.push(label);
        }
    }
    let plugin_holds = plugin_holds(state, &pending, t).await?;
    // Users whose job directories fill their disk quota wait until they archive some.
    let disk_full: HashMap<String, (u64, u64)> =
        match state.config.disk_default_quota.as_ref().map(|q| q.bytes) {
            Some(quota) => state
                .store
                .disk_usage()
                .await?
                .into_iter()
                .filter(|(_, used)| *used >= quota)
                .map(|(user, used)| (user, (quota, used)))
                .collect(),
            None => HashMap::new(),
        };
    let running = state.store.running().await?;
    let users = state.store.list_users().await?;
    let projects = state.store.list_projects().await?;
    let half_life = state.config.fairshare_half_life.as_f64();
    let horizon = (state.config.user_reset_usage_duration as f64 * 86_400.0).max(8.0 * half_life);
    let usage = state.store.usage_since(t - horizon).await?;
    let dep_ids: Vec<JobId> = pending
        .iter()
        .flat_map(|p| god_core::deps::decode(&p.deps).into_iter().map(|d| d.id))
        .collect();
    let parents: HashMap<JobId, (Primary, Option<i64>)> = if dep_ids.is_empty() {
        HashMap::new()
    } else {
        state
            .store
            .states(&dep_ids)
            .await?
            .into_iter()
            .map(|(id, p, code)| (id, (p, code)))
            .collect()
    };
    let nodes = pass_nodes(&answers, several);
    let snap = snapshot::build(&Inputs {
        now: t,
        config: &state.config,
        pending: &pending,
        running: &running,
        users: &users,
        projects: &projects,
        usage: &usage,
        nodes: &nodes,
        parents: &parents,
        disk_full: &disk_full,
        plugin_holds: &plugin_holds,
    });
    let loaded = clock.elapsed();
    let decision = plan(&snap, &pass_config(&state.config));
    let planned = clock.elapsed();

    // Reasons: write those whose kind changed at once; those whose figures only moved
    // ("behind 120 jobs" → "behind 118 jobs") at most every REASON_REFRESH.
    let refresh = reasons.due(t);
    let stored: HashMap<JobId, &PendingRow> = pending.iter().map(|p| (p.id, p)).collect();
    let changed: Vec<WaitReason> = decision
        .waiting
        .iter()
        .filter_map(|(id, why)| {
            let row = stored.get(id);
            let text = reason_to_write(
                row.and_then(|p| p.reason_kind),
                row.and_then(|p| p.reason.as_deref()),
                why,
                refresh,
            )?;
            Some(WaitReason {
                id: *id,
                kind: why.kind(),
                text,
            })
        })
        .collect();
    state.store.set_reasons(&changed).await?;

    if !decision.doomed.is_empty() {
        let doomed: Vec<(JobId, Event)> = decision
            .doomed
            .iter()
            .map(|(id, why)| {
                (
                    *id,
                    SchedulerEvent::DependencyFailed {
                        reason: why.to_string(),
                    }
                    .into(),
                )
            })
            .collect();
        state.store.transition_many(&doomed, t).await?;
        // Their own children may now be doomed too.
        state.wake.scheduler.notify_one();
    }

    let n = decision.dispatch.len();
    if n > 0 {
        let node_names: Vec<String> = snap.nodes.iter().map(|n| n.name.clone()).collect();
        let jobs: Vec<(JobId, String)> = decision
            .dispatch
            .iter()
            .map(|d| {
                let node = node_names.get(d.node as usize).cloned().unwrap_or_default();
                (d.job, node)
            })
            .collect();
        if dispatch(state, &jobs).await? {
            // An executor turned a job down (its node went away, say): what it reported is
            // out of date; ask it again before placing anything more.
            capacity.expire();
        }
    }
    tracing::debug!(
        pending = pending.len(),
        dispatched = n,
        load_ms = loaded.as_secs_f64() * 1e3,
        plan_ms = (planned - loaded).as_secs_f64() * 1e3,
        total_ms = clock.elapsed().as_secs_f64() * 1e3,
        "scheduling pass"
    );
    Ok(n)
}

/// What the watcher plugins' `can_start` says of each pending job, asked with the job as it is
/// stored (read only when a configured plugin looks at starts).
async fn plugin_holds(
    state: &LoopState,
    pending: &[PendingRow],
    now: f64,
) -> Result<HashMap<JobId, String>, ServerError> {
    if !state.plugins.iter().any(|p| p.checks_start()) {
        return Ok(HashMap::new());
    }
    let ids: Vec<JobId> = pending.iter().map(|p| p.id).collect();
    let mut held = HashMap::new();
    for task in state.store.get_jobs(&ids).await? {
        if let Some(why) = state.plugins.iter().find_map(|p| p.can_start(&task, now)) {
            held.insert(task.id, why);
        }
    }
    Ok(held)
}

fn nonce() -> String {
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

/// Hand jobs to the executor (see the module doc for the order of steps). Whether an
/// executor turned one down.
async fn dispatch(state: &LoopState, jobs: &[(JobId, String)]) -> Result<bool, ServerError> {
    let shared_dir = state.paths.shared_dir.to_string_lossy().into_owned();
    let marks: Vec<(JobId, Event)> = jobs
        .iter()
        .map(|(id, node)| {
            (
                *id,
                SchedulerEvent::Dispatch {
                    node: node.clone(),
                    container_name: launch::container_name(&state.server_id, *id, &nonce()),
                    shared_dir: shared_dir.clone(),
                }
                .into(),
            )
        })
        .collect();
    let clock = std::time::Instant::now();
    let marked: Vec<Task> = state
        .store
        .transition_many(&marks, state.clock.now())
        .await?
        .into_iter()
        .filter_map(|r| r.ok())
        .collect();
    let t_marked = clock.elapsed();
    for m in state.execs.iter() {
        m.exec.begin_pass();
    }
    let started: Vec<(JobId, Started)> = stream::iter(marked)
        .map(|task| async move { (task.id, start(state, task).await) })
        .buffer_unordered(START_CONCURRENCY)
        .collect()
        .await;
    // A refused or rejected start frees its place for another job at once; an engine in
    // trouble is asked again at the next tick, not in a tight loop.
    let retry_now = started.iter().any(|(_, s)| matches!(s, Started::No(_)));
    let turned_down = started
        .iter()
        .any(|(_, s)| matches!(s, Started::No(SchedulerEvent::Rejected { .. })));
    let outcomes: Vec<(JobId, Event)> = started
        .into_iter()
        .map(|(id, s)| match s {
            Started::Yes(e) | Started::No(e) | Started::EngineTrouble(e) => (id, e.into()),
        })
        .collect();
    let t_started = clock.elapsed();
    state
        .store
        .transition_many(&outcomes, state.clock.now())
        .await?;
    tracing::debug!(
        jobs = outcomes.len(),
        mark_ms = t_marked.as_secs_f64() * 1e3,
        start_ms = (t_started - t_marked).as_secs_f64() * 1e3,
        record_ms = (clock.elapsed() - t_started).as_secs_f64() * 1e3,
        "dispatch"
    );
    // Jobs that started may already be over (the executor's exit event may have come before
    // their id was recorded): let the watcher look.
    state.wake.watcher.notify_one();
    if retry_now {
        state.wake.scheduler.notify_one();
    }
    Ok(turned_down)
}

/// How one start went, and the event to record.
enum Started {
    Yes(SchedulerEvent),
    /// Refused, rejected or ended: someone else may take its place now.
    No(SchedulerEvent),
    /// The engine is unavailable: back to the queue until the next tick.
    EngineTrouble(SchedulerEvent),
}

/// Write the job directory and start the container.
async fn start(state: &LoopState, task: Task) -> Started {
    if !state.auth.policy.can_run(&task).await {
        return Started::No(SchedulerEvent::StartFailed {
            exit_code: START_FAILED_EXIT_CODE,
            reason: format!(
                "the {} authentication policy does not let this job run",
                state.auth.policy.name()
            ),
        });
    }
    let shared = state.paths.shared_dir.clone();
    let t = task.clone();
    let dir = match tokio::task::spawn_blocking(move || jobdir::prepare(&shared, &t)).await {
        Ok(r) => r,
        Err(e) => Err(ExecError::Unavailable(format!("job directory: {e}"))),
    };
    let started = match dir {
        Ok(dir) => {
            let spec = launch::spec(
                &task,
                &state.config,
                &state.server_id,
                &dir.to_string_lossy(),
                &state.paths.init_helper.to_string_lossy(),
            );
            let exec = &state.execs.of(&task).exec;
            let spec = match exec.placement() {
                Placement::OnNodes => spec,
                // The engine places it: the pool's name is not one of its nodes.
                Placement::Delegated => launch::LaunchSpec { node: None, ..spec },
            };
            exec.start(&spec).await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(container_id) => {
            for p in state.plugins.iter() {
                p.started(&task);
            }
            Started::Yes(SchedulerEvent::Started { container_id })
        }
        Err(e) => {
            if let Some(name) = &task.container.name {
                let _ = state.execs.of(&task).exec.remove(name).await;
            }
            match e {
                ExecError::Rejected(reason) => Started::No(SchedulerEvent::Rejected { reason }),
                ExecError::Unavailable(reason) => {
                    tracing::warn!(
                        "job {}: could not start, back to the queue: {reason}",
                        task.id
                    );
                    Started::EngineTrouble(SchedulerEvent::Rejected { reason })
                }
                e => {
                    tracing::info!("job {}: the engine refused it: {e}", task.id);
                    Started::No(SchedulerEvent::StartFailed {
                        exit_code: START_FAILED_EXIT_CODE,
                        reason: e.to_string(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_that_place_jobs_themselves_are_one_pooled_node() {
        let node = |name: &str, cpus, state| NodeReport {
            labels: vec![format!("host=={name}")],
            state,
            ..NodeReport::ready(name, cpus, 8.0)
        };
        let answer = |executor: &str, placement, nodes| Answer {
            executor: executor.into(),
            placement,
            nodes: Ok(nodes),
        };
        let answers = [
            answer(
                "swarm-mode",
                Placement::OnNodes,
                vec![
                    node("n1", 2.0, NodeState::Ready),
                    node("n2", 2.0, NodeState::Drained),
                ],
            ),
            answer(
                "slurm",
                Placement::Delegated,
                vec![
                    node("c1", 4.0, NodeState::Ready),
                    node("c2", 4.0, NodeState::Ready),
                    node("c3", 4.0, NodeState::Down),
                ],
            ),
            Answer {
                executor: "down".into(),
                placement: Placement::OnNodes,
                nodes: Err(ExecError::Unavailable("no".into())),
            },
        ];
        let got: Vec<(String, f64, Vec<String>)> = pass_nodes(&answers, true)
            .into_iter()
            .map(|n| (n.name, n.cpus, n.labels))
            .collect();
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (
                    "swarm-mode/n1".to_string(),
                    2.0,
                    labels(&["host==n1", "executor==swarm-mode"])
                ),
                (
                    "slurm/slurm".to_string(),
                    8.0,
                    labels(&["host==c1", "host==c2", "executor==slurm"])
                ),
            ]
        );
    }

    #[test]
    fn a_failing_executor_is_asked_again_later_and_later_up_to_a_cap() {
        let mut wait = None;
        let mut waits = Vec::new();
        for _ in 0..8 {
            let next = backoff(wait);
            waits.push(next.as_secs());
            wait = Some(next);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
