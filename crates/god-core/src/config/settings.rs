//! The settings of the LDAP directory and of guests, parsed out of their optional keys once:
//! validation calls these to report what is missing, and the server uses what they return, so no
//! code after validation reads an `Option` it knows is set or falls back to a default of its own.

use super::Config;
use crate::error::{ConfigError, FieldError};

/// How the LDAP directory is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapTls {
    /// `ldap://`, in clear.
    Clear,
    /// `ldaps://` (`ldap.ssl`): TLS from the first byte.
    Ldaps,
    /// StartTLS on `ldap://` (`ldap.starttls`) before anything else is sent.
    StartTls,
}

/// The directory of `auth_policy: ldap`.
#[derive(Debug, Clone, PartialEq)]
pub struct LdapSettings {
    /// As written (an IPv6 address without brackets).
    pub host: String,
    /// `ldap_port`, else 636 with `ldap.ssl`, else 389.
    pub port: u16,
    pub tls: LdapTls,
    /// PEM file of the CA(s) the server certificate must chain to (none: the system's roots).
    pub ca_cert: Option<String>,
    /// `ldap_dn`: where groups are searched.
    pub base_dn: String,
    /// `<ldap_base_dn_filter>,<ldap_dn>` (or `ldap_dn` alone): where people are searched.
    pub search_base: String,
    /// The service account searches bind as (none: anonymous searches).
    pub service: Option<LdapService>,
    /// Attribute holding the home directory.
    pub home_attr: String,
    /// Seconds to wait for the server (connect and each operation).
    pub timeout_secs: f64,
}

/// `ldap_admin_dn` and its password.
#[derive(Clone, PartialEq)]
pub struct LdapService {
    pub dn: String,
    pub password: String,
}

impl std::fmt::Debug for LdapService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapService")
            .field("dn", &self.dn)
            .finish_non_exhaustive()
    }
}

/// Where a guest's home is (`guest_home_root`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestHome {
    /// Unset: no home volume.
    None,
    /// `default`: `guest_bind`'s home.
    BindHome,
    /// `<root>/<login>`, created for each guest.
    Under(String),
}

/// Guests (`guest_allow`): who they run as and the provider they log in with.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestSettings {
    /// `guest_bind`: the system account whose uid and gid guest jobs run with.
    pub bind: String,
    pub home: GuestHome,
    pub oidc: OidcSettings,
}

/// The OpenID Connect provider of guests (`oidc`).
#[derive(Clone, PartialEq)]
pub struct OidcSettings {
    /// An http(s) URL.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// An http(s) URL: this server's `/auth/oidc/callback` as the provider's users reach it.
    pub redirect_url: String,
    pub login_prefix: String,
    /// Seconds to wait for the provider (positive).
    pub timeout_secs: f64,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("login_prefix", &self.login_prefix)
            .field("timeout_secs", &self.timeout_secs)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The LDAP directory, for `auth_policy: ldap`; `Err` names every key missing or wrong.
    pub fn ldap_settings(&self) -> Result<LdapSettings, ConfigError> {
        let mut problems = Vec::new();
        let host = required(
            &mut problems,
            &self.ldap_host,
            "ldap_host",
            "required by auth_policy: ldap",
        );
        let base_dn = required(
            &mut problems,
            &self.ldap_dn,
            "ldap_dn",
            "required by auth_policy: ldap (e.g. dc=example,dc=org)",
        );
        let l = &self.ldap;
        let tls = match (l.ssl, l.starttls) {
            (true, true) => {
                problems.push(FieldError::new(
                    "ldap.starttls",
                    "choose ldap.ssl (ldaps://) or ldap.starttls, not both",
                ));
                LdapTls::Ldaps
            }
            (true, false) => LdapTls::Ldaps,
            (false, true) => LdapTls::StartTls,
            (false, false) => LdapTls::Clear,
        };
        if l.fields.home_directory.is_empty() {
            problems.push(FieldError::new(
                "ldap.fields.homeDirectory",
                "must name an attribute",
            ));
        }
        let timeout_secs = l.timeout.unwrap_or(10.0);
        if !(timeout_secs > 0.0 && timeout_secs <= 600.0) {
            problems.push(FieldError::new(
                "ldap.timeout",
                "must be between 0 and 600 seconds",
            ));
        }
        let service = match (non_empty(&self.ldap_admin_dn), &self.ldap_admin_password) {
            (None, _) => None,
            (Some(dn), Some(password)) => Some(LdapService {
                dn: dn.to_string(),
                password: password.clone(),
            }),
            (Some(_), None) => {
                problems.push(FieldError::new(
                    "ldap_admin_password",
                    "required with ldap_admin_dn (a bind without a password is anonymous)",
                ));
                None
            }
        };
        ConfigError::check(problems)?;
        let search_base = match self.ldap_base_dn_filter.trim() {
            "" => base_dn.clone(),
            f => format!("{f},{base_dn}"),
        };
        Ok(LdapSettings {
            host,
            port: self.ldap_port.unwrap_or(match tls {
                LdapTls::Ldaps => 636,
                LdapTls::Clear | LdapTls::StartTls => 389,
            }),
            tls,
            ca_cert: self.ldap.ca_cert.clone(),
            base_dn,
            search_base,
            service,
            home_attr: l.fields.home_directory.clone(),
            timeout_secs,
        })
    }

