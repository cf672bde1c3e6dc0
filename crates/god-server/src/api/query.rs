//! The one way handlers read query parameters: [`Params`], a typed query of `god_core::api`
//! whose type refuses parameters it does not know (`deny_unknown_fields`), as bodies do. A
//! parameter that is unknown, repeated or not of its type is a 400 `{error, field}` naming it.

use super::body::field_of;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The query string as a `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or_default()).map(Params)
    }
}

/// Parse a query string (without its `?`) as a `T`, naming the parameter at fault.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let field = field_of(&path, &msg);
        let msg = if msg.starts_with("unknown field") {
            format!("unknown query parameter {field:?}: {msg}")
        } else {
            format!("query parameter {field}: {msg}")
        };
        ApiError::bad_request(msg).field(field)
    })
}

/// An optional text parameter: absent and empty (`?project=`) are the same.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse;
    use god_core::api::AuditQuery;

    #[test]
    fn parameters_are_typed_and_unknown_ones_named() {
        let q: AuditQuery = parse("actor=root&limit=5&before=9").unwrap();
        assert_eq!(q.actor.as_deref(), Some("root"));
        assert_eq!((q.limit, q.before), (Some(5), Some(9)));
        assert_eq!(parse::<AuditQuery>("").unwrap(), AuditQuery::default());
        let cases = [
            ("actr=root", "actr"),
            ("limit=five", "limit"),
            ("limit=-1", "limit"),
            ("actor=a&actor=b", "actor"),
        ];
        for (query, field) in cases {
            let e = parse::<AuditQuery>(query).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(e.field.as_deref(), Some(field), "{query}: {}", e.error);
            assert!(e.error.contains(field), "{query}: {}", e.error);
        }
    }
}
