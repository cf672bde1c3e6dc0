//! Group commit of submissions: concurrent `POST /api/1.0/task` requests are written in one
//! transaction (one fsync) instead of one each, and each request is answered only once its job
//! is durable.

use god_core::{JobId, Task};
use god_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Why a submission was not stored (the details are in the server's log, not for clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotStored {
    #[error("the job database refused the write")]
    Database,
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
