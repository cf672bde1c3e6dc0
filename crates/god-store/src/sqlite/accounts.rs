//! Users, projects, usage records and server-wide values.

use super::{events, SqliteStore, BEGIN};
use crate::{
    AccountStore, Guest, Limits, ProjectRecord, StoreError, UsageOwner, UsageRecord, UserRecord,
};
use async_trait::async_trait;
use god_core::ending::RunOutcome;
use god_core::JobId;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

fn limits_of(row: &SqliteRow) -> Result<Limits, StoreError> {
    Ok(Limits {
        prio: row.try_get::<i64, _>("prio")?.clamp(0, 100) as u32,
        quota_cpu: row.try_get("quota_cpu")?,
        quota_ram: row.try_get("quota_ram")?,
        quota_time: row.try_get("quota_time")?,
    })
}

fn user_of(row: &SqliteRow) -> Result<UserRecord, StoreError> {
    let sgids: String = row.try_get("sgids")?;
    Ok(UserRecord {
        login: row.try_get("login")?,
        uid: row.try_get::<i64, _>("uid")? as u32,
        gid: row.try_get::<i64, _>("gid")? as u32,
        sgids: sgids
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        home: row.try_get("home")?,
        email: row.try_get("email")?,
        admin: row.try_get::<i64, _>("admin")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        apikey_hash: row.try_get("apikey_hash")?,
        key_version: row.try_get("key_version")?,
        public_key: row.try_get("public_key")?,
        created: row.try_get("created")?,
        limits: limits_of(row)?,
        password_hash: row.try_get("password_hash")?,
        guest: row
            .try_get::<Option<String>, _>("guest_subject")?
            .map(|subject| -> Result<Guest, StoreError> {
                Ok(Guest {
                    subject,
                    active: row.try_get::<i64, _>("guest_active")? != 0,
                })
            })
            .transpose()?,
    })
}

fn project_of(row: &SqliteRow) -> Result<ProjectRecord, StoreError> {
    let members: String = row.try_get("members")?;
    let volumes: String = row.try_get("volumes")?;
    Ok(ProjectRecord {
        id: row.try_get("id")?,
        description: row.try_get("description")?,
        limits: limits_of(row)?,
        members: serde_json::from_str(&members).unwrap_or_default(),
        volumes: serde_json::from_str(&volumes).unwrap_or_default(),
    })
}

const USAGE_FIELDS: &str = "job_id, user_id, project, cpu, ram, wall_seconds, ended, outcome";

fn usage_of(r: &SqliteRow) -> Result<UsageRecord, StoreError> {
    Ok(UsageRecord {
        job: JobId(r.try_get::<i64, _>("job_id")? as u64),
        user: r.try_get("user_id")?,
        project: r.try_get("project")?,
        cpu: r.try_get("cpu")?,
        ram: r.try_get("ram")?,
        wall_seconds: r.try_get("wall_seconds")?,
        ended: r.try_get("ended")?,
        // A code a newer version wrote reads as unknown: the figures stand.
        outcome: RunOutcome::parse(r.try_get("outcome")?).unwrap_or(RunOutcome::Unknown),
    })
}

fn sgids_of(u: &UserRecord) -> String {
    u.sgids
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The columns of a user that `add_user` and `update_user` both write, in the order
/// [`bind_user_fields`] binds them. (Login, API key and creation time have their own paths.)
const USER_FIELDS: &str = "uid, gid, sgids, home, email, admin, disabled, public_key, prio, \
     quota_cpu, quota_ram, quota_time, password_hash, guest_subject, guest_active";

fn bind_user_fields<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    u: &'q UserRecord,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(i64::from(u.uid))
        .bind(i64::from(u.gid))
        .bind(sgids_of(u))
        .bind(&u.home)
        .bind(&u.email)
        .bind(i64::from(u.admin))
        .bind(i64::from(u.disabled))
        .bind(&u.public_key)
        .bind(i64::from(u.limits.prio))
        .bind(u.limits.quota_cpu)
        .bind(u.limits.quota_ram)
        .bind(u.limits.quota_time)
        .bind(&u.password_hash)
        .bind(u.guest.as_ref().map(|g| g.subject.clone()))
        .bind(i64::from(u.guest.as_ref().is_some_and(|g| g.active)))
}

