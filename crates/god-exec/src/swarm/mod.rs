//! The Docker Swarm-mode executor (`swarm-mode`): jobs run as services of a Swarm, through its
//! manager's Engine API at `swarm.url`.
//!
//! One attempt is one `replicated-job` service of one task, never restarted, pinned by node id
//! to the node our scheduler chose (so quotas, fair share and backfill keep their meaning), named
//! and labelled as the Docker executor's containers (idempotent start, recovery by label). The
//! "container id" a job records is the service's id. Kill is removing the service (the Swarm
//! stops its task, also on a node that comes back later). Exit code and node come from the
//! service's task. Pause, stats, exec and terminals need the Engine of the job's node: `swarm.node_urls`.
//!
//! A node the manager marks down, or keeps unknown for longer than `swarm.node_timeout`, is a
//! node failure of the jobs on it ([`Termination::NodeFailure`]): the watcher removes the old
//! service first, then the job is retried elsewhere as its `failure_policy` allows.
//!
//! The job directories, the init helper and the volumes are bind-mounted from the node's
//! filesystem: they must be at the same paths on every node (a shared filesystem), as on the
//! original's Swarm. Images must be on the nodes or pullable by them.

mod read;
mod render;

pub use read::{LABEL_CPUS, LABEL_GPUS, LABEL_RAM, LABEL_RESERVATION};
pub use render::LABEL_NODE;

use crate::docker::{engine_error, job_of, message, server_filter, status, DockerExecutor};
use crate::{
    Capabilities, ContainerState, ContainerStats, ExecError, ExecOutput, ExecRequest, Executor,
    ExitEvent, Labelled, LaunchSpec, NodeReport, NodeState, Terminal, TerminalRequest, Termination,
};
use async_trait::async_trait;
use bollard::models::{Service, TaskState};
use bollard::query_parameters::{ListNodesOptions, ListServicesOptions, ListTasksOptions};
use bollard::Docker;
use god_core::config::SwarmConfig;
use read::{NodeOfTask, SwarmNode, TaskView};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often the exit watcher asks the manager about our services' tasks while one runs (the
/// manager has no event for a task's end; a raw user polls as often).
const POLL: Duration = Duration::from_millis(10);
/// Services listed every [`POLL`]; more are listed less often (see `poll_every`).
const SERVICES_PER_POLL: f64 = 50.0;
/// How often it asks when none of ours runs (a start wakes it at once).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How often the node list is refreshed while jobs run (node failures are seen from it).
const NODES_EVERY: Duration = Duration::from_secs(1);
/// The longest wait between two polls of a manager that keeps failing.
const MAX_POLL: Duration = Duration::from_secs(30);
/// Services per task listing (their ids go in the query string).
const SERVICES_PER_LISTING: usize = 50;

const NAME: &str = "swarm-mode";

/// What the executor remembers between calls; soft state, rebuilt from the manager.
#[derive(Default)]
struct Memory {
    /// The nodes as last listed.
    nodes: Vec<SwarmNode>,
    /// Since when each node has been unknown to the manager.
    unsure_since: HashMap<String, Instant>,
    /// Since when each service's task has been waiting to be placed.
    waiting_since: HashMap<String, Instant>,
    /// When the nodes were last listed.
    nodes_at: Option<Instant>,
    /// Nodes a job was just lost on, and since when: they take no job for
    /// `swarm.node_timeout` (the manager takes a task back before it marks its dying node
    /// down: a retry must not go back there meanwhile).
    suspect_since: HashMap<String, Instant>,
    /// The exit watcher's last listing of a server's services: (when, server, services).
    listing: Option<(Instant, String, Arc<Vec<ServiceState>>)>,
}

impl Memory {
    /// Suspect nodes take no jobs, whatever the manager says of them.
    fn hold_suspects(&mut self) {
        for n in &mut self.nodes {
            if self.suspect_since.contains_key(&n.id) && n.report.state == NodeState::Ready {
                n.report.state = NodeState::Down;
            }
        }
    }
}

pub struct SwarmExecutor {
    manager: DockerExecutor,
    /// Node name → its Engine (`swarm.node_urls`).
    node_engines: HashMap<String, DockerExecutor>,
    node_timeout: Duration,
    memory: Mutex<Memory>,
    /// Wakes the exit watcher when a service was created.
    started: tokio::sync::Notify,
}

