//! What the audit log records: who did what to whom, when. The actions are a closed list, each
//! stored as a stable code (`job_killed`, `quota_changed`...); the log itself is the store's.
//!
//! An entry's target is the login of the user acted on (for an administrator's request on a
//! job: the job's owner; the job's id is in the detail), a project's id, or empty for the
//! service as a whole (maintenance mode).

use std::fmt;

/// One kind of audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// `job_killed`: an administrator killed another user's job (or all their jobs).
    JobKilled,
    /// `job_suspended`
    JobSuspended,
    /// `job_resumed`
    JobResumed,
    /// `job_rescheduled`
    JobRescheduled,
    /// `job_archived`
    JobArchived,
    /// `job_purged`: deleted with its directory.
    JobPurged,
    /// `priority_changed`: a user's priority.
    PriorityChanged,
    /// `quota_changed`: a user's cpu, ram or time quota.
    QuotaChanged,
    /// `admin_granted`
    AdminGranted,
    /// `admin_revoked`
    AdminRevoked,
    /// `user_disabled`
    UserDisabled,
    /// `user_enabled`
    UserEnabled,
    /// `guest_activated`
    GuestActivated,
    /// `guest_deactivated`
    GuestDeactivated,
    /// `user_deleted`
    UserDeleted,
    /// `apikey_renewed`: another user's API key.
    ApikeyRenewed,
    /// `password_set`: another user's local password.
    PasswordSet,
    /// `project_created`
    ProjectCreated,
    /// `project_updated`: description, priority, quotas or volumes.
    ProjectUpdated,
    /// `project_deleted`
    ProjectDeleted,
    /// `project_members_added`
    ProjectMembersAdded,
    /// `project_members_removed`
    ProjectMembersRemoved,
    /// `project_usage_reset`
    ProjectUsageReset,
    /// `maintenance_on`
    MaintenanceOn,
    /// `maintenance_off`
    MaintenanceOff,
    /// `terminal_opened`: a shell in a running job's container (the web UI).
    TerminalOpened,
}

