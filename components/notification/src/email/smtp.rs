//! A small SMTP client (RFC 5321) over `std::net::TcpStream`, which Rust's standard library
//! implements on `wasm32-wasip2` through `wasi:sockets`.
//!
//! One session per email: the `220` greeting, `EHLO` (or `HELO` when `EHLO` is refused),
//! `AUTH PLAIN` when credentials are configured (only if `EHLO` advertised it), `MAIL FROM`,
//! `RCPT TO`, `DATA` (CRLF line endings, dot-stuffed, ended by `.`) and `QUIT`. Any unexpected
//! reply fails the send with the server's reply text.
//!
//! **No TLS**: there is no `STARTTLS` nor implicit TLS, so credentials and messages cross the
//! network in clear. Point `smtp_host` at a relay you trust on a private network — a local
//! Postfix or a sidecar that forwards with TLS to the real provider.
//!
//! In Spin, allow the relay with `allowed_outbound_hosts = ["tcp://HOST:PORT"]`. Spin matches
//! TCP rules against the address the name resolves to, so a rule naming an IP address (or a
//! name resolving to the same address) is what lets the connection through.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine;

use super::{Email, check_address, parse_mailbox, render};

/// An SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender, `addr@domain` or `Name <addr@domain>`: the envelope's `MAIL FROM` and the
    /// message's `From:`.
    pub from: String,
    /// With `password`, log in with `AUTH PLAIN`.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Deadline for connecting, for each reply and for each write.
    pub timeout: Duration,
}

/// The longest reply accepted (RFC 5321 allows 512 bytes a line; extensions lists run longer).
const MAX_REPLY: usize = 64 * 1024;

/// Renders `email` and delivers it through the relay.
pub(super) fn send(config: &SmtpConfig, email: &Email) -> Result<(), String> {
    let message = render(email, &config.from)?;
    let (_, from) = parse_mailbox(&config.from)?;
    deliver(config, from, &email.to, &message)
}

/// One SMTP session delivering `message` from `from` to `to` (bare addresses).
pub(crate) fn deliver(
    config: &SmtpConfig,
    from: &str,
    to: &str,
    message: &[u8],
) -> Result<(), String> {
    check_address(from)?;
    check_address(to)?;
    let credentials = match (&config.username, &config.password) {
        (Some(user), Some(password)) => Some((user.as_str(), password.as_str())),
        (None, None) => None,
        _ => return Err("SMTP: set both smtp_username and smtp_password, or neither".into()),
    };
    let relay = format!("{}:{}", config.host, config.port);
    let mut session = Session::connect(config).map_err(|e| format!("SMTP {relay}: {e}"))?;
    session
        .run(from, to, message, credentials)
        .map_err(|e| format!("SMTP {relay}: {e}"))
}

