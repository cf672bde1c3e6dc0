//! Local user accounts: creation (also while the server runs: the database is the truth), API
//! key renewal, and the administrator created on first start.

use crate::auth::{hash_apikey, new_apikey};
use crate::clock::now;
use crate::ServerError;
use god_store::{Store, StoreError, UserRecord};
use std::sync::Arc;

/// Login of the administrator created on first start.
pub const ADMIN_LOGIN: &str = "admin";

/// What `god user add` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub home: Option<String>,
    pub email: Option<String>,
    pub admin: bool,
}

/// Check a login: 1 to 64 characters of `[A-Za-z0-9._-]`, not starting with `-` or `.`.
pub fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 64
        && !login.starts_with(['-', '.'])
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Create a user; returns its API key (shown once, stored hashed).
pub async fn add_user(store: &Arc<dyn Store>, u: &NewUser) -> Result<String, ServerError> {
    if !valid_login(&u.login) {
        return Err(ServerError::Config(format!(
            "{:?} is not a valid login (letters, digits, '.', '_', '-')",
            u.login
        )));
    }
    let key = new_apikey();
    store
        .add_user(&UserRecord {
            login: u.login.clone(),
            uid: u.uid,
            gid: u.gid,
            sgids: u.sgids.clone(),
            home: u.home.clone(),
            email: u.email.clone(),
            admin: u.admin,
            disabled: false,
            apikey_hash: hash_apikey(&key),
            key_version: 1,
            public_key: None,
            created: now(),
        })
        .await?;
    Ok(key)
}

/// Issue a new API key for `login`; tokens of the old key stop working.
pub async fn renew_apikey(store: &Arc<dyn Store>, login: &str) -> Result<String, ServerError> {
    let key = new_apikey();
    store.set_apikey(login, &hash_apikey(&key)).await?;
    Ok(key)
}

/// On a new database, create the administrator (uid/gid 65534: its jobs run as nobody) and
/// return its API key; otherwise `None`.
pub async fn bootstrap_admin(store: &Arc<dyn Store>) -> Result<Option<String>, ServerError> {
    if !store.list_users().await?.is_empty() {
        return Ok(None);
    }
    let admin = NewUser {
        login: ADMIN_LOGIN.into(),
        uid: 65534,
        gid: 65534,
        admin: true,
        ..Default::default()
    };
    match add_user(store, &admin).await {
        Ok(key) => Ok(Some(key)),
        Err(ServerError::Store(StoreError::UserExists(_))) => Ok(None),
        Err(e) => Err(e),
    }
}
