//! A throwaway `redis-server` for the events suite: loopback only, no persistence, its own
//! temporary directory, killed when dropped (and by the kernel if this process dies first).

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// Holds the log file; removed after the server is gone.
    _dir: TempDir,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// Call it from the main thread: the child is killed when the thread that spawned it exits
    /// (`PR_SET_PDEATHSIG` follows the parent *thread*), which for the main thread means when
    /// the benchmark exits, however it exits.
    pub fn start() -> Result<Self> {
        let binary = binary()?;
        let dir = tempfile::Builder::new()
            .prefix("spindle-bench-redis-")
            .tempdir()?;
        let mut last_error = None;
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..8 {
            let port = free_port()?;
            match spawn(&binary, port, dir.path()) {
                Ok(child) => {
                    return Ok(Self {
                        child: Some(child),
                        port,
                        _dir: dir,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no attempt made")))
            .context("could not start redis-server on a free port")
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .context("`redis-server` is not on PATH: the events suite needs one (scripts/setup.sh installs it)")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Spawns `redis-server` on `port` and waits until *this* server answers: a server that lost
/// the port exits, and someone else's server on it is told apart by its `process_id`.
fn spawn(binary: &Path, port: u16, dir: &Path) -> Result<Child> {
    let log = dir.join(format!("redis-{port}.log"));
    let mut command = Command::new(binary);
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run {}", binary.display()))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("redis-server on port {port} exited ({status}):\n{log}");
        }
        if let Ok(info) = info_server(port) {
            if info.contains(&format!("process_id:{pid}\r\n")) {
                return Ok(child);
            }
            let _ = child.kill();
            let _ = child.wait();
            bail!("port {port} is already served by another Redis");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("redis-server on port {port} did not answer within 10s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `INFO server` in inline syntax; the reply is one bulk string.
fn info_server(port: u16) -> Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"INFO server\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let len: usize = header
        .strip_prefix('$')
        .and_then(|n| n.trim_end().parse().ok())
        .with_context(|| format!("unexpected reply {header:?}"))?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}
