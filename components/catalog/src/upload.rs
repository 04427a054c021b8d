//! `POST /api/songs`: an artist's upload, `multipart/form-data`, parsed as it streams in.
//!
//! Fields: `audio` (the file), `cover` (optional image), `title`, `albumId`, `genre`, `tags`
//! (comma-separated or a JSON array), `isPublic` (`true`/`false`, default true). The audio's
//! type comes from its bytes (MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC, WAV; else 415), past the
//! size limit the upload stops at once (413), and the file itself gives duration, bitrate,
//! sample rate, channels, codec and tags (corrupt → 422). The same artist uploading the same
//! bytes again → 409 naming the existing song. Everything is stored, or nothing.
//!
//! `albumId` puts the new song on that album, which the `playlists` component owns (see
//! [`album_link`](crate::album_link)), asked with the uploader's own `Authorization`:
//!
//! 1. As soon as the field is read (before the audio when it comes first, else after the audio
//!    streamed into storage but before anything is committed), the album must be one playlists
//!    shows the uploader and theirs: else 422 naming `albumId`.
//! 2. The song is committed (with its `albumId`), then added to the album
//!    (`POST /api/albums/:id/songs`; playlists checks the song back through the catalog, which
//!    sees it by then). If playlists refuses (422) or cannot answer (503, both naming
//!    `albumId`), the song row and its search entry are deleted again and its media discarded;
//!    its `track.published` is only recorded (and flushed) once the album took it, so none goes
//!    out for an undone upload.

