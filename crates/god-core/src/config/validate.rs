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
        if let Err(e) = v.check() {
            push(
                &mut problems,
                &format!("volumes[{i}].{}", e.field),
                &e.message,
            );
        }
    }
    if !(c.tick_seconds > 0.0 && c.tick_seconds <= 3600.0) {
        push(&mut problems, "tick_seconds", "must be between 0 and 3600");
    }
    if c.session_timeout < 60 {
        push(
            &mut problems,
            "session_timeout",
            "must be at least 60 (seconds)",
        );
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
    if !(c.swarm.node_timeout > 0.0 && c.swarm.node_timeout.is_finite()) {
        push(
            &mut problems,
            "swarm.node_timeout",
            "must be a positive number of seconds",
        );
    }
    for (node, url) in &c.swarm.node_urls {
        if url.trim().is_empty() {
            push(
                &mut problems,
                &format!("swarm.node_urls.{node}"),
                "must be an Engine URL",
            );
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

#[cfg(test)]
mod volume_tests {
    use crate::config::VolumeConfig;

    #[test]
    fn one_volume_check() {
        let v = |name: &str, acl: &str, path: &str, mount: Option<&str>| VolumeConfig {
            name: name.into(),
            acl: acl.into(),
            path: path.into(),
            mount: mount.map(String::from),
        };
        let field = |v: VolumeConfig| v.check().err().map(|e| e.field);
        let cases = [
            (v("data", "ro", "/data", None), None),
            (v("home", "rw", "", None), None),
            (v("", "ro", "/data", None), Some("name")),
            (v("data", "rx", "/data", None), Some("acl")),
            (v("data", "ro", "data", None), Some("path")),
            (v("data", "ro", "/data/../etc", None), Some("path")),
            (v("data", "ro", "/data", Some("mnt")), Some("mount")),
            (v("data", "ro", "/data", Some("/mnt/../..")), Some("mount")),
        ];
        for (vol, want) in cases {
            assert_eq!(field(vol.clone()).as_deref(), want, "{vol:?}");
        }
    }
}
