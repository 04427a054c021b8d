//! JSON in and out of components, with the limits and errors every route shares.

use crate::problem::{CONTENT_TYPE as PROBLEM_JSON, Problem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::http::{IntoResponse, Request, Response};

/// The default limit for a JSON request body.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .build(),
        Err(e) => Problem::internal(format!("failed to encode the response: {e}")).into_response(),
    }
}

/// Parses a JSON request body: 415 for another content type, 413 past `limit` bytes, 400 for
/// malformed JSON, 422 for JSON of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, Problem> {
    if content_type_essence(req) != "application/json" {
        return Err(Problem::unsupported_media_type("application/json"));
    }
    let body = req.body();
    if body.len() > limit {
        return Err(Problem::payload_too_large(limit));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("malformed JSON: {e}")))?;
    // Serde reads a struct from an array too; every Spindle body is an object.
    if !value.is_object() {
        return Err(Problem::invalid(vec![Problem::field(
            "body",
            "must be a JSON object",
        )]));
    }
    serde_json::from_value(value)
        .map_err(|e| Problem::invalid(vec![Problem::field("body", e.to_string())]))
}

/// A route's answer: the response `f` makes, or its problem.
pub fn respond(f: impl FnOnce() -> Result<Response, Problem>) -> Response {
    f().unwrap_or_else(IntoResponse::into_response)
}

/// The media type of the request body without its parameters, lower-cased (`""` when none).
pub fn content_type_essence(req: &Request) -> String {
    req.header("content-type")
        .and_then(|h| h.as_str())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The SDK router answers unmatched routes with plain-text 404/405; Spindle's API answers every
/// error as problem+json.
pub fn problem_fallback(response: Response) -> Response {
    let status = *response.status();
    let is_problem = response
        .header("content-type")
        .and_then(|h| h.as_str())
        .is_some_and(|c| c.starts_with(PROBLEM_JSON));
    match status {
        404 if !is_problem => Problem::not_found("no such route").into_response(),
        405 if !is_problem => Problem::method_not_allowed().into_response(),
        _ => response,
    }
}

/// `GET url` with a deadline for connecting, the first byte and every later byte: the SDK's
/// `send` has none, and a health check must not hang on a stuck service. Answers the status
/// and body (at most 1 MiB).
pub fn get_with_timeout(url: &str, timeout: std::time::Duration) -> Result<(u16, Vec<u8>), String> {
    let (status, body) = send_with_timeout("GET", url, &[], &[], timeout, 1 << 20)?;
    Ok((status, body))
}

/// An outbound request with a deadline for connecting, the first byte and every later byte,
/// through `wasi:http` directly (the SDK's `send` takes no request options). Answers the
/// status and at most `max_body` bytes of the body; blocks until then.
pub fn send_with_timeout(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
    max_body: usize,
) -> Result<(u16, Vec<u8>), String> {
    let reply = send(method, url, headers, body, timeout, max_body)?;
    Ok((reply.status, reply.body))
}

/// What [`send`] answers: the status, the headers (names lower-cased) and the body read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Like [`send_with_timeout`], answering the response headers too. A `PUT` or `POST` carries an
/// explicit `content-length` (object stores refuse chunked uploads).
pub fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
    max_body: usize,
) -> Result<Reply, String> {
    start(method, url, headers, body, timeout)?.finish(max_body)
}

/// One outbound request to make: see [`send_all`].
pub struct Outbound<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Sends every request at once and waits for all of them: the answers in the same order
/// (each as [`send`] answers it).
pub fn send_all(
    requests: &[Outbound<'_>],
    timeout: std::time::Duration,
    max_body: usize,
) -> Vec<Result<Reply, String>> {
    let started: Vec<_> = requests
        .iter()
        .map(|r| start(r.method, r.url, r.headers, r.body, timeout))
        .collect();
    started
        .into_iter()
        .map(|pending| pending.and_then(|p| p.finish(max_body)))
        .collect()
}

/// A request sent whose response has not been read yet.
struct Pending(spin_sdk::wit::wasi::http0_2_0::types::FutureIncomingResponse);

/// Sends a request (its body written in full) without waiting for the response.
fn start(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
) -> Result<Pending, String> {
    use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
    use spin_sdk::wit::wasi::http0_2_0::types::{
        Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
    };

    let (https, authority, path) = split_url(url)?;
    let mut fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let has_length = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    if matches!(method, "PUT" | "POST") && !has_length {
        fields.push((
            "content-length".to_string(),
            body.len().to_string().into_bytes(),
        ));
    }
    let fields = Fields::from_list(&fields).map_err(|e| format!("invalid header: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_string()),
    };
    let scheme = if https { Scheme::Https } else { Scheme::Http };
    let built = request.set_method(&method).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(&path)).is_ok();
    if !built {
        return Err(format!("invalid URL {url:?}"));
    }
    let options = RequestOptions::new();
    let nanos = Some(timeout.as_nanos().min(u64::MAX as u128) as u64);
    let _ = options.set_connect_timeout(nanos);
    let _ = options.set_first_byte_timeout(nanos);
    let _ = options.set_between_bytes_timeout(nanos);

    let outgoing_body = request.body().map_err(|()| "request body taken twice")?;
    let pending = outgoing_handler::handle(request, Some(options)).map_err(|e| format!("{e:?}"))?;
    {
        let stream = outgoing_body
            .write()
            .map_err(|()| "request body stream taken twice")?;
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("writing the request body: {e:?}"))?;
        }
    }
    OutgoingBody::finish(outgoing_body, None).map_err(|e| format!("{e:?}"))?;
    Ok(Pending(pending))
}

