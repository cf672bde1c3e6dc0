//! The interface every authentication policy implements (reference 5.1), and the choice of one
//! from the configuration.

use super::{hash_apikey, same_hash};
pub use crate::error::AuthError;
use async_trait::async_trait;
use god_core::Task;
use god_store::{Store, UserRecord};
use std::sync::Arc;

/// Who a login is, as the policy's directory says (reference 5.1: `{id, uidNumber, gidNumber,
/// sgids, email, homeDirectory}`). Quotas and volumes stay in our database and configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryUser {
    pub login: String,
    pub uid: u32,
    pub gid: u32,
    /// Secondary groups (without `gid`).
    pub sgids: Vec<u32>,
    pub home: Option<String>,
    pub email: Option<String>,
}

impl DirectoryUser {
    pub fn from_record(u: &UserRecord) -> Self {
        DirectoryUser {
            login: u.login.clone(),
            uid: u.uid,
            gid: u.gid,
            sgids: u.sgids.clone(),
            home: u.home.clone(),
            email: u.email.clone(),
        }
    }
}

/// An authentication policy (`auth_policy`). `Ok(None)` means "refused" (unknown login or wrong
/// credential; the caller does not say which); `Err` means the check could not be made.
#[async_trait]
pub trait AuthPolicy: Send + Sync {
    /// The policy's name, as in the configuration.
    fn name(&self) -> &'static str;

    /// Check a password; the user as the directory describes them.
    async fn bind_credentials(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<DirectoryUser>, AuthError>;

    /// Our database, where API keys live whatever the policy.
    fn store(&self) -> &Arc<dyn Store>;

    /// Check an API key: always against our database (keys are ours whatever the policy), the
    /// record's key hash compared in constant time.
    async fn bind_api(
        &self,
        login: &str,
        apikey: &str,
    ) -> Result<Option<DirectoryUser>, AuthError> {
        if apikey.is_empty() {
            return Ok(None);
        }
        let Some(user) = self.store().get_user(login).await? else {
            return Ok(None);
        };
        if !same_hash(&user.apikey_hash, &hash_apikey(apikey)) {
            return Ok(None);
        }
        Ok(Some(DirectoryUser::from_record(&user)))
    }

    /// Look a user up without checking a credential.
    async fn get_user(&self, login: &str) -> Result<Option<DirectoryUser>, AuthError>;

    /// May this task run? (The scheduler rejects it otherwise.)
    async fn can_run(&self, _task: &Task) -> bool {
        true
    }

    /// Does a password login create (or refresh) the user's record from the directory? True for
    /// every policy whose users live outside our database.
    fn provisions_users(&self) -> bool {
        true
    }

    /// Are passwords ours to set (`POST /api/1.0/user/<login>/password`)?
    fn manages_passwords(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use axum::http::StatusCode;
    use god_store::StoreError;

    /// Each kind of failure answers with its status; what only the server should know (a
    /// database path, a hashing detail) stays out of the answer.
    #[test]
    fn auth_errors_answer_by_kind() {
        let cases = [
            (
                AuthError::NotSupported("no PAM here".into()),
                StatusCode::UNAUTHORIZED,
                None,
            ),
            (
                AuthError::Unavailable("LDAP server x: refused".into()),
                StatusCode::SERVICE_UNAVAILABLE,
                None,
            ),
            (
                AuthError::Store(StoreError::Open {
                    path: "/srv/secret/god.db".into(),
                    detail: "disk I/O error".into(),
                }),
                StatusCode::SERVICE_UNAVAILABLE,
                None,
            ),
            (
                AuthError::Store(StoreError::UserNotFound("ann".into())),
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                AuthError::PasswordRule(super::super::password::PasswordRule::Nul),
                StatusCode::BAD_REQUEST,
                Some("password"),
            ),
            (
                AuthError::Hashing("/srv/secret: salt".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
            ),
        ];
        for (e, status, field) in cases {
            let said = e.to_string();
            let api = ApiError::from(e);
            assert_eq!(
                (api.status, api.field.as_deref()),
                (status, field),
                "{said}"
            );
            assert!(!api.error.contains("/srv/secret"), "{said}: {}", api.error);
        }
    }
}
