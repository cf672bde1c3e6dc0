//! Who may write which [`Event`]. Each part of the service builds its events from its own set,
//! so a signature says what a part can do to a job: a handler holds a [`UserRequest`], the
//! scheduler a [`SchedulerEvent`], the watcher a [`WatcherEvent`], start-up recovery a
//! [`RecoveryEvent`]. The store's own consequences (array counters, a kill's cascade to an
//! array's children) and the archiver's [`Event::Archived`] are written where they happen.
//! [`Event::writers`] is the whole table, checked against these sets by a test.

use crate::transition::Event;

/// A part of the service that writes job events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// A user (or an administrator) through the API: requests only.
    User,
    Scheduler,
    Watcher,
    Recovery,
    Archiver,
    /// The store, as a consequence of another change in the same transaction.
    Store,
}

/// What a user asks of a job. The loop that owns the job carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRequest {
    Kill,
    Suspend,
    Resume,
    Reschedule,
    SetRequirement { name: String, value: String },
}

/// What the scheduler writes: its decisions and how each start went. It ends a job only when
/// the job could not be started (the auth policy refused it, the engine refused its container).
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulerEvent {
    Dispatch {
        node: String,
        container_name: String,
        shared_dir: String,
    },
    Started {
        container_id: String,
    },
    /// The executor cannot take it now: back to the queue with a reason.
    Rejected {
        reason: String,
    },
    /// It could not be started at all: over, with the exit code and reason.
    StartFailed {
        exit_code: i64,
        reason: String,
    },
    DependencyFailed {
        reason: String,
    },
}

/// What the watcher writes: what the engine did with a running job, and the requests it carried
/// out.
#[derive(Debug, Clone, PartialEq)]
pub enum WatcherEvent {
    Finished {
        exit_code: i64,
        reason: Option<String>,
        duration: Option<f64>,
        /// The engine stopped it at a limit (memory, its time limit).
        at_limit: bool,
    },
    NodeFailed(NodeFailure),
    Killed,
    Suspended,
    SuspendRejected {
        reason: String,
    },
    Resumed,
    ResumeRejected {
        reason: String,
    },
    Rescheduled,
    LimitReached {
        reason: String,
    },
    DiskUsage {
        bytes: u64,
    },
}

/// The node (engine) failed under a job: retried while `retries_allowed` (the job's
/// `failure_policy` within the server's) allows, else over.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFailure {
    pub reason: String,
    pub node: String,
    pub exit_code: i64,
    pub retries_allowed: u32,
}

/// What start-up recovery writes of a job a crash left running (see `recover::decide`).
#[derive(Debug, Clone, PartialEq)]
pub enum RecoveryEvent {
    /// It never started: back to the queue.
    Requeue { reason: String },
    /// Its container runs: its id recorded.
    Reattached { container_id: String },
    /// Its recorded container vanished while the server was down.
    Lost(NodeFailure),
}

impl From<NodeFailure> for Event {
    fn from(f: NodeFailure) -> Event {
        Event::NodeFailed {
            reason: f.reason,
            node: f.node,
            exit_code: f.exit_code,
            retries_allowed: f.retries_allowed,
        }
    }
}

impl From<UserRequest> for Event {
    fn from(r: UserRequest) -> Event {
        match r {
            UserRequest::Kill => Event::KillRequested,
            UserRequest::Suspend => Event::SuspendRequested,
            UserRequest::Resume => Event::ResumeRequested,
            UserRequest::Reschedule => Event::RescheduleRequested,
            UserRequest::SetRequirement { name, value } => Event::SetRequirement { name, value },
        }
    }
}

impl From<SchedulerEvent> for Event {
    fn from(e: SchedulerEvent) -> Event {
        match e {
            SchedulerEvent::Dispatch {
                node,
                container_name,
                shared_dir,
            } => Event::Dispatch {
                node,
                container_name,
                shared_dir,
            },
            SchedulerEvent::Started { container_id } => Event::Started { container_id },
            SchedulerEvent::Rejected { reason } => Event::DispatchRejected { reason },
            SchedulerEvent::StartFailed { exit_code, reason } => Event::Finished {
                exit_code,
                reason: Some(reason),
                duration: Some(0.0),
                at_limit: false,
            },
            SchedulerEvent::DependencyFailed { reason } => Event::DependencyFailed { reason },
        }
    }
}

impl From<WatcherEvent> for Event {
    fn from(e: WatcherEvent) -> Event {
        match e {
            WatcherEvent::Finished {
                exit_code,
                reason,
                duration,
                at_limit,
            } => Event::Finished {
                exit_code,
                reason,
                duration,
                at_limit,
            },
            WatcherEvent::NodeFailed(f) => f.into(),
            WatcherEvent::Killed => Event::Killed,
            WatcherEvent::Suspended => Event::Suspended,
            WatcherEvent::SuspendRejected { reason } => Event::SuspendRejected { reason },
            WatcherEvent::Resumed => Event::Resumed,
            WatcherEvent::ResumeRejected { reason } => Event::ResumeRejected { reason },
            WatcherEvent::Rescheduled => Event::Rescheduled,
            WatcherEvent::LimitReached { reason } => Event::LimitReached { reason },
            WatcherEvent::DiskUsage { bytes } => Event::DiskUsage { bytes },
        }
    }
}

