//! Reasons as users read them, their kinds, and when the scheduler writes them.

use super::super::model::Condition;
use super::*;

#[test]
fn reasons_render() {
    use Condition::*;
    let cases: Vec<(Reason, &str)> = vec![
        (
            Reason::WaitingFor {
                parent: JobId(41),
                condition: AfterOk,
            },
            "waiting for job 41 (afterok)",
        ),
        (
            Reason::ParentEnded {
                parent: JobId(41),
                condition: AfterOk,
                exit_code: 1,
            },
            "job 41 ended with exit code 1 (afterok)",
        ),
        (
            Reason::Quota {
                scope: Scope::User,
                limit: Limit::Cpu,
                quota: 8.0,
                used: 8.0,
            },
            "user cpu quota 8 reached: 8 in use",
        ),
        (
            Reason::Quota {
                scope: Scope::Project,
                limit: Limit::Ram,
                quota: 64.0,
                used: 60.5,
            },
            "project ram quota 64 GB reached: 60.5 GB in use",
        ),
        (
            Reason::NoFreeNode {
                cpu: 1,
                gpus: 0,
                ram: 64.0,
                dim: Some(Dim::Ram),
            },
            "no node with 64 GB free",
        ),
        (
            Reason::NoFreeNode {
                cpu: 8,
                gpus: 2,
                ram: 0.5,
                dim: None,
            },
            "no node with 8 cpus, 0.5 GB and 2 gpus free at once",
        ),
        (
            Reason::TooLarge {
                cpu: 1,
                gpus: 1,
                ram: 1.0,
                dim: Some(Dim::Gpus),
            },
            "no node has 1 gpu",
        ),
        (
            Reason::NoLabel {
                label: Arc::from("storage==ssd"),
            },
            "no node has label storage==ssd",
        ),
        (
            Reason::Behind {
                ahead: 120,
                ranking: Ranking::Usage,
            },
            "behind 120 jobs of users with less usage",
        ),
        (
            Reason::Behind {
                ahead: 1,
                ranking: Ranking::Submission,
            },
            "behind 1 older job",
        ),
        (
            Reason::Invalid {
                what: "unknown user",
            },
            "invalid snapshot: unknown user",
        ),
    ];
    for (r, want) in cases {
        assert_eq!(r.to_string(), want, "{r:?}");
    }
    assert!(std::mem::size_of::<Reason>() <= 24);
}

/// Every reason the pass gives, with its kind's code.
#[test]
fn kinds() {
    use Condition::*;
    let parent = JobId(41);
    let quota = |scope, limit| Reason::Quota {
        scope,
        limit,
        quota: 8.0,
        used: 8.0,
    };
    let held = |h: Hold| Reason::Held(Arc::new(h));
    let cases: Vec<(Reason, &str)> = vec![
        (
            Reason::WaitingFor {
                parent,
                condition: AfterAny,
            },
            "dependency",
        ),
        (
            Reason::ParentEnded {
                parent,
                condition: AfterOk,
                exit_code: 1,
            },
            "dependency.failed",
        ),
        (
            Reason::ParentNeverRan {
                parent,
                condition: AfterOk,
            },
            "dependency.failed",
        ),
        (
            Reason::ParentMissing {
                parent,
                condition: AfterOk,
            },
            "dependency.failed",
        ),
        (
            Reason::ParentDoomed {
                parent,
                condition: AfterOk,
            },
            "dependency.failed",
        ),
        (quota(Scope::User, Limit::Cpu), "quota.user.cpu"),
        (quota(Scope::User, Limit::Ram), "quota.user.ram"),
        (quota(Scope::User, Limit::Time), "quota.user.time"),
        (quota(Scope::Project, Limit::Cpu), "quota.project.cpu"),
        (quota(Scope::Project, Limit::Ram), "quota.project.ram"),
        (quota(Scope::Project, Limit::Time), "quota.project.time"),
        (
            Reason::ExceedsQuota {
                scope: Scope::User,
                limit: Limit::Cpu,
                quota: 8.0,
                need: 16.0,
            },
            "quota.exceeded",
        ),
        (
            Reason::NoLabel {
                label: Arc::from("storage==ssd"),
            },
            "placement.label",
        ),
        (Reason::NoLabelCombination, "placement.labels"),
        (Reason::NotOpen, "placement.reserved"),
        (Reason::NoNodes, "placement.no_nodes"),
        (
            Reason::TooLarge {
                cpu: 64,
                gpus: 0,
                ram: 1.0,
                dim: Some(Dim::Cpu),
            },
            "resources.too_large",
        ),
        (
            Reason::NoFreeNode {
                cpu: 1,
                gpus: 0,
                ram: 64.0,
                dim: None,
            },
            "resources",
        ),
        (
            Reason::Behind {
                ahead: 3,
                ranking: Ranking::Ticket,
            },
            "queue.behind",
        ),
        (
            Reason::Invalid {
                what: "unknown user",
            },
            "invalid",
        ),
        (held(Hold::AccountDisabled), "held.disabled"),
        (held(Hold::GuestInactive), "held.guest"),
        (
            held(Hold::DiskQuota { quota: 1, used: 2 }),
            "held.disk_quota",
        ),
        (
            held(Hold::Plugin {
                reason: Arc::from("no"),
            }),
            "held.plugin",
        ),
        (
            held(Hold::Maintenance {
                message: Some(Arc::from("new disks")),
            }),
            "maintenance",
        ),
    ];
    for (r, want) in &cases {
        assert_eq!(r.kind().as_str(), *want, "{r}");
        assert_eq!(ReasonKind::parse(want), Some(r.kind()), "{want}");
    }
    // Each kind has its own code, read back as itself; unknown codes are none.
    let mut codes: Vec<&str> = ReasonKind::ALL.iter().map(|k| k.as_str()).collect();
    for k in ReasonKind::ALL {
        assert_eq!(ReasonKind::parse(k.as_str()), Some(k), "{k}");
        assert_eq!(k.to_string(), k.as_str());
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), ReasonKind::ALL.len(), "codes are unique");
    assert_eq!(ReasonKind::parse("quota.cpu"), None);
    assert_eq!(ReasonKind::parse(""), None);
    // Every kind but the executor's comes from a reason of the pass.
    let mut given: Vec<ReasonKind> = cases.iter().map(|(r, _)| r.kind()).collect();
    given.push(ReasonKind::Executor);
    for k in ReasonKind::ALL {
        assert!(
            given.contains(&k),
            "{k}: no reason of this kind in the table"
        );
    }
}

