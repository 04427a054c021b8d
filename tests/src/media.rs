//! Media for tests and benchmarks of the catalog: the fixtures in `tests/fixtures/media/`,
//! generated WAV files, and `multipart/form-data` bodies built by hand (so a test can send
//! anything, malformed parts included).

use crate::{TestApp, TestResponse, object_keys, repo_root, string_set};
use serde_json::Value;

/// The boundary of every [`Form`].
pub const BOUNDARY: &str = "spindle-test-boundary-7MA4YWxkTrZu0gW";

/// A file of `tests/fixtures/media/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/fixtures/media").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A valid WAV file: 8 kHz mono 16-bit PCM, `ms` long, its samples a pattern that starts at
/// `seed` (so that every seed gives other bytes).
pub fn wav(ms: u32, seed: u8) -> Vec<u8> {
    let (rate, channels, bits) = (8000u32, 1u16, 16u16);
    let block = u32::from(channels) * u32::from(bits) / 8;
    // In u64: 8 kHz × `ms` overflows u32 past about nine minutes.
    let data_len = u32::try_from(u64::from(rate) * u64::from(ms) / 1000 * u64::from(block))
        .expect("a WAV under 4 GiB");
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    // Bytes that differ at every offset modulo 251, so that a slice from the wrong place shows.
    out.extend((0..data_len).map(|i| ((i * 7 + u32::from(seed)) % 251) as u8));
    out
}

pub fn content_type_of(filename: &str) -> &'static str {
    match filename.rsplit('.').next().unwrap_or_default() {
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "opus" => "audio/opus",
        "m4a" => "audio/mp4",
        "wav" => "audio/wav",
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "webp" => "image/webp",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// A `multipart/form-data` body, built by hand so that tests can send anything.
#[derive(Debug, Clone, Default)]
pub struct Form {
    parts: Vec<(String, Option<String>, Vec<u8>)>,
}

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    /// A file part named `field` holding `bytes`, sent as `filename`.
    pub fn file(mut self, field: &str, filename: &str, bytes: Vec<u8>) -> Self {
        self.parts
            .push((field.into(), Some(filename.into()), bytes));
        self
    }

    /// A file part holding the fixture `name`.
    pub fn fixture(self, field: &str, name: &str) -> Self {
        self.file(field, name, fixture(name))
    }

    pub fn text(mut self, field: &str, value: &str) -> Self {
        self.parts
            .push((field.into(), None, value.as_bytes().to_vec()));
        self
    }

    /// The `content-type` header of the body.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, filename, bytes) in &self.parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            match filename {
                Some(filename) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {}\r\n\r\n",
                        content_type_of(filename)
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }
}

/// `POST /api/songs` with `form`, as `token` (anonymous when `None`).
pub async fn upload(app: &TestApp, token: Option<&str>, form: &Form) -> TestResponse {
    let mut request = app
        .request(reqwest::Method::POST, "/api/songs")
        .header("content-type", form.content_type())
        .body(form.encode());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

/// The fields of SongView.
pub const SONG_FIELDS: &[&str] = &[
    "id",
    "title",
    "artistId",
    "artistName",
    "albumId",
    "genre",
    "tags",
    "isPublic",
    "isVisible",
    "durationMs",
    "bitrateKbps",
    "sampleRate",
    "channels",
    "codec",
    "mimeType",
    "sizeBytes",
    "hasCover",
    "playCount",
    "createdAt",
    "updatedAt",
];

#[track_caller]
pub fn assert_song_shape(song: &Value) {
    assert_eq!(
        object_keys(song),
        string_set(SONG_FIELDS),
        "SongView fields: {song}"
    );
    for field in ["id", "title", "artistId", "artistName", "codec", "mimeType"] {
        let text = song[field].as_str();
        assert!(text.is_some_and(|t| !t.is_empty()), "{field}: {song}");
    }
    for field in ["createdAt", "updatedAt"] {
        let text = song[field].as_str().unwrap_or_default();
        assert!(
            text.len() >= 20 && text.contains('T') && text.ends_with('Z'),
            "{field} is an RFC 3339 UTC time: {song}"
        );
    }
    for field in ["albumId", "genre"] {
        assert!(
            song[field].is_null() || song[field].is_string(),
            "{field}: {song}"
        );
    }
    for field in ["bitrateKbps", "sampleRate", "channels"] {
        assert!(
            song[field].is_null() || song[field].is_u64(),
            "{field}: {song}"
        );
    }
    for field in ["durationMs", "sizeBytes", "playCount"] {
        assert!(song[field].is_u64(), "{field}: {song}");
    }
    for field in ["isPublic", "isVisible", "hasCover"] {
        assert!(song[field].is_boolean(), "{field}: {song}");
    }
    let tags = song["tags"].as_array();
    assert!(
        tags.is_some_and(|t| t.iter().all(Value::is_string)),
        "tags: {song}"
    );
}

/// Uploads `form` as `artist`, which must answer 201 with a SongView of theirs: that view.
pub async fn upload_ok(app: &TestApp, artist: &crate::accounts::User, form: &Form) -> Value {
    let response = upload(app, artist.bearer(), form).await;
    assert_eq!(response.status, 201, "upload: {}", response.text());
    let song: Value = response.json();
    assert_song_shape(&song);
    assert_eq!(song["artistId"], artist.id.as_str(), "{song}");
    song
}

/// `GET /api/songs?album=ID&limit=100` (anonymous): the ids of the songs listed, each a
/// SongView on that album.
pub async fn album_song_ids(app: &TestApp, album_id: &str) -> std::collections::BTreeSet<String> {
    let path = format!("/api/songs?album={album_id}&limit=100");
    let response = app.get(&path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    let body: Value = response.json();
    let items = body["items"].as_array().expect("items");
    items.iter().for_each(assert_song_shape);
    assert!(
        items.iter().all(|s| s["albumId"] == album_id),
        "{path}: {body}"
    );
    items
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}