impl AuditAction {
    /// Every action, each once.
    pub const ALL: [AuditAction; 26] = [
        AuditAction::JobKilled,
        AuditAction::JobSuspended,
        AuditAction::JobResumed,
        AuditAction::JobRescheduled,
        AuditAction::JobArchived,
        AuditAction::JobPurged,
        AuditAction::PriorityChanged,
        AuditAction::QuotaChanged,
        AuditAction::AdminGranted,
        AuditAction::AdminRevoked,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::GuestActivated,
        AuditAction::GuestDeactivated,
        AuditAction::UserDeleted,
        AuditAction::ApikeyRenewed,
        AuditAction::PasswordSet,
        AuditAction::ProjectCreated,
        AuditAction::ProjectUpdated,
        AuditAction::ProjectDeleted,
        AuditAction::ProjectMembersAdded,
        AuditAction::ProjectMembersRemoved,
        AuditAction::ProjectUsageReset,
        AuditAction::MaintenanceOn,
        AuditAction::MaintenanceOff,
        AuditAction::TerminalOpened,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::JobKilled => "job_killed",
            AuditAction::JobSuspended => "job_suspended",
            AuditAction::JobResumed => "job_resumed",
            AuditAction::JobRescheduled => "job_rescheduled",
            AuditAction::JobArchived => "job_archived",
            AuditAction::JobPurged => "job_purged",
            AuditAction::PriorityChanged => "priority_changed",
            AuditAction::QuotaChanged => "quota_changed",
            AuditAction::AdminGranted => "admin_granted",
            AuditAction::AdminRevoked => "admin_revoked",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::GuestActivated => "guest_activated",
            AuditAction::GuestDeactivated => "guest_deactivated",
            AuditAction::UserDeleted => "user_deleted",
            AuditAction::ApikeyRenewed => "apikey_renewed",
            AuditAction::PasswordSet => "password_set",
            AuditAction::ProjectCreated => "project_created",
            AuditAction::ProjectUpdated => "project_updated",
            AuditAction::ProjectDeleted => "project_deleted",
            AuditAction::ProjectMembersAdded => "project_members_added",
            AuditAction::ProjectMembersRemoved => "project_members_removed",
            AuditAction::ProjectUsageReset => "project_usage_reset",
            AuditAction::MaintenanceOn => "maintenance_on",
            AuditAction::MaintenanceOff => "maintenance_off",
            AuditAction::TerminalOpened => "terminal_opened",
        }
    }

    /// The action a stored code names (`None`: a code this version does not know).
    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == code)
    }

    /// The action an administrator's request on someone else's job is audited as.
    pub fn of_job_request(request: &crate::roles::UserRequest) -> Option<AuditAction> {
        use crate::roles::UserRequest;
        match request {
            UserRequest::Kill => Some(AuditAction::JobKilled),
            UserRequest::Suspend => Some(AuditAction::JobSuspended),
            UserRequest::Resume => Some(AuditAction::JobResumed),
            UserRequest::Reschedule => Some(AuditAction::JobRescheduled),
            _ => None,
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Is a request by `actor` on something of `owner` audited? Administrators acting on another
/// user's job or account are; anyone acting on their own is not.
pub fn acts_on_another(actor_is_admin: bool, actor: &str, owner: &str) -> bool {
    actor_is_admin && actor != owner
}

/// `"job 42"`, `"jobs 1, 2, 3"`, or for many `"jobs 1, 2, ... (1200 jobs)"`: the jobs an entry
/// is about, bounded in length.
pub fn jobs_detail(ids: &[u64]) -> String {
    const SHOWN: usize = 50;
    match ids {
        [] => "no job".to_string(),
        [one] => format!("job {one}"),
        many => {
            let list: Vec<String> = many.iter().take(SHOWN).map(u64::to_string).collect();
            if many.len() > SHOWN {
                format!("jobs {}, ... ({} jobs)", list.join(", "), many.len())
            } else {
                format!("jobs {}", list.join(", "))
            }
        }
    }
}

/// What of an account an administrator changes, as the audit log compares it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountState {
    pub prio: u32,
    pub quota_cpu: f64,
    pub quota_ram: f64,
    pub quota_time: f64,
    pub admin: bool,
    pub disabled: bool,
    /// `None`: not a guest.
    pub guest_active: Option<bool>,
}

/// The entries (action, detail) an account change from `before` to `after` is audited as.
pub fn account_changes(before: &AccountState, after: &AccountState) -> Vec<(AuditAction, String)> {
    let mut out = Vec::new();
    if before.prio != after.prio {
        out.push((
            AuditAction::PriorityChanged,
            format!("prio {} -> {}", before.prio, after.prio),
        ));
    }
    let quotas = changed(&[
        ("quota_cpu", before.quota_cpu, after.quota_cpu),
        ("quota_ram", before.quota_ram, after.quota_ram),
        ("quota_time", before.quota_time, after.quota_time),
    ]);
    if !quotas.is_empty() {
        out.push((AuditAction::QuotaChanged, quotas));
    }
    let flags = [
        (
            before.admin,
            after.admin,
            AuditAction::AdminGranted,
            AuditAction::AdminRevoked,
        ),
        (
            before.disabled,
            after.disabled,
            AuditAction::UserDisabled,
            AuditAction::UserEnabled,
        ),
    ];
    for (was, is, set, unset) in flags {
        if was != is {
            out.push((if is { set } else { unset }, String::new()));
        }
    }
    if let (Some(was), Some(is)) = (before.guest_active, after.guest_active) {
        if was != is {
            let action = if is {
                AuditAction::GuestActivated
            } else {
                AuditAction::GuestDeactivated
            };
            out.push((action, String::new()));
        }
    }
    out
}

/// What of a project an administrator changes, as the audit log compares it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectState {
    pub description: String,
    pub prio: u32,
    pub quota_cpu: f64,
    pub quota_ram: f64,
    pub quota_time: f64,
    pub members: Vec<String>,
    pub volumes: Vec<crate::config::VolumeConfig>,
}

