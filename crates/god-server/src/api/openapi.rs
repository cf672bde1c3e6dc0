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
    /// Its query parameters (the fields of a type read by `Params`), if any. A route with
    /// none refuses any query parameter, unless it takes whatever comes (`any_query`).
    pub query: Option<SchemaFn>,
    pub any_query: bool,
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
        query: None,
        any_query: false,
        answer: Answer::Other("application/json"),
        handler: on(filter, handler),
    }
}

impl Route {
    pub fn reads<T: JsonSchema>(mut self) -> Route {
        self.request = Some(schema::<T>);
        self
    }

    /// Its query parameters: the fields of `T`.
    pub fn query<T: JsonSchema>(mut self) -> Route {
        self.query = Some(schema::<T>);
        self
    }

    /// It reads query parameters it does not declare (an identity provider's callback).
    pub fn any_query(mut self) -> Route {
        self.any_query = true;
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

/// The query parameters of a type's fields: each optional, its description taken out of its
/// schema.
fn query_parameters(query: SchemaFn) -> Vec<Value> {
    let mut inline = SchemaSettings::openapi3()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let schema = query(&mut inline).to_value();
    let Some(fields) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    fields
        .iter()
        .map(|(name, field)| {
            let mut field = field.clone();
            // An optional parameter is absent, never null: `["string", "null"]` is `string`.
            if let Some(types) = field.get("type").and_then(Value::as_array) {
                let named: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                if let [one] = named[..] {
                    field["type"] = one.clone();
                }
            }
            let description = field
                .as_object_mut()
                .and_then(|f| f.remove("description"))
                .unwrap_or(Value::Null);
            let mut p = json!({"name": name, "in": "query", "required": false, "schema": field});
            if !description.is_null() {
                p["description"] = description;
            }
            p
        })
        .collect()
}

/// The document of `routes` (built at each request: it is small and the table is the truth).
pub fn build(routes: &[Route]) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for r in routes {
        let path = openapi_path(r.path);
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(query) = r.query {
            parameters.extend(query_parameters(query));
        }
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
