//! What a scheduler publishes of the nodes it places jobs onto, for the processes that do not
//! talk to the engines: the API (may a job ask for 2 GPUs?), later the web UI's dashboard and
//! API processes on other hosts. The scheduler writes the views into the store when what its
//! executors report changes; readers never ask an engine.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One node as its executor reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeView {
    pub name: String,
    /// The executor that runs jobs on it (`docker`, `native`, `fake`, later `swarm`, …).
    pub executor: String,
    pub cpus: f64,
    /// GB.
    pub ram: f64,
    pub gpus: u32,
    /// `name==value` labels jobs may ask for.
    pub labels: Vec<String>,
    /// Whether it takes jobs now, and if not why.
    #[serde(default)]
    pub state: NodeState,
    /// The users and projects it is reserved for (its own reservation, e.g. a Swarm node's
    /// `godocker.reservation` label); empty: the configured `node_reservation` applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved_for: Vec<String>,
}

/// One node an executor places jobs onto, as it reports it: what jobs may use on it in total
/// (not what is free), its labels and whether it takes jobs now. The Docker and native
/// executors have one; a cluster engine one per machine.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport {
    /// Unique within the executor: what `LaunchSpec::node` names and jobs record (as
    /// `container.meta.Node.Name`).
    pub name: String,
    pub cpus: f64,
    /// GB.
    pub ram: f64,
    pub gpus: u32,
    /// `name==value` labels jobs may ask for with `requirements.label`.
    pub labels: Vec<String>,
    /// The users and projects it is reserved for; empty: the configured `node_reservation`.
    pub reserved_for: Vec<String>,
    pub state: NodeState,
}

impl NodeReport {
    /// A node that takes jobs, without labels, GPUs or reservation of its own.
    pub fn ready(name: &str, cpus: f64, ram: f64) -> NodeReport {
        NodeReport {
            name: name.to_string(),
            cpus,
            ram,
            gpus: 0,
            labels: Vec::new(),
            reserved_for: Vec::new(),
            state: NodeState::Ready,
        }
    }
}

/// The nodes of an engine that places jobs itself, as the one node the scheduling pass sees
/// (`name`): what the nodes that take jobs have together, and every label one of them has (the
/// engine puts a labelled job where the label is). The pass orders jobs and applies quotas
/// against it; a job larger than any single node waits in the engine's own queue. None of them
/// takes jobs: the pool does not either.
pub fn pooled(name: &str, nodes: &[NodeReport]) -> NodeReport {
    let ready: Vec<&NodeReport> = nodes.iter().filter(|n| n.state.takes_jobs()).collect();
    let mut labels: Vec<String> = ready.iter().flat_map(|n| n.labels.clone()).collect();
    labels.sort();
    labels.dedup();
    NodeReport {
        name: name.to_string(),
        cpus: ready.iter().map(|n| n.cpus).sum(),
        ram: ready.iter().map(|n| n.ram).sum(),
        gpus: ready.iter().map(|n| n.gpus).sum(),
        labels,
        reserved_for: Vec::new(),
        state: if ready.is_empty() {
            nodes.first().map_or(NodeState::Down, |n| n.state)
        } else {
            NodeState::Ready
        },
    }
}

/// Whether a node takes new jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// It takes jobs.
    #[default]
    Ready,
    /// Its administrator paused it: its jobs go on, it takes no new ones (Swarm `pause`).
    Paused,
    /// Its administrator drained it: it takes no jobs (Swarm `drain`).
    Drained,
    /// Its engine reports it down (a cluster node that stopped answering its manager).
    Down,
    /// Its executor does not answer: what was last known of it.
    Unreachable,
}

impl NodeState {
    /// Whether jobs are placed onto it.
    pub fn takes_jobs(self) -> bool {
        self == NodeState::Ready
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Ready => "ready",
            NodeState::Paused => "paused",
            NodeState::Drained => "drained",
            NodeState::Down => "down",
            NodeState::Unreachable => "unreachable",
        }
    }
}

/// The views last published, and when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeViews {
    pub nodes: Vec<NodeView>,
    /// Seconds since the epoch; `None` when no scheduler has published any yet.
    pub published: Option<f64>,
}

