//! What the Swarm manager says, read into our terms: its nodes as [`NodeReport`]s, a job
//! service's task as a [`ContainerState`]. Pure (the caller passes what it knows of time as
//! "unknown for longer than the timeout"), tested with tables.

use crate::{ContainerState, NodeReport, NodeState, Termination};
use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeState as SwarmNodeState, TaskState};
use std::collections::HashMap;

/// Node labels that override what a node reports or reserve it; they are not job labels.
pub const LABEL_CPUS: &str = "godocker.cpus";
pub const LABEL_RAM: &str = "godocker.ram";
pub const LABEL_GPUS: &str = "godocker.gpus";
pub const LABEL_RESERVATION: &str = "godocker.reservation";

/// How a node's manager sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ready,
    /// The manager marked it down: its Engine stopped answering.
    Down,
    /// Unknown or disconnected; `overdue` once that has lasted `swarm.node_timeout`.
    Unsure {
        overdue: bool,
    },
}

/// One Swarm node: its id, the name we give it, its health, and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmNode {
    pub id: String,
    pub health: Health,
    pub report: NodeReport,
}

/// The manager's node list as ours. `overdue(id)` says whether a node that is unknown now has
/// been so for longer than the node timeout. Nodes are named by their host name; two nodes of
/// one host name (a machine that left and joined again) are told apart by their id's start.
pub fn nodes(listed: &[Node], overdue: impl Fn(&str) -> bool) -> Vec<SwarmNode> {
    let host = |n: &Node| {
        n.description
            .as_ref()
            .and_then(|d| d.hostname.clone())
            .unwrap_or_default()
    };
    let mut per_host: HashMap<String, usize> = HashMap::new();
    for n in listed {
        *per_host.entry(host(n)).or_default() += 1;
    }
    let mut out = Vec::with_capacity(listed.len());
    for n in listed {
        let Some(id) = n.id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        let hostname = host(n);
        let name = if hostname.is_empty() || per_host.get(&hostname).copied().unwrap_or(0) > 1 {
            let short: String = id.chars().take(8).collect();
            if hostname.is_empty() {
                short
            } else {
                format!("{hostname}-{short}")
            }
        } else {
            hostname
        };
        let health = match n.status.as_ref().and_then(|s| s.state) {
            Some(SwarmNodeState::READY) => Health::Ready,
            Some(SwarmNodeState::DOWN) => Health::Down,
            _ => Health::Unsure {
                overdue: overdue(&id),
            },
        };
        let spec = n.spec.as_ref();
        let labels = spec.and_then(|s| s.labels.clone()).unwrap_or_default();
        let resources = n.description.as_ref().and_then(|d| d.resources.as_ref());
        let engine_cpus = resources.and_then(|r| r.nano_cpus).unwrap_or(0).max(0) as f64 / 1e9;
        let engine_ram = resources.and_then(|r| r.memory_bytes).unwrap_or(0).max(0) as f64 / 1e9;
        let engine_gpus = resources
            .and_then(|r| r.generic_resources.as_ref())
            .map_or(0, |g| {
                g.iter()
                    .filter_map(|r| r.discrete_resource_spec.as_ref())
                    .filter(|d| {
                        d.kind
                            .as_deref()
                            .is_some_and(|k| k.to_ascii_lowercase().contains("gpu"))
                    })
                    .map(|d| d.value.unwrap_or(0).max(0) as u32)
                    .sum()
            });
        let number = |key: &str| labels.get(key).and_then(|v| v.trim().parse::<f64>().ok());
        let state = match (spec.and_then(|s| s.availability), health) {
            (Some(NodeSpecAvailabilityEnum::DRAIN), _) => NodeState::Drained,
            (Some(NodeSpecAvailabilityEnum::PAUSE), _) => NodeState::Paused,
            (_, Health::Ready) => NodeState::Ready,
            (_, Health::Down | Health::Unsure { .. }) => NodeState::Down,
        };
        let mut job_labels: Vec<String> = labels
            .iter()
            .filter(|(k, _)| {
                ![LABEL_CPUS, LABEL_RAM, LABEL_GPUS, LABEL_RESERVATION].contains(&k.as_str())
            })
            .map(|(k, v)| format!("{k}=={v}"))
            .collect();
        job_labels.sort();
        let reserved_for = labels
            .get(LABEL_RESERVATION)
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push(SwarmNode {
            id,
            health,
            report: NodeReport {
                name,
                cpus: number(LABEL_CPUS).unwrap_or(engine_cpus),
                ram: number(LABEL_RAM).unwrap_or(engine_ram),
                gpus: number(LABEL_GPUS).map_or(engine_gpus, |g| g.max(0.0) as u32),
                labels: job_labels,
                reserved_for,
                state,
            },
        });
    }
    out
}

