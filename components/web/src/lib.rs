//! `web`: serves the web player, the files Vite built into `web/dist`, which spin.toml mounts
//! at `/` of this component. It takes every path no other component claims (`/...`).
//!
//! | request                          | answer                                                     |
//! |----------------------------------|------------------------------------------------------------|
//! | `GET, HEAD /assets/NAME-HASH.ext`| the file; `Cache-Control: public, max-age=31536000, immutable` |
//! | `GET, HEAD /a/file.ext`          | the file; `Cache-Control: no-cache`, `ETag`, 304             |
//! | `GET, HEAD /any/page`            | `index.html` (the app routes in the browser)               |
//! | `/api/...` no component has      | a problem `404`                                            |
//! | a path with a dot, not there     | a problem `404`                                            |
//! | another method                   | a problem `405`                                            |
//!
//! Text files come Brotli- or gzip-encoded when the client accepts it and the build wrote
//! `NAME.br` / `NAME.gz` beside them (`web/scripts/compress.mjs`), with `Vary: Accept-Encoding`.

mod files;
mod headers;

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spindle_shared::problem::Problem;

#[http_component]
fn handle(req: Request) -> Response {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Problem::method_not_allowed().into_response();
    }
    let head = matches!(req.method(), Method::Head);
    let path = req.path();
    // Paths of the API and the platform are never pages: a client asking for one that no
    // component serves gets the API's own kind of 404, not the app's HTML.
    if ["/api/", "/health", "/.well-known/"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return Problem::not_found("no such route").into_response();
    }
    let Some(rel) = files::relative_path(path) else {
        return Problem::bad_request("the path is not a file name").into_response();
    };
    let if_none_match = req.header("if-none-match").and_then(|h| h.as_str());
    let accept_encoding = req.header("accept-encoding").and_then(|h| h.as_str());
    match files::read_encoded(&rel, accept_encoding) {
        Some(file) => headers::file(&rel, file, if_none_match, head),
        None if files::looks_like_page(&rel) => {
            match files::read_encoded("index.html", accept_encoding) {
                Some(file) => headers::file("index.html", file, if_none_match, head),
                None => Problem::new(
                    503,
                    "the web player is not built (run `cd web && npm ci && npm run build`)",
                )
                .into_response(),
            }
        }
        None => Problem::not_found("no such file").into_response(),
    }
}
