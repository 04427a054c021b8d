//! The emails Spindle sends, each as plain text and HTML carrying the same facts, the product
//! name and a link to the web app.
//!
//! Every template is a list of [`Block`]s written once: the text body uses them as they are and
//! the HTML body escapes them, so the two cannot drift apart and no interpolated value (a display
//! name, a title) reaches the HTML unescaped. Values are also kept to one line, so none can forge
//! extra lines in the text body.

use super::{Email, Site, single_line};

/// A welcome email for a new account.
pub fn welcome(site: &Site, to: &str, display_name: &str) -> Email {
    let product = single_line(&site.product);
    let name = single_line(display_name);
    Layout {
        site,
        to,
        subject: format!("Welcome to {product}, {name}"),
        blocks: vec![
            Block::Para(format!("Hi {name},")),
            Block::Para(format!(
                "Welcome to {product}! Your account is ready: listen to music, follow the \
                 artists you love and build your own playlists."
            )),
        ],
        action: (format!("Open {product}"), web_link(site, &[])),
        reason: format!(
            "You receive this email because an account was created for {} on {product}.",
            single_line(to)
        ),
    }
    .build()
}

/// A one-time code: `purpose` is `verify_email`, `reset_password` or `login` (any other value
/// gets a generic wording); `expires_at` is shown as given.
pub fn one_time_code(site: &Site, to: &str, code: &str, purpose: &str, expires_at: &str) -> Email {
    let product = single_line(&site.product);
    let code = single_line(code);
    let action = match purpose {
        "verify_email" => "verify your email address",
        "reset_password" => "reset your password",
        "login" => "sign in",
        _ => "confirm it's you",
    };
    Layout {
        site,
        to,
        subject: format!("Your {product} code to {action}"),
        blocks: vec![
            Block::Para(format!("Use this code to {action} on {product}:")),
            Block::Code(code),
            Block::Para(format!("It expires at {}.", single_line(expires_at))),
            Block::Para(
                "If you did not ask for it, ignore this email: nothing changes without the code, \
                 and never share it with anyone."
                    .into(),
            ),
        ],
        action: (format!("Open {product}"), web_link(site, &[])),
        reason: format!(
            "You receive this email because a code was requested for {} on {product}.",
            single_line(to)
        ),
    }
    .build()
}

/// A new release by an artist the recipient follows.
pub fn new_release(site: &Site, to: &str, artist_name: &str, title: &str, song_id: &str) -> Email {
    let product = single_line(&site.product);
    let artist = single_line(artist_name);
    let title = single_line(title);
    Layout {
        site,
        to,
        subject: format!("New from {artist}: {title}"),
        blocks: vec![Block::Para(format!(
            "{artist} just released \u{201c}{title}\u{201d} on {product}."
        ))],
        action: (
            format!("Listen to \u{201c}{title}\u{201d}"),
            web_link(site, &["songs", song_id]),
        ),
        reason: format!(
            "You receive this email because you follow {artist} on {product} and asked for \
             release emails."
        ),
    }
    .build()
}

/// A playlist shared with the recipient.
pub fn playlist_shared(
    site: &Site,
    to: &str,
    owner_name: &str,
    title: &str,
    playlist_id: &str,
) -> Email {
    let product = single_line(&site.product);
    let owner = single_line(owner_name);
    let title = single_line(title);
    Layout {
        site,
        to,
        subject: format!("{owner} shared a playlist with you: {title}"),
        blocks: vec![Block::Para(format!(
            "{owner} shared the playlist \u{201c}{title}\u{201d} with you on {product}."
        ))],
        action: (
            "Open the playlist".into(),
            web_link(site, &["playlists", playlist_id]),
        ),
        reason: format!(
            "You receive this email because {owner} shared a playlist with {} on {product}.",
            single_line(to)
        ),
    }
    .build()
}

/// A paragraph or a one-time code (shown large in HTML), in plain text.
enum Block {
    Para(String),
    Code(String),
}

struct Layout<'a> {
    site: &'a Site,
    to: &'a str,
    subject: String,
    blocks: Vec<Block>,
    /// The call to action: its label and URL in the web app.
    action: (String, String),
    /// Why the recipient gets this email.
    reason: String,
}

impl Layout<'_> {
    fn build(self) -> Email {
        let product = single_line(&self.site.product);
        let home = web_link(self.site, &[]);
        let (label, url) = &self.action;

        let mut text = String::new();
        for block in &self.blocks {
            match block {
                Block::Para(p) => text.push_str(&format!("{p}\n\n")),
                Block::Code(code) => text.push_str(&format!("    {code}\n\n")),
            }
        }
        text.push_str(&format!(
            "{label}: {url}\n\n-- \n{product}: {home}\n{}\n",
            self.reason
        ));

        let e = escape;
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n</head>\n\
             <body style=\"margin:0;padding:24px;background:#f4f4f6;color:#1d1d1f;\
             font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;line-height:1.5\">\n\
             <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px\">\n\
             <p style=\"margin:0 0 24px;font-size:20px;font-weight:bold\">{}</p>\n",
            e(&self.subject),
            e(&product),
        );
        for block in &self.blocks {
            match block {
                Block::Para(p) => html.push_str(&format!("<p>{}</p>\n", e(p))),
                Block::Code(code) => html.push_str(&format!(
                    "<p style=\"font-family:Menlo,Consolas,monospace;font-size:28px;\
                     font-weight:bold;letter-spacing:4px\">{}</p>\n",
                    e(code)
                )),
            }
        }
        html.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{url}\" style=\"display:inline-block;\
             background:#6c47ff;color:#ffffff;text-decoration:none;padding:12px 20px;\
             border-radius:6px;font-weight:bold\">{label}</a></p>\n\
             <p style=\"font-size:13px;color:#6e6e73\">Or open this link: \
             <a href=\"{url}\">{url}</a></p>\n\
             <hr style=\"border:none;border-top:1px solid #e5e5ea;margin:24px 0\">\n\
             <p style=\"font-size:12px;color:#6e6e73\"><a href=\"{home}\">{product}</a><br>{reason}</p>\n\
             </div>\n</body>\n</html>\n",
            url = e(url),
            label = e(label),
            home = e(&home),
            product = e(&product),
            reason = e(&self.reason),
        ));

        Email {
            to: self.to.to_string(),
            subject: self.subject,
            text,
            html,
        }
    }
}

