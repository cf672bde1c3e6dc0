//! Why a job is not dispatched, as data; the sentence is rendered only on demand (`Display`).

use crate::deps::Condition;
use crate::task::JobId;
use std::fmt;
use std::sync::Arc;

/// Whose quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    User,
    Project,
}

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// CPUs in use at once.
    Cpu,
    /// GB in use at once.
    Ram,
    /// Wall seconds used within the usage window.
    Time,
}

/// The first resource that no single node offers (`None`: each is offered somewhere, but no
/// node offers them all at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Cpu,
    Ram,
    Gpus,
}

/// The order the queue is in, for "behind N jobs ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// `FiFo`.
    Submission,
    /// `FairShare`.
    Ticket,
    /// `fairshare`.
    Usage,
}

/// Why the caller holds a job or an account's jobs back, whatever the cluster can offer.
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    /// "the account is disabled: its jobs wait"
    AccountDisabled,
    /// "the guest account is not active: its jobs wait for an administrator"
    GuestInactive,
    /// "disk quota 40000000000 bytes reached: 41000000000 bytes in job directories (archive
    /// old jobs to free them)"
    DiskQuota { quota: u64, used: u64 },
    /// A watcher plugin's `can_start` said no, and why.
    Plugin { reason: Arc<str> },
    /// Maintenance mode: an administrator stopped every start, with an optional message
    /// ("maintenance mode (new disks until 14:00): no job starts until an administrator ends
    /// it").
    Maintenance { message: Option<Arc<str>> },
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::AccountDisabled => f.write_str("the account is disabled: its jobs wait"),
            Hold::GuestInactive => {
                f.write_str("the guest account is not active: its jobs wait for an administrator")
            }
            Hold::DiskQuota { quota, used } => write!(
                f,
                "disk quota {quota} bytes reached: {used} bytes in job directories (archive old \
                 jobs to free them)"
            ),
            Hold::Plugin { reason } => f.write_str(reason),
            Hold::Maintenance { message } => {
                f.write_str("maintenance mode")?;
                if let Some(m) = message.as_deref().filter(|m| !m.trim().is_empty()) {
                    write!(f, " ({})", m.trim())?;
                }
                f.write_str(": no job starts until an administrator ends it")
            }
        }
    }
}

/// Why a job stays pending (or, for the dependency variants in [`Decision::doomed`], why it
/// never will run). 24 bytes. Its [`kind`](Reason::kind) is stored beside its text, and [`reason_to_write`] says when to write it.
///
/// [`Decision::doomed`]: super::Decision::doomed
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// "waiting for job 41 (afterok)"
    WaitingFor { parent: JobId, condition: Condition },
    /// Doomed: "job 41 ended with exit code 1 (afterok)"
    ParentEnded {
        parent: JobId,
        condition: Condition,
        exit_code: i64,
    },
    /// Doomed: "job 41 ended without running (afterok)"
    ParentNeverRan { parent: JobId, condition: Condition },
    /// Doomed: "job 41 does not exist (afterok)"
    ParentMissing { parent: JobId, condition: Condition },
    /// Doomed in the same pass as its parent: "job 41 will never run (afterok)"
    ParentDoomed { parent: JobId, condition: Condition },
    /// "user cpu quota 8 reached: 8 in use"
    Quota {
        scope: Scope,
        limit: Limit,
        quota: f64,
        used: f64,
    },
    /// At submission: "job needs 16 cpus, more than the user cpu quota of 8"
    ExceedsQuota {
        scope: Scope,
        limit: Limit,
        quota: f64,
        need: f64,
    },
    /// "no node has label storage==ssd"
    NoLabel { label: Arc<str> },
    /// "no node has all the requested labels"
    NoLabelCombination,
    /// "every node that fits is reserved for other users or projects"
    NotOpen,
    /// "the cluster has no node"
    NoNodes,
    /// Never fits, whatever runs: "no node has 64 cpus"
    TooLarge {
        cpu: u32,
        gpus: u32,
        ram: f64,
        dim: Option<Dim>,
    },
    /// Fits once something ends: "no node with 64 GB free"
    NoFreeNode {
        cpu: u32,
        gpus: u32,
        ram: f64,
        dim: Option<Dim>,
    },
    /// Would fit now, but jobs ahead come first (the dispatch limit, or the reservation held
    /// for the job at the head of the queue): "behind 120 jobs of users with less usage"
    Behind { ahead: u32, ranking: Ranking },
    /// The snapshot is inconsistent (an index out of range): "invalid snapshot: unknown user"
    Invalid { what: &'static str },
    /// Held back by the caller (the job's account, a plugin): see [`Hold`].
    Held(Arc<Hold>),
}