use crate::media::probe::{self, AudioFormat, ImageFormat, SNIFF_BYTES};
use crate::media::storage::Media;
use crate::store::{Song, Store};
use crate::{album_link, caller, config, events};
use futures::StreamExt;
use multer::{Constraints, Multipart, SizeLimit};
use sha2::{Digest, Sha256};
use spin_sdk::http::{IncomingRequest, IntoResponse, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::http::json;
use spindle_shared::time::now_ms;

const TEXT_FIELD_BYTES: u64 = 4096;
const FIELDS: [&str; 7] = [
    "audio", "cover", "title", "albumId", "genre", "tags", "isPublic",
];

/// `POST /api/songs`: 201 with the song (its `albumId` too, the song being on that album by
/// then), or a problem; media stored for an upload that fails is discarded.
pub async fn upload(req: IncomingRequest) -> Response {
    let media = match Media::open() {
        Ok(media) => media,
        Err(problem) => return problem.into_response(),
    };
    let mut stored = Vec::new();
    let result = run(req, &media, &mut stored).await;
    if result.is_err() {
        for id in stored {
            if let Err(e) = media.discard(&id) {
                eprintln!("discarding media {id}: {e}");
            }
        }
    }
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A file read from a field into media storage.
struct Stored<F> {
    id: String,
    size: u64,
    sha256: String,
    format: F,
}

#[derive(Default)]
struct Fields {
    title: Option<String>,
    album_id: Option<String>,
    genre: Option<String>,
    tags: Vec<String>,
    is_public: Option<bool>,
}

/// Reads, checks and commits the upload; `stored` names the media written so far, to be
/// discarded should it fail. With `albumId` the album is checked when the field is read and
/// the song added to it after the commit, the commit being undone if that fails (see the
/// module's doc).
async fn run(
    req: IncomingRequest,
    media: &Media,
    stored: &mut Vec<String>,
) -> Result<Response, Problem> {
    // Authorization first: a stranger's upload is refused before a byte is read.
    let head = crate::http_io::head_only(&req);
    let claims = caller::signed_in(&head)?;
    claims.require(&[Role::Artist, Role::Admin])?;
    // Sent on to playlists, which owns albums.
    let authorization = crate::http_io::header(&req, "authorization");

    let content_type = crate::http_io::header(&req, "content-type").unwrap_or_default();
    let boundary = multer::parse_boundary(&content_type)
        .map_err(|_| Problem::unsupported_media_type("multipart/form-data with a boundary"))?;
    let max_audio = config::max_audio_bytes();
    let max_total = max_audio + config::MAX_COVER_BYTES + 64 * 1024;
    if let Some(length) =
        crate::http_io::header(&req, "content-length").and_then(|l| l.trim().parse::<u64>().ok())
        && length > max_total
    {
        return Err(Problem::payload_too_large(max_total as usize));
    }
    let constraints = Constraints::new()
        .allowed_fields(FIELDS.to_vec())
        .size_limit(
            SizeLimit::new()
                .whole_stream(max_total)
                .for_field("audio", max_audio)
                .for_field("cover", config::MAX_COVER_BYTES)
                .per_field(TEXT_FIELD_BYTES),
        );
    let body = req.into_body_stream().map(|chunk| {
        chunk
            .map(bytes::Bytes::from)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))
    });
    let mut multipart = Multipart::with_constraints(body, boundary, constraints);

    let mut fields = Fields::default();
    let mut audio: Option<Stored<AudioFormat>> = None;
    let mut cover: Option<Stored<ImageFormat>> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_problem)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "audio" | "cover" => {
                if (name == "audio" && audio.is_some()) || (name == "cover" && cover.is_some()) {
                    return Err(invalid(&name, "appears twice"));
                }
                let file = store_file(&mut field, media, stored, &name).await?;
                match file {
                    File::Audio(file) => audio = Some(file),
                    File::Image(file) => cover = Some(file),
                }
            }
            _ => {
                let value = field.text().await.map_err(multipart_problem)?;
                read_text_field(&mut fields, &name, value.trim())?;
                // The album is checked as soon as it is named: before the audio is read when
                // it comes first, and in any case before anything is committed.
                if name == "albumId"
                    && let Some(album_id) = &fields.album_id
                {
                    album_link::owned(album_id, &claims.user_id, authorization.as_deref())?;
                }
            }
        }
    }
    let audio = audio.ok_or_else(|| invalid("audio", "is required: the audio file"))?;

    let info =
        probe::probe(&mut media.reader(&audio.id, audio.size), audio.format).map_err(|why| {
            invalid(
                "audio",
                format!("cannot be read as {}: {why}", audio.format.codec()),
            )
        })?;
    let title = fields
        .title
        .clone()
        .or_else(|| info.title.clone())
        .ok_or_else(|| invalid("title", "is required (the file has no title tag)"))?;
    let genre = fields.genre.clone().or_else(|| info.genre.clone());

    let store = Store::open()?;
    if let Some(existing) = store.song_by_digest(&claims.user_id, &audio.sha256)? {
        return Err(Problem::conflict(format!(
            "you already uploaded this file as song {existing}"
        )));
    }
    let artist_name = events::artist_name(&store, &claims.user_id)?;
    media.complete(&audio.id, &audio.sha256)?;
    if let Some(cover) = &cover {
        media.complete(&cover.id, &cover.sha256)?;
    }
    let now = now_ms();
    let is_public = fields.is_public.unwrap_or(true);
    let song = Song {
        id: spindle_shared::events::new_ulid(now),
        artist_id: claims.user_id.clone(),
        artist_name,
        title,
        album_id: fields.album_id,
        genre,
        tags: fields.tags,
        is_public,
        is_visible: true,
        published_at: is_public.then_some(now),
        duration_ms: info.duration_ms,
        bitrate_kbps: info.bitrate_kbps.map(i64::from),
        sample_rate: info.sample_rate.map(i64::from),
        channels: info.channels.map(i64::from),
        codec: info.codec.to_string(),
        mime: audio.format.mime().to_string(),
        size_bytes: audio.size,
        sha256: audio.sha256.clone(),
        media_id: audio.id.clone(),
        cover_media_id: cover.as_ref().map(|c| c.id.clone()),
        play_count: 0,
        created_at: now,
        updated_at: now,
    };
    let correlation = spindle_shared::events::new_ulid(now);
    store.transaction(|| {
        store.insert_song(&song)?;
        crate::search::index_song(&store, &song.id)?;
        // With an album, `track.published` waits until the album took the song.
        if song.is_public && song.album_id.is_none() {
            events::record_published(&store, &song, &correlation)?;
        }
        Ok(())
    })?;
    if let Some(album_id) = &song.album_id {
        if let Err(problem) = album_link::add(album_id, &song.id, authorization.as_deref()) {
            undo(&store, &song.id, stored);
            crate::cache::invalidate();
            return Err(problem);
        }
        if song.is_public
            && let Err(e) = events::record_published(&store, &song, &correlation)
        {
            eprintln!("track.published of song {}: {e}", song.id);
        }
    }
    // The song stays now, whatever comes next.
    stored.clear();
    crate::cache::invalidate();
    events::flush(&store);
    Ok(json(201, &song.view()))
}

/// Takes back a committed upload the album refused: the song and its search entry go in one
/// transaction (no `track.published` was recorded for it), and its media with them (the
/// caller discards what `stored` still names). Should the database fail here, the media stays
/// with the song it belongs to.
fn undo(store: &Store, song_id: &str, stored: &mut Vec<String>) {
    let deleted = store.transaction(|| {
        store.delete_song(song_id)?;
        crate::search::remove(store, "song", song_id)
    });
    if let Err(e) = deleted {
        eprintln!("undoing the upload of song {song_id}: {e}");
        stored.clear();
    }
}

