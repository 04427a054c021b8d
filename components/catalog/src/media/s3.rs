//! The S3-compatible media backend, chosen by the `s3_*` variables (see [`crate::config::s3`]).
//! Every request is a SigV4-presigned URL made by `rusty-s3` and sent through outbound
//! `wasi:http` with deadlines; listeners stream straight from the bucket through presigned
//! `GET` URLs.
//!
//! An object is stored under `media/<id>`:
//! - as it streams in, never whole in memory: a file of less than 5 MiB is one `PutObject`, a
//!   larger one a multipart upload of 5 MiB parts, completed at [`S3Writer::finish`] and
//!   aborted when the writer is dropped unfinished (a failed part, a too-large or broken
//!   upload);
//! - read back for probing through ranged `GET`s of 256 KiB ([`S3Reader`], `Read + Seek`);
//! - deleted by [`S3Media::discard`] when the upload fails after it was written (unreadable
//!   audio, a duplicate, a bad field) and when its song is deleted.
//!
//! Crash window, honestly: the song row is the only thing that makes an object live, and it
//! is committed in the catalog database, which S3 cannot join in a transaction. If the
//! component is killed between the object's completion and the song's commit (or between the
//! song's deletion and the object's), the object stays in the bucket, unreferenced. The same
//! holds for a multipart upload whose abort never ran: S3 keeps its parts until a bucket
//! lifecycle rule (`AbortIncompleteMultipartUpload`) drops them; configure one on the bucket.

use super::sqlite::CHUNK_BYTES;
use super::storage::MediaInfo;
use crate::config::S3Settings;
use rusty_s3::actions::{CompleteMultipartUploadResponse, CreateMultipartUpload};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use spindle_shared::Problem;
use spindle_shared::http::Reply;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

/// Parts of a multipart upload (S3's minimum for every part but the last).
pub const PART_BYTES: usize = 5 << 20;
/// What one ranged `GET` of the probing reader fetches.
pub const RANGE_BYTES: u64 = 256 << 10;
/// How long the URLs of the component's own requests stay valid.
const REQUEST_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// Deadline for connecting, the first byte and every later byte of a request.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How much of an error answer is kept (for the message).
const ERROR_BODY_BYTES: usize = 16 << 10;

pub struct S3Media {
    bucket: Bucket,
    /// The bucket as listeners reach it (`s3_public_endpoint`), for presigned `GET`s.
    public_bucket: Bucket,
    credentials: Credentials,
}

fn key(id: &str) -> String {
    format!("media/{id}")
}

fn storage_error(what: &str, detail: impl std::fmt::Display) -> Problem {
    Problem::new(502, format!("object storage, {what}: {detail}"))
}

/// A 2xx reply, else the storage error for `what`.
trait Checked: Sized {
    fn ok(self, what: &str) -> Result<Self, Problem>;
}

impl Checked for Reply {
    fn ok(self, what: &str) -> Result<Self, Problem> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let body = String::from_utf8_lossy(&self.body);
        Err(storage_error(
            what,
            format!("status {} {}", self.status, body.trim()),
        ))
    }
}

impl S3Media {
    pub fn new(settings: &S3Settings) -> Result<Self, Problem> {
        let bucket = |endpoint: &str| {
            let url = endpoint.parse().map_err(|e| {
                Problem::internal(format!("s3_endpoint {endpoint:?} is not a URL: {e}"))
            })?;
            Bucket::new(
                url,
                UrlStyle::Path,
                settings.bucket.clone(),
                settings.region.clone(),
            )
            .map_err(|e| Problem::internal(format!("S3 bucket {:?}: {e}", settings.bucket)))
        };
        Ok(Self {
            bucket: bucket(&settings.endpoint)?,
            public_bucket: bucket(
                settings
                    .public_endpoint
                    .as_deref()
                    .unwrap_or(&settings.endpoint),
            )?,
            credentials: Credentials::new(
                settings.access_key_id.clone(),
                settings.secret_access_key.clone(),
            ),
        })
    }