/// One of our services and its task, as the manager lists them.
#[derive(Clone)]
struct ServiceState {
    service: Service,
    task: Option<TaskView>,
}

impl SwarmExecutor {
    /// The executor of the Swarm whose manager is at `cfg.url`. Only the configuration is
    /// checked here; the manager is reached at the first call that needs it.
    pub fn new(cfg: &SwarmConfig) -> Result<Self, ExecError> {
        let manager = DockerExecutor::new(&cfg.manager())?;
        let mut node_engines = HashMap::new();
        for (node, url) in &cfg.node_urls {
            node_engines.insert(node.clone(), DockerExecutor::new(&cfg.node_engine(url))?);
        }
        Ok(SwarmExecutor {
            manager,
            node_engines,
            node_timeout: Duration::from_secs_f64(cfg.node_timeout.max(0.001)),
            memory: Mutex::new(Memory::default()),
            started: tokio::sync::Notify::new(),
        })
    }

    async fn client(&self) -> Result<&Docker, ExecError> {
        self.manager.client().await
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic elsewhere while holding it leaves plain data: use it.
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// List the nodes and remember them (and how long each unknown one has been so).
    async fn refresh_nodes(&self) -> Result<Vec<SwarmNode>, ExecError> {
        let listed = self
            .client()
            .await?
            .list_nodes(None::<ListNodesOptions>)
            .await
            .map_err(not_a_manager)?;
        let now = Instant::now();
        let mut memory = self.memory();
        let unsure: HashSet<String> = listed
            .iter()
            .filter(|n| {
                !matches!(
                    n.status.as_ref().and_then(|s| s.state),
                    Some(bollard::models::NodeState::READY | bollard::models::NodeState::DOWN)
                )
            })
            .filter_map(|n| n.id.clone())
            .collect();
        memory.unsure_since.retain(|id, _| unsure.contains(id));
        for id in &unsure {
            memory.unsure_since.entry(id.clone()).or_insert(now);
        }
        let timeout = self.node_timeout;
        let nodes = read::nodes(&listed, |id| {
            memory
                .unsure_since
                .get(id)
                .is_some_and(|t| now.duration_since(*t) >= timeout)
        });
        memory
            .suspect_since
            .retain(|_, t| now.duration_since(*t) < timeout);
        memory.nodes = nodes;
        memory.hold_suspects();
        memory.nodes_at = Some(now);
        Ok(memory.nodes.clone())
    }

    /// The nodes as listed within [`NODES_EVERY`] (while jobs run, the exit watcher keeps
    /// them that fresh), else listed now.
    async fn recent_nodes(&self) -> Result<Vec<SwarmNode>, ExecError> {
        {
            let memory = self.memory();
            if memory.nodes_at.is_some_and(|at| at.elapsed() < NODES_EVERY) {
                return Ok(memory.nodes.clone());
            }
        }
        self.refresh_nodes().await
    }

    /// The id of the node named `name` if it takes jobs now, as last listed (listed again if
    /// it is not known yet); otherwise why not, as a rejection: the job goes back to the queue.
    async fn node_id(&self, name: &str) -> Result<String, ExecError> {
        let find = |nodes: &[SwarmNode]| {
            nodes
                .iter()
                .find(|n| n.report.name == name)
                .map(|n| (n.id.clone(), n.report.state))
        };
        let known = find(&self.memory().nodes);
        let found = match known {
            Some(found) => Some(found),
            None => find(&self.refresh_nodes().await?),
        };
        match found {
            Some((id, NodeState::Ready)) => Ok(id),
            Some((_, state)) => Err(ExecError::Rejected(format!(
                "node {name} takes no jobs now ({})",
                state.as_str()
            ))),
            None => Err(ExecError::Rejected(format!(
                "node {name} is no longer in the Swarm"
            ))),
        }
    }

    /// Our services among `wanted` (ids or names; all of `server_id`'s when `None`), each with
    /// its task. A service removed between the two listings (the manager then refuses the
    /// task listing that names it) makes it list both again.
    async fn services(
        &self,
        server_id: &str,
        wanted: Option<&[String]>,
    ) -> Result<Vec<ServiceState>, ExecError> {
        let mut tries = 0;
        loop {
            match self.services_once(server_id, wanted).await {
                Err(Listing::ServiceRemoved(e)) if tries < LISTING_TRIES => {
                    tries += 1;
                    tracing::debug!("swarm-mode: {e}; listing again");
                }
                Err(Listing::ServiceRemoved(e) | Listing::Failed(e)) => return Err(e),
                Ok(found) => return Ok(found),
            }
        }
    }

    async fn services_once(
        &self,
        server_id: &str,
        wanted: Option<&[String]>,
    ) -> Result<Vec<ServiceState>, Listing> {
        let docker = self.client().await?;
        let options = ListServicesOptions {
            filters: Some(server_filter(server_id)),
            ..Default::default()
        };
        let mut services = docker
            .list_services(Some(options))
            .await
            .map_err(not_a_manager)?;
        if let Some(wanted) = wanted {
            let wanted: HashSet<&str> = wanted.iter().map(String::as_str).collect();
            services.retain(|s| {
                s.id.as_deref().is_some_and(|id| wanted.contains(id))
                    || name_of(s).is_some_and(|n| wanted.contains(n))
            });
        }
        let ids: Vec<String> = services.iter().filter_map(|s| s.id.clone()).collect();
        let mut tasks: HashMap<String, TaskView> = HashMap::new();
        for chunk in ids.chunks(SERVICES_PER_LISTING) {
            let options = ListTasksOptions {
                filters: Some(HashMap::from([("service".to_string(), chunk.to_vec())])),
            };
            let listed = match docker.list_tasks(Some(options)).await {
                Ok(listed) => listed,
                Err(e) if status(&e) == Some(404) => {
                    return Err(Listing::ServiceRemoved(engine_error(e)))
                }
                Err(e) => return Err(engine_error(e).into()),
            };
            for t in listed {
                let Some(service) = t.service_id.clone() else {
                    continue;
                };
                // One task per job service; should the Swarm have made another, the one
                // furthest along tells.
                let view = TaskView::of(&t);
                let keep = tasks
                    .get(&service)
                    .is_none_or(|old| rank(view.state) >= rank(old.state));
                if keep {
                    tasks.insert(service, view);
                }
            }
        }
        Ok(services
            .into_iter()
            .map(|service| {
                let task = service.id.as_ref().and_then(|id| tasks.remove(id));
                ServiceState { service, task }
            })
            .collect())
    }

    /// The state of one of our services, given the nodes as last listed.
    fn state_of(&self, s: &ServiceState, nodes: &[SwarmNode]) -> ContainerState {
        let node_id = s
            .task
            .as_ref()
            .and_then(|t| t.node_id.clone())
            .or_else(|| pinned_node(&s.service));
        let node = node_id
            .as_deref()
            .and_then(|id| nodes.iter().find(|n| n.id == id))
            .map(|n| NodeOfTask {
                name: &n.report.name,
                health: n.health,
            });
        let key = s.service.id.clone().unwrap_or_default();
        let waiting = s.task.as_ref().is_none_or(|t| {
            matches!(
                t.state,
                None | Some(TaskState::NEW | TaskState::ALLOCATED | TaskState::PENDING)
            )
        });
        let stuck = {
            let mut memory = self.memory();
            if waiting {
                let since = *memory.waiting_since.entry(key).or_insert_with(Instant::now);
                since.elapsed() >= self.node_timeout
            } else {
                memory.waiting_since.remove(&key);
                false
            }
        };
        let state = read::state_of(s.task.as_ref(), node.as_ref(), stuck);
        if let (ContainerState::Exited(Termination::NodeFailure { .. }), Some(id)) =
            (&state, &node_id)
        {
            let mut memory = self.memory();
            memory
                .suspect_since
                .entry(id.clone())
                .or_insert_with(Instant::now);
            memory.hold_suspects();
        }
        state
    }

    /// What only the Engine of the job's node knows, where `swarm.node_urls` has it: whether
    /// a running job is paused (when `paused_too`), and whether a job that ended with 137 was
    /// killed for its memory. The manager's word stands when the node does not answer.
    async fn refine(
        &self,
        s: &ServiceState,
        state: ContainerState,
        nodes: &[SwarmNode],
        paused_too: bool,
    ) -> ContainerState {
        let asks = match &state {
            ContainerState::Running => paused_too,
            ContainerState::Exited(Termination::Exited { code: 137 }) => true,
            _ => false,
        };
        let Some(task) = s.task.as_ref().filter(|_| asks) else {
            return state;
        };
        let (Some(node_id), Some(container)) = (&task.node_id, &task.container_id) else {
            return state;
        };
        let engine = nodes
            .iter()
            .find(|n| &n.id == node_id)
            .and_then(|n| self.node_engines.get(&n.report.name));
        let Some(engine) = engine else {
            return state;
        };
        match (engine.inspect(container).await, &state) {
            (Ok(ContainerState::Paused), ContainerState::Running) => ContainerState::Paused,
            (Ok(oom @ ContainerState::Exited(Termination::OutOfMemory { .. })), _) => oom,
            _ => state,
        }
    }

    /// `containers` as the exit watcher listed them within [`POLL`] (the watcher collects a
    /// job right after that listing told it the job ended): `None` unless every one of them
    /// is in it (one created since is listed afresh, never taken for gone).
    fn listed_just_now(&self, server: &str, containers: &[String]) -> Option<Vec<ServiceState>> {
        let memory = self.memory();
        let (at, listed_for, services) = memory.listing.as_ref()?;
        if listed_for != server || at.elapsed() >= POLL {
            return None;
        }
        containers
            .iter()
            .map(|c| {
                services
                    .iter()
                    .find(|s| s.service.id.as_deref() == Some(c) || name_of(&s.service) == Some(c))
                    .cloned()
            })
            .collect()
    }

    /// The states of `containers` (service ids or names), in order.
    async fn states(
        &self,
        server_id: Option<&str>,
        containers: &[String],
    ) -> Result<Vec<ContainerState>, ExecError> {
        let found = match server_id {
            Some(server) => match self.listed_just_now(server, containers) {
                Some(found) => found,
                None => self.services(server, Some(containers)).await?,
            },
            None => {
                let mut found = Vec::new();
                for c in containers {
                    if let Some(s) = self.service_by_key(c).await? {
                        found.push(s);
                    }
                }
                found
            }
        };
        let nodes = self.recent_nodes().await?;
        // Whether a job is paused is asked of its node for one job, not for a whole batch
        // (the watcher does not need it).
        let paused_too = containers.len() == 1;
        let mut states = Vec::with_capacity(containers.len());
        for c in containers {
            let s = found
                .iter()
                .find(|s| s.service.id.as_deref() == Some(c) || name_of(&s.service) == Some(c));
            states.push(match s {
                Some(s) => {
                    let state = self.state_of(s, &nodes);
                    self.refine(s, state, &nodes, paused_too).await
                }
                None => ContainerState::Gone,
            });
        }
        Ok(states)
    }

    /// One service, by id or name, with its task (`None`: no such service).
    async fn service_by_key(&self, key: &str) -> Result<Option<ServiceState>, ExecError> {
        let docker = self.client().await?;
        let service = match docker.inspect_service(key, None).await {
            Ok(s) => s,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(not_a_manager(e)),
        };
        let Some(id) = service.id.clone() else {
            return Ok(None);
        };
        let options = ListTasksOptions {
            filters: Some(HashMap::from([("service".to_string(), vec![id])])),
        };
        let task = docker
            .list_tasks(Some(options))
            .await
            .map_err(engine_error)?
            .iter()
            .map(TaskView::of)
            .max_by_key(|t| rank(t.state));
        Ok(Some(ServiceState { service, task }))
    }

    /// The Engine of the node running `service`'s task, and the task's container id there.
    async fn on_node(
        &self,
        service: &str,
        what: &'static str,
    ) -> Result<(&DockerExecutor, String), ExecError> {
        let not_running = || ExecError::Refused(format!("service {service} has no running task"));
        let s = self
            .service_by_key(service)
            .await?
            .ok_or_else(not_running)?;
        let task = s.task.ok_or_else(not_running)?;
        let (Some(node_id), Some(container)) = (task.node_id, task.container_id) else {
            return Err(not_running());
        };
        let mut name = self
            .memory()
            .nodes
            .iter()
            .find(|n| n.id == node_id)
            .map(|n| n.report.name.clone());
        if name.is_none() {
            name = self
                .refresh_nodes()
                .await?
                .into_iter()
                .find(|n| n.id == node_id)
                .map(|n| n.report.name);
        }
        let node = name.unwrap_or(node_id);
        match self.node_engines.get(&node) {
            Some(engine) => Ok((engine, container)),
            None => Err(ExecError::NoNodeEngine {
                what,
                executor: NAME,
                node,
            }),
        }
    }
}

/// How many times a listing is made again because a service was removed meanwhile.
const LISTING_TRIES: usize = 3;

/// Why listing our services failed.
enum Listing {
    /// A service was removed between the service and the task listings.
    ServiceRemoved(ExecError),
    Failed(ExecError),
}

impl From<ExecError> for Listing {
    fn from(e: ExecError) -> Self {
        Listing::Failed(e)
    }
}

/// How often to list `live` services: every [`POLL`] for a few, less often for many (each
/// listing carries every service's spec), never less often than [`IDLE_POLL`].
fn poll_every(live: usize) -> Duration {
    POLL.mul_f64((live as f64 / SERVICES_PER_POLL).max(1.0))
        .min(IDLE_POLL)
}

/// How far along a task state is (to pick a service's most telling task).
fn rank(state: Option<TaskState>) -> u8 {
    use TaskState::*;
    match state {
        None | Some(NEW) => 0,
        Some(ALLOCATED | PENDING | ASSIGNED | ACCEPTED | PREPARING | READY | STARTING) => 1,
        Some(RUNNING) => 2,
        Some(_) => 3,
    }
}

fn name_of(s: &Service) -> Option<&str> {
    s.spec.as_ref()?.name.as_deref()
}

fn pinned_node(s: &Service) -> Option<String> {
    s.spec.as_ref()?.labels.as_ref()?.get(LABEL_NODE).cloned()
}

/// The manager's refusal because the Engine is no Swarm manager says so plainly.
fn not_a_manager(e: bollard::errors::Error) -> ExecError {
    if status(&e) == Some(503) {
        return ExecError::Unavailable(format!(
            "the Engine at swarm.url is not a Swarm manager (or has no quorum): {}",
            message(&e)
        ));
    }
    engine_error(e)
}

#[async_trait]
impl Executor for SwarmExecutor {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn nodes(&self) -> Result<Vec<NodeReport>, ExecError> {
        Ok(self
            .refresh_nodes()
            .await?
            .into_iter()
            .map(|n| n.report)
            .collect())
    }

