//! `ldap` (alias `goauth`, the original's name; reference 5.3): users in a directory.
//!
//! One connection per check, with TLS as configured on **every** path (`ldap.ssl`: `ldaps://`;
//! `ldap.starttls`: StartTLS before the first operation; `ldap.ca_cert`: the only CA trusted,
//! else the system's roots): the original ignored `ldap.ssl` when binding as the user.
//! Flow: optional service bind (`ldap_admin_dn`), search under
//! `<ldap_base_dn_filter>,<ldap_dn>` for `(|(uid=<login>)(mail=<login>))` (the login escaped
//! per RFC 4515), read `uid mail uidNumber gidNumber <ldap.fields.homeDirectory>`, find the
//! secondary groups (`posixGroup` entries with `memberUid=<uid>` under `ldap_dn`), then check
//! the password by binding as the entry's DN (an empty password is refused first: it would be an
//! unauthenticated bind, which "succeeds").

use super::policy::{AuthError, AuthPolicy, DirectoryUser};
use async_trait::async_trait;
use god_core::config::{Config, LdapService, LdapSettings, LdapTls};
use god_core::names::valid_login;
use god_core::ConfigError;
use god_store::Store;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// LDAP result code of a wrong password.
const INVALID_CREDENTIALS: u32 = 49;
const NO_SUCH_OBJECT: u32 = 32;
const SIZE_LIMIT_EXCEEDED: u32 = 4;

pub struct LdapPolicy {
    store: Arc<dyn Store>,
    dir: Directory,
}

/// How to reach and read the directory.
struct Directory {
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    starttls: bool,
    base_dn: String,
    search_base: String,
    service: Option<LdapService>,
    home_attr: String,
    timeout: Duration,
}

