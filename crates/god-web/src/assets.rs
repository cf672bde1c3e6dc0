//! The UI's own files (style, script, vendored libraries), embedded in the binary: no CDN, no
//! files to install. Pages link them as `/app/static/<name>?v=<hash>`; a request that names the
//! current hash is cached for a year (the hash changes with the file), others are revalidated.

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every file the UI serves.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/app.js"),
    },
    // Vendored, pinned by scripts/vendor-ui.sh; loaded only when a terminal is opened.
    Asset {
        name: "xterm.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/xterm.js"),
    },
    Asset {
        name: "xterm.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/xterm.css"),
    },
    Asset {
        name: "addon-fit.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/addon-fit.js"),
    },
];

/// The first 12 hex digits of each asset's SHA-256, in the order of [`ASSETS`].
fn hashes() -> &'static [String] {
    static HASHES: OnceLock<Vec<String>> = OnceLock::new();
    HASHES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| hex::encode(&Sha256::digest(a.bytes)[..6]))
            .collect()
    })
}

/// Where a page links the asset `name` (with its hash, so browsers may keep it).
pub fn url(name: &str) -> String {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => format!("/app/static/{name}?v={}", hashes()[i]),
        None => format!("/app/static/{name}"),
    }
}

#[derive(Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /app/static/{name}`.
pub async fn serve(
    Path(name): Path<String>,
    Query(version): Query<Version>,
    headers: HeaderMap,
) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let (asset, hash) = (&ASSETS[i], &hashes()[i]);
    let etag = format!("\"{hash}\"");
    let cache = if version.v.as_deref() == Some(hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