/// What kind of reason a job waits with: a stable code (`quota.user.cpu`, `held.disabled`,
/// `resources`...), stored next to the reason's text. Two reasons of one kind differ only in
/// their figures or names ("behind 120 jobs" and "behind 118 jobs"), so the scheduler writes a
/// reason at once when its kind changes and refreshes its text only now and then otherwise
/// ([`reason_to_write`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonKind {
    /// `dependency`: [`Reason::WaitingFor`]
    Dependency,
    /// `dependency.failed`: the doomed [`Reason::ParentEnded`], [`Reason::ParentNeverRan`],
    /// [`Reason::ParentMissing`], [`Reason::ParentDoomed`]
    DependencyFailed,
    /// `quota.user.cpu`, `quota.project.time`...: [`Reason::Quota`]
    Quota(Scope, Limit),
    /// `quota.exceeded`: [`Reason::ExceedsQuota`] (at submission)
    ExceedsQuota,
    /// `placement.label`: [`Reason::NoLabel`]
    NoLabel,
    /// `placement.labels`: [`Reason::NoLabelCombination`]
    NoLabelCombination,
    /// `placement.reserved`: [`Reason::NotOpen`]
    NotOpen,
    /// `placement.no_nodes`: [`Reason::NoNodes`]
    NoNodes,
    /// `resources.too_large`: [`Reason::TooLarge`]
    TooLarge,
    /// `resources`: [`Reason::NoFreeNode`]
    Resources,
    /// `queue.behind`: [`Reason::Behind`]
    Behind,
    /// `invalid`: [`Reason::Invalid`]
    Invalid,
    /// `held.disabled`: [`Hold::AccountDisabled`]
    HeldDisabled,
    /// `held.guest`: [`Hold::GuestInactive`]
    HeldGuest,
    /// `held.disk_quota`: [`Hold::DiskQuota`]
    HeldDiskQuota,
    /// `held.plugin`: [`Hold::Plugin`]
    HeldPlugin,
    /// `maintenance`: [`Hold::Maintenance`], every pending job while maintenance mode is on
    Maintenance,
    /// `executor`: not a decision of the pass; the executor does not answer, so the scheduler
    /// plans nothing and every pending job waits for it
    Executor,
}

impl ReasonKind {
    /// Every kind, each once.
    pub const ALL: [ReasonKind; 23] = [
        ReasonKind::Dependency,
        ReasonKind::DependencyFailed,
        ReasonKind::Quota(Scope::User, Limit::Cpu),
        ReasonKind::Quota(Scope::User, Limit::Ram),
        ReasonKind::Quota(Scope::User, Limit::Time),
        ReasonKind::Quota(Scope::Project, Limit::Cpu),
        ReasonKind::Quota(Scope::Project, Limit::Ram),
        ReasonKind::Quota(Scope::Project, Limit::Time),
        ReasonKind::ExceedsQuota,
        ReasonKind::NoLabel,
        ReasonKind::NoLabelCombination,
        ReasonKind::NotOpen,
        ReasonKind::NoNodes,
        ReasonKind::TooLarge,
        ReasonKind::Resources,
        ReasonKind::Behind,
        ReasonKind::Invalid,
        ReasonKind::HeldDisabled,
        ReasonKind::HeldGuest,
        ReasonKind::HeldDiskQuota,
        ReasonKind::HeldPlugin,
        ReasonKind::Maintenance,
        ReasonKind::Executor,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::Dependency => "dependency",
            ReasonKind::DependencyFailed => "dependency.failed",
            ReasonKind::Quota(Scope::User, Limit::Cpu) => "quota.user.cpu",
            ReasonKind::Quota(Scope::User, Limit::Ram) => "quota.user.ram",
            ReasonKind::Quota(Scope::User, Limit::Time) => "quota.user.time",
            ReasonKind::Quota(Scope::Project, Limit::Cpu) => "quota.project.cpu",
            ReasonKind::Quota(Scope::Project, Limit::Ram) => "quota.project.ram",
            ReasonKind::Quota(Scope::Project, Limit::Time) => "quota.project.time",
            ReasonKind::ExceedsQuota => "quota.exceeded",
            ReasonKind::NoLabel => "placement.label",
            ReasonKind::NoLabelCombination => "placement.labels",
            ReasonKind::NotOpen => "placement.reserved",
            ReasonKind::NoNodes => "placement.no_nodes",
            ReasonKind::TooLarge => "resources.too_large",
            ReasonKind::Resources => "resources",
            ReasonKind::Behind => "queue.behind",
            ReasonKind::Invalid => "invalid",
            ReasonKind::HeldDisabled => "held.disabled",
            ReasonKind::HeldGuest => "held.guest",
            ReasonKind::HeldDiskQuota => "held.disk_quota",
            ReasonKind::HeldPlugin => "held.plugin",
            ReasonKind::Maintenance => "maintenance",
            ReasonKind::Executor => "executor",
        }
    }

    /// The kind a stored code names (`None`: a code this version does not know).
    pub fn parse(code: &str) -> Option<ReasonKind> {
        ReasonKind::ALL.into_iter().find(|k| k.as_str() == code)
    }
}

