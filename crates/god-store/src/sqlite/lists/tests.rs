use super::page_query;
use crate::sqlite::SqliteStore;
use crate::{JobFilter, JobLevel, JobScope, JobStore};
use god_core::testing::TaskBuilder;
use god_core::transition::Event;
use god_core::{JobId, Primary, Task};

async fn store(name: &str) -> (SqliteStore, std::path::PathBuf) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("god-lists-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(&dir.join("god.db"), false).await.unwrap();
    (s, dir)
}

fn job(user: &str, project: &str, name: &str, image: &str, tags: &[&str], at: f64) -> Task {
    let mut t = TaskBuilder::new()
        .user(user, 2001)
        .project(project)
        .name(name)
        .image(image)
        .submitted_at(at)
        .build();
    t.meta.description = format!("the {name} job");
    t.meta.tags = tags.iter().map(|s| s.to_string()).collect();
    t
}

fn array(user: &str, n: u64, at: f64) -> Task {
    let mut t = job(user, "default", "sweep", "img:1", &["scan"], at);
    t.requirements.array.values = Some(format!("1:{n}"));
    t.requirements.array.nb_tasks = n;
    t
}

/// Ids of a page, oldest of the jobs inserted first = 1.
fn ids(jobs: &[Task]) -> Vec<u64> {
    jobs.iter().map(|t| t.id.0).collect()
}