/// A reply: its code and its lines' text (after the code and separator).
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// The reply as the server wrote it, on one line.
    fn text(&self) -> String {
        self.lines
            .iter()
            .map(|line| format!("{} {line}", self.code))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

struct Session {
    reader: BufReader<TcpStream>,
    timeout: Duration,
}

impl Session {
    fn connect(config: &SmtpConfig) -> Result<Session, String> {
        if config.timeout.is_zero() {
            return Err("the timeout must not be zero".into());
        }
        let addresses = (config.host.as_str(), config.port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {}: {e}", config.host))?;
        let mut last_error = format!("{} resolves to no address", config.host);
        for address in addresses {
            let stream = match TcpStream::connect_timeout(&address, config.timeout) {
                Ok(stream) => stream,
                // Where the target cannot connect with a deadline, connect, then set them.
                Err(e) if e.kind() == ErrorKind::Unsupported => match TcpStream::connect(address) {
                    Ok(stream) => stream,
                    Err(e) => {
                        last_error = format!("connecting to {address}: {e}");
                        continue;
                    }
                },
                Err(e) => {
                    last_error = format!("connecting to {address}: {}", io_error(&e));
                    continue;
                }
            };
            stream
                .set_write_timeout(Some(config.timeout))
                .and_then(|()| stream.set_read_timeout(Some(config.timeout)))
                .map_err(|e| format!("setting timeouts: {e}"))?;
            let _ = stream.set_nodelay(true);
            return Ok(Session {
                reader: BufReader::new(stream),
                timeout: config.timeout,
            });
        }
        Err(last_error)
    }

    fn run(
        &mut self,
        from: &str,
        to: &str,
        message: &[u8],
        credentials: Option<(&str, &str)>,
    ) -> Result<(), String> {
        self.expect("the greeting", &[220])?;

        let helo_name = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
        let extensions = match self.command(&format!("EHLO {helo_name}"))? {
            reply if reply.code == 250 => reply.lines[1..].to_vec(),
            reply if (500..600).contains(&reply.code) => {
                self.command_expect(&format!("HELO {helo_name}"), "HELO", &[250])?;
                Vec::new()
            }
            reply => return Err(unexpected("EHLO", &reply)),
        };

        if let Some((user, password)) = credentials {
            if !offers_auth_plain(&extensions) {
                return Err("credentials are set but the server does not offer AUTH PLAIN".into());
            }
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            // The command carries the password: never echo it in an error.
            self.command_expect(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", &[235])?;
        }

        self.command_expect(&format!("MAIL FROM:<{from}>"), "MAIL FROM", &[250])?;
        self.command_expect(&format!("RCPT TO:<{to}>"), "RCPT TO", &[250, 251])?;
        self.command_expect("DATA", "DATA", &[354])?;
        self.write(&dot_stuff(message))?;
        self.expect("the message", &[250])?;
        // The message is accepted: a failing QUIT changes nothing.
        let _ = self.command("QUIT");
        Ok(())
    }

    /// Sends `line` (without CRLF) and reads the reply.
    fn command(&mut self, line: &str) -> Result<Reply, String> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.read_reply()
    }

    fn command_expect(&mut self, line: &str, name: &str, codes: &[u16]) -> Result<Reply, String> {
        let reply = self.command(line)?;
        if codes.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(unexpected(name, &reply))
        }
    }

    fn expect(&mut self, what: &str, codes: &[u16]) -> Result<Reply, String> {
        let reply = self
            .read_reply()
            .map_err(|e| format!("{e} (awaiting {what})"))?;
        if codes.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(unexpected(what, &reply))
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stream = self.reader.get_mut();
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| format!("writing: {}", io_error(&e)))
    }

    /// One reply, single- or multi-line (`250-first`, `250-…`, `250 last`), within the timeout.
    fn read_reply(&mut self) -> Result<Reply, String> {
        let deadline = Instant::now() + self.timeout;
        let mut lines = Vec::new();
        let mut code = None;
        let mut total = 0;
        loop {
            let line = self.read_line(deadline, &mut total)?;
            let (line_code, last, text) = parse_reply_line(&line)?;
            if *code.get_or_insert(line_code) != line_code {
                return Err(format!("reply lines with different codes: {line:?}"));
            }
            lines.push(text.to_string());
            if last {
                return Ok(Reply {
                    code: line_code,
                    lines,
                });
            }
        }
    }

    /// One line without its line ending, by `deadline`, counting its bytes into `total`.
    fn read_line(&mut self, deadline: Instant, total: &mut usize) -> Result<String, String> {
        let mut line = Vec::new();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(format!("no reply within {:?}", self.timeout));
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(remaining))
                .map_err(|e| format!("setting the read timeout: {e}"))?;
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => {
                    return Err(format!("no reply within {:?}", self.timeout));
                }
                Err(e) => return Err(format!("reading: {e}")),
            };
            if buffer.is_empty() {
                return Err("the server closed the connection".into());
            }
            let (taken, done) = match buffer.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buffer.len(), false),
            };
            line.extend_from_slice(&buffer[..taken]);
            self.reader.consume(taken);
            *total += taken;
            if *total > MAX_REPLY {
                return Err(format!("a reply over {MAX_REPLY} bytes"));
            }
            if done {
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
        }
    }
}

/// `250-text` → (250, false, "text"); `250 text` or `250` → (250, true, …).
fn parse_reply_line(line: &str) -> Result<(u16, bool, &str), String> {
    let bytes = line.as_bytes();
    let valid = bytes.len() >= 3
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && (2..=5).contains(&(bytes[0] - b'0'))
        && matches!(bytes.get(3), None | Some(b' ' | b'-'));
    if !valid {
        return Err(format!("not an SMTP reply: {line:?}"));
    }
    let code = line[..3]
        .parse()
        .map_err(|_| format!("not an SMTP reply: {line:?}"))?;
    let last = bytes.get(3) != Some(&b'-');
    Ok((code, last, line.get(4..).unwrap_or("")))
}

