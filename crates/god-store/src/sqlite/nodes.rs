//! The node views the scheduler publishes (`nodes` table, `meta.nodes_published`).

use super::{SqliteStore, BEGIN};
use crate::StoreError;
use god_core::node::{NodeView, NodeViews};
use sqlx::Row;

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::CorruptNodes(detail.to_string())
}

#[async_trait::async_trait]
impl crate::NodeStore for SqliteStore {
    async fn publish_nodes(&self, nodes: &[NodeView], now: f64) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        sqlx::query("DELETE FROM nodes").execute(&mut *tx).await?;
        for n in nodes {
            let body = serde_json::to_string(n).map_err(corrupt)?;
            sqlx::query("INSERT INTO nodes (name, executor, body) VALUES (?, ?, ?)")
                .bind(&n.name)
                .bind(&n.executor)
                .bind(body)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('nodes_published', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn node_views(&self) -> Result<NodeViews, StoreError> {
        let published: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'nodes_published'")
                .fetch_optional(&self.read)
                .await?;
        let published = published
            .map(|p| p.parse::<f64>().map_err(corrupt))
            .transpose()?;
        let rows = sqlx::query("SELECT body FROM nodes ORDER BY executor, name")
            .fetch_all(&self.read)
            .await?;
        let nodes = rows
            .iter()
            .map(|r| serde_json::from_str(r.get::<&str, _>("body")).map_err(corrupt))
            .collect::<Result<Vec<NodeView>, StoreError>>()?;
        Ok(NodeViews { nodes, published })
    }
}