/// What the manager says of the one task of a job service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskView {
    pub state: Option<TaskState>,
    pub exit_code: Option<i64>,
    /// The manager's error (`task: non-zero exit (3)`, `No such image: …`).
    pub err: Option<String>,
    pub node_id: Option<String>,
    pub container_id: Option<String>,
}

impl TaskView {
    pub fn of(task: &bollard::models::Task) -> TaskView {
        let status = task.status.as_ref();
        let container = status.and_then(|s| s.container_status.as_ref());
        TaskView {
            state: status.and_then(|s| s.state),
            exit_code: container.and_then(|c| c.exit_code),
            err: status
                .and_then(|s| s.err.clone())
                .filter(|e| !e.trim().is_empty()),
            node_id: task.node_id.clone().filter(|n| !n.is_empty()),
            container_id: container
                .and_then(|c| c.container_id.clone())
                .filter(|c| !c.is_empty()),
        }
    }
}

/// What the job's node is, for [`state_of`]: its name (for messages) and health; `None` when
/// the task names no node or one the manager no longer lists.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOfTask<'a> {
    pub name: &'a str,
    pub health: Health,
}

/// The state of a job service from its task (`None`: the manager made none yet) and the
/// health of the node it runs on or is pinned to. `stuck` says that the task has waited to be
/// placed for longer than the node timeout (the Swarm cannot run it where we pinned it).
pub fn state_of(
    task: Option<&TaskView>,
    node: Option<&NodeOfTask<'_>>,
    stuck: bool,
) -> ContainerState {
    let Some(task) = task else {
        return ContainerState::Running;
    };
    let node_name = node.map_or("unknown", |n| n.name);
    let err = task.err.clone().unwrap_or_default();
    let lost = |what: &str| {
        ContainerState::Exited(Termination::NodeFailure {
            message: format!("node {node_name} {what}"),
        })
    };
    let node_failed = match node.map(|n| n.health) {
        Some(Health::Down) => Some("is down: its Engine stopped answering the Swarm manager"),
        Some(Health::Unsure { overdue: true }) => {
            Some("has been unknown to the Swarm manager for longer than swarm.node_timeout")
        }
        _ => None,
    };
    match task.state {
        Some(TaskState::COMPLETE) => ContainerState::Exited(Termination::Exited {
            code: task.exit_code.unwrap_or(0),
        }),
        Some(TaskState::FAILED) => match task.exit_code {
            Some(code) if code != 0 => ContainerState::Exited(Termination::Exited { code }),
            _ => ContainerState::Exited(Termination::EngineFailure {
                code: 128,
                message: if err.is_empty() {
                    "the Swarm task failed".into()
                } else {
                    err
                },
            }),
        },
        // The manager took it back from its node (a change of the node under it): not the
        // job's fault, so retried as a node failure.
        Some(TaskState::REJECTED) if taken_back(&err) => {
            ContainerState::Exited(Termination::NodeFailure {
                message: format!("the Swarm took it back from node {node_name}: {err}"),
            })
        }
        Some(TaskState::REJECTED) => ContainerState::Exited(Termination::EngineFailure {
            code: 128,
            message: format!("node {node_name} refused it: {err}"),
        }),
        Some(TaskState::ORPHANED) => lost("was lost with the job on it"),
        Some(TaskState::SHUTDOWN) | Some(TaskState::REMOVE) => {
            lost("stopped it (drained, or its service was removed)")
        }
        Some(TaskState::NEW) | Some(TaskState::ALLOCATED) | Some(TaskState::PENDING) | None => {
            match node_failed {
                Some(why) => lost(why),
                None if stuck => ContainerState::Exited(Termination::NodeFailure {
                    message: format!(
                        "the Swarm could not start it on node {node_name} within \
                         swarm.node_timeout: {err}"
                    ),
                }),
                None => ContainerState::Running,
            }
        }
        Some(_) => match node_failed {
            Some(why) => lost(why),
            None => ContainerState::Running,
        },
    }
}