impl fmt::Display for ReasonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Hold {
    pub fn kind(&self) -> ReasonKind {
        match self {
            Hold::AccountDisabled => ReasonKind::HeldDisabled,
            Hold::GuestInactive => ReasonKind::HeldGuest,
            Hold::DiskQuota { .. } => ReasonKind::HeldDiskQuota,
            Hold::Plugin { .. } => ReasonKind::HeldPlugin,
            Hold::Maintenance { .. } => ReasonKind::Maintenance,
        }
    }
}

impl Reason {
    pub fn kind(&self) -> ReasonKind {
        match self {
            Reason::WaitingFor { .. } => ReasonKind::Dependency,
            Reason::ParentEnded { .. }
            | Reason::ParentNeverRan { .. }
            | Reason::ParentMissing { .. }
            | Reason::ParentDoomed { .. } => ReasonKind::DependencyFailed,
            Reason::Quota { scope, limit, .. } => ReasonKind::Quota(*scope, *limit),
            Reason::ExceedsQuota { .. } => ReasonKind::ExceedsQuota,
            Reason::NoLabel { .. } => ReasonKind::NoLabel,
            Reason::NoLabelCombination => ReasonKind::NoLabelCombination,
            Reason::NotOpen => ReasonKind::NotOpen,
            Reason::NoNodes => ReasonKind::NoNodes,
            Reason::TooLarge { .. } => ReasonKind::TooLarge,
            Reason::NoFreeNode { .. } => ReasonKind::Resources,
            Reason::Behind { .. } => ReasonKind::Behind,
            Reason::Invalid { .. } => ReasonKind::Invalid,
            Reason::Held(hold) => hold.kind(),
        }
    }
}

/// The text to store for a pending job that now waits with `new`, given the kind and text
/// stored for it; `None` to leave the row alone. A reason of another kind (or none stored, or
/// one of no known kind) is written at once; one of the same kind only when its text changed
/// and `refresh` is due (the caller's periodic refresh), so that figures moving at every pass
/// ("behind 120 jobs" → "behind 118 jobs") do not rewrite a busy queue at every pass. The text
/// is rendered only when it may be written.
pub fn reason_to_write(
    stored_kind: Option<ReasonKind>,
    stored_text: Option<&str>,
    new: &Reason,
    refresh: bool,
) -> Option<String> {
    let kind_changed = stored_kind != Some(new.kind());
    if !kind_changed && !refresh {
        return None;
    }
    let text = new.to_string();
    (kind_changed || stored_text != Some(text.as_str())).then_some(text)
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// GB without noise: `64`, `0.5`, `1.3`.
struct Gb(f64);

impl fmt::Display for Gb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = (self.0 * 10.0).round() / 10.0;
        if r.fract() == 0.0 {
            write!(f, "{r:.0}")
        } else {
            write!(f, "{r:.1}")
        }
    }
}

/// "8 cpus, 64 GB and 2 gpus" (gpus only when asked for).
struct Shape(u32, f64, u32);

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shape(cpu, ram, gpus) = *self;
        let c = plural(u64::from(cpu), "cpu", "cpus");
        if gpus == 0 {
            write!(f, "{cpu} {c} and {} GB", Gb(ram))
        } else {
            let g = plural(u64::from(gpus), "gpu", "gpus");
            write!(f, "{cpu} {c}, {} GB and {gpus} {g}", Gb(ram))
        }
    }
}

