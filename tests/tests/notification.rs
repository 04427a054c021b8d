//! The `notification` component, end to end: the real `spin.toml` started in-process against
//! its own `redis-server` and a real SMTP server (`aiosmtpd`, [`SmtpServer`]), fed with
//! platform events published the way `Publisher::publish` does (XADD of the JSON envelope as
//! field `e` to `spindle:events:TOPIC`, then PUBLISH on `spindle.events.TOPIC`), and asked
//! over HTTP with access tokens minted here as `auth` mints them (EdDSA, `kid` `k1`; the public
//! key reaches the app through the `auth_jwks` variable).

use jwt_simple::algorithms::{Ed25519KeyPair, EdDSAKeyPairLike};
use jwt_simple::claims::{Claims, JWTClaims};
use jwt_simple::reexports::coarsetime::{Clock, Duration as JwtDuration};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding as B64, Decoder, Encoder};
use redis::AsyncCommands;
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{
    ArtistFollowed, Envelope, Event, PlaylistShared, TrackPublished, UserCreated, UserDeleted,
    UserOtpRequested, new_envelope, new_ulid, stream_key,
};
use spindle_tests::bus::EventBus;
use spindle_tests::{
    RedisServer, SmtpMessage, SmtpServer, TestApp, TestAppBuilder, TestResponse, app_manifest,
    assert_problem, eventually, free_loopback_port,
};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const OPS_TOKEN: &str = "ops-secret-token";
const GROUP: &str = "notification";
const SENDER: &str = "no-reply@spindle.local";

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[derive(serde::Serialize, serde::Deserialize)]
struct Custom {
    role: String,
}

/// An Ed25519 key as `auth` holds it, and the JWKS the app gets through `auth_jwks`.
struct Auth {
    key: Ed25519KeyPair,
    jwks: String,
}

impl Auth {
    fn new() -> Self {
        let key = Ed25519KeyPair::generate().with_key_id("k1");
        let jwk = key.public_key().with_key_id("k1").to_jwk();
        Self {
            key,
            jwks: format!(r#"{{"keys":[{jwk}]}}"#),
        }
    }

    /// Claims as `auth` mints them: issued `iat` seconds from now, living `life` seconds.
    fn claims(&self, sub: &str, role: &str, iat: i64, life: u64) -> JWTClaims<Custom> {
        let now = Clock::now_since_epoch().as_secs() as i64;
        let mut claims =
            Claims::with_custom_claims(Custom { role: role.into() }, JwtDuration::from_secs(life))
                .with_issuer("spindle")
                .with_audience("spindle-api")
                .with_subject(sub)
                .with_jwt_id(new_ulid(0));
        claims.issued_at = Some(JwtDuration::from_secs((now + iat) as u64));
        claims.invalid_before = claims.issued_at;
        claims.expires_at = Some(JwtDuration::from_secs((now + iat) as u64 + life));
        claims
    }

    fn sign(&self, claims: JWTClaims<Custom>) -> String {
        self.key.sign(claims).expect("sign a token")
    }

    /// A valid 15-minute token for `sub` with `role`.
    fn token(&self, sub: &str, role: &str) -> String {
        self.sign(self.claims(sub, role, 0, 900))
    }
}

// ---------------------------------------------------------------------------------------------
// Events and the test's publisher
// ---------------------------------------------------------------------------------------------

fn envelope(payload: Event) -> Envelope {
    new_envelope(payload, "notification-test", "test-correlation")
}

fn user_created(user_id: &str, email: &str, display_name: &str) -> Envelope {
    envelope(Event::UserCreated(UserCreated {
        user_id: user_id.into(),
        email: email.into(),
        display_name: display_name.into(),
        role: "listener".into(),
    }))
}

fn followed(artist_id: &str, follower_id: &str) -> Envelope {
    envelope(Event::ArtistFollowed(ArtistFollowed {
        artist_id: artist_id.into(),
        follower_id: follower_id.into(),
    }))
}

fn track_published(artist_id: &str, song_id: &str, title: &str) -> Envelope {
    envelope(Event::TrackPublished(TrackPublished {
        song_id: song_id.into(),
        artist_id: artist_id.into(),
        artist_name: "The Testers".into(),
        title: title.into(),
        genre: None,
        tags: None,
    }))
}

fn playlist_shared(shared_with: &str, title: &str) -> Envelope {
    envelope(Event::PlaylistShared(PlaylistShared {
        playlist_id: format!("playlist-{}", new_ulid(0)),
        title: title.into(),
        owner_id: "user-owner".into(),
        owner_name: "Olga Owner".into(),
        shared_with: shared_with.into(),
    }))
}

fn user_deleted(user_id: &str) -> Envelope {
    envelope(Event::UserDeleted(UserDeleted {
        user_id: user_id.into(),
    }))
}

/// A Redis client that publishes as the bus does and looks at the group's bookkeeping.
#[derive(Clone)]
struct Bus(EventBus);

impl std::ops::Deref for Bus {
    type Target = EventBus;
    fn deref(&self) -> &EventBus {
        &self.0
    }
}

impl std::ops::DerefMut for Bus {
    fn deref_mut(&mut self) -> &mut EventBus {
        &mut self.0
    }
}

impl Bus {
    async fn connect(url: &str) -> Self {
        Self(EventBus::connect(url).await)
    }