/// The manager's sentence for a task it rejected on a node that no longer fits it (it gives no
/// code; read here, at the boundary, only).
fn taken_back(err: &str) -> bool {
    err.contains("no longer meets constraints")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use bollard::models::{NodeDescription, NodeSpec, NodeStatus, ResourceObject};

    fn node(
        id: &str,
        host: &str,
        state: SwarmNodeState,
        avail: NodeSpecAvailabilityEnum,
        labels: &[(&str, &str)],
    ) -> Node {
        Node {
            id: Some(id.into()),
            spec: Some(NodeSpec {
                availability: Some(avail),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            }),
            description: Some(NodeDescription {
                hostname: Some(host.into()),
                resources: Some(ResourceObject {
                    nano_cpus: Some(2_000_000_000),
                    memory_bytes: Some(24_000_000_000),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                state: Some(state),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn nodes_are_read_with_their_overrides_and_state() {
        use NodeSpecAvailabilityEnum::{ACTIVE, DRAIN, PAUSE};
        use SwarmNodeState::{DISCONNECTED, DOWN, READY, UNKNOWN};
        let listed = vec![
            node(
                "aaaaaaaaaa1",
                "gdn1",
                READY,
                ACTIVE,
                &[(LABEL_CPUS, "1"), ("god.node", "n1")],
            ),
            node("bbbbbbbbbb2", "gdn2", READY, DRAIN, &[]),
            node(
                "cccccccccc3",
                "gdn3",
                READY,
                PAUSE,
                &[(LABEL_RAM, "2.5"), (LABEL_RESERVATION, "alice, lab")],
            ),
            node("dddddddddd4", "gdn4", DOWN, ACTIVE, &[(LABEL_GPUS, "2")]),
            node("eeeeeeeeee5", "twin", UNKNOWN, ACTIVE, &[]),
            node("ffffffffff6", "twin", DISCONNECTED, ACTIVE, &[]),
        ];
        let got = nodes(&listed, |id| id.starts_with('f'));
        // (name, health, state, cpus, ram, gpus, labels, reserved for)
        let want: Vec<(&str, Health, NodeState, f64, f64, u32, Vec<&str>, Vec<&str>)> = vec![
            (
                "gdn1",
                Health::Ready,
                NodeState::Ready,
                1.0,
                24.0,
                0,
                vec!["god.node==n1"],
                vec![],
            ),
            (
                "gdn2",
                Health::Ready,
                NodeState::Drained,
                2.0,
                24.0,
                0,
                vec![],
                vec![],
            ),
            (
                "gdn3",
                Health::Ready,
                NodeState::Paused,
                2.0,
                2.5,
                0,
                vec![],
                vec!["alice", "lab"],
            ),
            (
                "gdn4",
                Health::Down,
                NodeState::Down,
                2.0,
                24.0,
                2,
                vec![],
                vec![],
            ),
            (
                "twin-eeeeeeee",
                Health::Unsure { overdue: false },
                NodeState::Down,
                2.0,
                24.0,
                0,
                vec![],
                vec![],
            ),
            (
                "twin-ffffffff",
                Health::Unsure { overdue: true },
                NodeState::Down,
                2.0,
                24.0,
                0,
                vec![],
                vec![],
            ),
        ];
        assert_eq!(got.len(), want.len());
        for (g, (name, health, state, cpus, ram, gpus, labels, reserved)) in got.iter().zip(want) {
            let r = &g.report;
            assert_eq!(
                (r.name.as_str(), g.health, r.state, r.cpus, r.ram, r.gpus),
                (name, health, state, cpus, ram, gpus),
                "{name}"
            );
            assert_eq!(r.labels, labels, "{name}");
            assert_eq!(r.reserved_for, reserved, "{name}");
        }
    }

    #[test]
    fn task_states_map_to_container_states() {
        let task = |state, exit_code: Option<i64>, err: &str| TaskView {
            state: Some(state),
            exit_code,
            err: (!err.is_empty()).then(|| err.to_string()),
            ..Default::default()
        };
        let ready = NodeOfTask {
            name: "n1",
            health: Health::Ready,
        };
        let down = NodeOfTask {
            name: "n1",
            health: Health::Down,
        };
        let unsure_a_while = NodeOfTask {
            name: "n1",
            health: Health::Unsure { overdue: false },
        };
        let unsure_too_long = NodeOfTask {
            name: "n1",
            health: Health::Unsure { overdue: true },
        };
        let exited = |code| ContainerState::Exited(Termination::Exited { code });
        let engine = |m: &str| {
            ContainerState::Exited(Termination::EngineFailure {
                code: 128,
                message: m.into(),
            })
        };
        let node_failure =
            |m: &str| ContainerState::Exited(Termination::NodeFailure { message: m.into() });
        use TaskState::*;
        let cases: Vec<(&str, Option<TaskView>, Option<&NodeOfTask>, bool, ContainerState)> = vec![
            ("no task yet", None, None, false, ContainerState::Running),
            ("running", Some(task(RUNNING, None, "")), Some(&ready), false, ContainerState::Running),
            ("starting", Some(task(STARTING, None, "")), Some(&ready), false, ContainerState::Running),
            ("done", Some(task(COMPLETE, Some(0), "")), Some(&ready), false, exited(0)),
            ("failed with a code", Some(task(FAILED, Some(3), "task: non-zero exit (3)")), Some(&ready), false, exited(3)),
            ("failed to start", Some(task(FAILED, None, "starting container failed: x")), Some(&ready), false, engine("starting container failed: x")),
            ("rejected", Some(task(REJECTED, None, "No such image: i")), Some(&ready), false, engine("node n1 refused it: No such image: i")),
            ("running on a down node", Some(task(RUNNING, None, "")), Some(&down), false, node_failure("node n1 is down: its Engine stopped answering the Swarm manager")),
            ("running on a node unknown for a while", Some(task(RUNNING, None, "")), Some(&unsure_a_while), false, ContainerState::Running),
            ("running on a node unknown for too long", Some(task(RUNNING, None, "")), Some(&unsure_too_long), false, node_failure("node n1 has been unknown to the Swarm manager for longer than swarm.node_timeout")),
            ("done on a node that went down after", Some(task(COMPLETE, Some(0), "")), Some(&down), false, exited(0)),
            ("pending, pinned to a down node", Some(task(PENDING, None, "no suitable node")), Some(&down), false, node_failure("node n1 is down: its Engine stopped answering the Swarm manager")),
            ("pending a while", Some(task(PENDING, None, "no suitable node")), Some(&ready), false, ContainerState::Running),
            ("pending too long", Some(task(PENDING, None, "no suitable node")), Some(&ready), true, node_failure("the Swarm could not start it on node n1 within swarm.node_timeout: no suitable node")),
            ("taken back", Some(task(REJECTED, None, "assigned node no longer meets constraints")), Some(&ready), false, node_failure("the Swarm took it back from node n1: assigned node no longer meets constraints")),
            ("orphaned", Some(task(ORPHANED, None, "")), Some(&down), false, node_failure("node n1 was lost with the job on it")),
            ("shut down", Some(task(SHUTDOWN, None, "")), None, false, node_failure("node unknown stopped it (drained, or its service was removed)")),
        ];
        for (name, t, n, stuck, want) in cases {
            assert_eq!(state_of(t.as_ref(), n, stuck), want, "{name}");
        }
    }
}
