//! Streaming: short-lived signed URLs (HMAC-SHA256 over media id, expiry and user, like a
//! presigned S3 URL), and the media route that serves them with byte ranges, `HEAD`, `ETag`,
//! `If-None-Match` and `If-Range`, chunk by chunk, never the whole file in memory.
//!
//! With the S3 backend, `/stream` answers a presigned `GET` URL of the bucket instead (same
//! TTL), and listeners stream from the bucket directly (S3 serves ranges itself). Covers are
//! still served here, proxied from the bucket 1 MiB range by range, so their URL, `ETag`
//! (the media id then), caching and visibility checks stay the same on both backends.

use crate::caller;
use crate::http_io;
use crate::media::s3::S3Media;
use crate::media::storage::{Media, MediaInfo};
use crate::songs::visible_song;
use crate::store::Store;
use base64::Engine;
use futures::SinkExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use spin_sdk::http::{
    IncomingRequest, IntoResponse, Method, Params, Request, Response, ResponseOutparam,
};
use spindle_shared::Problem;
use spindle_shared::http::{encode_pairs, json, query_pairs};
use spindle_shared::sql::{get_text, int, text};
use spindle_shared::time::{now_ms, rfc3339};

const KEY_VARIABLE: &str = "media_signing_key";

/// `GET /api/songs/:id/stream[?redirect=true]`: a signed URL for the song's audio, as JSON
/// `{url, expiresAt}` or a 302 to it.
pub fn stream_url(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let song = visible_song(&store, params.get("id").unwrap_or_default(), Some(&claims))?;
        let ttl = crate::config::stream_url_ttl_secs();
        let expires = now_ms() / 1000 + ttl;
        let url = match crate::config::s3()? {
            // Listeners stream straight from the bucket.
            Some(settings) => S3Media::new(&settings)?
                .presigned_get(&song.media_id, std::time::Duration::from_secs(ttl)),
            None => {
                let signature = sign(&store, &song.media_id, expires, &claims.user_id)?;
                format!(
                    "/api/media/{}?{}",
                    song.media_id,
                    encode_pairs(&[
                        ("exp", &expires.to_string()),
                        ("u", &claims.user_id),
                        ("sig", &signature),
                    ])
                )
            }
        };
        store.run(
            "UPDATE songs SET play_count = play_count + 1 WHERE id = ?",
            &[text(&song.id)],
        )?;
        let redirect = query_pairs(req.query())?
            .iter()
            .any(|(k, v)| k == "redirect" && v == "true");
        if redirect {
            return Ok(Response::builder()
                .status(302)
                .header("location", url)
                .header("cache-control", "no-store")
                .build());
        }
        Ok(json(
            200,
            &serde_json::json!({ "url": url, "expiresAt": rfc3339(expires * 1000) }),
        ))
    })
}

