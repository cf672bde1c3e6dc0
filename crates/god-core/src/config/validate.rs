//! Values that cannot work together stop start-up with a message naming the key; every such
//! problem is reported, not only the first. (Values that are not values at all, a policy
//! misspelt or a duration that is not one, are refused when the file is read: see `types.rs`
//! and `read.rs`.)

use super::{AuthPolicyName, Config};
use crate::error::FieldError;

/// Every problem of `c`, in the order of the keys above.
pub(super) fn validate(c: &Config) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let mut bad = |key: &str, msg: &str| problems.push(FieldError::new(key, msg));
    if c.executors.is_empty() {
        bad("executors", "at least one executor is needed");
    }
    for (i, v) in c.volumes.iter().enumerate() {
        if v.name.is_empty() {
            bad(&format!("volumes[{i}].name"), "must not be empty");
        }
        if !matches!(v.acl.as_str(), "ro" | "rw") {
            bad(
                &format!("volumes[{i}].acl"),
                &format!("{:?}: use ro or rw", v.acl),
            );
        }
        if v.name != "home" && !v.path.starts_with('/') {
            bad(&format!("volumes[{i}].path"), "must be an absolute path");
        }
    }
    if !(c.tick_seconds > 0.0 && c.tick_seconds <= 3600.0) {
        bad("tick_seconds", "must be between 0 and 3600");
    }
    if c.defaults_ram <= 0.0 {
        bad("defaults_ram", "must be positive");
    }
    if c.guest_allow {
        if is_empty(&c.guest_bind) {
            bad(
                "guest_bind",
                "guest_allow needs the system account guests run as",
            );
        }
        for (key, v) in [
            ("oidc.issuer", &c.oidc.issuer),
            ("oidc.client_id", &c.oidc.client_id),
            ("oidc.redirect_url", &c.oidc.redirect_url),
        ] {
            if is_empty(v) {
                bad(key, "guest_allow needs the OpenID Connect provider");
            }
        }
        for (key, v) in [
            ("oidc.issuer", &c.oidc.issuer),
            ("oidc.redirect_url", &c.oidc.redirect_url),
        ] {
            match v.as_deref() {
                Some(v) if !v.is_empty() && !is_http_url(v) => {
                    bad(key, &format!("{v:?} is not an http(s) URL"))
                }
                _ => {}
            }
        }
        if let Some(root) = &c.guest_home_root {
            if root != "default" && !root.starts_with('/') {
                bad(
                    "guest_home_root",
                    "an absolute path, or default (guest_bind's home)",
                );
            }
        }
        if !(c.oidc.timeout.is_finite() && c.oidc.timeout > 0.0) {
            bad("oidc.timeout", "must be positive");
        }
    }
    if c.auth_policy == AuthPolicyName::Fake && !c.allow_fake_auth {
        bad(
            "auth_policy",
            "fake authentication accepts any password: also set allow_fake_auth: true (tests only)",
        );
    }
    if c.auth_policy == AuthPolicyName::Ldap {
        if is_empty(&c.ldap_host) {
            bad("ldap_host", "required by auth_policy: ldap");
        }
        if is_empty(&c.ldap_dn) {
            bad(
                "ldap_dn",
                "required by auth_policy: ldap (e.g. dc=example,dc=org)",
            );
        }
        if c.ldap.ssl && c.ldap.starttls {
            bad(
                "ldap.starttls",
                "choose ldap.ssl (ldaps://) or ldap.starttls, not both",
            );
        }
        if c.ldap.fields.home_directory.is_empty() {
            bad("ldap.fields.homeDirectory", "must name an attribute");
        }
        if matches!(c.ldap.timeout, Some(t) if !(t > 0.0 && t <= 600.0)) {
            bad("ldap.timeout", "must be between 0 and 600 seconds");
        }
    }
    if c.auth_policy == AuthPolicyName::System && c.pam_service.is_empty() {
        bad("pam_service", "must name a PAM service");
    }
    problems
}

fn is_empty(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}

fn is_http_url(v: &str) -> bool {
    v.starts_with("https://") || v.starts_with("http://")
}