/// The web app's URL with `segments` appended, each percent-encoded.
fn web_link(site: &Site, segments: &[&str]) -> String {
    let mut url = single_line(site.web_url.trim())
        .trim_end_matches('/')
        .to_string();
    for segment in segments {
        url.push('/');
        for byte in segment.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                url.push(byte as char);
            } else {
                url.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if segments.is_empty() {
        url.push('/');
    }
    url
}

/// `text` safe as HTML content and as a quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            product: "Spindle".into(),
            web_url: "http://127.0.0.1:3000/".into(),
        }
    }

    /// The visible text of an HTML body: tags dropped, entities decoded.
    fn visible(html: &str) -> String {
        let body = &html[html.find("<body").unwrap()..];
        let mut out = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    fn assert_same_facts(email: &Email, facts: &[&str]) {
        let seen = visible(&email.html);
        for fact in facts {
            assert!(
                email.text.contains(fact),
                "text lacks {fact:?}:\n{}",
                email.text
            );
            assert!(seen.contains(fact), "HTML lacks {fact:?}:\n{}", email.html);
        }
    }

    #[test]
    fn welcome_escapes_the_display_name_in_html_and_keeps_it_in_text() {
        let name = "<script>alert('x')</script> & \"Ana\"";
        let email = welcome(&site(), "ana@example.org", name);
        assert_eq!(email.to, "ana@example.org");
        assert_eq!(email.subject, format!("Welcome to Spindle, {name}"));
        assert!(email.text.contains(&format!("Hi {name},")));
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(
            email.html.contains(
                "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Ana&quot;,"
            )
        );
        assert_same_facts(&email, &[name, "Spindle", "http://127.0.0.1:3000/"]);
        assert!(email.html.contains("<a href=\"http://127.0.0.1:3000/\""));
    }

    #[test]
    fn one_time_code_per_purpose() {
        for (purpose, action) in [
            ("verify_email", "verify your email address"),
            ("reset_password", "reset your password"),
            ("login", "sign in"),
            ("other", "confirm it's you"),
        ] {
            let email = one_time_code(
                &site(),
                "ana@example.org",
                "482913",
                purpose,
                "2026-05-01T12:00:00Z",
            );
            assert_eq!(email.subject, format!("Your Spindle code to {action}"));
            assert_same_facts(
                &email,
                &[
                    "482913",
                    action,
                    "2026-05-01T12:00:00Z",
                    "Spindle",
                    "http://127.0.0.1:3000/",
                ],
            );
            assert!(!email.subject.contains("482913"), "no code in the subject");
        }
    }

    #[test]
    fn new_release_links_to_the_song() {
        let email = new_release(
            &site(),
            "ana@example.org",
            "Nina & Co",
            "Blue <Moon>",
            "s-1 2",
        );
        assert_eq!(email.subject, "New from Nina & Co: Blue <Moon>");
        assert_same_facts(
            &email,
            &[
                "Nina & Co",
                "Blue <Moon>",
                "http://127.0.0.1:3000/songs/s-1%202",
                "Spindle",
            ],
        );
        assert!(email.html.contains("Nina &amp; Co"));
        assert!(email.html.contains("Blue &lt;Moon&gt;"));
        assert!(
            email
                .html
                .contains("href=\"http://127.0.0.1:3000/songs/s-1%202\"")
        );
    }

    #[test]
    fn playlist_shared_links_to_the_playlist() {
        let email = playlist_shared(&site(), "ana@example.org", "Bob", "Road trip", "pl/9\"x");
        assert_eq!(email.subject, "Bob shared a playlist with you: Road trip");
        let url = "http://127.0.0.1:3000/playlists/pl%2F9%22x";
        assert_same_facts(&email, &["Bob", "Road trip", url, "Spindle"]);
        assert!(email.html.contains(&format!("href=\"{url}\"")));
    }

    #[test]
    fn values_stay_on_one_line() {
        let email = welcome(&site(), "ana@example.org", "Ana\r\n\r\nClick http://evil");
        assert!(email.subject.lines().count() == 1);
        assert!(email.text.contains("Hi Ana    Click http://evil,"));
    }

    #[test]
    fn product_name_comes_from_the_site() {
        let site = Site {
            product: "Spindle Dev".into(),
            web_url: "https://music.example".into(),
        };
        let email = welcome(&site, "ana@example.org", "Ana");
        assert_eq!(email.subject, "Welcome to Spindle Dev, Ana");
        assert_same_facts(&email, &["Spindle Dev", "https://music.example/"]);
    }
}
