//! The one way handlers read a request body: [`Body`] (raw bytes, within `max_request_body`)
//! and [`JsonBody`] (a typed request of `god_core::api`). A body that is too large is a 413, one
//! that is not JSON or does not fit the type a 400 `{error, field}` naming the offending field
//! (`usage.prio`, `volumes[0].acl`; `body` for the document as a whole). Request types refuse
//! fields they do not know (`deny_unknown_fields`): such a field is named too.

use crate::error::ApiError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// The raw body, within the body size limit.
pub struct Body(pub Bytes);

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

fn rejected(e: BytesRejection) -> ApiError {
    let status = e.status();
    let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "request body too large".to_string()
    } else {
        e.body_text()
    };
    ApiError::new(status, msg).field("body")
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(rejected)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Body(bytes) = Body::from_request(req, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parse `bytes` as a `T`, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let field = field_of(&path, &msg);
        let msg = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("not valid JSON: {msg}")
            }
            _ => msg,
        };
        ApiError::bad_request(msg).field(field)
    })
}

/// The field an error is about: the path where it happened, and for an unknown or missing field
/// the field itself (serde names it in its message, between backquotes).
pub(super) fn field_of(path: &str, msg: &str) -> String {
    let named = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|p| msg.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let path = if matches!(path, "." | "?" | "") {
        None
    } else {
        Some(path)
    };
    match (path, named) {
        (Some(p), Some(n)) if !p.ends_with(n) => format!("{p}.{n}"),
        (Some(p), _) => p.to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => "body".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse;
    use god_core::api::{ProjectUpdate, UserUpdate};

    fn field<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> Option<String> {
        parse::<T>(body.as_bytes()).unwrap_err().field
    }

    #[test]
    fn errors_name_the_field() {
        let f = field::<UserUpdate>;
        assert_eq!(f(r#"{"nickname": 1}"#).as_deref(), Some("nickname"));
        assert_eq!(
            f(r#"{"usage": {"prio": "high"}}"#).as_deref(),
            Some("usage.prio")
        );
        assert_eq!(
            f(r#"{"usage": {"fast": 1}}"#).as_deref(),
            Some("usage.fast")
        );
        assert_eq!(
            f(r#"{"credentials": {"public": 3}}"#).as_deref(),
            Some("credentials.public")
        );
        assert_eq!(f("3").as_deref(), Some("body"));
        assert_eq!(f("{").as_deref(), Some("body"));
        assert_eq!(
            field::<ProjectUpdate>(r#"{"volumes": [{"name": "x", "acl": 1}]}"#).as_deref(),
            Some("volumes[0].acl")
        );
        assert_eq!(
            field::<god_core::api::LoginRequest>(r#"{"apikey": "k"}"#).as_deref(),
            Some("user")
        );
    }

    #[test]
    fn the_whole_get_document_is_accepted_back() {
        let user = r#"{"id":"bob","uid":1001,"gid":1001,"sgids":[],"email":null,
            "homeDirectory":"/home/bob","admin":false,"disabled":false,"guest":false,
            "active":true,"credentials":{"apikey":null,"public":null},
            "usage":{"prio":50,"quota_cpu":0,"quota_ram":0.0,"quota_time":0}}"#;
        let u: UserUpdate = parse(user.as_bytes()).unwrap();
        assert_eq!(u.email, Some(None));
        let project = r#"{"id":"lab","description":"d","prio":50,"quota_cpu":0,"quota_ram":0,
            "quota_time":0,"members":["alice"],"volumes":[{"name":"v","path":"/v",
            "mount":"/v","acl":"ro"}]}"#;
        let p: ProjectUpdate = parse(project.as_bytes()).unwrap();
        assert_eq!(p.volumes.unwrap()[0].path, "/v");
    }
}
