//! `fake` (reference 5.3, tests only): any non-empty password; uid/gid and groups from the local
//! passwd if the login exists there, else 1001/1001; email `<login>@fake.org`; home
//! `/home/<login>`. The login `fake` is refused. Start-up refuses this policy unless the
//! configuration also says `allow_fake_auth: true`. `can_run` refuses jobs tagged
//! [`REFUSED_TAG`], so tests see the scheduler honour a policy's veto.

use super::nss;
use super::policy::{AuthError, AuthPolicy, DirectoryUser};
use async_trait::async_trait;
use god_core::names::valid_login;
use god_store::Store;
use std::sync::Arc;

/// Jobs with this tag are refused by `can_run`.
pub const REFUSED_TAG: &str = "fake-auth:refuse";

pub struct FakePolicy {
    store: Arc<dyn Store>,
}

impl FakePolicy {
    pub fn new(store: Arc<dyn Store>) -> Self {
        tracing::warn!("auth_policy fake: ANY password logs in (allow_fake_auth: true)");
        FakePolicy { store }
    }
}

#[async_trait]
impl AuthPolicy for FakePolicy {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn bind_credentials(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        if password.is_empty() {
            return Ok(None);
        }
        self.get_user(login).await
    }

    async fn can_run(&self, task: &god_core::Task) -> bool {
        !task.meta.tags.iter().any(|t| t == REFUSED_TAG)
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn get_user(&self, login: &str) -> Result<Option<DirectoryUser>, AuthError> {
        if login == "fake" || !valid_login(login) {
            return Ok(None);
        }
        let host = nss::lookup_blocking(login).await?;
        let (uid, gid, sgids) = match host {
            Some(u) => (u.uid, u.gid, u.sgids),
            None => (1001, 1001, Vec::new()),
        };
        Ok(Some(DirectoryUser {
            login: login.to_string(),
            uid,
            gid,
            sgids,
            home: Some(format!("/home/{login}")),
            email: Some(format!("{login}@fake.org")),
        }))
    }
}
