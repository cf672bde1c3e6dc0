//! `god nodes` (administrators): every node the scheduler published, its executor, whether it
//! takes jobs, what it has and what runs on it.

use super::http::Api;
use super::output::{format_gb, number, print_json, Table};
use anyhow::Result;
use clap::Args;
use god_core::node::NodesAnswer;

#[derive(Args)]
pub struct NodesArgs {
    /// Print the server's JSON
    #[arg(long)]
    json: bool,
}

/// The table of nodes.
pub fn nodes_table(a: &NodesAnswer) -> Table {
    let mut t = Table::new(&[
        ("NODE", false),
        ("EXECUTOR", false),
        ("STATE", false),
        ("JOBS", true),
        ("CPUS", true),
        ("RAM", true),
        ("GPUS", true),
        ("LABELS", false),
        ("RESERVED FOR", false),
    ]);
    for n in &a.nodes {
        t.row(vec![
            n.node.name.clone(),
            n.node.executor.clone(),
            n.node.state.as_str().into(),
            n.jobs.to_string(),
            format!("{}/{}", number(n.used_cpus), number(n.node.cpus)),
            format!("{}/{}", format_gb(n.used_ram), format_gb(n.node.ram)),
            n.node.gpus.to_string(),
            if n.node.labels.is_empty() {
                "-".into()
            } else {
                n.node.labels.join(",")
            },
            if n.node.reserved_for.is_empty() {
                "-".into()
            } else {
                n.node.reserved_for.join(",")
            },
        ]);
    }
    t
}

pub fn nodes(a: NodesArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let raw = api.get("/api/1.0/nodes")?;
    if a.json {
        print_json(&raw)?;
        return Ok(0);
    }
    let answer: NodesAnswer = raw.read("the node list")?;
    if answer.published.is_none() {
        super::output::emit_line("no node published yet: is a scheduler running?")?;
        return Ok(0);
    }
    nodes_table(&answer).print()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use god_core::node::{NodeState, NodeUse, NodeView};

    #[test]
    fn node_table() {
        let node = |name: &str, executor: &str, state, jobs, used_cpus, used_ram| NodeUse {
            node: NodeView {
                name: name.into(),
                executor: executor.into(),
                cpus: 8.0,
                ram: 16.0,
                gpus: 0,
                labels: vec![format!("executor=={executor}")],
                state,
                reserved_for: vec![],
            },
            jobs,
            used_cpus,
            used_ram,
        };
        let answer = NodesAnswer {
            published: Some(1.0),
            nodes: vec![
                node("docker/host1", "docker", NodeState::Ready, 2, 3.0, 1.5),
                node(
                    "native/host1",
                    "native",
                    NodeState::Unreachable,
                    0,
                    0.0,
                    0.0,
                ),
            ],
        };
        expect![[r#"
            NODE          EXECUTOR  STATE        JOBS  CPUS       RAM  GPUS  LABELS            RESERVED FOR
            docker/host1  docker    ready           2   3/8  1.5G/16G     0  executor==docker  -
            native/host1  native    unreachable     0   0/8    0G/16G     0  executor==native  -
        "#]]
        .assert_eq(&nodes_table(&answer).render());
    }
}
