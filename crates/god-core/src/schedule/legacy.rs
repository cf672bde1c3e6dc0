//! The first scheduling pass, kept for callers not yet moved to [`pass`](super::pass): FIFO in
//! submission order, first fit against one pool of free capacity, dependencies as
//! done/active/missing, reasons as strings.

use crate::task::JobId;

/// What the pass needs to know about a pending job.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingJob {
    pub id: JobId,
    pub cpu: u32,
    pub ram: f64,
    pub deps: Vec<JobId>,
}

/// Free resources of the executor right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Free {
    pub cpus: f64,
    pub ram: f64,
}

/// What a dependency is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepState {
    /// Over or archived: the child may go.
    Done,
    /// Pending or running.
    Active,
    /// No such job.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pass {
    pub dispatch: Vec<JobId>,
    /// Jobs left pending, with the reason a person reads.
    pub waiting: Vec<(JobId, String)>,
}

/// One FIFO pass over `pending` (already in submission order), dispatching at most `max` jobs.
pub fn fifo(
    pending: &[PendingJob],
    mut free: Free,
    dep_state: &dyn Fn(JobId) -> DepState,
    max: usize,
) -> Pass {
    let mut pass = Pass::default();
    for job in pending {
        if let Some((dep, state)) = job
            .deps
            .iter()
            .map(|d| (*d, dep_state(*d)))
            .find(|(_, s)| *s != DepState::Done)
        {
            let why = match state {
                DepState::Missing => format!("waiting for job {dep}, which does not exist"),
                _ => format!("waiting for job {dep}"),
            };
            pass.waiting.push((job.id, why));
            continue;
        }
        if pass.dispatch.len() >= max {
            pass.waiting
                .push((job.id, "waiting for the next scheduling pass".into()));
            continue;
        }
        let cpu = f64::from(job.cpu);
        if cpu <= free.cpus + 1e-9 && job.ram <= free.ram + 1e-9 {
            free.cpus -= cpu;
            free.ram -= job.ram;
            pass.dispatch.push(job.id);
        } else {
            pass.waiting.push((
                job.id,
                format!(
                    "waiting for resources: needs {} cpu and {} GB, {} cpu and {:.1} GB free",
                    job.cpu,
                    job.ram,
                    free.cpus.max(0.0).floor(),
                    free.ram.max(0.0)
                ),
            ));
        }
    }
    pass
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, cpu: u32, ram: f64, deps: &[u64]) -> PendingJob {
        PendingJob {
            id: JobId(id),
            cpu,
            ram,
            deps: deps.iter().map(|d| JobId(*d)).collect(),
        }
    }

    #[test]
    fn fifo_table() {
        let all_done = |_: JobId| DepState::Done;
        // (jobs, free cpus, free ram, max, expected dispatched ids)
        let cases: Vec<(Vec<PendingJob>, f64, f64, usize, Vec<u64>)> = vec![
            (
                vec![job(1, 1, 1.0, &[]), job(2, 1, 1.0, &[])],
                2.0,
                2.0,
                10,
                vec![1, 2],
            ),
            (
                vec![job(1, 1, 1.0, &[]), job(2, 1, 1.0, &[])],
                1.0,
                8.0,
                10,
                vec![1],
            ),
            (
                vec![job(1, 4, 1.0, &[]), job(2, 1, 1.0, &[])],
                2.0,
                8.0,
                10,
                vec![2],
            ),
            (
                vec![job(1, 1, 4.0, &[]), job(2, 1, 1.0, &[])],
                8.0,
                2.0,
                10,
                vec![2],
            ),
            (
                vec![job(1, 1, 1.0, &[]), job(2, 1, 1.0, &[])],
                8.0,
                8.0,
                1,
                vec![1],
            ),
            (vec![], 8.0, 8.0, 10, vec![]),
        ];
        for (i, (jobs, cpus, ram, max, want)) in cases.into_iter().enumerate() {
            let pass = fifo(&jobs, Free { cpus, ram }, &all_done, max);
            let got: Vec<u64> = pass.dispatch.iter().map(|j| j.0).collect();
            assert_eq!(got, want, "case {i}");
            assert_eq!(
                pass.dispatch.len() + pass.waiting.len(),
                jobs.len(),
                "case {i}"
            );
        }
    }

    #[test]
    fn dependencies_hold_children_with_a_reason() {
        let state = |d: JobId| {
            if d.0 == 1 {
                DepState::Active
            } else {
                DepState::Missing
            }
        };
        let pass = fifo(
            &[job(2, 1, 1.0, &[1]), job(3, 1, 1.0, &[9])],
            Free {
                cpus: 8.0,
                ram: 8.0,
            },
            &state,
            10,
        );
        assert!(pass.dispatch.is_empty());
        assert_eq!(pass.waiting[0].1, "waiting for job 1");
        assert!(pass.waiting[1].1.contains("does not exist"));
    }

    #[test]
    fn resource_reason_says_what_is_missing() {
        let pass = fifo(
            &[job(1, 4, 1.0, &[])],
            Free {
                cpus: 2.0,
                ram: 8.0,
            },
            &|_| DepState::Done,
            10,
        );
        assert_eq!(
            pass.waiting[0].1,
            "waiting for resources: needs 4 cpu and 1 GB, 2 cpu and 8.0 GB free"
        );
    }
}