impl SqliteStore {
    /// Record a change of `login` in the transaction `tx` of the change, commit, tell followers.
    async fn account_changed(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
        login: &str,
    ) -> Result<(), StoreError> {
        let last = events::account_changed(&mut tx, login).await?;
        tx.commit().await?;
        self.published(last);
        Ok(())
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn add_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO users ({USER_FIELDS}, login, apikey_hash, key_version, created)
             VALUES ({}?, ?, ?, ?) ON CONFLICT DO NOTHING",
            "?, ".repeat(USER_FIELDS.split(',').count())
        );
        let mut tx = self.write.begin_with(BEGIN).await?;
        let res = bind_user_fields(sqlx::query(&sql), u)
            .bind(&u.login)
            .bind(&u.apikey_hash)
            .bind(u.key_version.max(1))
            .bind(u.created)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::UserExists(u.login.clone()));
        }
        self.account_changed(tx, &u.login).await
    }

    async fn get_user(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE login = ?")
            .bind(login)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_of).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY login")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(user_of).collect()
    }

    async fn update_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let sets = USER_FIELDS
            .split(',')
            .map(|c| format!("{} = ?", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("UPDATE users SET {sets} WHERE login = ?");
        let mut tx = self.write.begin_with(BEGIN).await?;
        let res = bind_user_fields(sqlx::query(&sql), u)
            .bind(&u.login)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::UserNotFound(u.login.clone()));
        }
        self.account_changed(tx, &u.login).await
    }

    async fn get_guest(&self, subject: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE guest_subject = ?")
            .bind(subject)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_of).transpose()
    }

    async fn delete_user(&self, login: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let res = sqlx::query("DELETE FROM users WHERE login = ?")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::UserNotFound(login.to_string()));
        }
        self.account_changed(tx, login).await
    }

    async fn set_apikey(&self, login: &str, apikey_hash: &str) -> Result<i64, StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        let v: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET apikey_hash = ?, key_version = key_version + 1 WHERE login = ?
             RETURNING key_version",
        )
        .bind(apikey_hash)
        .bind(login)
        .fetch_optional(&mut *tx)
        .await?;
        let v = v.ok_or_else(|| StoreError::UserNotFound(login.to_string()))?;
        self.account_changed(tx, login).await?;
        Ok(v)
    }

    async fn put_project(&self, p: &ProjectRecord) -> Result<(), StoreError> {
        let members = serde_json::to_string(&p.members).unwrap_or_else(|_| "[]".into());
        let volumes = serde_json::to_string(&p.volumes).unwrap_or_else(|_| "[]".into());
        let mut tx = self.write.begin_with(BEGIN).await?;
        sqlx::query(
            "INSERT INTO projects (id, description, prio, quota_cpu, quota_ram, quota_time, members, volumes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET description = excluded.description, prio = excluded.prio,
                 quota_cpu = excluded.quota_cpu, quota_ram = excluded.quota_ram,
                 quota_time = excluded.quota_time, members = excluded.members, volumes = excluded.volumes",
        )
        .bind(&p.id)
        .bind(&p.description)
        .bind(i64::from(p.limits.prio))
        .bind(p.limits.quota_cpu)
        .bind(p.limits.quota_ram)
        .bind(p.limits.quota_time)
        .bind(members)
        .bind(volumes)
        .execute(&mut *tx)
        .await?;
        let last = events::project_changed(&mut tx, &p.id).await?;
        tx.commit().await?;
        self.published(last);
        Ok(())
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(project_of).transpose()
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM projects ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(project_of).collect()
    }

    async fn delete_project(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        sqlx::query("DELETE FROM projects WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let last = events::project_changed(&mut tx, id).await?;
        tx.commit().await?;
        self.published(last);
        Ok(())
    }

    async fn usage_since(&self, since: f64) -> Result<Vec<UsageRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USAGE_FIELDS} FROM usage WHERE ended >= ?"
        ))
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(usage_of).collect()
    }

    async fn usage_of(
        &self,
        owner: &UsageOwner,
        since: f64,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let (column, name) = match owner {
            UsageOwner::User(u) => ("user_id", u),
            UsageOwner::Project(p) => ("project", p),
        };
        let sql = format!("SELECT {USAGE_FIELDS} FROM usage WHERE {column} = ? AND ended >= ?");
        let rows = sqlx::query(&sql)
            .bind(name)
            .bind(since)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(usage_of).collect()
    }

    async fn reset_project_usage(&self, project: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with(BEGIN).await?;
        sqlx::query("DELETE FROM usage WHERE project = ?")
            .bind(project)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn meta_get_or_init(&self, key: &str, init: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(init)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&self.write)
            .await?)
    }
}
