//! The route table: every route of the API once, with its method, path, what it reads and
//! answers (types of `god_core::api`) and a summary. The router is built from it and the OpenAPI
//! document (`GET /api/1.0/openapi.json`) is generated from it, so neither can miss a route.

use super::openapi::{self, route, Route};
use super::{admin, events, files, guests, lists, nodes, projects, public, stats, tasks, users};
use axum::Json;
use god_core::api::{self as wire, CountAnswer, MsgAnswer};
use god_core::{JobId, Task};

/// Every route of the API.
pub fn table() -> Vec<Route> {
    type Msg = MsgAnswer<JobId>;
    type Named = MsgAnswer<String>;
    const FILES: &str =
        "application/json; charset=UTF-8 (a directory) or application/octet-stream (a file)";
    vec![
        route(
            "post",
            "/api/1.0/authenticate",
            "Log in with an API key or a password: a session token",
            public::authenticate,
        )
        .public()
        .reads::<wire::LoginRequest>()
        .answers::<wire::TokenAnswer>(),
        route(
            "get",
            "/api/1.0/config",
            "What clients need to build a job",
            public::config,
        )
        .public()
        .answers::<wire::ConfigAnswer>(),
        route(
            "get",
            "/api/1.0/nodes",
            "Every node, its executor and what runs on it (administrators)",
            nodes::list,
        )
        .answers::<god_core::node::NodesAnswer>(),
        route(
            "get",
            "/api/1.0/image",
            "Images jobs have used",
            public::images,
        )
        .answers::<Vec<String>>(),
        route("get", "/api/1.0/openapi.json", "This document", || async {
            Json(openapi::build(&table()))
        })
        .public()
        .answers::<serde_json::Value>(),
        route(
            "post",
            "/api/1.0/task",
            "Submit a job (answered once it is durable)",
            tasks::submit,
        )
        .reads::<Task>()
        .answers::<Msg>(),
        route(
            "get",
            "/api/1.0/task/active",
            "The caller's pending and running jobs (?project=)",
            lists::active,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route(
            "get",
            "/api/1.0/task/active/all",
            "All pending and running jobs (administrators)",
            lists::active_all,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route(
            "post",
            "/api/1.0/task/over/all/{skip}/{limit}",
            "All finished jobs, newest first (administrators)",
            lists::over_all,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route(
            "get",
            "/api/1.0/task/over/all/{skip}/{limit}",
            "All finished jobs, newest first (administrators)",
            lists::over_all,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route(
            "post",
            "/api/1.0/task/over/{skip}/{limit}",
            "The caller's finished jobs, newest first (?project=)",
            lists::over,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route(
            "get",
            "/api/1.0/task/over/{skip}/{limit}",
            "The caller's finished jobs, newest first (?project=)",
            lists::over,
        )
        .query::<wire::tasks::ListQuery>()
        .answers::<Vec<Task>>(),
        route("get", "/api/1.0/task/{id}", "A job", tasks::show).answers::<Task>(),
        route(
            "delete",
            "/api/1.0/task/{id}",
            "Kill a job (an array: with its children)",
            tasks::kill,
        )
        .answers::<wire::RequestAnswer>(),
        route(
            "put",
            "/api/1.0/task/{id}",
            "Change a dynamic requirement",
            tasks::update,
        )
        .reads::<wire::DynamicUpdate>()
        .answers::<Msg>(),
        route(
            "get",
            "/api/1.0/task/{id}/status",
            "A job's status",
            tasks::status,
        )
        .answers::<wire::StatusAnswer>(),
        route(
            "get",
            "/api/1.0/task/{id}/stats",
            "What a running job's container uses now",
            stats::stats,
        )
        .answers::<wire::tasks::StatsAnswer>(),
        route(
            "get",
            "/api/1.0/task/{id}/suspend",
            "Suspend a running job",
            tasks::suspend,
        )
        .answers::<wire::RequestAnswer>(),
        route(
            "get",
            "/api/1.0/task/{id}/resume",
            "Resume a suspended job",
            tasks::resume,
        )
        .answers::<wire::RequestAnswer>(),
        route(
            "get",
            "/api/1.0/task/{id}/reschedule",
            "Run a running job again from the start",
            tasks::reschedule,
        )
        .answers::<wire::RequestAnswer>(),
        route(
            "get",
            "/api/1.0/task/{id}/archive",
            "Archive a finished job",
            tasks::archive,
        )
        .answers::<Msg>(),
        route(
            "delete",
            "/api/1.0/task/{id}/archive",
            "Delete a finished job and its directory",
            tasks::purge,
        )
        .answers::<Msg>(),
        route(
            "get",
            "/api/1.0/task/{id}/files",
            "List the job directory",
            files::root,
        )
        .answers::<Vec<wire::FileEntry>>(),
        route(
            "get",
            "/api/1.0/task/{id}/files/",
            "List the job directory",
            files::root,
        )
        .answers::<Vec<wire::FileEntry>>(),
        route(
            "get",
            "/api/1.0/task/{id}/files/{*path}",
            "List a directory or download a file of the job",
            files::get,
        )
        .answers_other(FILES),
        route(
            "get",
            "/api/1.0/archive/{days}",
            "Archive the caller's jobs over for more than days (?tag=)",
            tasks::archive_old,
        )
        .query::<wire::tasks::TagQuery>()
        .answers::<CountAnswer>(),
        route(
            "delete",
            "/api/1.0/archive/{days}",
            "Delete the caller's jobs over for more than days (?tag=)",
            tasks::purge_old,
        )
        .query::<wire::tasks::TagQuery>()
        .answers::<CountAnswer>(),
        route(
            "get",
            "/api/1.0/user",
            "All users (administrators)",
            users::list,
        )
        .answers::<Vec<wire::UserDoc>>(),
        route("get", "/api/1.0/user/{login}", "A user", users::show).answers::<wire::UserDoc>(),
        route(
            "put",
            "/api/1.0/user/{login}",
            "Change a user (the document as GET gives it)",
            users::update,
        )
        .reads::<wire::UserUpdate>()
        .answers::<wire::UserDoc>(),
        route(
            "delete",
            "/api/1.0/user/{login}",
            "Forget a user (administrators)",
            users::delete,
        )
        .answers::<Named>(),
        route(
            "post",
            "/api/1.0/user/{login}/apikey",
            "A new API key, shown once",
            users::renew_apikey,
        )
        .answers::<wire::users::ApiKeyAnswer>(),
        route(
            "post",
            "/api/1.0/user/{login}/password",
            "Set the local password",
            users::set_password,
        )
        .reads::<wire::users::PasswordRequest>()
        .answers::<wire::users::PasswordAnswer>(),
        route(
            "get",
            "/api/1.0/user/{login}/project",
            "The user's projects, default first",
            users::projects,
        )
        .answers::<Vec<wire::ProjectDoc>>(),
        route(
            "get",
            "/api/1.0/user/{login}/usage",
            "The user's usage per day, last 30 days (?days=N: each day, hours, outcomes)",
            users::usage,
        )
        .query::<wire::UsageQuery>()
        .answers::<Vec<wire::UsageDay>>(),
        route(
            "get",
            "/api/1.0/user/{login}/quota",
            "The user's and their projects' quotas, and what is used of each",
            users::quota,
        )
        .answers::<wire::QuotaAnswer>(),
        route(
            "delete",
            "/api/1.0/user/{login}/task",
            "Kill all the user's active jobs (?tag=)",
            users::kill_all,
        )
        .query::<wire::tasks::TagQuery>()
        .answers::<CountAnswer>(),
        route(
            "get",
            "/api/1.0/project",
            "All projects (administrators)",
            projects::list,
        )
        .answers::<Vec<wire::ProjectDoc>>(),
        route(
            "post",
            "/api/1.0/project",
            "Create a project (administrators)",
            projects::create,
        )
        .reads::<wire::ProjectUpdate>()
        .answers::<Named>(),
        route(
            "get",
            "/api/1.0/project/{id}",
            "A project (administrators and members)",
            projects::show,
        )
        .answers::<wire::ProjectDoc>(),
        route(
            "post",
            "/api/1.0/project/{id}",
            "Change a project (the document as GET gives it)",
            projects::update,
        )
        .reads::<wire::ProjectUpdate>()
        .answers::<Named>(),
        route(
            "delete",
            "/api/1.0/project/{id}",
            "Delete a project (administrators)",
            projects::delete,
        )
        .answers::<Named>(),
        route(
            "get",
            "/api/1.0/project/{id}/usage",
            "The project's usage per day, last 30 days (?days=N: each day, hours, outcomes)",
            projects::usage,
        )
        .query::<wire::UsageQuery>()
        .answers::<Vec<wire::UsageDay>>(),
        route(
            "delete",
            "/api/1.0/project/{id}/quota",
            "Forget the project's usage (administrators)",
            projects::reset_usage,
        )
        .answers::<Named>(),
        route(
            "get",
            "/api/1.0/maintenance",
            "Maintenance mode: whether jobs start, and why not",
            admin::show,
        )
        .answers::<wire::MaintenanceDoc>(),
        route(
            "put",
            "/api/1.0/maintenance",
            "Switch maintenance mode (administrators)",
            admin::set,
        )
        .reads::<wire::MaintenanceUpdate>()
        .answers::<wire::MaintenanceDoc>(),
        route(
            "get",
            "/api/1.0/audit",
            "Who did what to whom, newest first (administrators)",
            admin::audit,
        )
        .query::<wire::AuditQuery>()
        .answers::<wire::AuditAnswer>(),
        route(
            "get",
            "/api/1.0/events",
            "The change log as server-sent events (Last-Event-ID resumes)",
            events::follow,
        )
        .query::<wire::tasks::EventsQuery>()
        .answers_other("text/event-stream"),
        route(
            "get",
            "/auth/oidc/login",
            "Guests: log in with the identity provider",
            guests::login,
        )
        .public()
        .answers_other("redirect"),
        route(
            "get",
            "/auth/oidc/callback",
            "Guests: the identity provider's answer",
            guests::callback,
        )
        .public()
        .any_query()
        .answers::<wire::public::GuestLoginAnswer>(),
        route("get", "/", "Where to go from here", public::home)
            .public()
            .answers_other("text/html"),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::table;
    use crate::api::openapi::{build, openapi_path};
    use std::collections::BTreeSet;

    #[test]
    fn every_route_is_documented_once_and_every_schema_resolves() {
        let doc = build(&table());
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(p, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.clone(), p.clone()))
            })
            .collect();
        let routed: Vec<(String, String)> = table()
            .iter()
            .map(|r| (r.method.to_string(), openapi_path(r.path)))
            .collect();
        assert_eq!(
            routed.len(),
            documented.len(),
            "a route is in the table twice"
        );
        assert_eq!(routed.into_iter().collect::<BTreeSet<_>>(), documented);
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in [
            "UserDoc",
            "UserUpdate",
            "ProjectDoc",
            "Task",
            "ErrorBody",
            "ConfigAnswer",
        ] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }
}
