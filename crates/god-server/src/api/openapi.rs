//! What the route table says of a route ([`Route`]), and the OpenAPI 3 document of a table
//! (`GET /api/1.0/openapi.json`), generated from the types of `god_core::api`.

use crate::state::AppState;
use axum::handler::Handler;
use axum::routing::{on, MethodFilter, MethodRouter};
use god_core::api::ErrorBody;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// Builds a type's schema in a generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// What a route answers when it succeeds.
#[derive(Clone, Copy)]
pub enum Answer {
    /// JSON of this type.
    Json(SchemaFn),
    /// Something else, of this content type.
    Other(&'static str),
}

/// One route.
pub struct Route {
    /// Lower case, as OpenAPI writes it.
    pub method: &'static str,
    /// As axum writes it (`{id}`, `{*path}`).
    pub path: &'static str,
    pub summary: &'static str,
    /// Needs `Authorization: Bearer <token>`.
    pub token: bool,
    /// The JSON body it reads, if any.
    pub request: Option<SchemaFn>,
    pub answer: Answer,
    pub(super) handler: MethodRouter<AppState>,
}

/// Start a route: `GET`, `POST`, `PUT` or `DELETE` of `path`, served by `handler`.
pub fn route<H, T>(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    handler: H,
) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = match method {
        "post" => MethodFilter::POST,
        "put" => MethodFilter::PUT,
        "delete" => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    };
    Route {
        method,
        path,
        summary,
        token: true,
        request: None,
        answer: Answer::Other("application/json"),
        handler: on(filter, handler),
    }
}

impl Route {
    pub fn reads<T: JsonSchema>(mut self) -> Route {
        self.request = Some(schema::<T>);
        self
    }

    pub fn answers<T: JsonSchema>(mut self) -> Route {
        self.answer = Answer::Json(schema::<T>);
        self
    }

    pub fn answers_other(mut self, content_type: &'static str) -> Route {
        self.answer = Answer::Other(content_type);
        self
    }

    pub fn public(mut self) -> Route {
        self.token = false;
        self
    }
}

/// OpenAPI writes `{path}` where axum writes `{*path}`.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// The document of `routes` (built at each request: it is small and the table is the truth).
pub fn build(routes: &[Route]) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for r in routes {
        let path = openapi_path(r.path);
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let ok = match r.answer {
            Answer::Json(schema) => json!({
                "description": "success",
                "content": {"application/json": {"schema": schema(&mut generator)}},
            }),
            Answer::Other(kind) => json!({"description": format!("success: {kind}")}),
        };
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{} {}", r.method, path),
            "parameters": parameters,
            "responses": {
                "200": ok,
                "default": {
                    "description": "an error: what is wrong and which field",
                    "content": {"application/json": {"schema": error.clone()}},
                },
            },
        });
        if let Some(schema) = r.request {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema(&mut generator)}},
            });
        }
        if r.token {
            op["security"] = json!([{"bearer": []}]);
        }
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[r.method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Go-Docker REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Go-Docker 1.0 routes existing clients call, and ours.",
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}
