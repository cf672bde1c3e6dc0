//! Every configured executor, built at start-up, by name. A job runs on the one its
//! `requirements.executor` names (set at submission: the primary when it names none), and every
//! later call about it (watching, kill, pause, stats, recovery) goes to that same one.

use crate::ServerError;
use god_core::config::ExecutorKind;
use god_core::Task;
use god_exec::Executor;
use std::sync::Arc;

/// One configured executor.
#[derive(Clone)]
pub struct Member {
    /// As configured (`docker`, `swarm`, `native`, `fake`): what jobs record.
    pub name: String,
    pub kind: ExecutorKind,
    pub exec: Arc<dyn Executor>,
}

/// The configured executors, the primary first. Never empty.
pub struct ExecutorSet {
    primary: Member,
    others: Vec<Member>,
}

impl ExecutorSet {
    pub fn new(primary: Member, others: Vec<Member>) -> ExecutorSet {
        ExecutorSet { primary, others }
    }

    /// One executor alone.
    pub fn single(name: &str, kind: ExecutorKind, exec: Arc<dyn Executor>) -> ExecutorSet {
        ExecutorSet::new(
            Member {
                name: name.to_string(),
                kind,
                exec,
            },
            Vec::new(),
        )
    }

    /// The executor of jobs that name none.
    pub fn primary(&self) -> &Member {
        &self.primary
    }

    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    /// More than one: nodes and jobs are told apart by executor.
    pub fn several(&self) -> bool {
        !self.others.is_empty()
    }

    /// The executor of `task`: the one its `requirements.executor` names (a job stored before
    /// executors were recorded, or naming one no longer configured, goes to the primary).
    pub fn of(&self, task: &Task) -> &Member {
        self.named(task.requirements.executor.as_deref())
    }

    /// The executor a job's recorded `requirements.executor` names (`swarm` and `docker` name
    /// the same one); the primary for none, or for one no longer configured.
    pub fn named(&self, name: Option<&str>) -> &Member {
        name.and_then(ExecutorKind::of)
            .and_then(|kind| self.iter().find(|m| m.kind == kind))
            .unwrap_or(&self.primary)
    }
}

/// Refuse to start when two executors count one machine's resources: a Docker Engine that is
/// also an active node of a Swarm a `swarm-mode` executor places onto. An executor that does
/// not answer now is not checked (said in the log).
pub async fn refuse_machines_counted_twice(execs: &ExecutorSet) -> Result<(), ServerError> {
    if !execs.several() {
        return Ok(());
    }
    let mut counted = Vec::new();
    for m in execs.iter() {
        match m.exec.swarm_node_ids().await {
            Ok(ids) => counted.push((m.name.as_str(), ids)),
            Err(e) => tracing::warn!(
                "executor {}: {e}; cannot check now that no other executor counts its machines",
                m.name
            ),
        }
    }
    match counted_twice(&counted) {
        Some(message) => Err(ServerError::Config(god_core::ConfigError::new(
            "executors",
            message,
        ))),
        None => Ok(()),
    }
}

/// The first Swarm node id two executors both count, said as the refusal.
fn counted_twice(counted: &[(&str, Vec<String>)]) -> Option<String> {
    for (i, (first, ids)) in counted.iter().enumerate() {
        for (second, others) in &counted[i + 1..] {
            if let Some(id) = ids.iter().find(|id| others.contains(id)) {
                return Some(format!(
                    "executors {first} and {second} both run jobs on the Swarm node {id}, so its \
                     resources would be counted twice: give the docker executor an Engine that is \
                     not a Swarm node, or drain that node (docker node update --availability \
                     drain {id})"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_is_counted_by_one_executor() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: &[(&str, Vec<(&str, Vec<String>)>, Option<&str>)] = &[
            ("nothing", vec![], None),
            (
                "an Engine outside the Swarm",
                vec![("docker", ids(&[])), ("swarm-mode", ids(&["a", "b"]))],
                None,
            ),
            (
                "a drained manager is not counted by the Swarm",
                vec![("docker", ids(&["m"])), ("swarm-mode", ids(&["a", "b"]))],
                None,
            ),
            (
                "an Engine that is an active node",
                vec![("docker", ids(&["b"])), ("swarm-mode", ids(&["a", "b"]))],
                Some("executors docker and swarm-mode both run jobs on the Swarm node b"),
            ),
        ];
        for (name, counted, want) in cases {
            let got = counted_twice(counted);
            match want {
                Some(w) => assert!(
                    got.as_deref().is_some_and(|g| g.starts_with(w)),
                    "{name}: {got:?}"
                ),
                None => assert_eq!(got, None, "{name}"),
            }
        }
    }
}