    /// Starts a new object; its bytes go in with [`S3Writer::write`].
    pub fn create(&self, mime: &str) -> S3Writer<'_> {
        S3Writer {
            media: self,
            id: spindle_shared::events::new_ulid(spindle_shared::time::now_ms()),
            mime: mime.to_string(),
            buffer: Vec::new(),
            upload_id: None,
            etags: Vec::new(),
            size: 0,
            done: false,
        }
    }

    /// A stored object's description (`HEAD`); `None` when there is none. S3 keeps no digest
    /// of ours: the `ETag` a caller makes from it falls back to the id, as unique.
    pub fn info(&self, id: &str) -> Result<Option<MediaInfo>, Problem> {
        let key = key(id);
        let url = self
            .bucket
            .head_object(Some(&self.credentials), &key)
            .sign(REQUEST_URL_TTL);
        let reply = send("HEAD", url.as_str(), &[], &[], 0)?;
        if reply.status == 404 {
            return Ok(None);
        }
        let reply = reply.ok("HEAD")?;
        let size = reply
            .header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| storage_error("HEAD", "no content-length"))?;
        Ok(Some(MediaInfo {
            id: id.to_string(),
            mime: reply
                .header("content-type")
                .unwrap_or("application/octet-stream")
                .to_string(),
            size,
            sha256: None,
            chunk_size: CHUNK_BYTES as u64,
        }))
    }

    /// Deletes an object (none is fine).
    pub fn discard(&self, id: &str) -> Result<(), Problem> {
        let key = key(id);
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &key)
            .sign(REQUEST_URL_TTL);
        let reply = send("DELETE", url.as_str(), &[], &[], ERROR_BODY_BYTES)?;
        if reply.status == 404 {
            return Ok(());
        }
        reply.ok("DELETE").map(drop)
    }

    /// Bytes `[start, end)` of an object.
    pub fn range(&self, id: &str, start: u64, end: u64) -> Result<Vec<u8>, Problem> {
        if end <= start {
            return Ok(Vec::new());
        }
        let key = key(id);
        let url = self
            .bucket
            .get_object(Some(&self.credentials), &key)
            .sign(REQUEST_URL_TTL);
        let range = format!("bytes={start}-{}", end - 1);
        let reply = send(
            "GET",
            url.as_str(),
            &[("range", &range)],
            &[],
            (end - start) as usize,
        )?
        .ok("GET")?;
        Ok(reply.body)
    }

    /// Chunk `seq` of [`CHUNK_BYTES`] (as the SQLite backend cuts them), for the proxied routes.
    pub fn chunk(&self, id: &str, seq: u64) -> Result<Vec<u8>, Problem> {
        let chunk = CHUNK_BYTES as u64;
        self.range(id, seq * chunk, (seq + 1) * chunk)
    }

    /// A presigned `GET` URL of an object, valid `ttl`, on the public endpoint.
    pub fn presigned_get(&self, id: &str, ttl: Duration) -> String {
        let key = key(id);
        self.public_bucket
            .get_object(Some(&self.credentials), &key)
            .sign(ttl)
            .to_string()
    }

    /// `Read + Seek` over an object of `size` bytes.
    pub fn reader(&self, id: &str, size: u64) -> S3Reader<'_> {
        S3Reader {
            media: self,
            id: id.to_string(),
            size,
            position: 0,
            cached: Vec::new(),
        }
    }
}

/// Writes an object as it streams in: one `PutObject` below [`PART_BYTES`], else a multipart
/// upload, aborted if the writer is dropped before [`finish`](Self::finish) succeeds.
pub struct S3Writer<'a> {
    media: &'a S3Media,
    pub id: String,
    mime: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    etags: Vec<String>,
    size: u64,
    done: bool,
}

