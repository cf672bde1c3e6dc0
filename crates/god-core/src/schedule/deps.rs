//! Dependency gates: ready, waiting for a parent, or doomed (the condition can no longer hold).

use super::model::{Condition, Dependency, ParentState, Snapshot};
use super::reason::Reason;
use crate::task::JobId;
use std::collections::{HashMap, HashSet};

pub(crate) enum Gate {
    Wait(Reason),
    Doomed(Reason),
}

enum Check {
    Holds,
    Wait(Reason),
    Never(Reason),
}

fn check(dep: &Dependency, state: Option<ParentState>, doomed_now: bool) -> Check {
    let (parent, condition) = (dep.parent, dep.condition);
    if doomed_now {
        // The parent ends this pass without running: "not ok".
        return match condition {
            Condition::AfterOk => Check::Never(Reason::ParentDoomed { parent, condition }),
            _ => Check::Wait(Reason::WaitingFor { parent, condition }),
        };
    }
    match state.unwrap_or(ParentState::Missing) {
        ParentState::Active => Check::Wait(Reason::WaitingFor { parent, condition }),
        ParentState::Missing => Check::Never(Reason::ParentMissing { parent, condition }),
        ParentState::Over { exit_code } => {
            if condition.satisfied_by(exit_code) {
                Check::Holds
            } else {
                Check::Never(match exit_code {
                    Some(exit_code) => Reason::ParentEnded {
                        parent,
                        condition,
                        exit_code,
                    },
                    None => Reason::ParentNeverRan { parent, condition },
                })
            }
        }
    }
}

/// Gates of the pending jobs that have dependencies and are not ready, by index into
/// `s.pending`. Jobs are visited in id order, so a child whose parent is doomed in this same
/// pass (parents always have lower ids) is doomed too when its condition is `afterok`.
pub(crate) fn gates(s: &Snapshot) -> HashMap<u32, Gate> {
    let mut with_deps: Vec<(JobId, u32)> = s
        .pending
        .iter()
        .enumerate()
        .filter(|(_, j)| !j.deps.is_empty())
        .map(|(i, j)| (j.id, i as u32))
        .collect();
    let mut out = HashMap::new();
    if with_deps.is_empty() {
        return out;
    }
    with_deps.sort_unstable();
    let mut doomed: HashSet<JobId> = HashSet::new();
    for (id, idx) in with_deps {
        let mut wait = None;
        let mut never = None;
        for dep in &s.pending[idx as usize].deps {
            let state = s.parents.get(&dep.parent).copied();
            match check(dep, state, doomed.contains(&dep.parent)) {
                Check::Holds => {}
                Check::Wait(r) => {
                    wait.get_or_insert(r);
                }
                Check::Never(r) => {
                    never = Some(r);
                    break;
                }
            }
        }
        if let Some(r) = never {
            doomed.insert(id);
            out.insert(idx, Gate::Doomed(r));
        } else if let Some(r) = wait {
            out.insert(idx, Gate::Wait(r));
        }
    }
    out
}