impl NodeViews {
    /// The most GPUs one node offers, or `None` while nothing is known yet (a fresh server
    /// whose scheduler has not asked its executors): then a submission is not refused for its
    /// GPUs, and the scheduling pass says why it waits if no node can take it.
    pub fn max_gpus(&self) -> Option<u32> {
        self.published?;
        Some(self.nodes.iter().map(|n| n.gpus).max().unwrap_or(0))
    }
}

/// A node and what runs on it now (`GET /api/1.0/nodes`, `god nodes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeUse {
    #[serde(flatten)]
    pub node: NodeView,
    /// Jobs running on it, and the cpus and GB of memory they were given.
    pub jobs: u32,
    pub used_cpus: f64,
    pub used_ram: f64,
}

/// `GET /api/1.0/nodes`: every node the scheduler last published, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodesAnswer {
    pub published: Option<f64>,
    pub nodes: Vec<NodeUse>,
}

/// What runs on each node: `running` gives each running job's node name, cpus and GB. A job on
/// a node no longer published is not counted.
pub fn usage<'a>(
    views: &NodeViews,
    running: impl IntoIterator<Item = (&'a str, u32, f64)>,
) -> NodesAnswer {
    let mut nodes: Vec<NodeUse> = views
        .nodes
        .iter()
        .map(|n| NodeUse {
            node: n.clone(),
            jobs: 0,
            used_cpus: 0.0,
            used_ram: 0.0,
        })
        .collect();
    for (name, cpus, ram) in running {
        if let Some(n) = nodes.iter_mut().find(|n| n.node.name == name) {
            n.jobs += 1;
            n.used_cpus += f64::from(cpus);
            n.used_ram += ram;
        }
    }
    NodesAnswer {
        published: views.published,
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(gpus: u32) -> NodeView {
        NodeView {
            name: format!("n{gpus}"),
            executor: "fake".into(),
            cpus: 4.0,
            ram: 8.0,
            gpus,
            labels: vec![],
            state: NodeState::Ready,
            reserved_for: vec![],
        }
    }

    #[test]
    fn a_pool_has_what_its_ready_nodes_have() {
        let node = |name: &str, cpus, gpus, labels: &[&str], state| NodeReport {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            gpus,
            state,
            ..NodeReport::ready(name, cpus, 2.0 * cpus)
        };
        let nodes = [
            node("a", 4.0, 0, &["disk==ssd"], NodeState::Ready),
            node("b", 8.0, 2, &["disk==ssd", "net==ib"], NodeState::Ready),
            node("c", 16.0, 4, &["big==yes"], NodeState::Drained),
        ];
        let pool = pooled("queue", &nodes);
        assert_eq!(
            (
                pool.name.as_str(),
                pool.cpus,
                pool.ram,
                pool.gpus,
                pool.state
            ),
            ("queue", 12.0, 24.0, 2, NodeState::Ready)
        );
        assert_eq!(pool.labels, vec!["disk==ssd", "net==ib"]);
        let drained = pooled("queue", &nodes[2..]);
        assert_eq!((drained.cpus, drained.state), (0.0, NodeState::Drained));
        assert_eq!(pooled("queue", &[]).state, NodeState::Down);
    }

    #[test]
    fn max_gpus_is_unknown_until_published() {
        let cases: &[(&str, NodeViews, Option<u32>)] = &[
            ("nothing published", NodeViews::default(), None),
            (
                "published, no node",
                NodeViews {
                    nodes: vec![],
                    published: Some(1.0),
                },
                Some(0),
            ),
            (
                "the largest node",
                NodeViews {
                    nodes: vec![node(0), node(4), node(2)],
                    published: Some(1.0),
                },
                Some(4),
            ),
        ];
        for (name, views, want) in cases {
            assert_eq!(views.max_gpus(), *want, "{name}");
        }
    }

    #[test]
    fn usage_counts_running_jobs_on_their_nodes() {
        let views = NodeViews {
            nodes: vec![node(0), node(2)],
            published: Some(5.0),
        };
        let running = [("n2", 2, 1.5), ("n2", 1, 0.5), ("gone", 4, 8.0)];
        let answer = usage(&views, running);
        assert_eq!(answer.published, Some(5.0));
        let per_node: Vec<(&str, u32, f64, f64)> = answer
            .nodes
            .iter()
            .map(|n| (n.node.name.as_str(), n.jobs, n.used_cpus, n.used_ram))
            .collect();
        assert_eq!(per_node, [("n0", 0, 0.0, 0.0), ("n2", 2, 3.0, 2.0)]);
    }
}
