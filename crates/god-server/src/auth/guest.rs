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
use god_core::config::Config;
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
pub fn guest_home(config: &Config, bind_home: Option<&str>, login: &str) -> Option<String> {
    match config.guest_home_root.as_deref() {
        None => None,
        Some("default") => bind_home.map(str::to_string),
        Some(root) => Some(format!("{}/{login}", root.trim_end_matches('/'))),
    }
}

/// The guest account of `who`: found by their provider subject, or created (inactive). Their
/// uid/gid follow `guest_bind` on every login; flags, quotas and keys stay ours.
pub async fn provision(
    store: &Arc<dyn Store>,
    config: &Config,
    who: &GuestIdentity,
) -> Result<UserRecord, AuthError> {
    let bind_login = config.guest_bind.clone().unwrap_or_default();
    let bind = nss::lookup_blocking(&bind_login).await?.ok_or_else(|| {
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
        let login = guest_login(&config.oidc.login_prefix, &who.username, n);
        if !valid_login(&login) {
            return Err(AuthError::NotSupported(format!(
                "cannot make a login of {:?}",
                who.username
            )));
        }
        let home = guest_home(config, bind.home.as_deref(), &login);
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
                let own_home = config.guest_home_root.as_deref() != Some("default");
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
        let mut c = Config::default();
        assert_eq!(guest_home(&c, Some("/home/g"), "guest-a"), None);
        c.guest_home_root = Some("default".into());
        assert_eq!(
            guest_home(&c, Some("/home/g"), "guest-a").as_deref(),
            Some("/home/g")
        );
        c.guest_home_root = Some("/srv/guests/".into());
        assert_eq!(
            guest_home(&c, Some("/home/g"), "guest-a").as_deref(),
            Some("/srv/guests/guest-a")
        );
    }
}
