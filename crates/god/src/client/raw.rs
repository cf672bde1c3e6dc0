//! The server's JSON exactly as received: the one untyped document of the client.
//!
//! Everything the client reads of an answer it reads as a type of `god_core::api` (or the task
//! document, `god_core::Task`) with [`Raw::read`]. A `Raw` is kept only so that `--json` prints
//! what the server said, unchanged: every key (also those this client does not know), every
//! `null`, numbers as written. It is not edited, and requests are never built from it.

use anyhow::{anyhow, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An answer (or an event's data) as the server wrote it, for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Raw(serde_json::Value);

impl Raw {
    /// Parse a body; anything that is not JSON is an error naming who answered it.
    pub fn parse(bytes: &[u8], who: &str) -> Result<Raw> {
        serde_json::from_slice(bytes)
            .map(Raw)
            .map_err(|e| anyhow!("{who} answered something that is not JSON: {e}"))
    }

    /// An event's data: JSON when it is, else the text itself (the `end` event's reason).
    pub fn parse_or_text(text: String) -> Raw {
        Raw(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// Read it as `T` (a type of the API's vocabulary), naming the field that does not fit.
    pub fn read<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_path_to_error::deserialize(&self.0).map_err(|e| {
            anyhow!("the server's answer to {what} is not what this client reads: {e}")
        })
    }
}

#[cfg(test)]
impl Raw {
    /// The text of an `end` event (or of any answer that is a bare string).
    pub fn as_text(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// A test's answer, written with `json!`.
    pub fn of(v: serde_json::Value) -> Raw {
        Raw(v)
    }
}

#[cfg(test)]
mod tests {
    use super::Raw;
    use god_core::api::MsgAnswer;
    use serde_json::json;

    #[test]
    fn an_answer_is_read_typed_and_printed_as_received() {
        let raw = Raw::parse(br#"{"msg": "done", "id": 3, "extra": null}"#, "the server").unwrap();
        let msg: MsgAnswer<u64> = raw.read("kill").unwrap();
        assert_eq!(msg, MsgAnswer::new("done", 3));
        assert_eq!(
            serde_json::to_value(&raw).unwrap(),
            json!({"msg": "done", "id": 3, "extra": null})
        );
        let err = raw.read::<Vec<u64>>("the list").unwrap_err().to_string();
        assert!(err.contains("the list"), "{err}");
        assert!(Raw::parse(b"<html>", "the server").is_err());
        assert_eq!(
            Raw::parse_or_text("the session expired".into()).as_text(),
            Some("the session expired")
        );
    }
}
