//! The change log (`events` table), written in the transaction of each change.
//!
//! Job changes are summarised (what a list row shows) by one `INSERT … SELECT` per transaction
//! whatever the number of jobs: from the documents in memory where the write has them
//! (submissions, batches of transitions), else from the `jobs` rows as they are after the change
//! (reasons, array children), with the same fields.

use crate::{Change, ChangeKind, StoreError};
use god_core::{JobId, Task};
use serde_json::{json, Value};
use sqlx::{Row, SqliteConnection};

/// The database's clock (seconds since the epoch) in SQL.
const NOW: &str = "((julianday('now') - 2440587.5) * 86400.0)";

/// What a job change says of the job: what a list row shows.
fn summary(id: JobId, t: &Task) -> Value {
    json!({
        "id": id.0,
        "user": t.user.id,
        "project": t.user.project,
        "name": t.meta.name,
        "primary": t.status.primary.as_str(),
        "secondary": t.status.secondary.map(|s| s.as_str()),
        "reason": t.status.reason,
        "exitcode": t.status.exitcode,
        "parent": t.parent_task_id.map(|p| p.0),
    })
}

/// Record a change of each of `tasks` (as written in this transaction), summarised from the
/// documents in memory. Returns the newest change id.
pub(super) async fn tasks_changed<'t>(
    conn: &mut SqliteConnection,
    tasks: impl IntoIterator<Item = (JobId, &'t Task)>,
) -> Result<Option<i64>, StoreError> {
    let rows: Vec<Value> = tasks.into_iter().map(|(id, t)| summary(id, t)).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let rows = Value::from(rows).to_string();
    let sql = format!(
        "INSERT INTO events (at, kind, job_id, user_id, project, body)
         SELECT {NOW}, 'job', j.value ->> 'id', j.value ->> 'user', j.value ->> 'project', j.value
         FROM json_each(?) AS j"
    );
    sqlx::query(&sql).bind(rows).execute(&mut *conn).await?;
    last_id(conn).await.map(Some)
}

/// Record a change of each job in `ids` (as their rows are now: for writes that have not the
/// documents at hand). Returns the newest change id.
pub(super) async fn jobs_changed(
    conn: &mut SqliteConnection,
    ids: &[JobId],
) -> Result<Option<i64>, StoreError> {
    if ids.is_empty() {
        return Ok(None);
    }
    let list = Value::from(ids.iter().map(|i| i.0).collect::<Vec<u64>>()).to_string();
    let sql = format!(
        "INSERT INTO events (at, kind, job_id, user_id, project, body)
         SELECT {NOW}, 'job', id, user_id, project, json_object(
             'id', id, 'user', user_id, 'project', project, 'name', doc ->> '$.meta.name',
             'primary', state, 'secondary', secondary, 'reason', doc ->> '$.status.reason',
             'exitcode', doc ->> '$.status.exitcode', 'parent', parent_id)
         FROM jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
    );
    sqlx::query(&sql).bind(list).execute(&mut *conn).await?;
    last_id(conn).await.map(Some)
}

/// Record that a job is gone (purged), before its row is deleted.
pub(super) async fn job_removed(
    conn: &mut SqliteConnection,
    id: JobId,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "INSERT INTO events (at, kind, job_id, user_id, project, body)
         SELECT {NOW}, 'job_removed', id, user_id, project, json_object('id', id)
         FROM jobs WHERE id = ?"
    );
    let res = sqlx::query(&sql)
        .bind(id.0 as i64)
        .execute(&mut *conn)
        .await?;
    if res.rows_affected() == 0 {
        return Ok(None);
    }
    last_id(conn).await.map(Some)
}

/// Record a change of the account `login` (its state after the change; `null` when removed).
pub(super) async fn account_changed(
    conn: &mut SqliteConnection,
    login: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "INSERT INTO events (at, kind, user_id, body)
         SELECT {NOW}, 'account', ?1, coalesce((SELECT json_object(
             'login', login, 'admin', json(CASE WHEN admin != 0 THEN 'true' ELSE 'false' END),
             'disabled', json(CASE WHEN disabled != 0 THEN 'true' ELSE 'false' END),
             'guest', json(CASE WHEN guest_subject IS NULL THEN 'false' ELSE 'true' END),
             'active', json(CASE WHEN guest_active != 0 THEN 'true' ELSE 'false' END),
             'key_version', key_version) FROM users WHERE login = ?1), 'null')"
    );
    sqlx::query(&sql).bind(login).execute(&mut *conn).await?;
    last_id(conn).await.map(Some)
}

/// Record a change of the project `id` (its members after the change; `null` when removed).
pub(super) async fn project_changed(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "INSERT INTO events (at, kind, project, body)
         SELECT {NOW}, 'project', ?1, coalesce((SELECT json_object(
             'id', id, 'members', json(members)) FROM projects WHERE id = ?1), 'null')"
    );
    sqlx::query(&sql).bind(id).execute(&mut *conn).await?;
    last_id(conn).await.map(Some)
}

/// Record that maintenance mode was switched (`body`: `{on, message, by, at}`).
pub(super) async fn maintenance_changed(
    conn: &mut SqliteConnection,
    body: &Value,
) -> Result<Option<i64>, StoreError> {
    let sql = format!("INSERT INTO events (at, kind, body) VALUES ({NOW}, 'maintenance', ?)");
    sqlx::query(&sql)
        .bind(body.to_string())
        .execute(&mut *conn)
        .await?;
    last_id(conn).await.map(Some)
}

async fn last_id(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT last_insert_rowid()")
        .fetch_one(&mut *conn)
        .await?)
}

pub(super) fn change_of(row: &sqlx::sqlite::SqliteRow) -> Result<Change, StoreError> {
    let kind: String = row.try_get("kind")?;
    let body: String = row.try_get("body")?;
    Ok(Change {
        id: row.try_get::<i64, _>("id")? as u64,
        at: row.try_get("at")?,
        kind: ChangeKind::parse(&kind).unwrap_or(ChangeKind::Job),
        job: row
            .try_get::<Option<i64>, _>("job_id")?
            .map(|j| JobId(j as u64)),
        user: row.try_get("user_id")?,
        project: row.try_get("project")?,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    })
}