impl S3Writer<'_> {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        self.buffer.extend_from_slice(bytes);
        self.size += bytes.len() as u64;
        if self.buffer.len() >= PART_BYTES {
            self.upload_part()?;
        }
        Ok(())
    }

    fn upload_part(&mut self) -> Result<(), Problem> {
        let media = self.media;
        let key = key(&self.id);
        if self.upload_id.is_none() {
            let url = media
                .bucket
                .create_multipart_upload(Some(&media.credentials), &key)
                .sign(REQUEST_URL_TTL);
            let reply = send(
                "POST",
                url.as_str(),
                &[("content-type", &self.mime)],
                &[],
                ERROR_BODY_BYTES,
            )?
            .ok("CreateMultipartUpload")?;
            let parsed =
                CreateMultipartUpload::parse_response(&String::from_utf8_lossy(&reply.body))
                    .map_err(|e| storage_error("CreateMultipartUpload", e))?;
            self.upload_id = Some(parsed.upload_id().to_string());
        }
        let upload_id = self.upload_id.as_deref().expect("set above");
        let part_number = u16::try_from(self.etags.len() + 1)
            .map_err(|_| storage_error("UploadPart", "too many parts"))?;
        let url = media
            .bucket
            .upload_part(Some(&media.credentials), &key, part_number, upload_id)
            .sign(REQUEST_URL_TTL);
        let reply =
            send("PUT", url.as_str(), &[], &self.buffer, ERROR_BODY_BYTES)?.ok("UploadPart")?;
        let etag = reply
            .header("etag")
            .ok_or_else(|| storage_error("UploadPart", "no ETag in the answer"))?
            .to_string();
        self.etags.push(etag);
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is buffered and completes the object; answers (id, size).
    pub fn finish(mut self) -> Result<(String, u64), Problem> {
        let media = self.media;
        let key = key(&self.id);
        if self.upload_id.is_none() {
            let url = media
                .bucket
                .put_object(Some(&media.credentials), &key)
                .sign(REQUEST_URL_TTL);
            send(
                "PUT",
                url.as_str(),
                &[("content-type", &self.mime)],
                &self.buffer,
                ERROR_BODY_BYTES,
            )?
            .ok("PutObject")?;
        } else {
            if !self.buffer.is_empty() {
                self.upload_part()?;
            }
            let upload_id = self.upload_id.as_deref().expect("started");
            let action = media.bucket.complete_multipart_upload(
                Some(&media.credentials),
                &key,
                upload_id,
                self.etags.iter().map(String::as_str),
            );
            let url = action.sign(REQUEST_URL_TTL);
            let body = action.body();
            let reply = send(
                "POST",
                url.as_str(),
                &[("content-type", "application/xml")],
                body.as_bytes(),
                ERROR_BODY_BYTES,
            )?
            .ok("CompleteMultipartUpload")?;
            // S3 may answer 200 and still fail, with an <Error> body.
            let text = String::from_utf8_lossy(&reply.body);
            if CompleteMultipartUploadResponse::parse(&text).is_err() {
                return Err(storage_error("CompleteMultipartUpload", text.trim()));
            }
        }
        self.done = true;
        Ok((self.id.clone(), self.size))
    }
}

impl Drop for S3Writer<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(upload_id) = self.upload_id.as_deref() else {
            return;
        };
        let key = key(&self.id);
        let url = self
            .media
            .bucket
            .abort_multipart_upload(Some(&self.media.credentials), &key, upload_id)
            .sign(REQUEST_URL_TTL);
        if let Err(e) = send("DELETE", url.as_str(), &[], &[], ERROR_BODY_BYTES)
            .and_then(|reply| reply.ok("AbortMultipartUpload"))
        {
            eprintln!("aborting the multipart upload of {key}: {e}");
        }
    }
}

/// Reads an object through `Read + Seek` with ranged `GET`s of [`RANGE_BYTES`], keeping the
/// last few ranges (metadata readers jump between the head and the tail).
pub struct S3Reader<'a> {
    media: &'a S3Media,
    id: String,
    size: u64,
    position: u64,
    cached: Vec<(u64, Vec<u8>)>,
}

const CACHED_RANGES: usize = 4;

impl Read for S3Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.position >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let block = self.position / RANGE_BYTES;
        let index = match self.cached.iter().position(|(b, _)| *b == block) {
            Some(index) => index,
            None => {
                let start = block * RANGE_BYTES;
                let end = (start + RANGE_BYTES).min(self.size);
                let data = self
                    .media
                    .range(&self.id, start, end)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                if self.cached.len() == CACHED_RANGES {
                    self.cached.remove(0);
                }
                self.cached.push((block, data));
                self.cached.len() - 1
            }
        };
        let data = &self.cached[index].1;
        let offset = (self.position - block * RANGE_BYTES) as usize;
        let n = buf.len().min(data.len().saturating_sub(offset));
        buf[..n].copy_from_slice(&data[offset..offset + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for S3Reader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = super::storage::seek_target(self.position, self.size, to)?;
        Ok(self.position)
    }
}

/// One outbound request with [`TIMEOUT`] deadlines (the shared client, which answers the
/// headers too: an uploaded part's `ETag` is one). Blocks until then.
fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    max_body: usize,
) -> Result<Reply, Problem> {
    spindle_shared::http::send(method, url, headers, body, TIMEOUT, max_body)
        .map_err(|detail| storage_error(method, detail))
}
