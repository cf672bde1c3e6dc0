//! The one job list query (`JobFilter`): every condition on a column (the filtered fields are
//! columns since migration 0008, the document is read only for the rows of the page), newest
//! first by id, keyset-paged on it; and the child counts of the array parents on a page, in one
//! `GROUP BY`.

use super::{task_of, StoreError};
use crate::{ChildCounts, JobFilter, JobLevel, JobPage, JobScope};
use god_core::{JobId, Primary};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::HashMap;

/// `%text%` for `LIKE … ESCAPE '\'`, the text's own `%`, `_` and `\` taken literally.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// ` AND …` for each condition of `f`.
fn push_conditions(qb: &mut QueryBuilder<'static, Sqlite>, f: &JobFilter) {
    match &f.scope {
        JobScope::User(user) => {
            qb.push(" AND user_id = ").push_bind(user.clone());
        }
        JobScope::UserAndProjects { user, projects } if projects.is_empty() => {
            qb.push(" AND user_id = ").push_bind(user.clone());
        }
        JobScope::UserAndProjects { user, projects } => {
            qb.push(" AND (user_id = ").push_bind(user.clone());
            qb.push(" OR project IN (");
            let mut sep = qb.separated(", ");
            for p in projects {
                sep.push_bind(p.clone());
            }
            qb.push("))");
        }
        JobScope::All => {}
    }
    match f.level {
        JobLevel::Any => {}
        JobLevel::TopLevel => {
            qb.push(" AND parent_id IS NULL");
        }
        JobLevel::ChildrenOf(parent) => {
            qb.push(" AND parent_id = ").push_bind(parent.0 as i64);
        }
    }
    if !f.states.is_empty() {
        qb.push(" AND state IN (");
        let mut sep = qb.separated(", ");
        for s in &f.states {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
    }
    if let Some(project) = &f.project {
        qb.push(" AND project = ").push_bind(project.clone());
    }
    if let Some(image) = &f.image {
        qb.push(" AND image = ").push_bind(image.clone());
    }
    if let Some(tag) = &f.tag {
        // The quoted tag in the array's text first (cheap), then exactly one of its elements.
        let quoted = serde_json::Value::from(tag.as_str()).to_string();
        qb.push(" AND instr(tags, ").push_bind(quoted);
        qb.push(") > 0 AND EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ")
            .push_bind(tag.clone());
        qb.push(")");
    }
    if let Some(text) = &f.text {
        let pattern = like_pattern(text);
        qb.push(" AND (name LIKE ").push_bind(pattern.clone());
        qb.push(" ESCAPE '\\' OR description LIKE ")
            .push_bind(pattern);
        qb.push(" ESCAPE '\\')");
    }
    if let Some(since) = f.since {
        qb.push(" AND submitted >= ").push_bind(since);
    }
    if let Some(until) = f.until {
        qb.push(" AND submitted < ").push_bind(until);
    }
}

/// The parts of a filter whose newest matches each come from one index range in id order: one
/// owner (a user, or a project shared with them) and one state (no state: each of them). A
/// page is the newest of the parts' newest: no sort of every match of a large state or owner.
fn parts(f: &JobFilter) -> Vec<JobFilter> {
    const ALL: [Primary; 4] = [
        Primary::Pending,
        Primary::Running,
        Primary::Over,
        Primary::Archived,
    ];
    let states: &[Primary] = if f.states.is_empty() { &ALL } else { &f.states };
    let owners: Vec<(JobScope, Option<String>)> = match &f.scope {
        JobScope::UserAndProjects { user, projects } => {
            std::iter::once((JobScope::User(user.clone()), f.project.clone()))
                .chain(
                    projects
                        .iter()
                        .filter(|p| f.project.as_ref().is_none_or(|want| want == *p))
                        .map(|p| (JobScope::All, Some(p.clone()))),
                )
                .collect()
        }
        scope => vec![(scope.clone(), f.project.clone())],
    };
    let mut out = Vec::new();
    for (scope, project) in owners {
        for state in states {
            out.push(JobFilter {
                scope: scope.clone(),
                project: project.clone(),
                states: vec![*state],
                ..f.clone()
            });
        }
    }
    out
}

/// The query of a page; `prefix` is `EXPLAIN QUERY PLAN ` in the tests.
fn page_query(
    prefix: &str,
    f: &JobFilter,
    after: Option<JobId>,
    limit: u64,
) -> QueryBuilder<'static, Sqlite> {
    let mut qb = QueryBuilder::<Sqlite>::new(prefix);
    qb.push("SELECT id, doc, array_total, array_created FROM jobs WHERE id IN (");
    for (i, part) in parts(f).iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("SELECT id FROM (SELECT id FROM jobs WHERE 1 = 1");
        push_conditions(&mut qb, part);
        push_page(&mut qb, after, limit);
        qb.push(")");
    }
    qb.push(")");
    push_page(&mut qb, None, limit);
    qb
}

