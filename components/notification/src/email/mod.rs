//! Email: bodies from templates, RFC 5322 messages built with `mail-builder`, and delivery.
//!
//! Delivery goes through the first configured [`Transport`]:
//!
//! 1. an SMTP relay over outbound TCP ([`smtp`]; Spin's `wasi:sockets`, allowed by a
//!    `tcp://HOST:PORT` entry in `allowed_outbound_hosts` — Spin matches TCP rules against the
//!    *resolved* address, so allow the relay's IP address or a name that resolves to it);
//! 2. an HTTP email API ([`http_api`]): a JSON `POST` to a configurable URL;
//! 3. neither (a fresh checkout): [`Transport::DevOutbox`], which writes the email to the
//!    component's log; the caller keeps it in the dev outbox (an [`Email`] is `Serialize`).

mod http_api;
mod smtp;
mod templates;

use serde::{Deserialize, Serialize};

pub use http_api::HttpApiConfig;
pub use smtp::SmtpConfig;
pub use templates::{new_release, one_time_code, playlist_shared, welcome};

/// One email to one recipient: the subject and the same facts as plain text and as HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What the templates say about the product: its name and where the web app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The product name, `Spindle`.
    pub product: String,
    /// The web app's base URL, e.g. `http://127.0.0.1:3000` (a trailing `/` is ignored).
    pub web_url: String,
}

/// How emails leave the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Smtp(SmtpConfig),
    HttpApi(HttpApiConfig),
    /// Nothing configured: [`Transport::send`] logs the email; the caller keeps it in the outbox.
    DevOutbox,
}

impl Transport {
    /// Sends one email. `Err(message)` on any failure (the caller retries the event later).
    /// [`Transport::DevOutbox`] writes the email to the component's log and answers `Ok`.
    pub fn send(&self, email: &Email) -> Result<(), String> {
        check_address(&email.to).map_err(|e| format!("recipient: {e}"))?;
        match self {
            Transport::Smtp(config) => smtp::send(config, email),
            Transport::HttpApi(config) => http_api::send(config, email),
            Transport::DevOutbox => {
                eprintln!("{}", dev_outbox_log(email));
                Ok(())
            }
        }
    }
}

/// The log entry for an email kept in the dev outbox.
fn dev_outbox_log(email: &Email) -> String {
    format!(
        "email (dev outbox, no SMTP relay or email API configured)\nTo: {}\nSubject: {}\n\n{}",
        email.to, email.subject, email.text
    )
}

/// An RFC 5322 message (`multipart/alternative`: text, then HTML) with `From: from`,
/// `To`, `Subject`, `Message-ID` (at the sender's domain), `Date` and `MIME-Version`, built with
/// `mail-builder`. `from` is `addr@domain` or `Name <addr@domain>`.
pub fn render(email: &Email, from: &str) -> Result<Vec<u8>, String> {
    use mail_builder::MessageBuilder;
    use mail_builder::headers::address::Address;
    use mail_builder::headers::date::Date;
    use mail_builder::mime::make_boundary;

    let (name, address) = parse_mailbox(from)?;
    check_address(&email.to).map_err(|e| format!("recipient: {e}"))?;
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let sender = Address::new_address(name, address);
    MessageBuilder::new()
        .from(sender)
        .to(email.to.as_str())
        .subject(single_line(&email.subject))
        .message_id(format!("{}@{domain}", make_boundary(".")))
        .date(Date::now())
        .text_body(email.text.as_str())
        .html_body(email.html.as_str())
        .write_to_vec()
        .map_err(|e| format!("building the message: {e}"))
}

/// Splits `Name <addr>` or `addr` into the display name and the checked address.
pub(crate) fn parse_mailbox(mailbox: &str) -> Result<(Option<&str>, &str), String> {
    let mailbox = mailbox.trim();
    let (name, address) = match mailbox.strip_suffix('>').and_then(|m| m.rsplit_once('<')) {
        Some((name, address)) => {
            let name = name.trim().trim_matches('"').trim();
            ((!name.is_empty()).then_some(name), address.trim())
        }
        None => (None, mailbox),
    };
    check_address(address).map_err(|e| format!("sender {mailbox:?}: {e}"))?;
    Ok((name, address))
}

