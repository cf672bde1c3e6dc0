//! Local user accounts: creation (also while the server runs: the database is the truth), API
//! key renewal, and the administrator created on first start.

use crate::auth::{hash_apikey, new_apikey, new_record, AuthError, DirectoryUser};
pub use crate::error::AccountError;
use crate::ServerError;
use god_core::names::valid_login;
pub use god_core::names::ADMIN_LOGIN;
use god_store::{Store, StoreError, UserRecord};
use std::sync::Arc;

/// Create a user (`god user add`); returns its API key (shown once, stored hashed).
pub async fn add_user(
    store: &Arc<dyn Store>,
    who: &DirectoryUser,
    admin: bool,
) -> Result<String, ServerError> {
    if !valid_login(&who.login) {
        return Err(AccountError::InvalidLogin(who.login.clone()).into());
    }
    let key = new_apikey();
    let mut record = new_record(who, &key);
    record.admin = admin;
    store.add_user(&record).await?;
    Ok(key)
}

/// Issue a new API key for `login`; tokens of the old key stop working.
pub async fn renew_apikey(store: &Arc<dyn Store>, login: &str) -> Result<String, ServerError> {
    let key = new_apikey();
    store.set_apikey(login, &hash_apikey(&key)).await?;
    Ok(key)
}

/// When no account is an administrator (a new database), create `admin` (uid/gid 65534: its
/// jobs run as nobody) and return its API key; otherwise `None`.
pub async fn bootstrap_admin(store: &Arc<dyn Store>) -> Result<Option<String>, ServerError> {
    // Not "no users": `god user add` may run before the first `god up` gets here.
    if store.list_users().await?.iter().any(|u| u.admin) {
        return Ok(None);
    }
    let admin = DirectoryUser {
        login: ADMIN_LOGIN.into(),
        uid: 65534,
        gid: 65534,
        ..Default::default()
    };
    match add_user(store, &admin, true).await {
        Ok(key) => Ok(Some(key)),
        Err(ServerError::Store(StoreError::UserExists(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Set the local password of `login` (policy `local`): at least 8 characters, stored as an
/// argon2id PHC string. The API key and existing tokens stay valid.
pub async fn set_password(
    store: &Arc<dyn Store>,
    login: &str,
    password: &str,
) -> Result<(), ServerError> {
    crate::auth::password::check_rules(password).map_err(AuthError::from)?;
    let mut user = store
        .get_user(login)
        .await?
        .ok_or_else(|| StoreError::UserNotFound(login.to_string()))?;
    let hash = crate::auth::password::hash_blocking(password).await?;
    user.password_hash = Some(hash);
    store.update_user(&user).await?;
    Ok(())
}

/// The record of a user a directory policy (`system`, `ldap`, `fake`) has just authenticated:
/// created on their first login (uid, gid, groups, home and email from the directory; a random
/// API key that nobody sees until they renew it), refreshed from the directory afterwards (the
/// directory is the truth for identity; priorities, quotas and flags stay ours).
pub async fn provision(
    store: &Arc<dyn Store>,
    dir: &DirectoryUser,
) -> Result<UserRecord, ServerError> {
    if !valid_login(&dir.login) {
        return Err(AccountError::InvalidLogin(dir.login.clone()).into());
    }
    if dir.uid == 0 {
        return Err(AccountError::Root(dir.login.clone()).into());
    }
    for _ in 0..3 {
        if let Some(mut u) = store.get_user(&dir.login).await? {
            if u.guest.is_some() {
                return Err(AccountError::Guest(u.login).into());
            }
            if u.login == ADMIN_LOGIN && u.admin {
                // A directory entry named like our first-start administrator must not take it
                // over: that account logs in with its API key.
                return Err(AccountError::OwnAdministrator.into());
            }
            let mut changed = false;
            let mut sgids = dir.sgids.clone();
            sgids.sort_unstable();
            sgids.dedup();
            if (u.uid, u.gid, &u.sgids) != (dir.uid, dir.gid, &sgids) {
                (u.uid, u.gid, u.sgids) = (dir.uid, dir.gid, sgids);
                changed = true;
            }
            if dir.home.is_some() && u.home != dir.home {
                u.home = dir.home.clone();
                changed = true;
            }
            if dir.email.is_some() && u.email != dir.email {
                u.email = dir.email.clone();
                changed = true;
            }
            if changed {
                store.update_user(&u).await?;
            }
            return Ok(u);
        }
        let record = new_record(dir, &new_apikey());
        match store.add_user(&record).await {
            Ok(()) => {
                tracing::info!(
                    "first login of {} (uid {}, gid {}): account created",
                    record.login,
                    record.uid,
                    record.gid
                );
                return Ok(record);
            }
            // Created by a concurrent login: read it again.
            Err(StoreError::UserExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AccountError::NotCreated(dir.login.clone()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::testing::TestEnv;
    use axum::http::StatusCode;
    use god_store::Guest;

    fn dir_user(login: &str, uid: u32) -> DirectoryUser {
        DirectoryUser {
            login: login.into(),
            uid,
            gid: uid,
            ..Default::default()
        }
    }

    /// A directory login that cannot be (or take over) an account is refused with its reason,
    /// answered 403 to the client; nothing about it reads as a configuration problem.
    #[tokio::test]
    async fn logins_that_cannot_be_accounts_are_refused_by_kind() {
        let env = TestEnv::new("").await;
        let store = &env.state.store;
        let mut guest = new_record(&dir_user("guest-ann", 4000), "k");
        guest.guest = Some(Guest {
            subject: "idp ann".into(),
            active: true,
        });
        store.add_user(&guest).await.unwrap();
        let cases = [
            (
                dir_user("../x", 1000),
                AccountError::InvalidLogin("../x".into()),
            ),
            (dir_user("toor", 0), AccountError::Root("toor".into())),
            (
                dir_user("guest-ann", 1000),
                AccountError::Guest("guest-ann".into()),
            ),
            (dir_user(ADMIN_LOGIN, 1000), AccountError::OwnAdministrator),
        ];
        for (who, want) in cases {
            match provision(store, &who).await {
                Err(ServerError::Account(got)) => {
                    assert_eq!(got, want, "{}", who.login);
                    let api = ApiError::from(ServerError::Account(got));
                    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", who.login);
                    assert_eq!(api.error, want.to_string());
                    assert!(!api.error.contains("configuration"), "{}", api.error);
                }
                other => panic!("{}: {other:?}", who.login),
            }
        }
        let ok = provision(store, &dir_user("bea", 1001)).await.unwrap();
        assert_eq!((ok.login.as_str(), ok.uid), ("bea", 1001));
        match add_user(store, &dir_user("-bad", 1), false).await {
            Err(ServerError::Account(AccountError::InvalidLogin(l))) => assert_eq!(l, "-bad"),
            other => panic!("{other:?}"),
        }
    }
}
