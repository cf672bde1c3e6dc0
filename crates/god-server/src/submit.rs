//! Group commit of submissions: concurrent `POST /api/1.0/task` requests are written in one
//! transaction (one fsync) instead of one each, and each request is answered only once its job
//! is durable.

use god_core::{JobId, Task};
use god_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Why a submission was not stored (the details are in the server's log, not for clients);
/// answered 503 (`error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotStored {
    /// The store failed the batch's transaction.
    #[error("the job database refused the write")]
    Database,
    /// The queue is closed: its writer task is gone.
    #[error("the submission writer stopped")]
    WriterStopped,
}

type Reply = oneshot::Sender<Result<JobId, NotStored>>;

/// Most jobs written in one transaction.
const MAX_BATCH: usize = 1024;

#[derive(Clone)]
pub struct SubmitQueue {
    tx: mpsc::Sender<(Task, Reply)>,
}

impl SubmitQueue {
    /// Start the writer task.
    pub fn start(store: Arc<dyn Store>) -> SubmitQueue {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        tokio::spawn(writer(store, rx));
        SubmitQueue { tx }
    }

    /// Write one job; returns its id once committed.
    pub async fn submit(&self, task: Task) -> Result<JobId, NotStored> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((task, reply))
            .await
            .map_err(|_| NotStored::WriterStopped)?;
        rx.await.map_err(|_| NotStored::WriterStopped)?
    }
}

async fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(Task, Reply)>) {
    let mut batch: Vec<(Task, Reply)> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let (tasks, replies): (Vec<Task>, Vec<Reply>) = batch.drain(..).unzip();
        let result: Result<Vec<JobId>, StoreError> = store.insert_jobs(&tasks).await;
        match result {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(e) => {
                tracing::error!("writing {} submitted jobs failed: {e}", tasks.len());
                for reply in replies {
                    let _ = reply.send(Err(NotStored::Database));
                }
            }
        }
    }
}

impl From<NotStored> for crate::error::ApiError {
    /// Either way the job is not stored and the client may submit it again: 503. What the
    /// database said is in the server's log.
    fn from(e: crate::submit::NotStored) -> Self {
        crate::error::ApiError::unavailable(format!("the job could not be stored: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::testing::TestEnv;
    use axum::http::StatusCode;
    use god_core::testing::TaskBuilder;

    #[tokio::test]
    async fn submissions_get_their_ids_once_written() {
        let env = TestEnv::new("").await;
        let q = SubmitQueue::start(env.state.store.clone());
        let all = (0..20).map(|_| q.submit(TaskBuilder::new().build()));
        let mut ids: Vec<u64> = futures_util::future::join_all(all)
            .await
            .into_iter()
            .map(|r| r.unwrap().0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 20, "one id each");
    }

    /// A queue whose writer is gone says so, and the client is told to try again (503).
    #[tokio::test]
    async fn a_closed_queue_is_writer_stopped_and_503() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let q = SubmitQueue { tx };
        let e = q.submit(TaskBuilder::new().build()).await.unwrap_err();
        assert_eq!(e, NotStored::WriterStopped);
        for e in [NotStored::WriterStopped, NotStored::Database] {
            let api = ApiError::from(e);
            assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{e}");
            assert!(api.error.starts_with("the job could not be stored: "));
        }
    }
}
