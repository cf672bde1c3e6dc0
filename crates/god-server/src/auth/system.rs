//! `system`: the host's accounts. Who a user is comes from NSS (uid, gid, home, secondary
//! groups); passwords are checked by PAM (service `pam_service`, default `login`). Without PAM
//! (built without the `pam` feature, or no such service) password logins are refused with a
//! message saying so, and API keys still work for users that have a record. The first password
//! login creates the record (the API route layer does it, see `accounts::provision`).

use super::nss;
use super::policy::{AuthError, AuthPolicy, DirectoryUser};
use async_trait::async_trait;
use god_core::names::valid_login;
use god_store::Store;
use std::sync::Arc;

pub struct SystemPolicy {
    store: Arc<dyn Store>,
    service: String,
    /// Why PAM cannot be used, if it cannot.
    pam_missing: Option<String>,
}

impl SystemPolicy {
    pub fn new(store: Arc<dyn Store>, service: &str) -> Self {
        let pam_missing = pam_problem(service);
        match &pam_missing {
            Some(why) => tracing::warn!(
                "auth_policy system: password logins are disabled ({why}); API keys still work"
            ),
            None if !nix::unistd::geteuid().is_root() => tracing::warn!(
                "auth_policy system: not running as root: PAM (pam_unix) can check only the \
                 password of the account the server runs as"
            ),
            None => {}
        }
        SystemPolicy {
            store,
            service: service.to_string(),
            pam_missing,
        }
    }
}

/// Why PAM cannot check passwords for `service` here, or `None` if it can.
fn pam_problem(service: &str) -> Option<String> {
    if !cfg!(feature = "pam") {
        return Some("this server was built without PAM support (feature \"pam\")".into());
    }
    if service.is_empty() || service.contains('/') || service.starts_with('.') {
        return Some(format!("pam_service {service:?} is not a PAM service name"));
    }
    // Linux-PAM reads /etc/pam.d/<service> and ignores /etc/pam.conf when /etc/pam.d exists.
    let dir = std::path::Path::new("/etc/pam.d");
    if dir.is_dir() {
        let file = dir.join(service);
        return (!file.is_file()).then(|| {
            format!(
                "PAM service {service:?} is not configured ({} does not exist)",
                file.display()
            )
        });
    }
    let conf = std::fs::read_to_string("/etc/pam.conf").unwrap_or_default();
    let listed = conf.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with('#') && l.split_whitespace().next() == Some(service)
    });
    (!listed)
        .then(|| format!("PAM service {service:?} is not configured (/etc/pam.d, /etc/pam.conf)"))
}

#[cfg(feature = "pam")]
fn pam_authenticate(service: &str, login: &str, password: &str) -> Result<bool, String> {
    use pam_client::conv_mock::Conversation;
    use pam_client::{Context, Flag};
    let mut ctx = Context::new(
        service,
        Some(login),
        Conversation::with_credentials(login, password),
    )
    .map_err(|e| format!("PAM service {service:?}: {e}"))?;
    if let Err(e) = ctx.authenticate(Flag::SILENT | Flag::DISALLOW_NULL_AUTHTOK) {
        tracing::debug!("PAM authenticate {login}: {e}");
        return Ok(false);
    }
    if let Err(e) = ctx.acct_mgmt(Flag::SILENT | Flag::DISALLOW_NULL_AUTHTOK) {
        tracing::info!("PAM account check of {login} refused: {e}");
        return Ok(false);
    }
    Ok(true)
}

#[cfg(not(feature = "pam"))]
fn pam_authenticate(_service: &str, _login: &str, _password: &str) -> Result<bool, String> {
    Err("built without PAM support".into())
}

#[async_trait]
impl AuthPolicy for SystemPolicy {
    fn name(&self) -> &'static str {
        "system"
    }

    async fn bind_credentials(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        if let Some(why) = &self.pam_missing {
            return Err(AuthError::NotSupported(format!(
                "password logins are not available on this server ({why}): log in with your API key"
            )));
        }
        if password.is_empty() || !valid_login(login) {
            return Ok(None);
        }
        let Some(user) = nss::lookup_blocking(login).await? else {
            return Ok(None);
        };
        let (service, l, p) = (
            self.service.clone(),
            login.to_string(),
            password.to_string(),
        );
        let ok = tokio::task::spawn_blocking(move || pam_authenticate(&service, &l, &p))
            .await
            .map_err(|e| AuthError::Unavailable(format!("PAM: {e}")))?
            .map_err(AuthError::Unavailable)?;
        Ok(ok.then_some(user))
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn get_user(&self, login: &str) -> Result<Option<DirectoryUser>, AuthError> {
        if !valid_login(login) {
            return Ok(None);
        }
        nss::lookup_blocking(login).await
    }
}