struct Amount(Limit, f64);

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Limit::Cpu => write!(f, "{:.0}", self.1),
            Limit::Ram => write!(f, "{} GB", Gb(self.1)),
            Limit::Time => write!(f, "{:.0} s", self.1),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::User => "user",
            Scope::Project => "project",
        })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Cpu => "cpu",
            Limit::Ram => "ram",
            Limit::Time => "time",
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::WaitingFor { parent, condition } => {
                write!(f, "waiting for job {parent} ({condition})")
            }
            Reason::ParentEnded {
                parent,
                condition,
                exit_code,
            } => write!(
                f,
                "job {parent} ended with exit code {exit_code} ({condition})"
            ),
            Reason::ParentNeverRan { parent, condition } => {
                write!(f, "job {parent} ended without running ({condition})")
            }
            Reason::ParentMissing { parent, condition } => {
                write!(f, "job {parent} does not exist ({condition})")
            }
            Reason::ParentDoomed { parent, condition } => {
                write!(f, "job {parent} will never run ({condition})")
            }
            Reason::Quota {
                scope,
                limit,
                quota,
                used,
            } => {
                let verb = if *limit == Limit::Time {
                    "used"
                } else {
                    "in use"
                };
                write!(
                    f,
                    "{scope} {limit} quota {} reached: {} {verb}",
                    Amount(*limit, *quota),
                    Amount(*limit, *used)
                )
            }
            Reason::ExceedsQuota {
                scope,
                limit,
                quota,
                need,
            } => match limit {
                Limit::Cpu => write!(
                    f,
                    "job needs {need:.0} {}, more than the {scope} cpu quota of {quota:.0}",
                    plural(*need as u64, "cpu", "cpus")
                ),
                _ => write!(
                    f,
                    "job needs {}, more than the {scope} {limit} quota of {}",
                    Amount(*limit, *need),
                    Amount(*limit, *quota)
                ),
            },
            Reason::NoLabel { label } => write!(f, "no node has label {label}"),
            Reason::NoLabelCombination => f.write_str("no node has all the requested labels"),
            Reason::NotOpen => {
                f.write_str("every node that fits is reserved for other users or projects")
            }
            Reason::NoNodes => f.write_str("the cluster has no node"),
            Reason::TooLarge {
                cpu,
                gpus,
                ram,
                dim,
            } => match dim {
                Some(Dim::Cpu) => {
                    write!(
                        f,
                        "no node has {cpu} {}",
                        plural(u64::from(*cpu), "cpu", "cpus")
                    )
                }
                Some(Dim::Ram) => write!(f, "no node has {} GB", Gb(*ram)),
                Some(Dim::Gpus) => {
                    write!(
                        f,
                        "no node has {gpus} {}",
                        plural(u64::from(*gpus), "gpu", "gpus")
                    )
                }
                None => write!(f, "no node has {} at once", Shape(*cpu, *ram, *gpus)),
            },
            Reason::NoFreeNode {
                cpu,
                gpus,
                ram,
                dim,
            } => match dim {
                Some(Dim::Cpu) => write!(
                    f,
                    "no node with {cpu} {} free",
                    plural(u64::from(*cpu), "cpu", "cpus")
                ),
                Some(Dim::Ram) => write!(f, "no node with {} GB free", Gb(*ram)),
                Some(Dim::Gpus) => write!(
                    f,
                    "no node with {gpus} {} free",
                    plural(u64::from(*gpus), "gpu", "gpus")
                ),
                None => write!(f, "no node with {} free at once", Shape(*cpu, *ram, *gpus)),
            },
            Reason::Behind { ahead, ranking } => {
                let n = u64::from(*ahead);
                let jobs = plural(n, "job", "jobs");
                match ranking {
                    Ranking::Submission => {
                        write!(f, "behind {n} older {jobs}")
                    }
                    Ranking::Ticket => {
                        write!(f, "behind {n} {jobs} with a better fair-share ticket")
                    }
                    Ranking::Usage => {
                        write!(f, "behind {n} {jobs} of users with less usage")
                    }
                }
            }
            Reason::Invalid { what } => write!(f, "invalid snapshot: {what}"),
            Reason::Held(hold) => hold.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests;