impl From<RecoveryEvent> for Event {
    fn from(e: RecoveryEvent) -> Event {
        match e {
            RecoveryEvent::Requeue { reason } => Event::DispatchRejected { reason },
            RecoveryEvent::Reattached { container_id } => Event::Started { container_id },
            RecoveryEvent::Lost(f) => f.into(),
        }
    }
}

impl Event {
    /// The parts that may write this event: the table ARCHITECTURE.md's "who ends jobs" is
    /// read from. A running job is ended (`Finished`, `NodeFailed`, `Killed`) by the watcher,
    /// by the scheduler when it could not start it, and by start-up recovery when its container
    /// vanished while the server was down; a pending one by the scheduler (a failed
    /// dependency) or a user's kill.
    pub fn writers(&self) -> &'static [Writer] {
        use Writer::*;
        match self {
            Event::Dispatch { .. } | Event::DependencyFailed { .. } => &[Scheduler],
            Event::Started { .. } | Event::DispatchRejected { .. } => &[Scheduler, Recovery],
            Event::Finished { .. } => &[Watcher, Scheduler],
            Event::NodeFailed { .. } => &[Watcher, Recovery],
            Event::Killed
            | Event::Suspended
            | Event::SuspendRejected { .. }
            | Event::Resumed
            | Event::ResumeRejected { .. }
            | Event::Rescheduled
            | Event::LimitReached { .. }
            | Event::DiskUsage { .. } => &[Watcher],
            Event::KillRequested => &[User, Store],
            Event::SuspendRequested
            | Event::ResumeRequested
            | Event::RescheduleRequested
            | Event::SetRequirement { .. } => &[User],
            Event::Archived => &[Archiver],
            Event::ArrayStarted | Event::ArrayChildOver { .. } => &[Store],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event each part builds is one the table says it may write.
    #[test]
    fn each_part_writes_only_its_own_events() {
        let failure = NodeFailure {
            reason: "r".into(),
            node: "n".into(),
            exit_code: 1,
            retries_allowed: 0,
        };
        let s = || String::from("x");
        let cases: Vec<(Writer, Event)> = [
            (Writer::User, UserRequest::Kill.into()),
            (Writer::User, UserRequest::Suspend.into()),
            (Writer::User, UserRequest::Resume.into()),
            (Writer::User, UserRequest::Reschedule.into()),
            (
                Writer::User,
                UserRequest::SetRequirement {
                    name: s(),
                    value: s(),
                }
                .into(),
            ),
            (
                Writer::Scheduler,
                SchedulerEvent::Dispatch {
                    node: s(),
                    container_name: s(),
                    shared_dir: s(),
                }
                .into(),
            ),
            (
                Writer::Scheduler,
                SchedulerEvent::Started { container_id: s() }.into(),
            ),
            (
                Writer::Scheduler,
                SchedulerEvent::Rejected { reason: s() }.into(),
            ),
            (
                Writer::Scheduler,
                SchedulerEvent::StartFailed {
                    exit_code: 1,
                    reason: s(),
                }
                .into(),
            ),
            (
                Writer::Scheduler,
                SchedulerEvent::DependencyFailed { reason: s() }.into(),
            ),
            (
                Writer::Watcher,
                WatcherEvent::Finished {
                    exit_code: 0,
                    reason: None,
                    duration: None,
                    at_limit: false,
                }
                .into(),
            ),
            (
                Writer::Watcher,
                WatcherEvent::NodeFailed(failure.clone()).into(),
            ),
            (Writer::Watcher, WatcherEvent::Killed.into()),
            (Writer::Watcher, WatcherEvent::Suspended.into()),
            (
                Writer::Watcher,
                WatcherEvent::SuspendRejected { reason: s() }.into(),
            ),
            (Writer::Watcher, WatcherEvent::Resumed.into()),
            (
                Writer::Watcher,
                WatcherEvent::ResumeRejected { reason: s() }.into(),
            ),
            (Writer::Watcher, WatcherEvent::Rescheduled.into()),
            (
                Writer::Watcher,
                WatcherEvent::LimitReached { reason: s() }.into(),
            ),
            (Writer::Watcher, WatcherEvent::DiskUsage { bytes: 1 }.into()),
            (
                Writer::Recovery,
                RecoveryEvent::Requeue { reason: s() }.into(),
            ),
            (
                Writer::Recovery,
                RecoveryEvent::Reattached { container_id: s() }.into(),
            ),
            (Writer::Recovery, RecoveryEvent::Lost(failure).into()),
            (Writer::Archiver, Event::Archived),
            (Writer::Store, Event::ArrayStarted),
            (Writer::Store, Event::ArrayChildOver { exit_code: None }),
            (Writer::Store, Event::KillRequested),
        ]
        .into_iter()
        .collect();
        for (writer, event) in &cases {
            assert!(
                event.writers().contains(writer),
                "{writer:?} builds {event:?}, which the table does not give it"
            );
        }
        // Ending a running job: only these.
        let enders: Vec<Writer> = cases
            .iter()
            .filter(|(_, e)| matches!(e, Event::Finished { .. } | Event::NodeFailed { .. }))
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(
            enders,
            [
                Writer::Scheduler,
                Writer::Watcher,
                Writer::Watcher,
                Writer::Recovery
            ]
        );
    }
}
