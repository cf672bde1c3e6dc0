//! Maintenance mode (one row) and the audit log.

use super::{events, SqliteStore, BEGIN};
use crate::{
    AdminStore, AuditEntry, AuditFilter, AuditRecord, Maintenance, StoreError, AUDIT_PAGE_MAX,
};
use async_trait::async_trait;
use god_core::audit::AuditAction;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

async fn append(conn: &mut SqliteConnection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "at": e.at, "actor": e.actor, "action": e.action.as_str(),
                "target": e.target, "detail": e.detail,
            })
        })
        .collect();
    sqlx::query(
        "INSERT INTO audit (at, actor, action, target, detail)
         SELECT j.value ->> 'at', j.value ->> 'actor', j.value ->> 'action',
                j.value ->> 'target', j.value ->> 'detail'
         FROM json_each(?) AS j ORDER BY j.key",
    )
    .bind(serde_json::Value::from(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn maintenance_of(row: &sqlx::sqlite::SqliteRow) -> Result<Maintenance, StoreError> {
    Ok(Maintenance {
        on: row.try_get::<i64, _>("active")? != 0,
        message: row.try_get("message")?,
        by: row.try_get("set_by")?,
        at: row.try_get("set_at")?,
    })
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn maintenance(&self) -> Result<Maintenance, StoreError> {
        let row =
            sqlx::query("SELECT active, message, set_by, set_at FROM maintenance WHERE id = 1")
                .fetch_optional(&self.read)
                .await?;
        row.as_ref()
            .map(maintenance_of)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn set_maintenance(
        &self,
        on: bool,
        message: Option<&str>,
        by: &str,
        at: f64,
    ) -> Result<Maintenance, StoreError> {
        let message = message.map(str::trim).filter(|m| !m.is_empty());
        let mut tx = self.write.begin_with(BEGIN).await?;
        let row = sqlx::query(
            "INSERT INTO maintenance (id, active, message, set_by, set_at) VALUES (1, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET active = excluded.active, message = excluded.message,
                 set_by = excluded.set_by, set_at = excluded.set_at
             RETURNING active, message, set_by, set_at",
        )
        .bind(i64::from(on))
        .bind(message)
        .bind(by)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let m = maintenance_of(&row)?;
        let body = serde_json::json!({"on": m.on, "message": m.message, "by": m.by, "at": m.at});
        let last = events::maintenance_changed(&mut tx, &body).await?;
        append(
            &mut tx,
            &[AuditEntry {
                at,
                actor: by.to_string(),
                action: if on {
                    AuditAction::MaintenanceOn
                } else {
                    AuditAction::MaintenanceOff
                },
                target: String::new(),
                detail: m.message.clone().unwrap_or_default(),
            }],
        )
        .await?;
        tx.commit().await?;
        self.published(last);
        Ok(m)
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin_with(BEGIN).await?;
        append(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, at, actor, action, target, detail FROM audit WHERE 1 = 1",
        );
        if let Some(actor) = &f.actor {
            qb.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(target) = &f.target {
            qb.push(" AND target = ").push_bind(target.clone());
        }
        if let Some(action) = f.action {
            qb.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(before) = f.before {
            qb.push(" AND id < ")
                .push_bind(before.min(i64::MAX as u64) as i64);
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(f.limit.clamp(1, AUDIT_PAGE_MAX) as i64);
        let rows = qb.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("action")?;
                let action = AuditAction::parse(&code).ok_or(StoreError::UnknownCode {
                    what: "audit action",
                    code,
                })?;
                Ok(AuditRecord {
                    id: r.try_get::<i64, _>("id")?.max(0) as u64,
                    entry: AuditEntry {
                        at: r.try_get("at")?,
                        actor: r.try_get("actor")?,
                        action,
                        target: r.try_get("target")?,
                        detail: r.try_get("detail")?,
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
