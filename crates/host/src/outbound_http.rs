//! Outbound HTTP (`wasi:http/outgoing-handler`): `allowed_outbound_hosts` enforced as in Spin,
//! service chaining to `http://ID.spin.internal` served in memory, and relative ("self")
//! requests sent to the app's own listener.

use crate::allowed_hosts::AllowedHosts;
use crate::app::App;
use crate::trigger_http;
use http::header::HOST;
use http_body_util::BodyExt;
use std::future::Future;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
)>;

/// The per-instance outbound HTTP policy.
pub struct OutboundHttp {
    app: Arc<App>,
    allowed: Arc<AllowedHosts>,
    /// The scheme of the request that created the instance, for relative requests.
    inbound_scheme: &'static str,
}

impl OutboundHttp {
    pub fn new(app: Arc<App>, allowed: Arc<AllowedHosts>, inbound_scheme: &'static str) -> Self {
        Self {
            app,
            allowed,
            inbound_scheme,
        }
    }
}

/// `ID.spin.internal` (exactly one label before `.spin.internal`, any port) names component `ID`.
pub fn chaining_target(host: &str) -> Option<&str> {
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let (first, rest) = host.split_once('.')?;
    (rest == "spin.internal" && !first.is_empty()).then_some(first)
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let app = self.app.clone();
        let allowed = self.allowed.clone();
        let scheme = self.inbound_scheme;
        Box::new(send(app, allowed, scheme, request, options))
    }
}

async fn send(
    app: Arc<App>,
    allowed: Arc<AllowedHosts>,
    inbound_scheme: &'static str,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendResult {
    let host = request.uri().host().unwrap_or("").to_string();
    if host.is_empty() || host == "self.alt" {
        if !allowed.allows_self() {
            tracing::warn!(
                "A component tried to make an HTTP request to its own app but it does not have permission."
            );
            return Err(Error::HttpRequestDenied);
        }
        let Some(addr) = app.listen_addr.get() else {
            return Err(Error::HttpRequestUriInvalid);
        };
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        *request.uri_mut() = format!("{inbound_scheme}://{addr}{path}")
            .parse()
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        return send_over_network(request, options).await;
    }

    let url =
        url::Url::parse(&request.uri().to_string()).map_err(|_| Error::HttpRequestUriInvalid)?;
    if !allowed.allows_url(&url) {
        let authority = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let scheme = url.scheme();
        tracing::warn!(
            "A component tried to make an outbound network connection to disallowed destination \
             '{scheme}://{authority}'. To allow this request, add 'allowed_outbound_hosts = \
             [\"{scheme}://{authority}\"]' to the manifest component section."
        );
        return Err(Error::HttpRequestDenied);
    }
    request.headers_mut().remove(HOST);

    if let Some(target) = chaining_target(&host) {
        // Spin traps the caller here; wasi:http gives a hook no way to trap, so the guest gets
        // an error code instead (see the README).
        if !app.http_components.contains(target) {
            return Err(Error::InternalError(Some(format!(
                "service chaining: no component `{target}` with an HTTP trigger"
            ))));
        }
        // The guest's first-byte deadline holds for in-memory calls too: a stuck component
        // must not hang its caller.
        let call = trigger_http::chained(&app, target, request);
        let response = match options.and_then(|o| o.first_byte_timeout) {
            Some(deadline) => tokio::time::timeout(deadline, call)
                .await
                .map_err(|_| Error::ConnectionReadTimeout)?,
            None => call.await,
        }
        .ok_or_else(|| Error::InternalError(Some(format!("component `{target}` is not loaded"))))?;
        return Ok((response, Box::new(async { Ok(()) })));
    }
    send_over_network(request, options).await
}

/// Sends over the network with `Host` set from the URI, as the HTTP client Spin uses does
/// (whatever `Host` the guest's request carried is replaced).
async fn send_over_network(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendResult {
    let host = request
        .uri()
        .authority()
        .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        .ok_or(Error::HttpRequestUriInvalid)?;
    request.headers_mut().insert(HOST, host);
    let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
    Ok((response.map(|body| body.boxed_unsync()), Box::new(io)))
}