/// A bare `local@domain` safe to put in a header and in an SMTP command: no spaces, controls or
/// angle brackets (which would let a value inject commands or headers).
pub(crate) fn check_address(address: &str) -> Result<(), String> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';');
    match address.rsplit_once('@') {
        _ if address.chars().any(bad) => Err(format!("{address:?} is not an email address")),
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => Err(format!("{address:?} is not an email address")),
    }
}

/// `text` with every control character (line breaks included) replaced by a space.
pub(crate) fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn sample() -> Email {
        Email {
            to: "ana@example.org".into(),
            subject: "Welcome to Spindle, Ana Lúcia".into(),
            text: "Hi Ana Lúcia,\n.\n.hidden line\nOpen http://127.0.0.1:3000/\n".into(),
            html: "<p>Hi Ana L&#250;cia, <a href=\"http://127.0.0.1:3000/\">open</a></p>".into(),
        }
    }

    #[test]
    fn dev_outbox_accepts_and_logs() {
        assert_eq!(Transport::DevOutbox.send(&sample()), Ok(()));
        let log = dev_outbox_log(&sample());
        assert!(log.contains("To: ana@example.org") && log.contains("Open http://127.0.0.1:3000/"));
        let bad = Email {
            to: "ana@example.org\r\nRCPT TO:<x@y>".into(),
            ..sample()
        };
        assert!(Transport::DevOutbox.send(&bad).is_err());
    }

    #[test]
    fn mailboxes() {
        assert_eq!(parse_mailbox("a@b.c"), Ok((None, "a@b.c")));
        assert_eq!(
            parse_mailbox(" \"Spindle\" <noreply@b.c> "),
            Ok((Some("Spindle"), "noreply@b.c"))
        );
        assert_eq!(parse_mailbox("<noreply@b.c>"), Ok((None, "noreply@b.c")));
        for bad in [
            "",
            "nobody",
            "@b.c",
            "a@",
            "a b@c.d",
            "a@b.c>x",
            "a@b.c\r\nDATA",
        ] {
            assert!(parse_mailbox(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn render_builds_a_multipart_alternative_message_that_parses_back() {
        let email = sample();
        let raw = render(&email, "Spindle <noreply@spindle.example>").unwrap();
        assert!(raw.is_ascii(), "7-bit clean, no 8BITMIME needed");
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "CRLF line endings only"
        );
        let headers = &text[..text.find("\r\n\r\n").unwrap()];
        for name in [
            "From: ",
            "To: ",
            "Subject: ",
            "Message-ID: <",
            "Date: ",
            "MIME-Version: 1.0",
        ] {
            assert!(headers.contains(name), "{name} in {headers}");
        }
        assert!(headers.contains("@spindle.example>"), "{headers}");
        assert!(text.contains("multipart/alternative"));

        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some(email.subject.as_str()));
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Spindle"));
        assert_eq!(from.address(), Some("noreply@spindle.example"));
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address(),
            Some("ana@example.org")
        );
        assert!(parsed.message_id().unwrap().ends_with("@spindle.example"));
        assert!(parsed.date().is_some());
        assert_eq!(parsed.text_body_count(), 1);
        assert_eq!(parsed.html_body_count(), 1);
        assert_eq!(
            parsed.body_text(0).unwrap().replace("\r\n", "\n"),
            email.text
        );
        assert_eq!(parsed.body_html(0).unwrap().trim_end(), email.html);
    }

    #[test]
    fn render_keeps_the_subject_on_one_line() {
        let email = Email {
            subject: "Hi\r\nBcc: victim@example.org".into(),
            ..sample()
        };
        let raw = String::from_utf8(render(&email, "noreply@b.c").unwrap()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(render(&email, "not an address").is_err());
    }
}