/// Every filter alone and some together, against one set of jobs; each answer newest first.
#[tokio::test]
async fn filters_select_what_they_say_newest_first() {
    let (s, dir) = store("filters").await;
    // 1..=8, in this order.
    let jobs = vec![
        job("alice", "default", "align", "img:1", &["nightly"], 100.0), // 1
        job(
            "bob",
            "lab",
            "Assemble",
            "img:2",
            &["nightly", "big"],
            200.0,
        ), // 2
        job("alice", "lab", "plot 100%", "img:1", &[], 300.0),          // 3
        job("carol", "other", "align", "img:1", &["big"], 400.0),       // 4
        job("alice", "default", "sweep", "img:2", &["nightly"], 500.0), // 5
        array("alice", 3, 600.0),                                       // 6
        job("bob", "lab", "under_score", "img:1", &["nightly\"x"], 700.0), // 7
        job("carol", "lab", "count", "img:3", &[], 800.0),              // 8
    ];
    s.insert_jobs(&jobs).await.unwrap();
    // Job 3 runs, job 2 is over, job 4 archived; the array gets 3 children (9, 10, 11) of
    // which one runs.
    let dispatch = Event::Dispatch {
        node: "n".into(),
        container_name: "c".into(),
        shared_dir: "/s".into(),
    };
    s.transition(JobId(3), &dispatch, 1.0).await.unwrap();
    for id in [2, 4] {
        s.transition(JobId(id), &Event::KillRequested, 1.0)
            .await
            .unwrap();
    }
    s.transition(JobId(4), &Event::Archived, 2.0).await.unwrap();
    let children = s.create_children(JobId(6), 3, 650.0).await.unwrap();
    assert_eq!(ids_of(&children), [9, 10, 11]);
    s.transition(JobId(10), &dispatch, 1.0).await.unwrap();

    let all = JobFilter::default;
    let user = |u: &str| JobFilter {
        scope: JobScope::User(u.into()),
        ..all()
    };
    struct Case {
        name: &'static str,
        filter: JobFilter,
        want: Vec<u64>,
    }
    let cases = vec![
        Case {
            name: "everything",
            filter: all(),
            want: (1..=11).rev().collect(),
        },
        Case {
            name: "top level hides array children",
            filter: JobFilter {
                level: JobLevel::TopLevel,
                ..all()
            },
            want: (1..=8).rev().collect(),
        },
        Case {
            name: "children of one parent",
            filter: JobFilter {
                level: JobLevel::ChildrenOf(JobId(6)),
                ..all()
            },
            want: vec![11, 10, 9],
        },
        Case {
            name: "one user",
            filter: user("alice"),
            want: vec![11, 10, 9, 6, 5, 3, 1],
        },
        Case {
            name: "a user and a shared project",
            filter: JobFilter {
                scope: JobScope::UserAndProjects {
                    user: "alice".into(),
                    projects: vec!["lab".into()],
                },
                level: JobLevel::TopLevel,
                ..all()
            },
            want: vec![8, 7, 6, 5, 3, 2, 1],
        },
        Case {
            name: "a user and no project",
            filter: JobFilter {
                scope: JobScope::UserAndProjects {
                    user: "carol".into(),
                    projects: vec![],
                },
                ..all()
            },
            want: vec![8, 4],
        },
        Case {
            name: "active: pending and running",
            filter: JobFilter {
                states: vec![Primary::Pending, Primary::Running],
                level: JobLevel::TopLevel,
                ..all()
            },
            want: vec![8, 7, 6, 5, 3, 1],
        },
        Case {
            name: "over or archived",
            filter: JobFilter {
                states: vec![Primary::Over, Primary::Archived],
                ..all()
            },
            want: vec![4, 2],
        },
        Case {
            name: "running, children included",
            filter: JobFilter {
                states: vec![Primary::Running],
                ..all()
            },
            want: vec![10, 6, 3],
        },
        Case {
            name: "a project",
            filter: JobFilter {
                project: Some("lab".into()),
                ..all()
            },
            want: vec![8, 7, 3, 2],
        },
        Case {
            name: "a tag (array children carry their parent's)",
            filter: JobFilter {
                tag: Some("nightly".into()),
                ..all()
            },
            want: vec![5, 2, 1],
        },
        Case {
            name: "a tag is a whole tag, quotes and all",
            filter: JobFilter {
                tag: Some("nightly\"x".into()),
                ..all()
            },
            want: vec![7],
        },
        Case {
            name: "a tag that is part of another is not it",
            filter: JobFilter {
                tag: Some("night".into()),
                ..all()
            },
            want: vec![],
        },
        Case {
            name: "name or description, any case",
            filter: JobFilter {
                text: Some("ASS".into()),
                ..all()
            },
            want: vec![2],
        },
        Case {
            name: "the description counts",
            filter: JobFilter {
                text: Some("the align".into()),
                ..all()
            },
            want: vec![4, 1],
        },
        Case {
            name: "% and _ are literal",
            filter: JobFilter {
                text: Some("100%".into()),
                ..all()
            },
            want: vec![3],
        },
        Case {
            name: "_ is literal",
            filter: JobFilter {
                text: Some("r_s".into()),
                ..all()
            },
            want: vec![7],
        },
        Case {
            name: "an image",
            filter: JobFilter {
                image: Some("img:2".into()),
                level: JobLevel::TopLevel,
                ..all()
            },
            want: vec![5, 2],
        },
        Case {
            name: "submitted since, until",
            filter: JobFilter {
                since: Some(300.0),
                until: Some(700.0),
                level: JobLevel::TopLevel,
                ..all()
            },
            want: vec![6, 5, 4, 3],
        },
        Case {
            name: "several at once",
            filter: JobFilter {
                scope: JobScope::User("alice".into()),
                states: vec![Primary::Pending],
                image: Some("img:1".into()),
                tag: Some("nightly".into()),
                ..all()
            },
            want: vec![1],
        },
    ];
    for c in cases {
        let page = s.list_page(&c.filter, None, 0).await.unwrap();
        assert_eq!(ids(&page.jobs), c.want, "{}", c.name);
        assert_eq!(page.next, None, "{}: one page", c.name);
        assert_eq!(
            s.count_matching(&c.filter).await.unwrap(),
            c.want.len() as u64,
            "{}: count",
            c.name
        );
        // Page by 2: the same jobs, in the same order.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let p = s.list_page(&c.filter, after, 2).await.unwrap();
            assert!(p.jobs.len() <= 2, "{}", c.name);
            paged.extend(ids(&p.jobs));
            match p.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(paged, c.want, "{}: paged", c.name);
    }
    // The array parent's children by state, with those not created yet.
    let page = s
        .list_page(
            &JobFilter {
                level: JobLevel::TopLevel,
                ..all()
            },
            None,
            0,
        )
        .await
        .unwrap();
    let counts = page.children[&JobId(6)];
    assert_eq!(
        (
            counts.pending,
            counts.running,
            counts.over,
            counts.not_created
        ),
        (2, 1, 0, 0)
    );
    assert_eq!(page.children.len(), 1, "only array parents");
    std::fs::remove_dir_all(dir).ok();
}

fn ids_of(ids: &[JobId]) -> Vec<u64> {
    ids.iter().map(|i| i.0).collect()
}

