//! `GET /api/1.0/task/<id>/files/<path>`: list a directory of the job or download a file.
//!
//! Paths are resolved by the kernel with `openat2(RESOLVE_BENEATH)` from the job directory: `..`,
//! absolute symlinks and symlinks that climb out all fail, whatever the job wrote, and there is no
//! window between a check and the open. Kernels without `openat2` fall back to opening one
//! component at a time with `O_NOFOLLOW` (no symlink is followed at all).

use crate::access::{visible_job, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use god_core::api::FileEntry;
use god_exec::jobdir;
use rustix::fs::{openat, openat2, statat, AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::os::fd::OwnedFd;
use tokio::io::AsyncSeekExt;
use tokio_util::io::ReaderStream;

/// The content type the PyPI client expects, byte for byte, for a directory listing.
const LISTING_TYPE: &str = "application/json; charset=UTF-8";

pub async fn root(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&state, &caller, &id, "", &headers).await
}

pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&state, &caller, &id, &path, &headers).await
}

fn refused(path: &str) -> ApiError {
    ApiError::forbidden(format!("{path:?} is outside the job directory")).field("path")
}

/// Open `rel` under `dir` without ever leaving `dir`.
fn open_beneath(dir: &OwnedFd, rel: &str) -> Result<OwnedFd, ApiError> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    let target = if rel.is_empty() { "." } else { rel };
    let res = openat2(
        dir,
        target,
        flags,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    );
    let res = match res {
        Err(Errno::NOSYS) => open_each(dir, target),
        other => other,
    };
    res.map_err(|e| match e {
        Errno::NOENT | Errno::NOTDIR => {
            ApiError::not_found(format!("{rel:?} does not exist")).field("path")
        }
        Errno::XDEV | Errno::LOOP | Errno::PERM | Errno::ACCESS => refused(rel),
        other => ApiError::unavailable(format!("{rel:?}: {other}")),
    })
}

fn open_each(dir: &OwnedFd, rel: &str) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let mut cur = openat(dir, ".", flags | OFlags::DIRECTORY, Mode::empty())?;
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(Errno::XDEV);
        }
        cur = openat(&cur, part, flags, Mode::empty())?;
    }
    Ok(cur)
}

/// What a path of a job's directory is: a directory's entries, or an open regular file and its
/// size (within `max_file_download`), resolved beneath the job directory.
pub enum Opened {
    Listing(Vec<FileEntry>),
    File(OwnedFd, u64),
}

/// Open `raw` in the directory of job `id`, which `caller` may see (see the module doc).
pub async fn open(
    state: &AppState,
    caller: &Caller,
    id: &str,
    raw: &str,
) -> Result<Opened, ApiError> {
    let task = visible_job(state, caller, id).await?;
    let rel = raw.trim_start_matches('/').to_string();
    if rel.contains('\0') || rel.split('/').any(|p| p == "..") {
        return Err(refused(&rel));
    }
    let dir_path = jobdir::path(&state.paths.shared_dir, &task);
    let max = state.config.max_file_download;
    tokio::task::spawn_blocking(move || -> Result<Opened, ApiError> {
        let dir: OwnedFd = std::fs::File::open(&dir_path)
            .map_err(|_| {
                ApiError::not_found("the job has no directory (not started yet, or archived)")
            })?
            .into();
        let fd = open_beneath(&dir, &rel)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ApiError::unavailable(e.to_string()))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Ok(Opened::Listing(list(fd)?)),
            FileType::RegularFile => {
                let size = st.st_size as u64;
                if max > 0 && size > max {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "{rel:?} is {size} bytes, more than the {max} bytes a download may be"
                        ),
                    ));
                }
                Ok(Opened::File(fd, size))
            }
            _ => Err(ApiError::bad_request(format!("{rel:?} is not a regular file")).field("path")),
        }
    })
    .await
    .map_err(|e| ApiError::unavailable(e.to_string()))?
}

/// The last `at_most` bytes of the file `raw` of job `id`, and the file's whole size.
pub async fn tail(
    state: &AppState,
    caller: &Caller,
    id: &str,
    raw: &str,
    at_most: u64,
) -> Result<(Vec<u8>, u64), ApiError> {
    match open(state, caller, id, raw).await? {
        Opened::Listing(_) => {
            Err(ApiError::bad_request(format!("{raw:?} is a directory")).field("path"))
        }
        Opened::File(fd, size) => tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            let mut file = std::fs::File::from(fd);
            let start = size.saturating_sub(at_most);
            file.seek(std::io::SeekFrom::Start(start))?;
            let mut bytes = Vec::with_capacity((size - start) as usize);
            file.take(at_most).read_to_end(&mut bytes)?;
            Ok((bytes, size))
        })
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e: std::io::Error| ApiError::unavailable(e.to_string())),
    }
}

async fn serve(
    state: &AppState,
    caller: &Caller,
    id: &str,
    raw: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<u64>().ok());
    match open(state, caller, id, raw).await? {
        Opened::Listing(entries) => {
            let body =
                serde_json::to_vec(&entries).map_err(|e| ApiError::unavailable(e.to_string()))?;
            Ok((
                [(header::CONTENT_TYPE, HeaderValue::from_static(LISTING_TYPE))],
                body,
            )
                .into_response())
        }
        Opened::File(fd, size) => {
            let mut file = tokio::fs::File::from_std(std::fs::File::from(fd));
            let start = range.filter(|r| *r <= size);
            if let Some(start) = start {
                file.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
            }
            let len = size - start.unwrap_or(0);
            let mut resp = Response::new(Body::from_stream(ReaderStream::new(file)));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if let Some(start) = start {
                *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "bytes {start}-{}/{size}",
                    size.saturating_sub(1)
                )) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            Ok(resp)
        }
    }
}

fn list(fd: OwnedFd) -> Result<Vec<FileEntry>, ApiError> {
    let unavailable = |e: Errno| ApiError::unavailable(e.to_string());
    let mut out = Vec::new();
    let dir = Dir::read_from(&fd).map_err(unavailable)?;
    for entry in dir {
        let entry = entry.map_err(unavailable)?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name == "." || name == ".." {
            continue;
        }
        let Ok(st) = statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let (kind, size) = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => ("dir", 0),
            FileType::RegularFile => ("file", st.st_size as u64),
            FileType::Symlink => ("link", 0),
            _ => ("other", 0),
        };
        out.push(FileEntry {
            name,
            kind: kind.into(),
            size,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