    /// An administrator's drain or a node's death is seen within a second.
    fn nodes_valid_for(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Every node that is not drained counts its resources here.
    async fn swarm_node_ids(&self) -> Result<Vec<String>, ExecError> {
        Ok(self
            .refresh_nodes()
            .await?
            .into_iter()
            .filter(|n| n.report.state != NodeState::Drained)
            .map(|n| n.id)
            .collect())
    }

    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        let node_id = match &spec.node {
            Some(name) => Some(self.node_id(name).await?),
            None => None,
        };
        let body = render::service(spec, node_id.as_deref())?;
        let docker = self.client().await?;
        match docker.create_service(body, None).await {
            Ok(created) => {
                self.started.notify_one();
                Ok(created.id.unwrap_or_else(|| spec.name.clone()))
            }
            // An earlier attempt of ours created it (a crash, a retry): take it over.
            Err(e) if status(&e) == Some(409) => {
                match docker.inspect_service(&spec.name, None).await {
                    Ok(s) => Ok(s.id.unwrap_or_else(|| spec.name.clone())),
                    Err(e) => Err(not_a_manager(e)),
                }
            }
            Err(e) => Err(not_a_manager(e)),
        }
    }

    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError> {
        let mut states = self.states(None, &[container.to_string()]).await?;
        Ok(states.pop().unwrap_or(ContainerState::Gone))
    }