/// Escape a value for an LDAP search filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c`, `\00`.
pub fn escape_filter_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The TLS client configuration: roots from `ca_cert` (PEM) only, else the system's. A file
/// that gives none, or a system without roots, is a problem of `ldap.ca_cert`.
fn tls_config(ca_cert: Option<&str>) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let bad = |msg: String| ConfigError::new("ldap.ca_cert", msg);
    let mut roots = rustls::RootCertStore::empty();
    match ca_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("cannot read {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(format!("{path}: {e}")))?;
                roots.add(cert).map_err(|e| bad(format!("{path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad(format!("{path} holds no PEM certificate")));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(bad(
                    "TLS asked for but the system has no CA certificates: set ldap.ca_cert".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("ldap", format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(format!("LDAP {what}: {e}"))
}

/// First value of an attribute, names compared case-insensitively.
fn attr<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a Vec<String>> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn first<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    attr(attrs, name)
        .and_then(|v| v.first())
        .map(|s| s.as_str())
}

impl LdapPolicy {
    pub fn from_config(config: &Config, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        Ok(LdapPolicy {
            store,
            dir: Directory::new(&config.ldap_settings()?)?,
        })
    }

    /// The server's URL (`ldaps://host:636`).
    pub fn url(&self) -> &str {
        &self.dir.url
    }
}

impl Directory {
    fn new(s: &LdapSettings) -> Result<Self, ConfigError> {
        let host = if s.host.contains(':') && !s.host.starts_with('[') {
            format!("[{}]", s.host)
        } else {
            s.host.clone()
        };
        let scheme = match s.tls {
            LdapTls::Ldaps => "ldaps",
            LdapTls::Clear | LdapTls::StartTls => "ldap",
        };
        let tls = match s.tls {
            LdapTls::Ldaps | LdapTls::StartTls => Some(tls_config(s.ca_cert.as_deref())?),
            LdapTls::Clear => {
                if s.ca_cert.is_some() {
                    tracing::warn!("ldap.ca_cert is set but neither ldap.ssl nor ldap.starttls: passwords go to the directory in clear");
                }
                None
            }
        };
        Ok(Directory {
            url: format!("{scheme}://{host}:{}", s.port),
            tls,
            starttls: s.tls == LdapTls::StartTls,
            base_dn: s.base_dn.clone(),
            search_base: s.search_base.clone(),
            service: s.service.clone(),
            home_attr: s.home_attr.clone(),
            timeout: Duration::from_secs_f64(s.timeout_secs),
        })
    }

    async fn connect(&self) -> Result<Ldap, AuthError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| unavailable(&format!("server {}", self.url), e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!("LDAP connection: {e}");
            }
        });
        Ok(ldap)
    }

    /// Search the user; `(dn, user)` or `None` if there is no single match.
    async fn find(
        &self,
        ldap: &mut Ldap,
        login: &str,
    ) -> Result<Option<(String, DirectoryUser)>, AuthError> {
        if let Some(LdapService { dn, password }) = &self.service {
            ldap.with_timeout(self.timeout)
                .simple_bind(dn, password)
                .await
                .map_err(|e| unavailable("service bind", e))?
                .success()
                .map_err(|e| unavailable(&format!("service bind as {dn}"), e))?;
        }
        let f = escape_filter_value(login);
        let filter = format!("(|(uid={f})(mail={f}))");
        let attrs = vec![
            "uid",
            "mail",
            "uidNumber",
            "gidNumber",
            self.home_attr.as_str(),
        ];
        let res = ldap
            .with_timeout(self.timeout)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&self.search_base, Scope::Subtree, &filter, attrs)
            .await
            .map_err(|e| unavailable("search", e))?;
        match res.1.rc {
            0 => {}
            SIZE_LIMIT_EXCEEDED => {
                tracing::warn!("LDAP: several entries match {login:?}: refused");
                return Ok(None);
            }
            NO_SUCH_OBJECT => {
                return Err(unavailable(
                    "search",
                    format!(
                        "base {:?} does not exist (ldap_base_dn_filter, ldap_dn)",
                        self.search_base
                    ),
                ))
            }
            rc => {
                return Err(unavailable(
                    "search",
                    format!("result code {rc}: {}", res.1.text),
                ))
            }
        }
        let mut entries = res.0;
        if entries.len() > 1 {
            tracing::warn!("LDAP: several entries match {login:?}: refused");
            return Ok(None);
        }
        let Some(entry) = entries.pop() else {
            return Ok(None);
        };
        let entry = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            SearchEntry::construct(entry)
        }))
        .map_err(|_| unavailable("search", "malformed entry from the server"))?;
        let Some(user) = self.user_of(&entry, login) else {
            return Ok(None);
        };
        let sgids = self.groups(ldap, &user).await;
        Ok(Some((entry.dn, DirectoryUser { sgids, ..user })))
    }

    /// The user an entry describes, if it is a usable POSIX account.
    fn user_of(&self, entry: &SearchEntry, login: &str) -> Option<DirectoryUser> {
        let uids = attr(&entry.attrs, "uid")?;
        // An entry may carry several uids: the one logged in with, else the first.
        let uid_name = uids
            .iter()
            .find(|u| u.as_str() == login)
            .or_else(|| uids.first())?
            .clone();
        let number = |name: &str| -> Option<u32> { first(&entry.attrs, name)?.trim().parse().ok() };
        let (Some(uid), Some(gid)) = (number("uidNumber"), number("gidNumber")) else {
            tracing::warn!(
                "LDAP: {} has no numeric uidNumber/gidNumber (not a posixAccount): refused",
                entry.dn
            );
            return None;
        };
        if !valid_login(&uid_name) {
            tracing::warn!("LDAP: {}: uid {uid_name:?} is not a usable login", entry.dn);
            return None;
        }
        Some(DirectoryUser {
            login: uid_name,
            uid,
            gid,
            sgids: Vec::new(),
            home: first(&entry.attrs, &self.home_attr).map(str::to_string),
            email: first(&entry.attrs, "mail").map(str::to_string),
        })
    }

    /// gidNumbers of the posixGroups listing the user (none if the search fails).
    async fn groups(&self, ldap: &mut Ldap, user: &DirectoryUser) -> Vec<u32> {
        let filter = format!(
            "(&(objectClass=posixGroup)(memberUid={}))",
            escape_filter_value(&user.login)
        );
        let res = ldap
            .with_timeout(self.timeout)
            .with_search_options(SearchOptions::new().sizelimit(1000))
            .search(&self.base_dn, Scope::Subtree, &filter, vec!["gidNumber"])
            .await;
        let entries = match res {
            Ok(r) if r.1.rc == 0 || r.1.rc == SIZE_LIMIT_EXCEEDED => r.0,
            Ok(r) => {
                tracing::warn!("LDAP: groups of {}: result code {}", user.login, r.1.rc);
                return Vec::new();
            }
            Err(e) => {
                tracing::warn!("LDAP: groups of {}: {e}", user.login);
                return Vec::new();
            }
        };
        let mut gids: Vec<u32> = entries
            .into_iter()
            .filter_map(|e| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(e)))
                    .ok()
            })
            .filter_map(|e| first(&e.attrs, "gidNumber")?.trim().parse().ok())
            .filter(|&g| g != user.gid)
            .collect();
        gids.sort_unstable();
        gids.dedup();
        gids
    }

    async fn with_deadline<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, AuthError>>,
    ) -> Result<T, AuthError> {
        tokio::time::timeout(self.timeout * 3, f)
            .await
            .map_err(|_| unavailable(&format!("server {}", self.url), "timed out"))?
    }

    async fn check(&self, login: &str, password: &str) -> Result<Option<DirectoryUser>, AuthError> {
        let mut ldap = self.connect().await?;
        let Some((dn, user)) = self.find(&mut ldap, login).await? else {
            let _ = ldap.unbind().await;
            return Ok(None);
        };
        // Same connection, so the same TLS: bind as the user.
        let res = ldap
            .with_timeout(self.timeout)
            .simple_bind(&dn, password)
            .await
            .map_err(|e| unavailable("bind", e))?;
        let _ = ldap.unbind().await;
        match res.rc {
            0 => Ok(Some(user)),
            INVALID_CREDENTIALS => Ok(None),
            rc => {
                tracing::info!("LDAP bind as {dn}: result code {rc}: {}", res.text);
                Ok(None)
            }
        }
    }
}

