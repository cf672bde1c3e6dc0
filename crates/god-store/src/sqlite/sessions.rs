//! Browser sessions of the web UI (`web_sessions` table).

use super::{events, SqliteStore, BEGIN};
use crate::{StoreError, WebSession};
use sqlx::Row;

fn session_of(r: &sqlx::sqlite::SqliteRow) -> WebSession {
    WebSession {
        id_hash: r.get("id_hash"),
        login: r.get("login"),
        csrf: r.get("csrf"),
        created: r.get("created"),
        last_seen: r.get("last_seen"),
        expires: r.get("expires"),
    }
}

#[async_trait::async_trait]
impl crate::SessionStore for SqliteStore {
    async fn create_session(&self, s: &WebSession) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        // Sessions that ended go when new ones come: the table holds live ones only.
        sqlx::query("DELETE FROM web_sessions WHERE expires <= ?")
            .bind(s.created)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, login, csrf, created, last_seen, expires)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id_hash)
        .bind(&s.login)
        .bind(&s.csrf)
        .bind(s.created)
        .bind(s.last_seen)
        .bind(s.expires)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError> {
        let row = sqlx::query("SELECT * FROM web_sessions WHERE id_hash = ?")
            .bind(id_hash)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(session_of))
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen: f64,
        expires: f64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_sessions SET last_seen = ?, expires = ? WHERE id_hash = ?")
            .bind(last_seen)
            .bind(expires)
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let login: Option<String> =
            sqlx::query_scalar("DELETE FROM web_sessions WHERE id_hash = ? RETURNING login")
                .bind(id_hash)
                .fetch_optional(&mut *tx)
                .await?;
        // Its live views, in any process, learn it from the change log.
        let last = match &login {
            Some(l) => events::account_changed(&mut tx, l).await?,
            None => None,
        };
        tx.commit().await?;
        self.published(last);
        Ok(())
    }

    async fn delete_sessions_of(&self, login: &str) -> Result<u64, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let done = sqlx::query("DELETE FROM web_sessions WHERE login = ?")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        let last = if done.rows_affected() > 0 {
            events::account_changed(&mut tx, login).await?
        } else {
            None
        };
        tx.commit().await?;
        self.published(last);
        Ok(done.rows_affected())
    }
}
