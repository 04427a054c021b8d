//! Component stdout/stderr: appended to `<log_dir>/<component>_stdout.txt` and `_stderr.txt`
//! and, unless quiet, echoed to the host's stderr, as `spin up` does.

use anyhow::{Context, Result};
use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

#[derive(Clone)]
pub struct ComponentLogs {
    pub stdout: LogStream,
    pub stderr: LogStream,
}

impl ComponentLogs {
    pub fn new(log_dir: Option<&Path>, component: &str, follow: bool) -> Result<Self> {
        let open = |stream: &str| -> Result<Option<Arc<File>>> {
            let Some(dir) = log_dir else { return Ok(None) };
            let path = dir.join(format!("{component}_{stream}.txt"));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("failed to open log file {}", path.display()))?;
            Ok(Some(Arc::new(file)))
        };
        Ok(Self {
            stdout: LogStream {
                file: open("stdout")?,
                echo: follow,
            },
            stderr: LogStream {
                file: open("stderr")?,
                echo: follow,
            },
        })
    }
}

/// One of a component's output streams.
#[derive(Clone)]
pub struct LogStream {
    file: Option<Arc<File>>,
    echo: bool,
}

impl LogStream {
    fn write_all(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(file) = &self.file {
            (&**file).write_all(bytes)?;
        }
        if self.echo {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(())
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_all(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::format_err!(e)))
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.write_all(buf).map(|()| buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
