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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use std::collections::HashMap;

    /// One child (job 50) of job 41: its condition against every state of the parent.
    #[test]
    fn dependencies() {
        use Condition::*;
        let over = |c| Some(ParentState::Over { exit_code: c });
        // (parent state, None: absent from the snapshot; condition; expected)
        let cases: Vec<(Option<ParentState>, Condition, &str)> = vec![
            (
                Some(ParentState::Active),
                AfterOk,
                "waiting for job 41 (afterok)",
            ),
            (
                Some(ParentState::Active),
                AfterAny,
                "waiting for job 41 (afterany)",
            ),
            (
                Some(ParentState::Active),
                AfterNotOk,
                "waiting for job 41 (afternotok)",
            ),
            (over(Some(0)), AfterOk, "dispatched"),
            (over(Some(0)), AfterAny, "dispatched"),
            (
                over(Some(0)),
                AfterNotOk,
                "job 41 ended with exit code 0 (afternotok)",
            ),
            (
                over(Some(1)),
                AfterOk,
                "job 41 ended with exit code 1 (afterok)",
            ),
            (over(Some(1)), AfterAny, "dispatched"),
            (over(Some(137)), AfterNotOk, "dispatched"),
            (
                over(None),
                AfterOk,
                "job 41 ended without running (afterok)",
            ),
            (over(None), AfterAny, "dispatched"),
            (over(None), AfterNotOk, "dispatched"),
            (
                Some(ParentState::Missing),
                AfterOk,
                "job 41 does not exist (afterok)",
            ),
            (None, AfterAny, "job 41 does not exist (afterany)"),
        ];
        for (state, condition, want) in cases {
            let mut s = base();
            s.pending = vec![Pending {
                deps: vec![Dependency {
                    parent: JobId(41),
                    condition,
                }],
                ..job(50, ALICE, DEFAULT, 1, 1.0)
            }];
            if let Some(st) = state {
                s.parents.insert(JobId(41), st);
            }
            let d = pass(&s, &config(Policy::FiFo));
            assert_eq!(why(&d, 50), want, "{state:?} {condition}");
            let doomed = !d.doomed.is_empty();
            assert_eq!(
                doomed,
                !want.starts_with("waiting") && want != "dispatched",
                "{state:?} {condition}: doomed"
            );
        }
    }

    #[test]
    fn doomed_propagates_within_the_pass() {
        let dep = |parent, condition| Dependency {
            parent: JobId(parent),
            condition,
        };
        let with = |id, deps: Vec<Dependency>| Pending {
            deps,
            ..job(id, ALICE, DEFAULT, 1, 1.0)
        };
        let mut s = base();
        // Listed children first: the pass must still visit parents first.
        s.pending = vec![
            with(44, vec![dep(42, Condition::AfterOk)]),
            with(43, vec![dep(41, Condition::AfterAny)]),
            with(42, vec![dep(41, Condition::AfterOk)]),
            with(41, vec![dep(40, Condition::AfterOk)]),
            with(
                45,
                vec![dep(40, Condition::AfterNotOk), dep(39, Condition::AfterOk)],
            ),
            with(
                46,
                vec![dep(38, Condition::AfterOk), dep(39, Condition::AfterOk)],
            ),
        ];
        s.parents = HashMap::from([
            (JobId(38), ParentState::Over { exit_code: Some(0) }),
            (JobId(39), ParentState::Active),
            (JobId(40), ParentState::Over { exit_code: Some(1) }),
            (JobId(41), ParentState::Active),
            (JobId(42), ParentState::Active),
        ]);
        let d = pass(&s, &config(Policy::FiFo));
        let cases = [
            (41, "job 40 ended with exit code 1 (afterok)"),
            (42, "job 41 will never run (afterok)"),
            (43, "waiting for job 41 (afterany)"),
            (44, "job 42 will never run (afterok)"),
            (45, "waiting for job 39 (afterok)"),
            (46, "waiting for job 39 (afterok)"),
        ];
        for (id, want) in cases {
            assert_eq!(why(&d, id), want, "job {id}");
        }
        let mut doomed: Vec<u64> = d.doomed.iter().map(|(j, _)| j.0).collect();
        doomed.sort_unstable();
        assert_eq!(doomed, vec![41, 42, 44]);
    }
}