    /// Waits until the group has handled every one of `envelopes`.
    async fn wait_processed(&self, envelopes: &[&Envelope]) {
        let ids: Vec<&str> = envelopes.iter().map(|e| e.id.as_str()).collect();
        self.0.wait_processed(GROUP, &ids, WAIT).await
    }

    /// The group's pending entries on `topic`: (entry id, deliveries so far); none before the
    /// group's first drain created it.
    async fn pending(&mut self, topic: &str) -> Vec<(String, u64)> {
        let reply: redis::RedisResult<Vec<(String, String, u64, u64)>> = redis::cmd("XPENDING")
            .arg(stream_key(topic))
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(1000)
            .query_async(&mut self.conn)
            .await;
        match reply {
            Ok(entries) => entries
                .into_iter()
                .map(|(id, _, _, deliveries)| (id, deliveries))
                .collect(),
            Err(e) if e.to_string().contains("NOGROUP") => Vec::new(),
            Err(e) => panic!("XPENDING {topic}: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The app, its mail and its API
// ---------------------------------------------------------------------------------------------

/// The real app with the test's keys, the ops token and quick retries.
fn app_builder(auth: &Auth) -> TestAppBuilder {
    TestApp::builder(app_manifest())
        .variable("auth_jwks", auth.jwks.clone())
        .variable("ops_token", OPS_TOKEN)
        .variable("event_max_attempts", "4")
        .variable("event_retry_base_ms", "100")
}

async fn start(builder: TestAppBuilder) -> TestApp {
    builder
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start the app: {e:?}"))
}

/// Waits until the server holds `count` messages (panics if it gets more) and returns them.
async fn wait_mail(smtp: &SmtpServer, count: usize) -> Vec<SmtpMessage> {
    eventually(
        WAIT,
        &format!("{count} message(s) at the SMTP server"),
        || async {
            let messages = smtp.messages();
            assert!(
                messages.len() <= count,
                "more than {count} messages: {:#?}",
                recipients(&messages)
            );
            (messages.len() == count).then_some(messages)
        },
    )
    .await
}

/// Messages per recipient.
fn recipients(messages: &[SmtpMessage]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in messages {
        for rcpt in &message.rcpt_tos {
            *counts.entry(rcpt.clone()).or_default() += 1;
        }
    }
    counts
}

fn mail_to<'a>(messages: &'a [SmtpMessage], to: &str) -> Vec<&'a SmtpMessage> {
    messages
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
        .collect()
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> TestResponse {
    app.send_as(token, Method::GET, path, None).await
}

/// A 200 JSON answer to `GET path` as `token`'s holder.
async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let response = get_as(app, token, path).await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    response.json()
}

async fn unread(app: &TestApp, token: &str) -> i64 {
    get_json(app, token, "/api/notifications/unread-count").await["count"]
        .as_i64()
        .expect("count is a number")
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    get_json(app, token, "/api/notifications?limit=100").await["items"]
        .as_array()
        .expect("items is a list")
        .clone()
}

async fn set_release_emails(app: &TestApp, token: &str, on: bool) {
    let response = app
        .send_as(
            token,
            Method::PATCH,
            "/api/notifications/preferences",
            Some(json!({ "newReleasesEmail": on })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>(), json!({ "newReleasesEmail": on }));
}

async fn ops(app: &TestApp, method: Method, path: &str) -> TestResponse {
    app.send(app.request(method, path).bearer_auth(OPS_TOKEN))
        .await
}

async fn dead_letters(app: &TestApp) -> Vec<Value> {
    let response = ops(
        app,
        Method::GET,
        "/api/admin/events/notification/dead-letters",
    )
    .await;
    assert_eq!(response.status, 200, "dead letters: {}", response.text());
    response.json()
}

// ---------------------------------------------------------------------------------------------
// 1, 2: the emails themselves
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_registered_users_welcome_email_reaches_the_smtp_server_with_the_right_content() {
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let app = start(app_builder(&auth).variable("smtp_relay", smtp.relay())).await;
    let mut bus = Bus::connect(&app.redis.url()).await;

    bus.publish(&user_created(
        "user-ada",
        "ada@example.org",
        "Ada Lovelace & Co",
    ))
    .await;

    let messages = wait_mail(&smtp, 1).await;
    let mail = &messages[0];
    assert_eq!(mail.rcpt_tos, ["ada@example.org"]);
    assert_eq!(mail.mail_from, SENDER);
    assert_eq!(mail.to, "ada@example.org");
    assert_eq!(mail.subject, "Welcome to Spindle, Ada Lovelace & Co");
    assert!(mail.content.contains("Message-ID: <"), "{}", mail.content);
    let text = mail.text.as_deref().expect("a text part");
    assert!(text.contains("Hi Ada Lovelace & Co,"), "{text}");
    assert!(text.contains("Welcome to Spindle!"), "{text}");
    assert!(text.contains("http://127.0.0.1:3000"), "{text}");
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(
        html.contains("Hi Ada Lovelace &amp; Co,"),
        "escaped: {html}"
    );
    assert!(
        !html.contains("Ada Lovelace & Co"),
        "never unescaped: {html}"
    );
    assert!(html.contains("Welcome to Spindle!"), "{html}");

    // Handled once: later wake-ups send nothing more.
    bus.wake("user.created").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn one_time_code_email_carries_the_code_and_purpose_and_always_goes() {
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let app = start(app_builder(&auth).variable("smtp_relay", smtp.relay())).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let user = user_created("user-otp", "otp@example.org", "Otto");
    bus.publish(&user).await;
    wait_mail(&smtp, 1).await;
    // The user wants no optional mail at all; security mail goes anyway.
    let token = auth.token("user-otp", "listener");
    set_release_emails(&app, &token, false).await;

    bus.publish(&envelope(Event::UserOtpRequested(UserOtpRequested {
        user_id: Some("user-otp".into()),
        email: "otp@example.org".into(),
        code: "493817".into(),
        purpose: "reset_password".into(),
        expires_at: "2030-01-01T10:15:00Z".into(),
    })))
    .await;
    // ...and to an address with no account (sign-in codes before verification).
    bus.publish(&envelope(Event::UserOtpRequested(UserOtpRequested {
        user_id: None,
        email: "stranger@example.org".into(),
        code: "120034".into(),
        purpose: "verify_email".into(),
        expires_at: "2030-01-01T10:20:00Z".into(),
    })))
    .await;

    let messages = wait_mail(&smtp, 3).await;
    let reset = mail_to(&messages, "otp@example.org");
    let reset = reset
        .iter()
        .find(|m| m.subject.contains("code"))
        .expect("the reset code mail");
    assert_eq!(reset.subject, "Your Spindle code to reset your password");
    for part in [reset.text.as_deref(), reset.html.as_deref()] {
        let part = part.expect("text and HTML parts");
        assert!(part.contains("493817"), "{part}");
        assert!(part.contains("reset your password"), "{part}");
        assert!(part.contains("2030-01-01T10:15:00Z"), "{part}");
    }
    let verify = mail_to(&messages, "stranger@example.org");
    assert_eq!(verify.len(), 1);
    assert_eq!(
        verify[0].subject,
        "Your Spindle code to verify your email address"
    );
    assert!(verify[0].text.as_deref().unwrap().contains("120034"));
}

// ---------------------------------------------------------------------------------------------
// 3-6: delivery guarantees
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn welcome_emails_for_users_created_while_the_app_was_stopped_all_arrive_once() {
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let builder = || {
        app_builder(&auth)
            .variable("redis_url", redis.url())
            .variable("smtp_relay", smtp.relay())
    };
    let mut bus = Bus::connect(&redis.url()).await;
    let first_app = start(builder()).await;
    bus.publish(&user_created("user-first", "first@example.org", "First"))
        .await;
    wait_mail(&smtp, 1).await;
    first_app.stop().await;

    let away: Vec<Envelope> = (0..100)
        .map(|i| {
            user_created(
                &format!("user-{i}"),
                &format!("user{i}@example.org"),
                &format!("User {i}"),
            )
        })
        .collect();
    for event in &away {
        bus.publish(event).await; // the wake-ups reach nobody
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "nobody handled them");

    let app = start(builder()).await;
    let drained = ops(&app, Method::POST, "/api/admin/events/notification/drain").await;
    assert_eq!(drained.status, 200, "{}", drained.text());
    let report: Value = drained.json();
    assert_eq!(report["handled"], 100, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");

    let messages = wait_mail(&smtp, 101).await;
    let counts = recipients(&messages);
    assert_eq!(counts.len(), 101, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    for i in 0..100 {
        let to = format!("user{i}@example.org");
        let mail = mail_to(&messages, &to);
        assert_eq!(mail[0].subject, format!("Welcome to Spindle, User {i}"));
    }
    // Later wake-ups find nothing left.
    bus.wake("user.created").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 101);
    assert!(bus.pending("user.created").await.is_empty());
}

#[tokio::test]
async fn while_smtp_is_down_mail_is_retried_with_backoff_and_arrives_once_when_it_returns() {
    let auth = Auth::new();
    let mut smtp = SmtpServer::start().unwrap();
    let app = start(
        app_builder(&auth)
            .variable("smtp_relay", smtp.relay())
            .variable("event_max_attempts", "30"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    smtp.stop();

    let users: Vec<Envelope> = (0..5)
        .map(|i| {
            user_created(
                &format!("user-down-{i}"),
                &format!("down{i}@example.org"),
                &format!("Down {i}"),
            )
        })
        .collect();
    for user in &users {
        bus.publish(user).await;
    }
    // Every event fails and stays pending; the retry timer brings each back a few times.
    let started = Instant::now();
    let pending = eventually(WAIT, "three deliveries of every event", || {
        let mut bus = bus.clone();
        async move {
            let pending = bus.pending("user.created").await;
            (pending.len() == 5 && pending.iter().all(|(_, n)| *n >= 3)).then_some(pending)
        }
    })
    .await;
    // Three deliveries need at least the first two backoffs: 100 + 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "retried without backing off: {pending:?} after {:?}",
        started.elapsed()
    );
    let errors: BTreeMap<String, String> = bus
        .conn
        .hgetall(format!("spindle:errors:{GROUP}"))
        .await
        .unwrap();
    assert_eq!(errors.len(), 5, "{errors:?}");
    for error in errors.values() {
        assert!(
            error.contains(&format!("SMTP 127.0.0.1:{}", smtp.port())),
            "{error}"
        );
    }
    assert!(smtp.messages().is_empty(), "no mail while it is down");
    assert!(dead_letters(&app).await.is_empty());

    smtp.restart().unwrap();
    let restarted = Instant::now();
    // Nothing but the retry timer wakes the consumer from here on.
    let messages = wait_mail(&smtp, 5).await;
    println!(
        "all mail arrived {:?} after the SMTP server returned",
        restarted.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let messages_later = smtp.messages();
    assert_eq!(messages_later, messages, "nothing sent twice");
    let counts = recipients(&messages);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(bus.pending("user.created").await.is_empty());
    assert!(dead_letters(&app).await.is_empty());
}

#[tokio::test]
async fn mail_that_keeps_failing_is_dead_lettered_and_a_replay_sends_it_once_after_the_fix() {
    let auth = Auth::new();
    let port = free_loopback_port(); // nobody listens there yet
    let app = start(
        app_builder(&auth)
            .variable("smtp_relay", format!("tcp://127.0.0.1:{port}"))
            .variable("event_max_attempts", "3"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let user = user_created("user-dead", "dead@example.org", "Dee");
    bus.publish(&user).await;

    let letters = eventually(WAIT, "a dead letter", || async {
        let letters = dead_letters(&app).await;
        assert!(letters.len() <= 1, "{letters:?}");
        (letters.len() == 1).then_some(letters)
    })
    .await;
    let letter = &letters[0];
    assert_eq!(letter["topic"], "user.created", "{letter}");
    assert_eq!(letter["attempts"], 3, "{letter}");
    assert_eq!(letter["event"]["id"], user.id.as_str(), "{letter}");
    let error = letter["error"].as_str().unwrap();
    assert!(error.contains("dead@example.org"), "{error}");
    assert!(
        error.contains(&format!("SMTP 127.0.0.1:{port}")),
        "the error names the relay: {error}"
    );
    assert!(bus.pending("user.created").await.is_empty(), "acknowledged");

    let smtp = SmtpServer::start_on(port).unwrap();
    let dead_id = letter["id"].as_str().unwrap();
    let path = format!("/api/admin/events/notification/dead-letters/{dead_id}/replay");
    let replayed = ops(&app, Method::POST, &path).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    assert_eq!(replayed.json::<Value>(), json!({ "replayed": dead_id }));

    let messages = wait_mail(&smtp, 1).await;
    assert_eq!(messages[0].rcpt_tos, ["dead@example.org"]);
    assert_eq!(messages[0].subject, "Welcome to Spindle, Dee");
    assert!(dead_letters(&app).await.is_empty(), "left the dead letters");
    assert_eq!(ops(&app, Method::POST, &path).await.status, 404);
    // Published again (a producer retrying), it is not handled again.
    bus.publish(&user).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
}

#[tokio::test]
async fn a_redis_crash_in_the_middle_of_a_batch_loses_no_mail_and_sends_none_twice() {
    const TOTAL: usize = 150;
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let mut redis = RedisServer::start_persistent().unwrap();
    let _app = start(
        app_builder(&auth)
            .variable("redis_url", redis.url())
            .variable("smtp_relay", smtp.relay())
            .variable("event_max_attempts", "30"),
    )
    .await;
    let mut bus = Bus::connect(&redis.url()).await;
    let users: Vec<Envelope> = (0..TOTAL)
        .map(|i| {
            user_created(
                &format!("user-crash-{i}"),
                &format!("crash{i}@example.org"),
                &format!("Crash {i}"),
            )
        })
        .collect();
    for user in &users {
        bus.append(user).await; // each XADD is on disk before it is acknowledged
    }
    bus.wake("user.created").await;
    eventually(WAIT, "the drain to be under way", || async {
        (smtp.messages().len() >= 20).then_some(())
    })
    .await;
    redis.stop();
    redis.restart().unwrap();
    let at_crash = smtp.messages().len();
    assert!(
        at_crash < TOTAL,
        "the drain had finished before the crash; nothing was tested"
    );

    // The trigger resubscribes with backoff after Redis returns, and wake-ups sent before
    // that reach nobody: wake until everything went.
    let mut bus = Bus::connect(&redis.url()).await;
    eventually(WAIT, "every mail after the crash", || {
        let mut bus = bus.clone();
        let smtp = &smtp;
        async move {
            bus.wake("user.created").await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            (recipients(&smtp.messages()).len() >= TOTAL).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    bus.wake("user.created").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let messages = smtp.messages();
    let counts = recipients(&messages);
    println!(
        "crashed after {at_crash} of {TOTAL} mails; {} mails in all",
        messages.len()
    );
    let expected: HashSet<String> = (0..TOTAL)
        .map(|i| format!("crash{i}@example.org"))
        .collect();
    assert_eq!(
        counts.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "every mail arrived"
    );
    // Each mail is recorded in the component's own SQLite database and marked sent right after
    // the relay accepted it; a Redis crash only makes the bus redeliver the event, whose handler
    // then finds the mail already sent. So not even the one in flight goes twice.
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert!(bus.pending("user.created").await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// 7: the inbox
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn followers_see_new_releases_in_their_inbox_and_opted_in_followers_also_get_email() {
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let app = start(app_builder(&auth).variable("smtp_relay", smtp.relay())).await;
    let bus = Bus::connect(&app.redis.url()).await;
    let mut publisher = bus.clone();
    let fan = auth.token("user-fan", "listener");
    let quiet = auth.token("user-quiet", "listener");
    let setup = [
        user_created("user-fan", "fan@example.org", "Fan"),
        user_created("user-quiet", "quiet@example.org", "Quiet"),
        followed("artist-1", "user-fan"),
        followed("artist-1", "user-quiet"),
    ];
    for event in &setup {
        publisher.publish(event).await;
    }
    bus.wait_processed(&setup.iter().collect::<Vec<_>>()).await;
    wait_mail(&smtp, 2).await; // the welcome emails
    set_release_emails(&app, &fan, true).await;
    assert_eq!(
        get_json(&app, &quiet, "/api/notifications/preferences").await,
        json!({ "newReleasesEmail": false })
    );

    // Five releases, one after another (the inbox is ordered by time).
    for n in 1..=5 {
        publisher
            .publish(&track_published(
                "artist-1",
                &format!("song-{n}"),
                &format!("Song {n}"),
            ))
            .await;
        eventually(WAIT, "the release in the inbox", || async {
            (unread(&app, &fan).await == n).then_some(())
        })
        .await;
    }
    assert_eq!(unread(&app, &quiet).await, 5);

    // Three pages of two, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/notifications?limit=2&cursor={c}"),
            None => "/api/notifications?limit=2".to_string(),
        };
        let page = get_json(&app, &fan, &path).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), 2, "a full page before the last: {page}");
                cursor = Some(next.to_string());
            }
            None => {
                assert!(page["nextCursor"].is_null(), "{page}");
                break;
            }
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let bodies: Vec<&str> = seen.iter().map(|n| n["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies,
        (1..=5)
            .rev()
            .map(|n| format!("The Testers released “Song {n}”."))
            .collect::<Vec<_>>(),
        "newest first, each once"
    );
    let first = &seen[0];
    assert_eq!(first["kind"], "new_release", "{first}");
    assert_eq!(first["title"], "New from The Testers", "{first}");
    assert_eq!(
        first["link"], "http://127.0.0.1:3000/songs/song-5",
        "{first}"
    );
    assert!(first["readAt"].is_null(), "{first}");
    assert!(first["createdAt"].is_string(), "{first}");

    // Mark one read; someone else's id is not found and changes nothing.
    let id = first["id"].as_str().unwrap();
    let read_path = format!("/api/notifications/{id}/read");
    let response = app.send_as(&fan, Method::POST, &read_path, None).await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    assert_eq!(unread(&app, &fan).await, 4);
    let response = app.send_as(&quiet, Method::POST, &read_path, None).await;
    assert_problem(&response, 404, "another user's notification");
    assert_eq!(unread(&app, &quiet).await, 5);
    let response = app
        .send_as(
            &fan,
            Method::POST,
            "/api/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV/read",
            None,
        )
        .await;
    assert_problem(&response, 404, "an unknown id");
    let after = inbox(&app, &fan).await;
    assert!(after[0]["readAt"].is_string(), "{}", after[0]);
    assert!(after[1]["readAt"].is_null(), "{}", after[1]);

    // Read all.
    let response = app
        .send_as(&fan, Method::POST, "/api/notifications/read-all", None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>(), json!({ "updated": 4 }));
    assert_eq!(unread(&app, &fan).await, 0);
    assert_eq!(unread(&app, &quiet).await, 5, "only the caller's");

    // Email: five releases for the fan who opted in, none for the other.
    let messages = wait_mail(&smtp, 7).await;
    let fan_mail = mail_to(&messages, "fan@example.org");
    let releases: Vec<&str> = fan_mail
        .iter()
        .filter(|m| m.subject.starts_with("New from"))
        .map(|m| m.subject.as_str())
        .collect();
    assert_eq!(
        releases,
        (1..=5)
            .map(|n| format!("New from The Testers: Song {n}"))
            .collect::<Vec<_>>()
    );
    let release = fan_mail
        .iter()
        .find(|m| m.subject.ends_with("Song 1"))
        .unwrap();
    assert!(
        release
            .text
            .as_deref()
            .unwrap()
            .contains("http://127.0.0.1:3000/songs/song-1")
    );
    let quiet_mail = mail_to(&messages, "quiet@example.org");
    assert_eq!(quiet_mail.len(), 1, "only the welcome");
    assert!(quiet_mail[0].subject.starts_with("Welcome"));
}

#[tokio::test]
async fn a_shared_playlist_reaches_the_inbox_and_the_mailbox() {
    let auth = Auth::new();
    let smtp = SmtpServer::start().unwrap();
    let app = start(app_builder(&auth).variable("smtp_relay", smtp.relay())).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let token = auth.token("user-pia", "listener");
    let user = user_created("user-pia", "pia@example.org", "Pia");
    bus.publish(&user).await;
    bus.wait_processed(&[&user]).await;
    let shared = playlist_shared("user-pia", "Road trip");
    bus.publish(&shared).await;

    let messages = wait_mail(&smtp, 2).await;
    let mail = mail_to(&messages, "pia@example.org");
    assert!(
        mail.iter()
            .any(|m| m.subject == "Olga Owner shared a playlist with you: Road trip"),
        "{mail:#?}"
    );
    let items = inbox(&app, &token).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["kind"], "playlist_shared");
    assert_eq!(items[0]["title"], "Olga Owner shared a playlist with you");
    assert_eq!(items[0]["body"], "Road trip");
}

// ---------------------------------------------------------------------------------------------
// 8: the dev outbox
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_a_relay_mail_goes_to_the_dev_outbox_which_only_operators_and_admins_read() {
    let auth = Auth::new();
    let app = start(app_builder(&auth)).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let user = user_created("user-dev", "dev@example.org", "Dev");
    bus.publish(&user).await;
    bus.wait_processed(&[&user]).await;

    const OUTBOX: &str = "/api/admin/notifications/outbox";
    let response = ops(&app, Method::GET, OUTBOX).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    let item = &items[0];
    assert_eq!(item["recipient"], "dev@example.org", "{item}");
    assert_eq!(item["subject"], "Welcome to Spindle, Dev", "{item}");
    assert_eq!(item["template"], "welcome", "{item}");
    assert_eq!(item["status"], "outbox", "{item}");
    assert_eq!(item["eventId"], user.id.as_str(), "{item}");
    assert!(
        item["textBody"].as_str().unwrap().contains("Hi Dev,"),
        "{item}"
    );
    assert!(
        item["htmlBody"].as_str().unwrap().contains("Hi Dev,"),
        "{item}"
    );

    assert_problem(&app.get(OUTBOX).await, 401, "no token");
    let wrong = app
        .send(app.request(Method::GET, OUTBOX).bearer_auth("wrong-token"))
        .await;
    assert_problem(&wrong, 403, "a wrong token");
    let listener = get_as(&app, &auth.token("user-dev", "listener"), OUTBOX).await;
    assert_problem(&listener, 403, "a listener's token");
    let admin = get_as(&app, &auth.token("user-admin", "admin"), OUTBOX).await;
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert_eq!(admin.json::<Value>(), body);
}

// ---------------------------------------------------------------------------------------------
// 9: bad input
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_tokens_are_401_and_bad_input_is_rejected_as_problem_json_changing_nothing() {
    let auth = Auth::new();
    let app = start(app_builder(&auth)).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let token = auth.token("user-bob", "listener");
    set_release_emails(&app, &token, true).await;
    let shared = playlist_shared("user-bob", "Mix");
    bus.publish(&shared).await;
    bus.wait_processed(&[&shared]).await;
    let before = inbox(&app, &token).await;
    assert_eq!(before.len(), 1);

    // Tokens.
    let expired = auth.sign(auth.claims("user-bob", "listener", -1000, 900));
    let mut wrong_aud = auth.claims("user-bob", "listener", 0, 900);
    wrong_aud.audiences = None;
    let wrong_aud = auth.sign(wrong_aud.with_audience("other-api"));
    let too_long = auth.sign(auth.claims("user-bob", "listener", 0, 3600));
    let other_key = Auth::new().token("user-bob", "listener");
    // Bob's token with the payload of an admin token: the signature no longer matches.
    let tampered = {
        let admin = auth.token("user-bob", "admin");
        let mut parts: Vec<&str> = token.split('.').collect();
        let admin_payload = admin.split('.').nth(1).unwrap();
        parts[1] = admin_payload;
        parts.join(".")
    };
    // A payload edited by hand (sub changed), re-encoded, old signature.
    let forged_sub = {
        let parts: Vec<&str> = token.split('.').collect();
        let payload = B64::decode_to_vec(parts[1], None).unwrap();
        let mut claims: Value = serde_json::from_slice(&payload).unwrap();
        claims["sub"] = json!("user-mallory");
        let payload = B64::encode_to_string(serde_json::to_vec(&claims).unwrap()).unwrap();
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let paths = [
        (Method::GET, "/api/notifications"),
        (Method::GET, "/api/notifications/unread-count"),
        (Method::GET, "/api/notifications/preferences"),
        (Method::POST, "/api/notifications/read-all"),
    ];
    for (method, path) in &paths {
        let none = app.send(app.request(method.clone(), path)).await;
        assert_problem(&none, 401, &format!("{method} {path} without a token"));
        for (what, bad) in [
            ("expired", &expired),
            ("wrong audience", &wrong_aud),
            ("over 15 minutes", &too_long),
            ("another key", &other_key),
            ("tampered", &tampered),
            ("forged sub", &forged_sub),
        ] {
            let response = app.send_as(bad, method.clone(), path, None).await;
            assert_problem(
                &response,
                401,
                &format!("{method} {path} with a {what} token"),
            );
        }
    }
    let basic = app
        .send(
            app.request(Method::GET, "/api/notifications")
                .header("authorization", format!("Basic {token}")),
        )
        .await;
    assert_problem(&basic, 401, "not a bearer token");
    let patch = app
        .send(
            app.request(Method::PATCH, "/api/notifications/preferences")
                .bearer_auth(&tampered)
                .json(&json!({ "newReleasesEmail": false })),
        )
        .await;
    assert_problem(&patch, 401, "PATCH with a tampered token");

    // Preferences.
    let patch = |content_type: &'static str, body: Vec<u8>| {
        app.request(Method::PATCH, "/api/notifications/preferences")
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
    };
    let off = br#"{"newReleasesEmail": false}"#.to_vec();
    for (what, request, status) in [
        ("text/plain", patch("text/plain", off.clone()), 415),
        (
            "form",
            patch("application/x-www-form-urlencoded", off.clone()),
            415,
        ),
        (
            "malformed JSON",
            patch("application/json", b"{\"newReleasesEmail\": fal".to_vec()),
            400,
        ),
        (
            "unknown field",
            patch(
                "application/json",
                br#"{"newReleasesEmail": false, "spam": true}"#.to_vec(),
            ),
            422,
        ),
        (
            "wrong type",
            patch(
                "application/json",
                br#"{"newReleasesEmail": "no"}"#.to_vec(),
            ),
            422,
        ),
        (
            "over 4 KiB",
            patch(
                "application/json",
                format!(
                    r#"{{"newReleasesEmail": false, "pad": "{}"}}"#,
                    "x".repeat(4 * 1024)
                )
                .into_bytes(),
            ),
            413,
        ),
    ] {
        let response = app.send(request).await;
        assert_problem(&response, status, what);
    }
    let missing_type = app
        .send(
            app.request(Method::PATCH, "/api/notifications/preferences")
                .bearer_auth(&token)
                .body(off.clone()),
        )
        .await;
    assert_problem(&missing_type, 415, "no content type");

    // Paging.
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=ten",
        "cursor=garbage",
        "cursor=01ARZ3NDEKTSV4RRFFQ69G5FA!",
        "cursor=01ARZ3NDEKTSV4RRFFQ69G5FAVX",
    ] {
        let response = get_as(&app, &token, &format!("/api/notifications?{query}")).await;
        assert_problem(&response, 422, query);
    }

    // Nothing changed.
    assert_eq!(
        get_json(&app, &token, "/api/notifications/preferences").await,
        json!({ "newReleasesEmail": true })
    );
    assert_eq!(inbox(&app, &token).await, before);
    assert_eq!(unread(&app, &token).await, 1);
}

// ---------------------------------------------------------------------------------------------
// 10: erasure
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deleted_users_inbox_preferences_and_follows_are_erased() {
    let auth = Auth::new();
    let app = start(app_builder(&auth)).await;
    let bus = Bus::connect(&app.redis.url()).await;
    let mut publisher = bus.clone();
    let gone = auth.token("user-gone", "listener");
    let stays = auth.token("user-stays", "listener");
    let setup = [
        user_created("user-gone", "gone@example.org", "Gone"),
        user_created("user-stays", "stays@example.org", "Stays"),
        followed("artist-9", "user-gone"),
        followed("artist-9", "user-stays"),
    ];
    for event in &setup {
        publisher.publish(event).await;
    }
    bus.wait_processed(&setup.iter().collect::<Vec<_>>()).await;
    set_release_emails(&app, &gone, true).await;
    set_release_emails(&app, &stays, true).await;
    let events = [
        playlist_shared("user-gone", "Before"),
        track_published("artist-9", "song-a", "A"),
    ];
    for event in &events {
        publisher.publish(event).await;
    }
    bus.wait_processed(&events.iter().collect::<Vec<_>>()).await;
    assert_eq!(inbox(&app, &gone).await.len(), 2);
    assert_eq!(inbox(&app, &stays).await.len(), 1);

    let deleted = user_deleted("user-gone");
    publisher.publish(&deleted).await;
    bus.wait_processed(&[&deleted]).await;

    assert!(inbox(&app, &gone).await.is_empty());
    assert_eq!(unread(&app, &gone).await, 0);
    assert_eq!(
        get_json(&app, &gone, "/api/notifications/preferences").await,
        json!({ "newReleasesEmail": false }),
        "back to the defaults"
    );
    // The follow went too: a later release reaches only the user who stays.
    let later = track_published("artist-9", "song-b", "B");
    publisher.publish(&later).await;
    bus.wait_processed(&[&later]).await;
    assert!(inbox(&app, &gone).await.is_empty());
    assert_eq!(inbox(&app, &stays).await.len(), 2);
    // The other user's data is untouched.
    assert_eq!(
        get_json(&app, &stays, "/api/notifications/preferences").await,
        json!({ "newReleasesEmail": true })
    );
    // Neither is the deleted user's mail kept in the outbox.
    let outbox = ops(&app, Method::GET, "/api/admin/notifications/outbox").await;
    assert_eq!(outbox.status, 200, "{}", outbox.text());
    let outbox: Value = outbox.json();
    let recipients: Vec<&str> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["recipient"].as_str().unwrap())
        .collect();
    assert!(!recipients.contains(&"gone@example.org"), "{recipients:?}");
    assert!(recipients.contains(&"stays@example.org"), "{recipients:?}");
}

#[tokio::test]
async fn preferences_that_are_not_a_json_object_are_422_and_change_nothing() {
    let auth = Auth::new();
    let app = start(app_builder(&auth)).await;
    let token = auth.token("user-arr", "listener");
    set_release_emails(&app, &token, true).await;
    for body in [&b"[false]"[..], b"false", b"null", b"\"x\""] {
        let response = app
            .send(
                app.request(Method::PATCH, "/api/notifications/preferences")
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.to_vec()),
            )
            .await;
        let what = String::from_utf8_lossy(body).into_owned();
        assert_problem(&response, 422, &what);
        assert_eq!(
            get_json(&app, &token, "/api/notifications/preferences").await,
            json!({ "newReleasesEmail": true }),
            "{what} changed the preferences"
        );
    }
}

mod support;

#[tokio::test]
async fn with_an_email_api_and_no_relay_mail_is_posted_to_the_api_as_json() {
    let api = support::EchoServer::start().await;
    let auth = Auth::new();
    let app = start(
        app_builder(&auth)
            .variable("email_api_origin", format!("http://127.0.0.1:{}", api.port))
            .variable("email_api_path", "/v1/send")
            .variable("email_api_key", "api-secret"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let user = user_created("u-api", "api@example.com", "Grace");
    bus.publish(&user).await;

    let request = eventually(WAIT, "the email API to be called", || {
        let requests = api.requests();
        async move { requests.into_iter().next() }
    })
    .await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/v1/send");
    assert_eq!(request.header("authorization"), Some("Bearer api-secret"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("a JSON body");
    assert_eq!(body["to"], "api@example.com", "{body}");
    assert!(
        body["subject"].as_str().unwrap().contains("Spindle"),
        "{body}"
    );
    assert!(body["text"].as_str().unwrap().contains("Grace"), "{body}");
    assert!(body["html"].as_str().unwrap().contains("Grace"), "{body}");
    // Delivered once, and not left in the dev outbox.
    bus.publish(&user).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(api.requests().len(), 1);
}
