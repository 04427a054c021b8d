//! Finding a request's file under the mount: a safe relative path, the file's bytes, and
//! whether a missing path is a page of the app (served `index.html`) or a missing file.

use spindle_shared::http::percent_decode_path;

/// The request path as a path relative to the mount, percent-decoded; `index.html` for `/`.
/// None for what cannot name a file inside it (`..`, NUL, bad escapes).
pub fn relative_path(path: &str) -> Option<String> {
    let decoded = percent_decode_path(path)?;
    let mut parts = Vec::new();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p if p.contains(['\0', '\\']) => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() || decoded.ends_with('/') {
        parts.push("index.html");
    }
    Some(parts.join("/"))
}

/// The file's bytes, or None when there is no such file (a directory is not one).
pub fn read(rel: &str) -> Option<Vec<u8>> {
    let path = format!("/{rel}");
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => std::fs::read(&path).ok(),
        _ => None,
    }
}

/// The file in the best encoding the client accepts among those the build wrote beside it
/// (`NAME.br`, `NAME.gz`), with that encoding's name; else the file itself, with None.
pub fn read_encoded(
    rel: &str,
    accept_encoding: Option<&str>,
) -> Option<(Vec<u8>, Option<&'static str>)> {
    for (encoding, suffix) in [("br", "br"), ("gzip", "gz")] {
        if accepts(accept_encoding.unwrap_or(""), encoding)
            && let Some(bytes) = read(&format!("{rel}.{suffix}"))
        {
            return Some((bytes, Some(encoding)));
        }
    }
    read(rel).map(|bytes| (bytes, None))
}

/// Whether an `Accept-Encoding` list names `encoding` without `q=0`.
fn accepts(header: &str, encoding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused =
            parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        name.eq_ignore_ascii_case(encoding) && !refused
    })
}

/// A path whose last segment has no extension is one of the app's pages (`/songs/01J…`);
/// one with an extension (`/assets/x.js`, `/cover.png`) is a file that is not there.
pub fn looks_like_page(rel: &str) -> bool {
    let last = rel.rsplit('/').next().unwrap_or(rel);
    !last.contains('.') || last == "index.html"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_inside_the_mount() {
        let cases = [
            ("/", Some("index.html")),
            (
                "/assets/index-B27vhaOW.js",
                Some("assets/index-B27vhaOW.js"),
            ),
            ("/songs/01J/", Some("songs/01J/index.html")),
            ("//favicon.svg", Some("favicon.svg")),
            ("/a%20b.txt", Some("a b.txt")),
            ("/a+b.txt", Some("a+b.txt")),
            ("/../etc/passwd", None),
            ("/assets/%2e%2e/%2e%2e/x", None),
            ("/a%00b", None),
            ("/a%zz", None),
            ("/a%2", None),
            ("/a%5cb", None),
        ];
        for (path, want) in cases {
            assert_eq!(relative_path(path).as_deref(), want, "{path}");
        }
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("GZIP;q=0.5", "gzip"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("br;q=0.0", "br"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "br"));
    }

    #[test]
    fn pages_have_no_extension() {
        assert!(looks_like_page("songs/01JABC"));
        assert!(looks_like_page("index.html"));
        assert!(looks_like_page("playlists"));
        assert!(!looks_like_page("assets/index-abc.js"));
        assert!(!looks_like_page("robots.txt"));
    }
}
