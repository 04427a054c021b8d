//! The answer for a file: its type, how long browsers may keep it, its validator, and for the
//! HTML page the security headers that keep the app to its own origin.

use spin_sdk::http::Response;

/// Vite names what it builds under `assets/` after a hash of its content: such a file never
/// changes, so browsers keep it a year without asking. Everything else (`index.html` above
/// all, which names the current assets) is revalidated on every use.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// `bytes` are the file `rel` in `encoding` (None: as it is).
pub fn file(
    rel: &str,
    (bytes, encoding): (Vec<u8>, Option<&str>),
    if_none_match: Option<&str>,
    head: bool,
) -> Response {
    // Each encoding is another representation, so another validator.
    let etag = format!(
        "\"{:016x}{}\"",
        fnv1a(&bytes),
        encoding.map(|e| format!("-{e}")).unwrap_or_default()
    );
    let cache = if rel.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let content_type = content_type(rel);
    let mut builder = Response::builder();
    builder
        .header("content-type", content_type)
        .header("cache-control", cache)
        .header("etag", etag.as_str())
        .header("vary", "accept-encoding")
        .header("x-content-type-options", "nosniff");
    if let Some(encoding) = encoding {
        builder.header("content-encoding", encoding);
    }
    if content_type.starts_with("text/html") {
        builder
            .header("content-security-policy", content_security_policy())
            .header("referrer-policy", "same-origin")
            .header("x-frame-options", "DENY");
    }
    if if_none_match.is_some_and(|tags| matches(tags, &etag)) {
        return builder.status(304).body(Vec::new()).build();
    }
    let length = bytes.len().to_string();
    builder.header("content-length", length.as_str());
    builder
        .status(200)
        .body(if head { Vec::new() } else { bytes })
        .build()
}

/// Whether an `If-None-Match` list holds `etag` (weak comparison, as RFC 9110 asks for it).
fn matches(tags: &str, etag: &str) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

fn content_type(rel: &str) -> &'static str {
    let ext = rel
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Scripts, styles, fetches and images from this origin only. Audio may also come from the
/// object store's public endpoint, where the catalog's presigned S3 URLs point.
fn content_security_policy() -> String {
    let media = ["s3_public_endpoint", "s3_endpoint"]
        .iter()
        .filter_map(|name| spin_sdk::variables::get(name).ok())
        .find(|v| !v.is_empty())
        .and_then(|url| origin(&url))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:{media}; \
         style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// FNV-1a: a content fingerprint for the `ETag`, not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_strong_weak_and_lists() {
        assert!(matches("\"a\"", "\"a\""));
        assert!(matches("W/\"a\"", "\"a\""));
        assert!(matches("\"b\", \"a\"", "\"a\""));
        assert!(matches("*", "\"a\""));
        assert!(!matches("\"b\"", "\"a\""));
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin("http://127.0.0.1:9000/bucket").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            origin("https://s3.example.com").as_deref(),
            Some("https://s3.example.com")
        );
        assert_eq!(origin("nonsense"), None);
    }

    #[test]
    fn hashed_assets_are_typed() {
        assert_eq!(
            content_type("assets/index-B27vhaOW.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("x.unknown"), "application/octet-stream");
    }
}