    /// Guests, when `guest_allow` (else `None`); `Err` names every key missing or wrong.
    pub fn guest_settings(&self) -> Result<Option<GuestSettings>, ConfigError> {
        if !self.guest_allow {
            return Ok(None);
        }
        let mut problems = Vec::new();
        let bind = required(
            &mut problems,
            &self.guest_bind,
            "guest_bind",
            "guest_allow needs the system account guests run as",
        );
        let o = &self.oidc;
        let provider = "guest_allow needs the OpenID Connect provider";
        let issuer = required(&mut problems, &o.issuer, "oidc.issuer", provider);
        let client_id = required(&mut problems, &o.client_id, "oidc.client_id", provider);
        let redirect_url = required(
            &mut problems,
            &o.redirect_url,
            "oidc.redirect_url",
            provider,
        );
        for (key, v) in [
            ("oidc.issuer", &issuer),
            ("oidc.redirect_url", &redirect_url),
        ] {
            let http = v.starts_with("https://") || v.starts_with("http://");
            if !v.is_empty() && !http {
                problems.push(FieldError::new(key, format!("{v:?} is not an http(s) URL")));
            }
        }
        let home = match self.guest_home_root.as_deref() {
            None => GuestHome::None,
            Some("default") => GuestHome::BindHome,
            Some(root) if root.starts_with('/') => GuestHome::Under(root.to_string()),
            Some(_) => {
                problems.push(FieldError::new(
                    "guest_home_root",
                    "an absolute path, or default (guest_bind's home)",
                ));
                GuestHome::None
            }
        };
        if !(o.timeout.is_finite() && o.timeout > 0.0) {
            problems.push(FieldError::new("oidc.timeout", "must be positive"));
        }
        ConfigError::check(problems)?;
        Ok(Some(GuestSettings {
            bind,
            home,
            oidc: OidcSettings {
                issuer,
                client_id,
                client_secret: o.client_secret.clone(),
                redirect_url,
                login_prefix: o.login_prefix.clone(),
                timeout_secs: o.timeout,
            },
        }))
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// The value of a key that must be set; when it is not, a problem naming it and an empty
/// string.
fn required(problems: &mut Vec<FieldError>, v: &Option<String>, key: &str, msg: &str) -> String {
    match non_empty(v) {
        Some(v) => v.to_string(),
        None => {
            problems.push(FieldError::new(key, msg));
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn ldap_settings_follow_the_keys() {
        let base = "auth_policy: ldap\nldap_host: h\nldap_dn: dc=x\n";
        let s = config(base).ldap_settings().unwrap();
        assert_eq!(
            (s.port, s.tls, s.search_base.as_str(), s.timeout_secs),
            (389, LdapTls::Clear, "ou=People,dc=x", 10.0)
        );
        assert_eq!(s.service, None);
        let s = config(&format!(
            "{base}ldap: {{ssl: true}}\nldap_admin_dn: cn=a\nldap_admin_password: pw\n"
        ))
        .ldap_settings()
        .unwrap();
        assert_eq!((s.port, s.tls), (636, LdapTls::Ldaps));
        assert_eq!(s.service.map(|a| a.dn), Some("cn=a".to_string()));
        let s = config(&format!(
            "{base}ldap_port: 1389\nldap_base_dn_filter: ''\nldap: {{starttls: true}}\n"
        ))
        .ldap_settings()
        .unwrap();
        assert_eq!(
            (s.port, s.tls, s.search_base.as_str()),
            (1389, LdapTls::StartTls, "dc=x")
        );
        let e = config("ldap_admin_dn: cn=a\nldap: {timeout: 0}\n")
            .ldap_settings()
            .unwrap_err();
        let fields: Vec<&str> = e.fields().collect();
        assert_eq!(
            fields,
            [
                "ldap_host",
                "ldap_dn",
                "ldap.timeout",
                "ldap_admin_password"
            ]
        );
    }

    #[test]
    fn guest_settings_follow_the_keys() {
        assert_eq!(config("").guest_settings().unwrap(), None);
        let base = "guest_allow: true\nguest_bind: nobody\n\
                    oidc: {issuer: 'https://idp', client_id: c, redirect_url: 'http://h/cb'}\n";
        let cases = [
            ("", GuestHome::None),
            ("guest_home_root: default\n", GuestHome::BindHome),
            (
                "guest_home_root: /srv/g\n",
                GuestHome::Under("/srv/g".into()),
            ),
        ];
        for (extra, home) in cases {
            let g = config(&format!("{base}{extra}"))
                .guest_settings()
                .unwrap()
                .unwrap();
            assert_eq!((g.bind.as_str(), g.home), ("nobody", home), "{extra}");
            assert_eq!(g.oidc.login_prefix, "guest-");
        }
        let e = config("guest_allow: true\nguest_home_root: g\noidc: {redirect_url: ftp://h}\n")
            .guest_settings()
            .unwrap_err();
        let fields: Vec<&str> = e.fields().collect();
        assert_eq!(
            fields,
            [
                "guest_bind",
                "oidc.issuer",
                "oidc.client_id",
                "oidc.redirect_url",
                "guest_home_root"
            ]
        );
    }
}
