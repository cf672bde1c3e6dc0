use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The image is not on the engine and cannot be pulled.
    #[error("image {image} is not available: {detail}")]
    ImageMissing { image: String, detail: String },
    /// The engine refused the container (bad mount, bad option…): the job cannot run as asked.
    #[error("the engine refused the container: {0}")]
    Refused(String),
    /// The executor does not take this job now (fake executor's `fail_on`, `norun`).
    #[error("rejected by the executor: {0}")]
    Rejected(String),
    /// The engine could not be reached or failed: try again later.
    #[error("container engine unavailable: {0}")]
    Unavailable(String),
    /// Setting up the job directory failed.
    #[error("job directory {path}: {source}")]
    JobDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Installing the in-container init helper on the host failed.
    #[error("init helper {path}: {source}")]
    InitHelper {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The operation needs the Engine of the job's node, which is not configured (a Swarm node
    /// without a `swarm.node_urls` entry).
    #[error(
        "the {executor} executor cannot {what} on node {node}: swarm.node_urls has no entry for it"
    )]
    NoNodeEngine {
        what: &'static str,
        executor: &'static str,
        node: String,
    },
    /// The executor has no such operation (see [`crate::Capabilities`]).
    #[error("the {executor} executor cannot {what}")]
    Unsupported {
        what: &'static str,
        executor: &'static str,
    },
}
