//! `local`: users of our database (`god user add`), passwords hashed with argon2id
//! (`POST /api/1.0/user/<login>/password`), API keys as always.

use super::password;
use super::policy::{AuthError, AuthPolicy, DirectoryUser};
use async_trait::async_trait;
use god_store::Store;
use std::sync::Arc;

pub struct LocalPolicy {
    store: Arc<dyn Store>,
}

impl LocalPolicy {
    pub fn new(store: Arc<dyn Store>) -> Self {
        LocalPolicy { store }
    }
}

#[async_trait]
impl AuthPolicy for LocalPolicy {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn bind_credentials(
        &self,
        login: &str,
        pw: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        let user = self.store.get_user(login).await?;
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        // Without a user or a password, still spend the time of a check.
        let ok = !pw.is_empty() && password::verify_blocking(pw, phc).await;
        Ok(match user {
            Some(u) if ok => Some(DirectoryUser::from_record(&u)),
            _ => None,
        })
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn get_user(&self, login: &str) -> Result<Option<DirectoryUser>, AuthError> {
        Ok(self
            .store
            .get_user(login)
            .await?
            .map(|u| DirectoryUser::from_record(&u)))
    }

    fn provisions_users(&self) -> bool {
        false
    }

    fn manages_passwords(&self) -> bool {
        true
    }
}
