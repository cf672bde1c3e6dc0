//! Guests (reference 5.4): the account of a person the OpenID Connect provider vouched for.
//!
//! A guest's login is `oidc.login_prefix` + their provider username, made safe; their jobs run
//! with `guest_bind`'s uid and gid (no secondary groups); their home is
//! `<guest_home_root>/<login>` (created owned by `guest_bind`, mode 0700), guest_bind's home with
//! `default`, none when unset. A new guest is inactive: they may log in and read their own
//! account, nothing else, until an administrator activates them.

use super::new_record;
use super::nss;
use super::oidc::GuestIdentity;
use super::policy::{AuthError, DirectoryUser};
use crate::auth::new_apikey;
use god_core::config::{GuestHome, GuestSettings};
use god_core::names::valid_login;
use god_store::{Guest, Store, StoreError, UserRecord};
use std::sync::Arc;

/// The login a guest gets: the prefix, then their username with anything but
/// `[a-z0-9._-]` replaced by `-`, at most 64 characters; `n > 1` adds `-n` (taken logins).
pub fn guest_login(prefix: &str, username: &str, n: u32) -> String {
    let mut name: String = username
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let suffix = if n > 1 {
        format!("-{n}")
    } else {
        String::new()
    };
    let room = 64usize.saturating_sub(prefix.len() + suffix.len());
    name.truncate(room);
    format!("{prefix}{name}{suffix}")
}

/// Where a guest's home is, by `guest_home_root` (see the module documentation).
pub fn guest_home(home: &GuestHome, bind_home: Option<&str>, login: &str) -> Option<String> {
    match home {
        GuestHome::None => None,
        GuestHome::BindHome => bind_home.map(str::to_string),
        GuestHome::Under(root) => Some(format!("{}/{login}", root.trim_end_matches('/'))),
    }
}

/// The guest account of `who`: found by their provider subject, or created (inactive). Their
/// uid/gid follow `guest_bind` on every login; flags, quotas and keys stay ours.
pub async fn provision(
    store: &Arc<dyn Store>,
    guests: &GuestSettings,
    who: &GuestIdentity,
) -> Result<UserRecord, AuthError> {
    let bind_login = &guests.bind;
    let bind = nss::lookup_blocking(bind_login).await?.ok_or_else(|| {
        AuthError::Unavailable(format!(
            "guest_bind: {bind_login:?} is not an account of this host"
        ))
    })?;
    if bind.uid == 0 || bind.gid == 0 {
        return Err(AuthError::Unavailable(
            "guest_bind: guests cannot run as root".into(),
        ));
    }
    if let Some(mut u) = store.get_guest(&who.subject).await? {
        if (u.uid, u.gid) != (bind.uid, bind.gid) || (who.email.is_some() && u.email != who.email) {
            (u.uid, u.gid) = (bind.uid, bind.gid);
            u.email = who.email.clone().or(u.email);
            store.update_user(&u).await?;
        }
        return Ok(u);
    }
    for n in 1..=20 {
        let login = guest_login(&guests.oidc.login_prefix, &who.username, n);
        if !valid_login(&login) {
            return Err(AuthError::NotSupported(format!(
                "cannot make a login of {:?}",
                who.username
            )));
        }
        let home = guest_home(&guests.home, bind.home.as_deref(), &login);
        let who_here = DirectoryUser {
            login: login.clone(),
            uid: bind.uid,
            gid: bind.gid,
            sgids: Vec::new(),
            home: home.clone(),
            email: who.email.clone(),
        };
        let mut record = new_record(&who_here, &new_apikey());
        record.guest = Some(Guest {
            subject: who.subject.clone(),
            active: false,
        });
        match store.add_user(&record).await {
            Ok(()) => {
                tracing::info!(
                    "first login of guest {login} ({}): waiting for an administrator",
                    who.subject
                );
                let own_home = matches!(guests.home, GuestHome::Under(_));
                if let (Some(home), true) = (&home, own_home) {
                    make_home(home, bind.uid, bind.gid).await;
                }
                return Ok(record);
            }
            Err(StoreError::UserExists(_)) => {
                // The login is someone else's, or this person's account was just created by a
                // concurrent login: look again.
                if let Some(u) = store.get_guest(&who.subject).await? {
                    return Ok(u);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AuthError::NotSupported(format!(
        "every login derived from {:?} is taken",
        who.username
    )))
}

/// Create a guest's home, owned by guest_bind, private. A failure is logged, not fatal: jobs
/// then run without it (`volumes_check` drops a missing home).
async fn make_home(path: &str, uid: u32, gid: u32) {
    let path = std::path::PathBuf::from(path);
    let res = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&path)?;
        std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
    })
    .await;
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("guest home: {e}"),
        Err(e) => tracing::warn!("guest home: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_prefixed_safe_and_bounded() {
        let cases = [
            ("guest-", "alice", 1, "guest-alice"),
            ("guest-", "Alice Smith", 1, "guest-alice-smith"),
            ("guest-", "bob@example.org", 2, "guest-bob-example.org-2"),
            ("g-", "../../etc", 1, "g-..-..-etc"),
            ("guest-", "Ünïcode", 1, "guest--n-code"),
        ];
        for (prefix, name, n, want) in cases {
            let got = guest_login(prefix, name, n);
            assert_eq!(got, want);
            assert!(valid_login(&got), "{got}");
        }
        let long = guest_login("guest-", &"x".repeat(200), 3);
        assert_eq!(long.len(), 64);
        assert!(long.ends_with("-3"));
    }

    #[test]
    fn homes_follow_guest_home_root() {
        assert_eq!(
            guest_home(&GuestHome::None, Some("/home/g"), "guest-a"),
            None
        );
        assert_eq!(
            guest_home(&GuestHome::BindHome, Some("/home/g"), "guest-a").as_deref(),
            Some("/home/g")
        );
        let under = GuestHome::Under("/srv/guests/".into());
        assert_eq!(
            guest_home(&under, Some("/home/g"), "guest-a").as_deref(),
            Some("/srv/guests/guest-a")
        );
    }
}

#[cfg(test)]
mod provision_tests {
    use super::*;
    use crate::testing::TestEnv;

    /// The typed guest settings drive the account: guest_bind's uid and gid, the login prefix,
    /// guest_bind's home with `default`; a second login finds the same account.
    #[tokio::test]
    async fn a_guest_account_follows_the_guest_settings() {
        let env = TestEnv::new(
            "guest_allow: true\nguest_bind: nobody\nguest_home_root: default\n\
             oidc: {issuer: 'http://idp', client_id: c, redirect_url: 'http://h/auth/oidc/callback', login_prefix: g-}\n",
        )
        .await;
        let guests = env.state.config.guest_settings().unwrap().unwrap();
        let who = GuestIdentity {
            subject: "http://idp ann".into(),
            username: "Ann".into(),
            email: None,
        };
        let u = provision(&env.state.store, &guests, &who).await.unwrap();
        assert_eq!(
            (u.login.as_str(), u.uid, u.gid, u.home.as_deref()),
            ("g-ann", 65534, 65534, Some("/nonexistent"))
        );
        assert!(u.inactive_guest());
        let again = provision(&env.state.store, &guests, &who).await.unwrap();
        assert_eq!(again.login, "g-ann");
    }
}