#[async_trait]
impl AuthPolicy for LdapPolicy {
    fn name(&self) -> &'static str {
        "ldap"
    }

    async fn bind_credentials(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        // An empty password makes a "successful" unauthenticated bind (RFC 4513 5.1.2).
        if password.is_empty() || login.is_empty() || login.len() > 256 {
            return Ok(None);
        }
        self.dir
            .with_deadline(self.dir.check(login, password))
            .await
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn get_user(&self, login: &str) -> Result<Option<DirectoryUser>, AuthError> {
        if login.is_empty() || login.len() > 256 {
            return Ok(None);
        }
        let dir = &self.dir;
        dir.with_deadline(async {
            let mut ldap = dir.connect().await?;
            let found = dir.find(&mut ldap, login).await?;
            let _ = ldap.unbind().await;
            Ok(found.map(|(_, u)| u))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(escape_filter_value("alice"), "alice");
        assert_eq!(
            escape_filter_value("*)(uid=*"),
            "\\2a\\29\\28uid=\\2a",
            "no injection"
        );
        assert_eq!(escape_filter_value("a\\b\0"), "a\\5cb\\00");
        assert_eq!(escape_filter_value("élise@x.org"), "élise@x.org");
    }

    fn cfg(extra: &str) -> Config {
        god_core::config::load(
            &format!(
                "auth_policy: ldap\nldap_host: 127.0.0.1\nldap_dn: dc=example,dc=org\n{extra}"
            ),
            &[],
        )
        .unwrap()
        .config
    }

    #[test]
    fn urls_and_search_base_follow_the_configuration() {
        let dir = |extra: &str| cfg(extra).ldap_settings().and_then(|s| Directory::new(&s));
        let p = dir("").unwrap();
        assert_eq!(p.url, "ldap://127.0.0.1:389");
        assert_eq!(p.search_base, "ou=People,dc=example,dc=org");
        assert!(p.tls.is_none());
        let p = dir("ldap: {ssl: true}\n").unwrap();
        assert_eq!(p.url, "ldaps://127.0.0.1:636");
        assert!(p.tls.is_some());
        let p = dir("ldap_port: 3389\nldap_base_dn_filter: ou=people\nldap: {starttls: true}\n")
            .unwrap();
        assert_eq!(p.url, "ldap://127.0.0.1:3389");
        assert!(p.starttls && p.tls.is_some());
        assert_eq!(p.search_base, "ou=people,dc=example,dc=org");
        let err = dir("ldap: {ssl: true, ca_cert: /nonexistent/ca.pem}\n")
            .err()
            .unwrap();
        let fields: Vec<&str> = err.fields().collect();
        assert_eq!(fields, ["ldap.ca_cert"], "{err}");
    }
}
