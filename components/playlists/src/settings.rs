//! The owner-set fields of a playlist or an album — `title`, `description`, `isPublic` and a
//! cover image — read from a JSON body or from `multipart/form-data` (the cover as a file
//! field, JPEG, PNG or WebP by its bytes).

use bytes::Bytes;
use serde_json::{Map, Value};
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::http::MAX_JSON_BODY;
use spindle_shared::images::sniff_image;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_COVER_BYTES: usize = 2 << 20;
/// The largest multipart body: a cover and its fields.
pub const MAX_FORM_BODY: usize = MAX_COVER_BYTES + 64 * 1024;

/// What a create or a PATCH asks to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct Settings {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
    pub cover: Option<Cover>,
}

pub enum Cover {
    Set { mime: &'static str, bytes: Vec<u8> },
    Remove,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.is_public.is_none()
            && self.cover.is_none()
    }
}

/// Reads the settings from `req`: JSON or multipart, else 415.
pub fn read(req: &Request) -> Result<Settings, Problem> {
    match spindle_shared::http::content_type_essence(req).as_str() {
        "application/json" => from_json(spindle_shared::http::parse_json(req, MAX_JSON_BODY)?),
        "multipart/form-data" => {
            let content_type = req.header("content-type").and_then(|h| h.as_str());
            from_form(content_type.unwrap_or_default(), req.body())
        }
        _ => Err(Problem::unsupported_media_type(
            "application/json or multipart/form-data",
        )),
    }
}

fn from_json(body: Map<String, Value>) -> Result<Settings, Problem> {
    let mut settings = Settings::default();
    let mut errors = Vec::new();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("title", Value::String(t)) => settings.title = Some(t),
            ("description", Value::String(d)) => settings.description = Some(Some(d)),
            ("description", Value::Null) => settings.description = Some(None),
            ("isPublic", Value::Bool(b)) => settings.is_public = Some(b),
            ("removeCover", Value::Bool(true)) => settings.cover = Some(Cover::Remove),
            ("removeCover", Value::Bool(false)) => {}
            ("title" | "description" | "isPublic" | "removeCover", _) => {
                errors.push(Problem::field(&key, "has the wrong type"))
            }
            _ => errors.push(Problem::field(&key, "is not a field of this resource")),
        }
    }
    check(settings, errors)
}

fn from_form(content_type: &str, body: &[u8]) -> Result<Settings, Problem> {
    if body.len() > MAX_FORM_BODY {
        return Err(Problem::payload_too_large(MAX_FORM_BODY));
    }
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| Problem::bad_request(format!("multipart body: {e}")))?;
    let owned = Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(owned) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut settings = Settings::default();
    let mut errors = Vec::new();
    // The whole body is in memory, so every future here is ready at once.
    futures::executor::block_on(async {
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| Problem::bad_request(format!("multipart body: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| Problem::bad_request(format!("multipart body: {e}")))?;
            if name == "cover" {
                if bytes.len() > MAX_COVER_BYTES {
                    return Err(Problem::payload_too_large(MAX_COVER_BYTES));
                }
                let Some(format) = sniff_image(&bytes) else {
                    return Err(Problem::unsupported_media_type(
                        "a JPEG, PNG or WebP cover image",
                    ));
                };
                settings.cover = Some(Cover::Set {
                    mime: format.mime(),
                    bytes: bytes.to_vec(),
                });
                continue;
            }
            let Ok(value) = String::from_utf8(bytes.to_vec()) else {
                errors.push(Problem::field(&name, "must be UTF-8 text"));
                continue;
            };
            match name.as_str() {
                "title" => settings.title = Some(value),
                "description" if value.is_empty() => settings.description = Some(None),
                "description" => settings.description = Some(Some(value)),
                "isPublic" => match value.trim() {
                    "true" => settings.is_public = Some(true),
                    "false" => settings.is_public = Some(false),
                    _ => errors.push(Problem::field("isPublic", "must be true or false")),
                },
                "removeCover" => match value.trim() {
                    "true" => settings.cover = Some(Cover::Remove),
                    "false" => {}
                    _ => errors.push(Problem::field("removeCover", "must be true or false")),
                },
                _ => errors.push(Problem::field(&name, "is not a field of this resource")),
            }
        }
        Ok(())
    })?;
    check(settings, errors)
}

/// Trims and checks lengths.
fn check(
    mut settings: Settings,
    mut errors: Vec<spindle_shared::problem::FieldError>,
) -> Result<Settings, Problem> {
    if let Some(title) = &settings.title {
        let title = title.trim().to_string();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            errors.push(Problem::field(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
        settings.title = Some(title);
    }
    if let Some(Some(description)) = &settings.description {
        let description = description.trim().to_string();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.push(Problem::field(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        settings.description = Some((!description.is_empty()).then_some(description));
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(Problem::invalid(errors))
    }
}