/// The entries (action, detail) a project change from `before` to `after` is audited as: its
/// settings in one entry, members added and removed in one each.
pub fn project_changes(before: &ProjectState, after: &ProjectState) -> Vec<(AuditAction, String)> {
    let mut parts = Vec::new();
    if before.description != after.description {
        parts.push("description".to_string());
    }
    if before.prio != after.prio {
        parts.push(format!("prio {} -> {}", before.prio, after.prio));
    }
    let quotas = changed(&[
        ("quota_cpu", before.quota_cpu, after.quota_cpu),
        ("quota_ram", before.quota_ram, after.quota_ram),
        ("quota_time", before.quota_time, after.quota_time),
    ]);
    if !quotas.is_empty() {
        parts.push(quotas);
    }
    if before.volumes != after.volumes {
        let names: Vec<&str> = after.volumes.iter().map(|v| v.name.as_str()).collect();
        parts.push(format!("volumes [{}]", names.join(", ")));
    }
    let mut out = Vec::new();
    if !parts.is_empty() {
        out.push((AuditAction::ProjectUpdated, parts.join(", ")));
    }
    let added: Vec<&str> = after
        .members
        .iter()
        .filter(|m| !before.members.contains(m))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .members
        .iter()
        .filter(|m| !after.members.contains(m))
        .map(String::as_str)
        .collect();
    if !added.is_empty() {
        out.push((AuditAction::ProjectMembersAdded, added.join(", ")));
    }
    if !removed.is_empty() {
        out.push((AuditAction::ProjectMembersRemoved, removed.join(", ")));
    }
    out
}