/// Whether the `EHLO` extension lines offer `AUTH` with the `PLAIN` mechanism.
fn offers_auth_plain(extensions: &[String]) -> bool {
    extensions.iter().any(|line| {
        let line = line.trim_start();
        // `AUTH LOGIN PLAIN`, or `AUTH=PLAIN LOGIN` from old servers.
        let (keyword, mechanisms) = line.split_at(line.find([' ', '=']).unwrap_or(line.len()));
        keyword.eq_ignore_ascii_case("AUTH")
            && mechanisms
                .split([' ', '='])
                .any(|m| m.eq_ignore_ascii_case("PLAIN"))
    })
}

/// The message as `DATA` content: CRLF line endings, a `.` doubled at the start of a line, and
/// the terminating `.` line.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 8);
    let body = message.strip_suffix(b"\n").unwrap_or(message);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if !body.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn unexpected(step: &str, reply: &Reply) -> String {
    format!("the server refused {step}: {}", reply.text())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn io_error(e: &std::io::Error) -> String {
    if is_timeout(e) {
        "timed out".into()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    /// What the test SMTP server saw.
    #[derive(Debug, Default)]
    struct Seen {
        commands: Vec<String>,
        data: Vec<u8>,
    }

    /// How the test SMTP server behaves.
    #[derive(Clone)]
    struct Script {
        ehlo: bool,
        auth: bool,
        rcpt_reply: &'static str,
    }

    impl Default for Script {
        fn default() -> Self {
            Script {
                ehlo: true,
                auth: false,
                rcpt_reply: "250 2.1.5 Ok",
            }
        }
    }

    /// A one-session SMTP responder on 127.0.0.1; answers what it saw when the session ends.
    fn responder(script: Script) -> (u16, thread::JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut seen = Seen::default();
            let mut say = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes()).unwrap();
            say("220 test.local ESMTP ready");
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return seen;
                }
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                seen.commands.push(line.clone());
                let verb = line.split([' ', ':']).next().unwrap().to_ascii_uppercase();
                match verb.as_str() {
                    "EHLO" if !script.ehlo => say("502 5.5.2 Command not recognized"),
                    "EHLO" => {
                        say("250-test.local Hello");
                        say("250-SIZE 10240000");
                        if script.auth {
                            say("250-AUTH LOGIN PLAIN");
                        }
                        say("250 8BITMIME");
                    }
                    "HELO" => say("250 test.local"),
                    "AUTH" => say("235 2.7.0 Authentication successful"),
                    "MAIL" => say("250 2.1.0 Ok"),
                    "RCPT" => say(script.rcpt_reply),
                    "DATA" => {
                        say("354 End data with <CR><LF>.<CR><LF>");
                        loop {
                            let mut raw = Vec::new();
                            reader.read_until(b'\n', &mut raw).unwrap();
                            if raw == b".\r\n" || raw.is_empty() {
                                break;
                            }
                            seen.data.extend_from_slice(&raw);
                        }
                        say("250 2.0.0 Ok: queued as 42");
                    }
                    "QUIT" => {
                        say("221 2.0.0 Bye");
                        return seen;
                    }
                    _ => say("500 5.5.1 Unknown command"),
                }
            }
        });
        (port, handle)
    }

    fn config(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "Spindle <noreply@spindle.example>".into(),
            username: None,
            password: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn email() -> Email {
        Email {
            to: "ana@example.org".into(),
            subject: "Hello".into(),
            text: "First line\n.starts with a dot\n..two dots\n.\nlast".into(),
            html: "<p>Hello</p>".into(),
        }
    }

    #[test]
    fn delivers_with_envelope_and_dot_stuffing() {
        let (port, server) = responder(Script::default());
        send(&config(port), &email()).unwrap();
        let seen = server.join().unwrap();
        assert_eq!(
            seen.commands,
            [
                "EHLO spindle.example",
                "MAIL FROM:<noreply@spindle.example>",
                "RCPT TO:<ana@example.org>",
                "DATA",
                "QUIT"
            ]
        );
        let data = String::from_utf8(seen.data).unwrap();
        assert!(!data.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(data.contains("\r\nSubject: Hello\r\n"), "{data}");
        assert!(
            data.contains("\r\nFirst line\r\n..starts with a dot\r\n...two dots\r\n..\r\nlast")
        );
        // Undone dot-stuffing gives back exactly the rendered message (bar its Date/Message-ID).
        let unstuffed: String = data
            .split_inclusive("\r\n")
            .map(|l| l.strip_prefix('.').unwrap_or(l))
            .collect();
        let parsed = mail_parser::MessageParser::default()
            .parse(unstuffed.as_bytes())
            .unwrap();
        assert_eq!(
            parsed.body_text(0).unwrap().replace("\r\n", "\n"),
            email().text
        );
    }

    #[test]
    fn falls_back_to_helo() {
        let (port, server) = responder(Script {
            ehlo: false,
            ..Script::default()
        });
        send(&config(port), &email()).unwrap();
        let seen = server.join().unwrap();
        assert_eq!(
            seen.commands[..2],
            ["EHLO spindle.example", "HELO spindle.example"]
        );
        assert!(seen.commands.contains(&"DATA".to_string()));
    }

    #[test]
    fn rcpt_refused_fails_with_the_reply() {
        let (port, server) = responder(Script {
            rcpt_reply: "550 5.1.1 <ana@example.org>: Recipient address rejected",
            ..Script::default()
        });
        let err = send(&config(port), &email()).unwrap_err();
        assert!(
            err.contains("RCPT TO")
                && err.contains("550 5.1.1 <ana@example.org>: Recipient address rejected"),
            "{err}"
        );
        drop(server.join().unwrap());
    }

    #[test]
    fn auth_plain_when_configured() {
        let (port, server) = responder(Script {
            auth: true,
            ..Script::default()
        });
        let config = SmtpConfig {
            username: Some("mailer".into()),
            password: Some("s3cret".into()),
            ..config(port)
        };
        send(&config, &email()).unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.commands[0], "EHLO spindle.example");
        // base64("\0mailer\0s3cret")
        assert_eq!(seen.commands[1], "AUTH PLAIN AG1haWxlcgBzM2NyZXQ=");
        assert_eq!(seen.commands[2], "MAIL FROM:<noreply@spindle.example>");
    }

    #[test]
    fn no_auth_without_credentials_and_error_when_not_offered() {
        let (port, server) = responder(Script {
            auth: true,
            ..Script::default()
        });
        send(&config(port), &email()).unwrap();
        assert!(
            !server
                .join()
                .unwrap()
                .commands
                .iter()
                .any(|c| c.starts_with("AUTH"))
        );

        let (port, server) = responder(Script::default());
        let config = SmtpConfig {
            username: Some("mailer".into()),
            password: Some("s3cret".into()),
            ..config(port)
        };
        let err = send(&config, &email()).unwrap_err();
        assert!(
            err.contains("does not offer AUTH PLAIN") && !err.contains("s3cret"),
            "{err}"
        );
        drop(server);
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done, wait) = mpsc::channel::<()>();
        let server = thread::spawn(move || {
            let (_stream, _) = listener.accept().unwrap();
            let _ = wait.recv_timeout(Duration::from_secs(10));
        });
        let config = SmtpConfig {
            timeout: Duration::from_millis(300),
            ..config(port)
        };
        let started = Instant::now();
        let err = send(&config, &email()).unwrap_err();
        let took = started.elapsed();
        assert!(err.contains("no reply within"), "{err}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        done.send(()).unwrap();
        server.join().unwrap();
    }

    #[test]
    fn connection_refused_is_an_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = send(&config(port), &email()).unwrap_err();
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }

    #[test]
    fn reply_lines() {
        assert_eq!(
            parse_reply_line("250-SIZE 1").unwrap(),
            (250, false, "SIZE 1")
        );
        assert_eq!(parse_reply_line("250 Ok").unwrap(), (250, true, "Ok"));
        assert_eq!(parse_reply_line("221").unwrap(), (221, true, ""));
        for bad in ["", "25", "hello", "250x", "650 no", "099 no"] {
            assert!(parse_reply_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn auth_advertisements() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(offers_auth_plain(&lines(&["SIZE 1", "AUTH LOGIN PLAIN"])));
        assert!(offers_auth_plain(&lines(&["auth plain"])));
        assert!(offers_auth_plain(&lines(&["AUTH=PLAIN LOGIN"])));
        assert!(!offers_auth_plain(&lines(&["AUTH LOGIN CRAM-MD5"])));
        assert!(!offers_auth_plain(&lines(&["AUTHPLAIN", "SIZE PLAIN"])));
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            dot_stuff(b"a\n.b\r\n..c\nd\r\n"),
            b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b"."), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }
}
