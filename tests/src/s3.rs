//! A real S3-compatible server for the tests: moto's (`moto_server`, from PyPI, installed by
//! `scripts/setup.sh` into a virtualenv under `~/.cache/spindle/moto`) on a free loopback port.
//!
//! ```no_run
//! let s3 = spindle_tests::s3::S3Server::start().unwrap();
//! s3.create_bucket("media");
//! assert!(s3.objects("media").is_empty());
//! ```
//!
//! moto accepts any credentials and does not check signatures: what the tests learn from it
//! is that the component speaks S3 (paths, multipart uploads, ranges, presigned URLs).

use super::{TEST_COMMAND, die_with_this_thread, free_port, tail};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `moto_server` in the virtualenv `scripts/setup.sh` makes (keep the two paths equal).
pub fn moto_server_binary() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache.join("spindle/moto/bin/moto_server")
}

/// moto's S3 server on `127.0.0.1:<free port>`, in memory. Killed on drop and, through
/// `PR_SET_PDEATHSIG`, when the thread that started it exits (start it from the test's own
/// thread, as [`RedisServer`](crate::RedisServer)).
pub struct S3Server {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl S3Server {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Result<Self> {
        let binary = moto_server_binary();
        if !binary.is_file() {
            bail!(
                "{} is missing: the S3 tests need moto's server; run {TEST_COMMAND} (its \
                 scripts/setup.sh installs it)",
                binary.display()
            );
        }
        let dir = tempfile::Builder::new().prefix("spindle-s3-").tempdir()?;
        let mut last_error = None;
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..8 {
            let port = free_port()?;
            match spawn_moto(&binary, port, &dir) {
                Ok(child) => {
                    return Ok(Self { child, port, dir });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap()).context("could not start moto_server on a free port")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the value for `s3_endpoint` (and `s3_origin`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket; panics if the server refuses.
    pub fn create_bucket(&self, name: &str) {
        let (status, body) = self
            .request("PUT", &format!("/{name}"))
            .unwrap_or_else(|e| panic!("creating bucket {name}: {e:?}"));
        assert_eq!(status, 200, "creating bucket {name}: {body}");
    }

    /// The keys of every object in `bucket` (sorted).
    pub fn objects(&self, bucket: &str) -> Vec<String> {
        self.list(&format!("/{bucket}?list-type=2&max-keys=1000"), "Key")
    }

    /// The `ETag` of an object (a multipart upload's ends in `-<parts>`); `None` if absent.
    pub fn etag(&self, bucket: &str, key: &str) -> Option<String> {
        let (status, body) = self
            .request("GET", &format!("/{bucket}?list-type=2&max-keys=1000"))
            .unwrap_or_else(|e| panic!("listing {bucket}: {e:?}"));
        assert_eq!(status, 200, "listing {bucket}: {body}");
        body.split("<Contents>")
            .skip(1)
            .find(|entry| entry.contains(&format!("<Key>{key}</Key>")))
            .and_then(|entry| entry.split_once("<ETag>"))
            .and_then(|(_, rest)| rest.split_once("</ETag>"))
            .map(|(etag, _)| etag.replace("&#34;", "\"").replace("&quot;", "\""))
    }

    /// The requests the server logged so far, one line each (`"PUT /bucket/key?... HTTP/1.1"
    /// 200`): how tests see multipart uploads begun and aborted.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(format!("moto-{}.err", self.port)))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("HTTP/1."))
            .map(str::to_string)
            .collect()
    }

    /// The keys of the multipart uploads begun in `bucket` and neither completed nor aborted.
    pub fn pending_uploads(&self, bucket: &str) -> Vec<String> {
        self.list(&format!("/{bucket}?uploads"), "Key")
    }

    fn list(&self, path: &str, element: &str) -> Vec<String> {
        let (status, body) = self
            .request("GET", path)
            .unwrap_or_else(|e| panic!("GET {path}: {e:?}"));
        assert_eq!(status, 200, "GET {path}: {body}");
        let (open, close) = (format!("<{element}>"), format!("</{element}>"));
        let mut keys: Vec<String> = body
            .split(&open)
            .skip(1)
            .filter_map(|rest| rest.split_once(&close).map(|(key, _)| key.to_string()))
            .collect();
        keys.sort();
        keys
    }

    /// One plain HTTP/1.1 request without a body; answers the status and body.
    fn request(&self, method: &str, path: &str) -> Result<(u16, String)> {
        http_request(self.port, method, path)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_moto(binary: &std::path::Path, port: u16, dir: &TempDir) -> Result<Child> {
    let log = dir.path().join(format!("moto-{port}.log"));
    let mut command = Command::new(binary);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(
            dir.path().join(format!("moto-{port}.err")),
        )?);
    die_with_this_thread(&mut command);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run {}", binary.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            let err = std::fs::read_to_string(dir.path().join(format!("moto-{port}.err")))
                .unwrap_or_default();
            bail!(
                "moto_server on port {port} exited ({status}):\n{}",
                tail(&err, 20)
            );
        }
        // moto answers ListBuckets at `/`.
        if let Ok((200, body)) = http_request(port, "GET", "/")
            && body.contains("ListAllMyBucketsResult")
        {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("moto_server on port {port} did not answer within 30s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_request(port: u16, method: &str, path: &str) -> Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {}", tail(&text, 5)))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
