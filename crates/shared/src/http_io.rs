//! For components that take `wasi:http` requests themselves (`#[http_component] async fn
//! handle(IncomingRequest, ResponseOutparam)`), so a body past a limit is refused as it streams
//! in rather than after the SDK read all of it: streamed routes read and write bodies chunk by
//! chunk, every other route goes through the SDK router with its body read into memory (at
//! most a limit, see [`buffered`]).

use crate::Problem;
use futures::{SinkExt, StreamExt};
use spin_sdk::http::{
    Fields, IncomingRequest, IntoResponse, OutgoingResponse, Request, Response, ResponseOutparam,
    Router,
};

/// The largest body a non-streaming route reads (its own limit, such as 64 KiB for JSON, is
/// checked after).
pub const MAX_BUFFERED_BODY: usize = 1 << 20;

/// A component's usual handling: the body read up to `limit` (413 past it), the answer of
/// `router` (its own 404 and 405 made problem+json), sent.
pub async fn serve(
    req: IncomingRequest,
    out: ResponseOutparam,
    limit: usize,
    router: impl FnOnce() -> Router,
) {
    let response = match buffered(req, limit).await {
        Ok(request) => crate::http::problem_fallback(router().handle(request)),
        Err(problem) => problem.into_response(),
    };
    send(out, response).await
}

/// The request with its body read, or 413 past `limit`.
pub async fn buffered(req: IncomingRequest, limit: usize) -> Result<Request, Problem> {
    let method = req.method();
    let uri = req.uri();
    let headers = req.headers().entries();
    let mut body = Vec::new();
    let mut stream = req.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Problem::bad_request(format!("reading the body: {e:?}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Problem::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    let mut builder = Request::builder();
    builder.method(method).uri(uri);
    for (name, value) in headers {
        builder.header(name, String::from_utf8_lossy(&value).into_owned());
    }
    Ok(builder.body(body).build())
}

/// The request's method, target and headers, without its body (for checks before reading it).
pub fn head_only(req: &IncomingRequest) -> Request {
    let mut builder = Request::builder();
    builder
        .method(req.method())
        .uri(req.path_with_query().unwrap_or_default());
    for (name, value) in req.headers().entries() {
        builder.header(name, String::from_utf8_lossy(&value).into_owned());
    }
    builder.build()
}

/// A header of an incoming request, as text.
pub fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Sends a whole response.
pub async fn send(out: ResponseOutparam, response: Response) {
    let (head, body) = start(response);
    let mut sink = head.take_body();
    out.set(head);
    if !body.is_empty()
        && let Err(e) = sink.send(body).await
    {
        eprintln!("sending the response body: {e:?}");
    }
}

/// An outgoing response with the status and headers of `response`, and its body apart.
pub fn start(response: Response) -> (OutgoingResponse, Vec<u8>) {
    let status = *response.status();
    let headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(status);
    (outgoing, response.into_body())
}
