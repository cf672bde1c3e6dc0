//! Values that cannot work together stop start-up with a message naming the key. (Values that
//! are not values at all, a policy misspelt or a duration that is not one, are refused when the
//! file is read: see `types.rs`.)

use super::{AuthPolicyName, Config};
use crate::error::CoreError;

pub(super) fn validate(c: &Config) -> Result<(), CoreError> {
    let bad = |key: &str, msg: String| Err(CoreError::Config(format!("{key}: {msg}")));
    if c.executors.is_empty() {
        return bad("executors", "at least one executor is needed".into());
    }
    for (i, v) in c.volumes.iter().enumerate() {
        if let Err(e) = v.check() {
            return bad(&format!("volumes[{i}].{}", e.field), e.message);
        }
    }
    if !(c.tick_seconds > 0.0 && c.tick_seconds <= 3600.0) {
        return bad("tick_seconds", "must be between 0 and 3600".into());
    }
    if c.defaults_ram <= 0.0 {
        return bad("defaults_ram", "must be positive".into());
    }
    if c.guest_allow {
        if c.guest_bind.as_deref().unwrap_or("").is_empty() {
            return bad(
                "guest_bind",
                "guest_allow needs the system account guests run as".into(),
            );
        }
        for (key, v) in [
            ("oidc.issuer", &c.oidc.issuer),
            ("oidc.client_id", &c.oidc.client_id),
            ("oidc.redirect_url", &c.oidc.redirect_url),
        ] {
            if v.as_deref().unwrap_or("").is_empty() {
                return bad(key, "guest_allow needs the OpenID Connect provider".into());
            }
        }
        for (key, v) in [
            ("oidc.issuer", &c.oidc.issuer),
            ("oidc.redirect_url", &c.oidc.redirect_url),
        ] {
            let v = v.as_deref().unwrap_or("");
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                return bad(key, format!("{v:?} is not an http(s) URL"));
            }
        }
        if let Some(root) = &c.guest_home_root {
            if root != "default" && !root.starts_with('/') {
                return bad(
                    "guest_home_root",
                    "an absolute path, or default (guest_bind's home)".into(),
                );
            }
        }
        if !(c.oidc.timeout.is_finite() && c.oidc.timeout > 0.0) {
            return bad("oidc.timeout", "must be positive".into());
        }
    }
    if c.auth_policy == AuthPolicyName::Fake && !c.allow_fake_auth {
        return bad(
            "auth_policy",
            "fake authentication accepts any password: also set allow_fake_auth: true (tests only)"
                .into(),
        );
    }
    if c.auth_policy == AuthPolicyName::Ldap {
        if c.ldap_host.as_deref().unwrap_or("").is_empty() {
            return bad("ldap_host", "required by auth_policy: ldap".into());
        }
        if c.ldap_dn.as_deref().unwrap_or("").is_empty() {
            return bad(
                "ldap_dn",
                "required by auth_policy: ldap (e.g. dc=example,dc=org)".into(),
            );
        }
        if c.ldap.ssl && c.ldap.starttls {
            return bad(
                "ldap.starttls",
                "choose ldap.ssl (ldaps://) or ldap.starttls, not both".into(),
            );
        }
        if c.ldap.fields.home_directory.is_empty() {
            return bad("ldap.fields.homeDirectory", "must name an attribute".into());
        }
        if matches!(c.ldap.timeout, Some(t) if !(t > 0.0 && t <= 600.0)) {
            return bad("ldap.timeout", "must be between 0 and 600 seconds".into());
        }
    }
    if c.auth_policy == AuthPolicyName::System && c.pam_service.is_empty() {
        return bad("pam_service", "must name a PAM service".into());
    }
    Ok(())
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