/// Below the cursor, newest first, one more than asked (whether there is a next page).
fn push_page(qb: &mut QueryBuilder<'static, Sqlite>, after: Option<JobId>, limit: u64) {
    if let Some(after) = after {
        qb.push(" AND id < ")
            .push_bind(after.0.min(i64::MAX as u64) as i64);
    }
    qb.push(" ORDER BY id DESC");
    if limit > 0 {
        qb.push(" LIMIT ")
            .push_bind(limit.saturating_add(1).min(i64::MAX as u64) as i64);
    }
}

pub(super) async fn page(
    read: &SqlitePool,
    f: &JobFilter,
    after: Option<JobId>,
    limit: u64,
) -> Result<JobPage, StoreError> {
    let mut rows = page_query("", f, after, limit)
        .build()
        .fetch_all(read)
        .await?;
    let more = limit > 0 && rows.len() as u64 > limit;
    if more {
        rows.truncate(limit as usize);
    }
    let mut jobs = Vec::with_capacity(rows.len());
    let mut parents: HashMap<JobId, ChildCounts> = HashMap::new();
    for r in &rows {
        let task = task_of(r.try_get("id")?, r.try_get::<&str, _>("doc")?)?;
        let total: i64 = r.try_get("array_total")?;
        if total > 0 {
            let created: i64 = r.try_get("array_created")?;
            parents.insert(
                task.id,
                ChildCounts {
                    not_created: (total - created).max(0) as u64,
                    ..Default::default()
                },
            );
        }
        jobs.push(task);
    }
    if !parents.is_empty() {
        count_children(read, &mut parents).await?;
    }
    let next = if more {
        jobs.last().map(|t| t.id)
    } else {
        None
    };
    Ok(JobPage {
        jobs,
        children: parents,
        next,
    })
}

/// Fill the counts of `parents`' children by state: one query for the whole page.
async fn count_children(
    read: &SqlitePool,
    parents: &mut HashMap<JobId, ChildCounts>,
) -> Result<(), StoreError> {
    let ids: Vec<u64> = parents.keys().map(|p| p.0).collect();
    let rows = sqlx::query(
        "SELECT parent_id, state, count(*) AS n FROM jobs
         WHERE parent_id IN (SELECT value FROM json_each(?)) GROUP BY parent_id, state",
    )
    .bind(serde_json::Value::from(ids).to_string())
    .fetch_all(read)
    .await?;
    for r in rows {
        let parent = JobId(r.try_get::<i64, _>("parent_id")?.max(0) as u64);
        let n = r.try_get::<i64, _>("n")?.max(0) as u64;
        let state: &str = r.try_get("state")?;
        if let Some(c) = parents.get_mut(&parent) {
            match Primary::parse(state) {
                Some(Primary::Pending) => c.pending += n,
                Some(Primary::Running) => c.running += n,
                Some(Primary::Over) => c.over += n,
                Some(Primary::Archived) => c.archived += n,
                None => {}
            }
        }
    }
    Ok(())
}

pub(super) async fn count(read: &SqlitePool, f: &JobFilter) -> Result<u64, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM jobs WHERE 1 = 1");
    push_conditions(&mut qb, f);
    let n: i64 = qb.build_query_scalar().fetch_one(read).await?;
    Ok(n.max(0) as u64)
}

#[cfg(test)]
mod tests;
