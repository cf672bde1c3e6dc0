//! What a scheduler publishes of the nodes it places jobs onto, for the processes that do not
//! talk to the engines: the API (may a job ask for 2 GPUs?), later the web UI's dashboard and
//! API processes on other hosts. The scheduler writes the views into the store when what its
//! executors report changes; readers never ask an engine.

use serde::{Deserialize, Serialize};

/// One node as its executor reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    /// The executor that runs jobs on it (`docker`, `native`, `fake`, later `swarm`, …).
    pub executor: String,
    pub cpus: f64,
    /// GB.
    pub ram: f64,
    pub gpus: u32,
    /// `name==value` labels jobs may ask for.
    pub labels: Vec<String>,
    /// False while its engine does not answer.
    pub available: bool,
}

/// The views last published, and when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeViews {
    pub nodes: Vec<NodeView>,
    /// Seconds since the epoch; `None` when no scheduler has published any yet.
    pub published: Option<f64>,
}

impl NodeViews {
    /// The most GPUs one node offers, or `None` while nothing is known yet (a fresh server
    /// whose scheduler has not asked its executors): then a submission is not refused for its
    /// GPUs, and the scheduling pass says why it waits if no node can take it.
    pub fn max_gpus(&self) -> Option<u32> {
        self.published?;
        Some(self.nodes.iter().map(|n| n.gpus).max().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(gpus: u32) -> NodeView {
        NodeView {
            name: format!("n{gpus}"),
            executor: "fake".into(),
            cpus: 4.0,
            ram: 8.0,
            gpus,
            labels: vec![],
            available: true,
        }
    }

    #[test]
    fn max_gpus_is_unknown_until_published() {
        let cases: &[(&str, NodeViews, Option<u32>)] = &[
            ("nothing published", NodeViews::default(), None),
            (
                "published, no node",
                NodeViews {
                    nodes: vec![],
                    published: Some(1.0),
                },
                Some(0),
            ),
            (
                "the largest node",
                NodeViews {
                    nodes: vec![node(0), node(4), node(2)],
                    published: Some(1.0),
                },
                Some(4),
            ),
        ];
        for (name, views, want) in cases {
            assert_eq!(views.max_gpus(), *want, "{name}");
        }
    }
}