/// `GET|HEAD /api/media/:id?exp=&u=&sig=`
pub async fn media(req: IncomingRequest, out: ResponseOutparam) {
    let head = http_io::head_only(&req);
    let checked = (|| -> Result<(Media, MediaInfo, String), Problem> {
        let id = head
            .path()
            .strip_prefix("/api/media/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or_else(|| Problem::not_found("no such media"))?
            .to_string();
        let query = query_pairs(head.query())?;
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let expires: u64 = get("exp").parse().map_err(|_| forged())?;
        let store = Store::open()?;
        let expected = sign(&store, &id, expires, &get("u"))?;
        if !constant_time_eq(expected.as_bytes(), get("sig").as_bytes()) {
            return Err(forged());
        }
        if expires < now_ms() / 1000 {
            return Err(Problem::forbidden(
                "this link has expired: ask for a new one",
            ));
        }
        let media = Media::open()?;
        let info = media
            .info(&id)?
            .ok_or_else(|| Problem::not_found("no such media"))?;
        let ttl = expires.saturating_sub(now_ms() / 1000);
        Ok((media, info, format!("private, max-age={ttl}")))
    })();
    match checked {
        Ok((media, info, cache)) => serve(&head, &media, &info, &cache, out).await,
        Err(problem) => http_io::send(out, problem.into_response()).await,
    }
}

/// `GET|HEAD /api/songs/:id/cover`: public when the song is.
pub async fn cover(req: IncomingRequest, out: ResponseOutparam) {
    let head = http_io::head_only(&req);
    let checked = (|| -> Result<(Media, MediaInfo, String), Problem> {
        let id = head
            .path()
            .strip_prefix("/api/songs/")
            .and_then(|rest| rest.strip_suffix("/cover"))
            .unwrap_or_default()
            .to_string();
        let claims = caller::optional(&head)?;
        let store = Store::open()?;
        let song = visible_song(&store, &id, claims.as_ref())?;
        let cover = song
            .cover_media_id
            .clone()
            .ok_or_else(|| Problem::not_found("this song has no cover"))?;
        let media = Media::open()?;
        let info = media
            .info(&cover)?
            .ok_or_else(|| Problem::not_found("no such cover"))?;
        let cache = if song.is_listed() {
            "public, max-age=3600"
        } else {
            "private, max-age=300"
        };
        Ok((media, info, cache.to_string()))
    })();
    match checked {
        Ok((media, info, cache)) => serve(&head, &media, &info, &cache, out).await,
        Err(problem) => http_io::send(out, problem.into_response()).await,
    }
}

/// Serves a stored file: 200, or 206 for one satisfiable range, 416 for an unsatisfiable one,
/// 304 when `If-None-Match` matches; `HEAD` without the body.
async fn serve(
    req: &Request,
    media: &Media,
    info: &MediaInfo,
    cache_control: &str,
    out: ResponseOutparam,
) {
    let etag = format!("\"{}\"", info.sha256.as_deref().unwrap_or(&info.id));
    let header = |name: &str| {
        req.header(name)
            .and_then(|h| h.as_str())
            .map(str::to_string)
    };
    let mut response = Response::builder();
    response
        .header("accept-ranges", "bytes")
        .header("etag", &etag)
        .header("cache-control", cache_control)
        .header("content-type", &info.mime);
    if header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return http_io::send(out, response.status(304).build()).await;
    }
    let range_applies = header("if-range").is_none_or(|v| v.trim() == etag);
    let range = match header("range").filter(|_| range_applies) {
        Some(value) => match parse_range(&value, info.size) {
            Ok(range) => range,
            Err(()) => {
                let mut problem =
                    Problem::new(416, format!("the file has {} bytes", info.size)).into_response();
                problem.set_header("content-range", format!("bytes */{}", info.size));
                return http_io::send(out, problem).await;
            }
        },
        None => None,
    };
    let (status, start, end) = match range {
        Some((start, end)) => {
            response.header(
                "content-range",
                format!("bytes {start}-{}/{}", end - 1, info.size),
            );
            (206, start, end)
        }
        None => (200, 0, info.size),
    };
    response
        .status(status)
        .header("content-length", (end - start).to_string());
    let (outgoing, _) = http_io::start(response.build());
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if *req.method() == Method::Head {
        return;
    }
    let chunk = info.chunk_size.max(1);
    let mut position = start;
    while position < end {
        let seq = position / chunk;
        let mut data = match media.chunk(&info.id, seq) {
            Ok(data) => data,
            Err(e) => return eprintln!("streaming {}: {e}", info.id),
        };
        let offset = (position - seq * chunk) as usize;
        let take = ((end - position) as usize).min(data.len().saturating_sub(offset));
        if take == 0 {
            return eprintln!("media {} is shorter than its size", info.id);
        }
        // The chunk itself when it is all wanted (most of a stream), else the slice.
        let piece = if offset == 0 && take == data.len() {
            data
        } else {
            data.drain(offset..offset + take).collect()
        };
        if let Err(e) = sink.send(piece).await {
            return eprintln!("client went away while streaming {}: {e:?}", info.id);
        }
        position += take as u64;
    }
}

/// One range of `bytes=first-last`, `bytes=first-` or `bytes=-suffix` as `[start, end)`;
/// `Ok(None)` for what is not a single byte range (served whole), `Err` when unsatisfiable.
pub fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().map_err(|_| ());
    match (first.is_empty(), last.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => {
            let Ok(suffix) = parse(last) else {
                return Ok(None);
            };
            if suffix == 0 || size == 0 {
                return Err(());
            }
            Ok(Some((size.saturating_sub(suffix), size)))
        }
        (false, _) => {
            let Ok(start) = parse(first) else {
                return Ok(None);
            };
            let end = if last.is_empty() {
                size
            } else {
                match parse(last) {
                    Ok(last) if last >= start => (last + 1).min(size),
                    _ => return Ok(None),
                }
            };
            if start >= size {
                return Err(());
            }
            Ok(Some((start, end)))
        }
    }
}

fn forged() -> Problem {
    Problem::forbidden("this link is not valid")
}

/// HMAC-SHA256 of `media.expires.user`, base64url.
fn sign(store: &Store, media_id: &str, expires: u64, user: &str) -> Result<String, Problem> {
    let key = signing_key(store)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|e| Problem::internal(e.to_string()))?;
    mac.update(format!("{media_id}.{expires}.{user}").as_bytes());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The variable `media_signing_key`, else a key made on first use and kept in the database.
fn signing_key(store: &Store) -> Result<String, Problem> {
    if let Some(key) = spindle_shared::variable(KEY_VARIABLE) {
        return Ok(key);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    let fresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let result = store.run(
        "INSERT INTO secrets (name, value, created_at) VALUES ('media', ?, ?)
         ON CONFLICT (name) DO UPDATE SET name = name RETURNING value",
        &[text(fresh), int(now_ms() as i64)],
    )?;
    result
        .rows
        .first()
        .map(|r| get_text(&r.values, 0))
        .ok_or_else(|| Problem::internal("no media signing key"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-0", 1000), Ok(Some((0, 1))));
        assert_eq!(parse_range("bytes=999-999", 1000), Ok(Some((999, 1000))));
        assert_eq!(parse_range("bytes=-500", 1000), Ok(Some((500, 1000))));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(Some((0, 1000))));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some((900, 1000))));
        assert_eq!(parse_range("bytes=900-5000", 1000), Ok(Some((900, 1000))));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=-0", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-2", 1000), Ok(None));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
        assert_eq!(parse_range("bytes=x-1", 1000), Ok(None));
    }
}
