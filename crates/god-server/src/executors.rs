//! Every configured executor, built at start-up, by name. A job runs on the one its
//! `requirements.executor` names (set at submission: the primary when it names none), and every
//! later call about it (watching, kill, pause, stats, recovery) goes to that same one.

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
