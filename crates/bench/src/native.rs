//! The baseline: a native hyper HTTP/1.1 hello-world server, set up the way the host's HTTP
//! trigger sets up its connections (keep-alive, `TCP_NODELAY`), answering with a body of
//! the same shape and size as the `health` component's `/health`.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const BODY: &[u8] = br#"{"status":"ok","component":"health","version":"0.1.0"}"#;

pub struct NativeServer {
    pub addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl NativeServer {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
                        .await;
                });
            }
        });
        Ok(Self { addr, accept })
    }

    /// Stops accepting; open connections end when their clients close them.
    pub fn stop(self) {
        self.accept.abort();
    }
}

async fn hello(_req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