/// `"quota_cpu 0 -> 8, quota_ram 0 -> 16"`: the figures that changed.
fn changed(figures: &[(&str, f64, f64)]) -> String {
    figures
        .iter()
        .filter(|(_, was, is)| was != is)
        .map(|(name, was, is)| format!("{name} {was} -> {is}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::UserRequest;

    #[test]
    fn account_changes_are_audited_one_entry_per_kind() {
        let base = AccountState {
            prio: 50,
            guest_active: Some(false),
            ..Default::default()
        };
        let cases: [(&str, AccountState, Vec<(AuditAction, &str)>); 7] = [
            ("nothing changed", base.clone(), vec![]),
            (
                "priority",
                AccountState {
                    prio: 60,
                    ..base.clone()
                },
                vec![(AuditAction::PriorityChanged, "prio 50 -> 60")],
            ),
            (
                "two quotas in one entry",
                AccountState {
                    quota_cpu: 8.0,
                    quota_ram: 0.5,
                    ..base.clone()
                },
                vec![(
                    AuditAction::QuotaChanged,
                    "quota_cpu 0 -> 8, quota_ram 0 -> 0.5",
                )],
            ),
            (
                "admin granted",
                AccountState {
                    admin: true,
                    ..base.clone()
                },
                vec![(AuditAction::AdminGranted, "")],
            ),
            (
                "disabled",
                AccountState {
                    disabled: true,
                    ..base.clone()
                },
                vec![(AuditAction::UserDisabled, "")],
            ),
            (
                "guest activated",
                AccountState {
                    guest_active: Some(true),
                    ..base.clone()
                },
                vec![(AuditAction::GuestActivated, "")],
            ),
            (
                "several at once, in a fixed order",
                AccountState {
                    prio: 10,
                    quota_time: 3600.0,
                    disabled: true,
                    ..base.clone()
                },
                vec![
                    (AuditAction::PriorityChanged, "prio 50 -> 10"),
                    (AuditAction::QuotaChanged, "quota_time 0 -> 3600"),
                    (AuditAction::UserDisabled, ""),
                ],
            ),
        ];
        for (name, after, want) in cases {
            let got = account_changes(&base, &after);
            let got: Vec<(AuditAction, &str)> = got.iter().map(|(a, d)| (*a, d.as_str())).collect();
            assert_eq!(got, want, "{name}");
            // And back: the opposite actions.
            let back = account_changes(&after, &base);
            assert_eq!(back.len(), want.len(), "{name}: undone");
        }
        let revoked = account_changes(
            &AccountState {
                admin: true,
                disabled: true,
                guest_active: Some(true),
                ..base.clone()
            },
            &base,
        );
        let actions: Vec<AuditAction> = revoked.iter().map(|(a, _)| *a).collect();
        assert_eq!(
            actions,
            [
                AuditAction::AdminRevoked,
                AuditAction::UserEnabled,
                AuditAction::GuestDeactivated
            ]
        );
    }

    #[test]
    fn project_changes_split_settings_and_members() {
        let vol = |name: &str| crate::config::VolumeConfig {
            name: name.into(),
            acl: "ro".into(),
            path: format!("/{name}"),
            mount: None,
        };
        let base = ProjectState {
            description: "the lab".into(),
            prio: 50,
            members: vec!["alice".into(), "bob".into()],
            ..Default::default()
        };
        let cases: [(&str, ProjectState, Vec<(AuditAction, &str)>); 4] = [
            ("nothing", base.clone(), vec![]),
            (
                "settings",
                ProjectState {
                    description: "x".into(),
                    prio: 70,
                    quota_cpu: 8.0,
                    volumes: vec![vol("data")],
                    ..base.clone()
                },
                vec![(
                    AuditAction::ProjectUpdated,
                    "description, prio 50 -> 70, quota_cpu 0 -> 8, volumes [data]",
                )],
            ),
            (
                "members",
                ProjectState {
                    members: vec!["bob".into(), "carol".into(), "dan".into()],
                    ..base.clone()
                },
                vec![
                    (AuditAction::ProjectMembersAdded, "carol, dan"),
                    (AuditAction::ProjectMembersRemoved, "alice"),
                ],
            ),
            (
                "reordered members are not a change",
                ProjectState {
                    members: vec!["bob".into(), "alice".into()],
                    ..base.clone()
                },
                vec![],
            ),
        ];
        for (name, after, want) in cases {
            let got = project_changes(&base, &after);
            let got: Vec<(AuditAction, &str)> = got.iter().map(|(a, d)| (*a, d.as_str())).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn codes_are_unique_and_read_back() {
        let mut codes: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a), "{a}");
            assert_eq!(a.to_string(), a.as_str());
            assert!(
                a.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{a}"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), AuditAction::ALL.len(), "codes are unique");
        assert_eq!(AuditAction::parse("job_kill"), None);
        assert_eq!(AuditAction::parse(""), None);
    }

    #[test]
    fn what_is_audited() {
        let cases = [
            (true, "root", "alice", true),
            (true, "root", "root", false),
            (false, "bob", "alice", false),
            (false, "alice", "alice", false),
        ];
        for (admin, actor, owner, want) in cases {
            assert_eq!(
                acts_on_another(admin, actor, owner),
                want,
                "{actor} on {owner}"
            );
        }
        let requests = [
            (UserRequest::Kill, Some(AuditAction::JobKilled)),
            (UserRequest::Suspend, Some(AuditAction::JobSuspended)),
            (UserRequest::Resume, Some(AuditAction::JobResumed)),
            (UserRequest::Reschedule, Some(AuditAction::JobRescheduled)),
        ];
        for (r, want) in requests {
            assert_eq!(AuditAction::of_job_request(&r), want, "{r:?}");
        }
    }

    #[test]
    fn job_lists_are_bounded() {
        assert_eq!(jobs_detail(&[]), "no job");
        assert_eq!(jobs_detail(&[42]), "job 42");
        assert_eq!(jobs_detail(&[1, 2, 3]), "jobs 1, 2, 3");
        let many: Vec<u64> = (1..=1200).collect();
        let d = jobs_detail(&many);
        assert!(d.starts_with("jobs 1, 2, 3,"), "{d}");
        assert!(d.ends_with("50, ... (1200 jobs)"), "{d}");
    }
}