/// What is stored against what the pass says now: written at once when the kind changes,
/// at the periodic refresh when only the figures moved, never when nothing changed.
#[test]
fn reasons_to_write() {
    struct Case {
        name: &'static str,
        stored_kind: Option<&'static str>,
        stored_text: Option<&'static str>,
        new: Reason,
        refresh: bool,
        want: Option<&'static str>,
    }
    let behind = |ahead| Reason::Behind {
        ahead,
        ranking: Ranking::Submission,
    };
    let cpu_quota = |used| Reason::Quota {
        scope: Scope::User,
        limit: Limit::Cpu,
        quota: 8.0,
        used,
    };
    let cases = [
        Case {
            name: "nothing stored: written",
            stored_kind: None,
            stored_text: None,
            new: behind(3),
            refresh: false,
            want: Some("behind 3 older jobs"),
        },
        Case {
            name: "same kind, figures moved, no refresh: left",
            stored_kind: Some("queue.behind"),
            stored_text: Some("behind 120 older jobs"),
            new: behind(118),
            refresh: false,
            want: None,
        },
        Case {
            name: "same kind, figures moved, refresh: written",
            stored_kind: Some("queue.behind"),
            stored_text: Some("behind 120 older jobs"),
            new: behind(118),
            refresh: true,
            want: Some("behind 118 older jobs"),
        },
        Case {
            name: "same kind, one job ahead: the plural is a figure too",
            stored_kind: Some("queue.behind"),
            stored_text: Some("behind 2 older jobs"),
            new: behind(1),
            refresh: false,
            want: None,
        },
        Case {
            name: "same text at the refresh: left",
            stored_kind: Some("quota.user.cpu"),
            stored_text: Some("user cpu quota 8 reached: 6 in use"),
            new: cpu_quota(6.0),
            refresh: true,
            want: None,
        },
        Case {
            name: "another kind: written at once",
            stored_kind: Some("queue.behind"),
            stored_text: Some("behind 2 older jobs"),
            new: cpu_quota(8.0),
            refresh: false,
            want: Some("user cpu quota 8 reached: 8 in use"),
        },
        Case {
            name: "another quota is another kind",
            stored_kind: Some("quota.project.cpu"),
            stored_text: Some("project cpu quota 8 reached: 8 in use"),
            new: cpu_quota(8.0),
            refresh: false,
            want: Some("user cpu quota 8 reached: 8 in use"),
        },
        Case {
            name: "the executor answers again: written at once",
            stored_kind: Some("executor"),
            stored_text: Some("waiting for the executor: down"),
            new: behind(1),
            refresh: false,
            want: Some("behind 1 older job"),
        },
        Case {
            name: "text without a kind (a transition wrote it): written",
            stored_kind: None,
            stored_text: Some("the engine rejected it: busy"),
            new: behind(1),
            refresh: false,
            want: Some("behind 1 older job"),
        },
        Case {
            name: "same text without a kind: written, to record the kind",
            stored_kind: None,
            stored_text: Some("behind 1 older job"),
            new: behind(1),
            refresh: false,
            want: Some("behind 1 older job"),
        },
    ];
    for c in cases {
        let stored = c.stored_kind.map(ReasonKind::parse);
        assert!(
            stored.is_none_or(|k| k.is_some()),
            "{}: a known code",
            c.name
        );
        let got = reason_to_write(stored.flatten(), c.stored_text, &c.new, c.refresh);
        assert_eq!(got.as_deref(), c.want, "{}", c.name);
    }
}
