//! What every part of the service shares: the store, the executor, the configuration, and the
//! signals that wake the loops.

use crate::submit::SubmitQueue;
use god_core::config::Config;
use god_exec::Executor;
use god_store::{Store, StoreError, UserRecord};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Wake-up signals between the API and the loops, so an idle system reacts in milliseconds.
#[derive(Default)]
pub struct Wake {
    pub scheduler: Notify,
    pub watcher: Notify,
    pub archiver: Notify,
}

/// A short-lived cache of users, so authenticating a request does not always read the database.
/// Entries expire after a second; the API drops an entry when it changes the user.
#[derive(Default)]
pub struct UserCache {
    entries: Mutex<HashMap<String, (UserRecord, Instant)>>,
}

const USER_TTL: Duration = Duration::from_secs(1);

impl UserCache {
    pub async fn get(
        &self,
        store: &Arc<dyn Store>,
        login: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        if let Ok(map) = self.entries.lock() {
            if let Some((u, at)) = map.get(login) {
                if at.elapsed() < USER_TTL {
                    return Ok(Some(u.clone()));
                }
            }
        }
        let user = store.get_user(login).await?;
        if let (Some(u), Ok(mut map)) = (&user, self.entries.lock()) {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(login.to_string(), (u.clone(), Instant::now()));
        }
        Ok(user)
    }

    pub fn forget(&self, login: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(login);
        }
    }
}

/// Paths the service uses on the host.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub shared_dir: PathBuf,
    /// The static init helper mounted into job containers.
    pub init_helper: PathBuf,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub exec: Arc<dyn Executor>,
    pub config: Arc<Config>,
    pub secret: Arc<String>,
    pub server_id: Arc<String>,
    pub paths: Arc<Paths>,
    pub wake: Arc<Wake>,
    pub users: Arc<UserCache>,
    pub submit: SubmitQueue,
}