    /// Two calls for any number: the services with their tasks, and the nodes.
    async fn inspect_many(
        &self,
        server_id: &str,
        containers: &[String],
    ) -> Result<Vec<ContainerState>, ExecError> {
        self.states(Some(server_id), containers).await
    }

    /// Removing the service: the Swarm stops its task (at once, or when its node returns).
    async fn kill(&self, container: &str) -> Result<(), ExecError> {
        self.remove(container).await
    }

    fn capabilities(&self) -> Capabilities {
        let on_nodes = !self.node_engines.is_empty();
        Capabilities {
            pause: on_nodes,
            stats: on_nodes,
            exec: on_nodes,
            terminal: on_nodes,
        }
    }

    async fn pause(&self, container: &str) -> Result<(), ExecError> {
        let (engine, id) = self.on_node(container, "pause jobs").await?;
        engine.pause(&id).await
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecError> {
        let (engine, id) = self.on_node(container, "resume jobs").await?;
        engine.unpause(&id).await
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats, ExecError> {
        let (engine, id) = self.on_node(container, "give job stats").await?;
        engine.stats(&id).await
    }

    async fn exec(&self, container: &str, request: &ExecRequest) -> Result<ExecOutput, ExecError> {
        let (engine, id) = self.on_node(container, "run commands in jobs").await?;
        engine.exec(&id, request).await
    }

    async fn terminal(
        &self,
        container: &str,
        request: &TerminalRequest,
    ) -> Result<Terminal, ExecError> {
        let (engine, id) = self.on_node(container, "open terminals in jobs").await?;
        engine.terminal(&id, request).await
    }

    async fn remove(&self, container: &str) -> Result<(), ExecError> {
        match self.client().await?.delete_service(container).await {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(not_a_manager(e)),
        }
    }

    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError> {
        let found = self.services(server_id, None).await?;
        let nodes = self.refresh_nodes().await?;
        Ok(found
            .iter()
            .filter_map(|s| {
                let state = self.state_of(s, &nodes);
                Some(Labelled {
                    container_id: s.service.id.clone()?,
                    name: name_of(&s.service).unwrap_or_default().to_string(),
                    job: job_of(s.service.spec.as_ref()?.labels.as_ref()),
                    state,
                })
            })
            .collect())
    }

    /// The manager has no event for a task's end: ask it every [`POLL`] while one of our
    /// services runs (every [`IDLE_POLL`] otherwise, or as soon as one is created), and send
    /// each job whose task ended (or whose node failed) once.
    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<ExitEvent>) {
        let mut told: HashSet<String> = HashSet::new();
        let mut warned = false;
        // After errors, less and less often (≤ 30 s).
        let mut wait = POLL;
        while !tx.is_closed() {
            match self.services(server_id, None).await {
                Ok(found) => {
                    warned = false;
                    // Shared with the watcher's collect, which follows the events sent below.
                    let found = Arc::new(found);
                    self.memory().listing =
                        Some((Instant::now(), server_id.to_string(), Arc::clone(&found)));
                    let nodes = self.memory().nodes.clone();
                    let mut live = HashSet::new();
                    for s in found.iter() {
                        let Some(id) = s.service.id.clone() else {
                            continue;
                        };
                        live.insert(id.clone());
                        if told.contains(&id) {
                            continue;
                        }
                        let lost = match self.state_of(s, &nodes) {
                            ContainerState::Exited(Termination::NodeFailure { .. }) => true,
                            ContainerState::Exited(_) => false,
                            _ => continue,
                        };
                        let job = s
                            .service
                            .spec
                            .as_ref()
                            .and_then(|sp| job_of(sp.labels.as_ref()));
                        if let Some(job) = job {
                            let event = if lost {
                                ExitEvent::Lost(job)
                            } else {
                                ExitEvent::Exited(job)
                            };
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        told.insert(id);
                    }
                    told.retain(|id| live.contains(id));
                    let running = live.len() > told.len();
                    wait = if running {
                        poll_every(live.len())
                    } else {
                        IDLE_POLL
                    };
                    // Node health moves without our services changing.
                    let nodes_due = self
                        .memory()
                        .nodes_at
                        .is_none_or(|at| at.elapsed() >= NODES_EVERY);
                    if running && nodes_due {
                        let _ = self.refresh_nodes().await;
                    }
                }
                Err(e) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!("Swarm manager: {e}; asking again");
                        let why = format!("the Swarm manager does not answer: {e}");
                        if tx.send(ExitEvent::StreamBroken { why }).await.is_err() {
                            return;
                        }
                    }
                    wait = (wait * 2).min(MAX_POLL);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.started.notified(), if !warned => {}
                () = tx.closed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_services_are_listed_less_often() {
        let cases = [
            (0, 10),
            (1, 10),
            (50, 10),
            (100, 20),
            (1000, 200),
            (100_000, 1000),
        ];
        for (live, ms) in cases {
            assert_eq!(
                poll_every(live),
                Duration::from_millis(ms),
                "{live} services"
            );
        }
    }
}