enum File {
    Audio(Stored<AudioFormat>),
    Image(Stored<ImageFormat>),
}

/// Streams a file field into media storage: sniffed from its first bytes, hashed as it goes.
async fn store_file(
    field: &mut multer::Field<'_>,
    media: &Media,
    stored: &mut Vec<String>,
    name: &str,
) -> Result<File, Problem> {
    let mut head = Vec::new();
    let mut rest_started = false;
    let mut writer = None;
    let mut hasher = Sha256::new();
    loop {
        let chunk = field.chunk().await.map_err(multipart_problem)?;
        let done = chunk.is_none();
        if let Some(chunk) = &chunk {
            hasher.update(chunk);
        }
        if !rest_started {
            if let Some(chunk) = &chunk {
                head.extend_from_slice(chunk);
            }
            if head.len() < SNIFF_BYTES && !done {
                continue;
            }
            rest_started = true;
            let mime = if name == "audio" {
                probe::sniff_audio(&head).map(|f| f.mime())
            } else {
                probe::sniff_image(&head).map(|f| f.mime())
            };
            let Some(mime) = mime else {
                return Err(Problem::new(
                    415,
                    if name == "audio" {
                        "the audio must be MP3, FLAC, Ogg (Vorbis or Opus), M4A/AAC or WAV"
                    } else {
                        "the cover must be JPEG, PNG or WebP"
                    },
                ));
            };
            let mut w = media.create(mime)?;
            stored.push(w.id().to_string());
            w.write(&head)?;
            writer = Some(w);
        } else if let (Some(chunk), Some(w)) = (&chunk, writer.as_mut()) {
            w.write(chunk)?;
        }
        if done {
            break;
        }
    }
    let writer = writer.ok_or_else(|| invalid(name, "is empty"))?;
    let (id, size) = writer.finish()?;
    if size == 0 {
        return Err(invalid(name, "is empty"));
    }
    let sha256: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(if name == "audio" {
        File::Audio(Stored {
            id,
            size,
            sha256,
            format: probe::sniff_audio(&head).expect("sniffed above"),
        })
    } else {
        File::Image(Stored {
            id,
            size,
            sha256,
            format: probe::sniff_image(&head).expect("sniffed above"),
        })
    })
}

fn read_text_field(fields: &mut Fields, name: &str, value: &str) -> Result<(), Problem> {
    let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    match name {
        "title" => {
            if value.chars().count() > 200 {
                return Err(invalid("title", "must be at most 200 characters"));
            }
            fields.title = non_empty(value);
        }
        "albumId" => fields.album_id = non_empty(value),
        "genre" => {
            if value.chars().count() > 64 {
                return Err(invalid("genre", "must be at most 64 characters"));
            }
            fields.genre = non_empty(value);
        }
        "tags" => fields.tags = parse_tags(value)?,
        "isPublic" => {
            fields.is_public = Some(match value {
                "true" | "1" | "on" => true,
                "false" | "0" | "off" => false,
                _ => return Err(invalid("isPublic", "must be true or false")),
            })
        }
        _ => {}
    }
    Ok(())
}

/// Tags: a JSON array of strings or a comma-separated list; at most 20 of at most 32
/// characters, trimmed, lower-cased, without duplicates.
pub fn parse_tags(value: &str) -> Result<Vec<String>, Problem> {
    let raw: Vec<String> = if value.starts_with('[') {
        serde_json::from_str(value)
            .map_err(|_| invalid("tags", "must be a JSON array of strings or comma-separated"))?
    } else {
        value.split(',').map(str::to_string).collect()
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tags.contains(&tag) {
            continue;
        }
        if tag.chars().count() > 32 {
            return Err(invalid("tags", "each tag must be at most 32 characters"));
        }
        tags.push(tag);
    }
    if tags.len() > 20 {
        return Err(invalid("tags", "at most 20 tags"));
    }
    Ok(tags)
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::invalid(vec![Problem::field(field, message)])
}

fn multipart_problem(e: multer::Error) -> Problem {
    match e {
        multer::Error::FieldSizeExceeded { field_name, .. } => Problem::new(
            413,
            format!(
                "the field {} is larger than allowed",
                field_name.unwrap_or_default()
            ),
        ),
        multer::Error::StreamSizeExceeded { .. } => {
            Problem::new(413, "the upload is larger than allowed")
        }
        multer::Error::UnknownField { field_name } => invalid(
            field_name.as_deref().unwrap_or("(unnamed)"),
            "is not a field of an upload",
        ),
        other => Problem::bad_request(format!("malformed multipart body: {other}")),
    }
}
