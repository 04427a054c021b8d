//! The HTTP trigger: Spin's router, the `spin-*` request headers, and a fresh instance per
//! request from the component's pre-instantiation.

use crate::app::{App, ComponentRuntime};
use crate::manifest::StaticResponse;
use anyhow::{Context, Result};
use bytes::Bytes;
use http::header::{CONNECTION, HOST, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

/// Every response body this host produces, the guest's and its own.
pub type Body = WasiBody;

/// The address Spin reports for requests that did not come over the network.
const CHAINED_CLIENT_ADDR: &str = "0.0.0.0:0";

pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    loop {
        let (stream, client) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("failed to accept a connection: {e}");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(app.clone(), req, client));
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

async fn handle(
    app: Arc<App>,
    mut req: Request<Incoming>,
    client: SocketAddr,
) -> Result<Response<Body>> {
    strip_forbidden_headers(&mut req);
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
        return Ok(well_known(&app, rest));
    }
    let Some(route) = app.router.route(&path) else {
        return Ok(empty(StatusCode::NOT_FOUND));
    };
    if let Some(fixed) = app.static_responses.get(route.component_id) {
        return Ok(static_response(fixed));
    }
    let component = app
        .component(route.component_id)
        .cloned()
        .context("routed to a component that is not loaded")?;
    set_request_uri(&mut req)?;
    let full_url = format!(
        "http://{}{}",
        req.headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost"),
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut headers = vec![
        ("spin-path-info", route.path_info.clone()),
        ("spin-full-url", full_url),
        ("spin-matched-route", route.based_route.to_string()),
        ("spin-base-path", "/".to_string()),
        ("spin-raw-component-route", route.raw_route.to_string()),
        ("spin-component-route", route.component_route.to_string()),
        ("spin-client-addr", client.to_string()),
    ];
    let params: Vec<(String, String)> = route
        .params
        .iter()
        .map(|(name, value)| {
            (
                format!("spin-path-match-{}", name.to_ascii_lowercase()),
                value.clone(),
            )
        })
        .collect();
    for (name, value) in &params {
        headers.push((name.as_str(), value.clone()));
    }
    append_headers(&mut req, &headers);
    Ok(invoke(&app, &component, req).await)
}

/// Serves a request sent by another component to `http://ID.spin.internal`: straight to the
/// component, as if it had matched `/...`, without touching the network.
pub(crate) async fn chained(
    app: &Arc<App>,
    component_id: &str,
    mut req: Request<Body>,
) -> Option<Response<Body>> {
    let component = app.component(component_id).cloned()?;
    let path = req.uri().path().to_string();
    let full_url = format!(
        "http://localhost{}",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    append_headers(
        &mut req,
        &[
            ("spin-path-info", path),
            ("spin-full-url", full_url),
            ("spin-matched-route", "/...".into()),
            ("spin-base-path", "/".into()),
            ("spin-raw-component-route", "/...".into()),
            ("spin-component-route", String::new()),
            ("spin-client-addr", CHAINED_CLIENT_ADDR.into()),
        ],
    );
    Some(invoke(app, &component, req).await)
}

/// Runs one request through a fresh instance. A guest that traps or never answers gets a 500
/// with an empty body, as in Spin; the host keeps serving.
async fn invoke<B>(
    app: &Arc<App>,
    component: &Arc<ComponentRuntime>,
    req: Request<B>,
) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    let id = component.id.clone();
    match try_invoke(app, component, req).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!("Error handling request in component {id}: {e:?}");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

async fn try_invoke<B>(
    app: &Arc<App>,
    component: &Arc<ComponentRuntime>,
    req: Request<B>,
) -> Result<Response<Body>>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    let proxy = component
        .proxy
        .clone()
        .context("component has no HTTP handler")?;
    let mut store = app.new_store(component, "http")?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let task = tokio::spawn(async move {
        let instance = proxy.instantiate_async(&mut store).await?;
        instance
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await
    });
    match receiver.await {
        Ok(Ok(response)) => {
            // The guest may go on streaming the body; report a trap that happens after the head.
            let id = component.id.clone();
            tokio::spawn(async move {
                if let Ok(Err(e)) = task.await {
                    tracing::error!("component {id} failed after sending its response: {e:?}");
                }
            });
            Ok(response)
        }
        Ok(Err(code)) => Err(anyhow::anyhow!(
            "component answered with error code {code:?}"
        )),
        Err(_) => match task.await {
            Ok(Ok(())) => Err(anyhow::anyhow!(
                "guest never invoked `response-outparam::set` method"
            )),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(e.into()),
        },
    }
}

fn static_response(fixed: &StaticResponse) -> Response<Body> {
    let body = Bytes::from(fixed.body.clone().unwrap_or_default());
    let mut response = Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        StatusCode::from_u16(fixed.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &fixed.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn well_known(app: &App, rest: &str) -> Response<Body> {
    match rest {
        "health" => text(StatusCode::OK, "text/plain", "OK".into()),
        "info" => {
            let info = serde_json::json!({
                "name": app.name,
                "version": app.version,
                "host": concat!("spindle-host ", env!("CARGO_PKG_VERSION")),
            });
            text(
                StatusCode::OK,
                "application/json",
                serde_json::to_string_pretty(&info).unwrap_or_default(),
            )
        }
        _ => empty(StatusCode::NOT_FOUND),
    }
}

/// `Connection` never reaches a guest, nor a `Host` naming a `*.spin.internal` component.
fn strip_forbidden_headers<B>(req: &mut Request<B>) {
    req.headers_mut().remove(CONNECTION);
    let internal = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| crate::outbound_http::chaining_target(h).is_some());
    if internal {
        req.headers_mut().remove(HOST);
    }
}

/// The guest sees an absolute URI: `http://` plus the `Host` header (or the URI's authority).
fn set_request_uri<B>(req: &mut Request<B>) -> Result<()> {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let authority = match (host, req.uri().authority().map(|a| a.to_string())) {
        (Some(h), Some(a)) if h != a => {
            anyhow::bail!("Host header {h} does not match URI authority {a}")
        }
        (Some(h), _) => h,
        (None, Some(a)) => a,
        (None, None) => anyhow::bail!("request has neither a Host header nor an authority"),
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    *req.uri_mut() = format!("http://{authority}{path}")
        .parse()
        .context("invalid request URI")?;
    Ok(())
}

fn append_headers<B, V: AsRef<str>>(req: &mut Request<B>, headers: &[(&str, V)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(*name),
            HeaderValue::from_str(value.as_ref()),
        ) {
            req.headers_mut().append(name, value);
        }
    }
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}
