//! Names of accounts and projects, and the rules of the project `default`.
//!
//! Logins and project ids share one alphabet (they name directories and appear in commands):
//! 1 to 64 characters of `[A-Za-z0-9._-]`, not starting with `-` or `.`. The project `default`
//! is everybody's and nobody's: every user is a member, it has no quota, its jobs are never
//! shared with other members (`share_project_tasks`), and it cannot be created, changed or
//! deleted.

use crate::FieldError;

/// Login of the administrator created on first start (it logs in with its API key).
pub const ADMIN_LOGIN: &str = "admin";

/// The project everybody is a member of.
pub const DEFAULT_PROJECT: &str = "default";

/// Its description.
pub const DEFAULT_PROJECT_DESCRIPTION: &str = "default project";

/// Check a login (or a project id): 1 to 64 characters of `[A-Za-z0-9._-]`, not starting with
/// `-` or `.`.
pub fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 64
        && !login.starts_with(['-', '.'])
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The project a job without one is in.
pub fn project_or_default(project: &str) -> &str {
    if project.is_empty() {
        DEFAULT_PROJECT
    } else {
        project
    }
}

/// Is `project` (a job's, possibly empty) the project `default`?
pub fn is_default_project(project: &str) -> bool {
    project_or_default(project) == DEFAULT_PROJECT
}

/// Is `login` a member of `project` with these `members`? Of `default`, everybody is.
pub fn is_member(project: &str, members: &[String], login: &str) -> bool {
    is_default_project(project) || members.iter().any(|m| m == login)
}

/// Do the members of `project` see each other's jobs? Only with `share_project_tasks`, never in
/// `default`.
pub fn shares_tasks(share_project_tasks: bool, project: &str) -> bool {
    share_project_tasks && !is_default_project(project)
}

/// What may be done to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectAction {
    Create,
    Change,
    Delete,
}

/// May `action` be done to the project named `id` (existence aside)? The error names the field
/// `id`; creating `default` is a conflict, changing or deleting it is forbidden: the caller
/// tells them apart with [`ProjectRefusal`].
pub fn check_project_action(id: &str, action: ProjectAction) -> Result<(), ProjectRefusal> {
    let field = |m: String| FieldError::new("id", m);
    match action {
        ProjectAction::Create if !valid_login(id) => Err(ProjectRefusal::Invalid(field(format!(
            "{id:?} is not a valid project id"
        )))),
        ProjectAction::Create if id == DEFAULT_PROJECT => Err(ProjectRefusal::Exists(field(
            format!("project {id} already exists"),
        ))),
        ProjectAction::Change if id == DEFAULT_PROJECT => Err(ProjectRefusal::Forbidden(field(
            "the default project cannot be changed".into(),
        ))),
        ProjectAction::Delete if id == DEFAULT_PROJECT => Err(ProjectRefusal::Forbidden(field(
            "the default project cannot be deleted".into(),
        ))),
        _ => Ok(()),
    }
}

/// Why a project action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRefusal {
    /// Not a project id (400).
    Invalid(FieldError),
    /// It exists already (409).
    Exists(FieldError),
    /// Nobody may (403).
    Forbidden(FieldError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        let cases = [
            ("alice", true),
            ("a.b_c-d9", true),
            ("", false),
            ("-x", false),
            (".x", false),
            ("a b", false),
            ("a/b", false),
            ("é", false),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
        ];
        for (login, ok) in cases {
            assert_eq!(valid_login(login), ok, "{login:?}");
        }
    }

    #[test]
    fn the_default_project() {
        let members = vec!["alice".to_string()];
        let cases = [
            // (project, login, member, shared when share_project_tasks)
            ("", "bob", true, false),
            ("default", "bob", true, false),
            ("lab", "alice", true, true),
            ("lab", "bob", false, true),
        ];
        for (p, login, member, shared) in cases {
            assert_eq!(is_member(p, &members, login), member, "{p} {login}");
            assert_eq!(shares_tasks(true, p), shared, "{p}");
            assert!(!shares_tasks(false, p));
        }
        assert_eq!(project_or_default(""), "default");
        assert_eq!(project_or_default("lab"), "lab");
    }

    #[test]
    fn project_actions() {
        use ProjectAction::*;
        let kind = |id: &str, a| match check_project_action(id, a) {
            Ok(()) => "ok",
            Err(ProjectRefusal::Invalid(_)) => "invalid",
            Err(ProjectRefusal::Exists(_)) => "exists",
            Err(ProjectRefusal::Forbidden(_)) => "forbidden",
        };
        let cases = [
            ("lab", Create, "ok"),
            ("lab", Change, "ok"),
            ("lab", Delete, "ok"),
            ("default", Create, "exists"),
            ("default", Change, "forbidden"),
            ("default", Delete, "forbidden"),
            ("bad id", Create, "invalid"),
            ("", Create, "invalid"),
        ];
        for (id, action, want) in cases {
            assert_eq!(kind(id, action), want, "{id} {action:?}");
        }
    }
}