/// A database of 100,000 jobs (one user with half of them, mostly over, and an array of 10,000
/// children): the first page of 50 of a user's jobs (top level, any state: the default page;
/// their active ones; their finished ones; with a shared project), and of everybody's, reads
/// index ranges in id order (no scan of the table) and takes well under 100 ms, even in a debug
/// build. Prints the times and plans (`--no-capture`).
#[tokio::test]
async fn the_first_page_among_100k_jobs_is_quick() {
    let (s, dir) = store("100k").await;
    let users: Vec<String> = (0..20).map(|u| format!("user{u}")).collect();
    let mut batch = Vec::new();
    for i in 0..90_000u32 {
        // user0 submits every other job; the rest share the others.
        let user = if i % 2 == 0 {
            "user0"
        } else {
            users[1 + (i as usize / 2) % 19].as_str()
        };
        let mut t = job(
            user,
            if i % 3 == 0 { "lab" } else { "default" },
            &format!("job-{i}"),
            if i % 5 == 0 { "img:2" } else { "img:1" },
            if i % 7 == 0 { &["nightly"] } else { &[] },
            f64::from(i),
        );
        t.command.cmd = "#!/bin/bash\necho a line of script, as jobs have\n".repeat(8);
        batch.push(t);
        if batch.len() == 10_000 {
            s.insert_jobs(&batch).await.unwrap();
            batch.clear();
        }
    }
    let parent = s.insert_jobs(&[array("user0", 10_000, 1e6)]).await.unwrap()[0];
    s.create_children(parent, 10_000, 1e6).await.unwrap();
    // Most jobs are over (set directly: the lists read the columns).
    sqlx::query("UPDATE jobs SET state = 'over' WHERE id % 100 != 0 AND parent_id IS NULL AND array_total = 0")
        .execute(&s.write)
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&s.read)
        .await
        .unwrap();
    assert_eq!(total, 100_001);

    let default_page = JobFilter {
        scope: JobScope::User("user0".into()),
        level: JobLevel::TopLevel,
        ..Default::default()
    };
    let active = JobFilter {
        states: vec![Primary::Pending, Primary::Running],
        ..default_page.clone()
    };
    let shared = JobFilter {
        scope: JobScope::UserAndProjects {
            user: "user3".into(),
            projects: vec!["lab".into()],
        },
        level: JobLevel::TopLevel,
        ..Default::default()
    };
    let everybody = JobFilter {
        level: JobLevel::TopLevel,
        ..Default::default()
    };
    let over = JobFilter {
        states: vec![Primary::Over, Primary::Archived],
        ..default_page.clone()
    };
    let everybody_active = JobFilter {
        states: vec![Primary::Pending, Primary::Running],
        ..everybody.clone()
    };
    let search = JobFilter {
        text: Some("job-8999".into()),
        ..default_page.clone()
    };
    for (name, f) in [
        ("a user's first page", &default_page),
        ("a user's active jobs", &active),
        ("a user and a shared project", &shared),
        ("a user's over jobs", &over),
        ("everybody's (administrators)", &everybody),
        ("everybody's active jobs", &everybody_active),
        ("a user's, by name", &search),
    ] {
        // How SQLite runs it: from an index, in id order (no sort of every match).
        let plan = plan_of(&s, f).await;
        assert!(plan.contains("INDEX"), "{name}: {plan}");
        assert!(!plan.contains("SCAN jobs"), "{name}: {plan}");
        let started = std::time::Instant::now();
        let page = s.list_page(f, None, 50).await.unwrap();
        let first = started.elapsed();
        let started = std::time::Instant::now();
        let next = s.list_page(f, page.next, 50).await.unwrap();
        let second = started.elapsed();
        println!(
            "{name}: first page {} jobs in {:.1} ms, next {} in {:.1} ms; plan: {plan}",
            page.jobs.len(),
            first.as_secs_f64() * 1e3,
            next.jobs.len(),
            second.as_secs_f64() * 1e3,
        );
        assert!(!page.jobs.is_empty(), "{name}");
        // A substring of names reads every row of the user's until the page is full (no index
        // holds names): not the default page, bounded more loosely.
        let bound = if name.contains("by name") { 2000 } else { 100 };
        assert!(
            first.as_millis() < bound,
            "{name}: {} ms",
            first.as_secs_f64() * 1e3
        );
    }
    let page = s.list_page(&default_page, None, 50).await.unwrap();
    assert_eq!(page.jobs[0].id, parent, "the array parent is the newest");
    assert_eq!(page.children[&parent].pending, 10_000);
    std::fs::remove_dir_all(dir).ok();
}

async fn plan_of(s: &SqliteStore, f: &JobFilter) -> String {
    let rows = page_query("EXPLAIN QUERY PLAN ", f, None, 50)
        .build()
        .fetch_all(&s.read)
        .await
        .unwrap();
    rows.iter()
        .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
        .collect::<Vec<_>>()
        .join("; ")
}
