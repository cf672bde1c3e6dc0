//! Values that cannot work together stop start-up with a message naming the key; every such
//! problem is reported, not only the first. (Values that are not values at all, a policy
//! misspelt or a duration that is not one, are refused when the file is read: see `types.rs`
//! and `read.rs`.)

use super::{AuthPolicyName, Config};
use crate::error::FieldError;

/// Every problem of `c`, in the order of the keys above.
pub(super) fn validate(c: &Config) -> Vec<FieldError> {
    let mut problems = Vec::new();
    for (i, v) in c.volumes.iter().enumerate() {
        if v.name.is_empty() {
            push(
                &mut problems,
                &format!("volumes[{i}].name"),
                "must not be empty",
            );
        }
        if !matches!(v.acl.as_str(), "ro" | "rw") {
            push(
                &mut problems,
                &format!("volumes[{i}].acl"),
                &format!("{:?}: use ro or rw", v.acl),
            );
        }
        if v.name != "home" && !v.path.starts_with('/') {
            push(
                &mut problems,
                &format!("volumes[{i}].path"),
                "must be an absolute path",
            );
        }
    }
    if !(c.tick_seconds > 0.0 && c.tick_seconds <= 3600.0) {
        push(&mut problems, "tick_seconds", "must be between 0 and 3600");
    }
    if c.defaults_ram <= 0.0 {
        push(&mut problems, "defaults_ram", "must be positive");
    }
    if let Err(e) = c.guest_settings() {
        problems.extend(e.problems);
    }
    if c.auth_policy == AuthPolicyName::Fake && !c.allow_fake_auth {
        push(
            &mut problems,
            "auth_policy",
            "fake authentication accepts any password: also set allow_fake_auth: true (tests only)",
        );
    }
    if c.auth_policy == AuthPolicyName::Ldap {
        if let Err(e) = c.ldap_settings() {
            problems.extend(e.problems);
        }
    }
    if c.auth_policy == AuthPolicyName::System && c.pam_service.is_empty() {
        push(&mut problems, "pam_service", "must name a PAM service");
    }
    problems
}

fn push(problems: &mut Vec<FieldError>, key: &str, msg: &str) {
    problems.push(FieldError::new(key, msg));
}