impl Pending {
    /// Waits for the response and reads at most `max_body` bytes of its body.
    fn finish(self, max_body: usize) -> Result<Reply, String> {
        let pending = self.0;
        let response = loop {
            if let Some(result) = pending.get() {
                break result
                    .map_err(|()| "response taken twice".to_string())?
                    .map_err(|e| format!("{e:?}"))?;
            }
            pending.subscribe().block();
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let incoming = response.consume().map_err(|()| "response has no body")?;
        let stream = incoming
            .stream()
            .map_err(|()| "response body has no stream")?;
        let mut bytes = Vec::new();
        while bytes.len() < max_body {
            match stream.blocking_read((max_body - bytes.len()) as u64) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(e) => return Err(format!("reading the body: {e:?}")),
            }
        }
        Ok(Reply {
            status,
            headers,
            body: bytes,
        })
    }
}

/// Splits an absolute URL into (https?, authority, path and query).
pub fn split_url(url: &str) -> Result<(bool, &str, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(format!("{url:?} is not an http or https URL")),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Ok((https, authority, path))
}

/// The `key=value` pairs of a query string (or form body), percent-decoded; 400 for a broken
/// escape or a value that is not UTF-8.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, Problem> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(key), percent_decode(value)) {
                (Some(key), Some(value)) => Ok((key, value)),
                _ => Err(Problem::bad_request(format!(
                    "the query parameter {key:?} is not valid percent-encoded UTF-8"
                ))),
            }
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (a space, as in forms); `None` for a broken escape or bytes
/// that are not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    decode(value, true)
}

/// Decodes the `%XX` escapes of a URL path, where `+` is itself; `None` as
/// [`percent_decode`].
pub fn percent_decode_path(path: &str) -> Option<String> {
    decode(path, false)
}

fn decode(value: &str, plus_is_space: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                // Two hex digits: `from_str_radix` alone would also take a sign (`%+5`).
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a query value.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `key=value&...`, percent-encoded (a query string or a form body).
pub fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            split_url("https://api.mail.example/v1/send?x=1").unwrap(),
            (true, "api.mail.example", "/v1/send?x=1".into())
        );
        assert_eq!(
            split_url("http://127.0.0.1:8025").unwrap(),
            (false, "127.0.0.1:8025", "/".into())
        );
        assert_eq!(
            split_url("HTTP://h/p#frag").unwrap(),
            (false, "h", "/p".into())
        );
        assert_eq!(split_url("http://h?q").unwrap(), (false, "h", "/?q".into()));
        for bad in ["ftp://h/", "h/p", "http:///p", "http://"] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_values_round_trip_through_percent_encoding() {
        let value = "a b&c=d/é~";
        let encoded = encode_pairs(&[("k", value), ("x", "")]);
        assert_eq!(encoded, "k=a%20b%26c%3Dd%2F%C3%A9~&x=");
        let pairs = query_pairs(&encoded).unwrap();
        assert_eq!(
            pairs,
            vec![("k".into(), value.into()), ("x".into(), "".into())]
        );
        assert_eq!(percent_decode("a+b%2b").as_deref(), Some("a b+"));
        assert_eq!(percent_decode_path("a+b%2B").as_deref(), Some("a+b+"));
        for bad in ["%", "%4", "%zz", "%ff", "%+5", "%-1"] {
            assert!(percent_decode(bad).is_none(), "{bad}");
            assert!(percent_decode_path(bad).is_none(), "{bad}");
            assert_eq!(query_pairs(&format!("k={bad}")).unwrap_err().status, 400);
        }
    }
}
