//! The host's accounts through NSS (`getpwnam_r`, `getgrouplist`): whatever `/etc/nsswitch.conf`
//! says (files, sssd, LDAP...).

use super::policy::{AuthError, DirectoryUser};
use nix::unistd::{getgrouplist, Gid, User};
use std::ffi::CString;

/// The passwd entry of `login` and its groups, or `None` if NSS does not know it. Blocking.
pub fn lookup(login: &str) -> Result<Option<DirectoryUser>, String> {
    let user = match User::from_name(login) {
        Ok(Some(u)) => u,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("looking up {login:?} in the host's accounts: {e}")),
    };
    let gid = user.gid.as_raw();
    let sgids = match CString::new(user.name.as_str()) {
        Ok(name) => match getgrouplist(&name, Gid::from_raw(gid)) {
            Ok(groups) => groups,
            Err(e) => {
                return Err(format!("groups of {login:?}: {e}"));
            }
        },
        Err(_) => Vec::new(),
    };
    let mut sgids: Vec<u32> = sgids
        .into_iter()
        .map(|g| g.as_raw())
        .filter(|&g| g != gid)
        .collect();
    sgids.sort_unstable();
    sgids.dedup();
    Ok(Some(DirectoryUser {
        login: user.name.clone(),
        uid: user.uid.as_raw(),
        gid,
        sgids,
        home: Some(user.dir.to_string_lossy().into_owned()).filter(|h| !h.is_empty()),
        email: None,
    }))
}

/// `lookup` on a blocking thread.
pub async fn lookup_blocking(login: &str) -> Result<Option<DirectoryUser>, AuthError> {
    let login = login.to_string();
    tokio::task::spawn_blocking(move || lookup(&login))
        .await
        .map_err(|e| AuthError::Unavailable(format!("host accounts: {e}")))?
        .map_err(AuthError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_and_strangers_are_not() {
        let root = lookup("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(!root.sgids.contains(&0));
        assert!(lookup("no-such-user-of-god").unwrap().is_none());
    }
}
