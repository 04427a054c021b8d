//! The event bus (`spindle_shared::events`) with real parts: the fixture consumer group
//! `notification-test` (`tests/fixtures/events.toml`: `event-consumer` drains on every wake-up,
//! `event-admin` serves the operator routes) against a real `redis-server`, fed by a publisher
//! in the test that writes exactly what `Publisher::publish` writes (XADD of the JSON envelope
//! as field `e` to `spindle:events:TOPIC`, then PUBLISH on `spindle.events.TOPIC`).
//!
//! The fixture's handler records each call in `attempts:ID` (a timestamp in ms) and each
//! handled event in `handled:TOPIC`, so the tests count exactly how often an event was tried
//! and handled. `display_name` (or a track's `title`) `fail-always` always fails with
//! "smtp down"; `fail-until-flag` fails until the key `flag:healthy` exists.

mod support;

use redis::AsyncCommands;
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{
    Envelope, Event, TrackPublished, UserCreated, new_envelope, new_ulid, stream_key,
};
use spindle_tests::bus::EventBus;
use spindle_tests::{RedisServer, TestApp, TestAppBuilder, TestResponse, eventually};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::builder;

const WAIT: Duration = Duration::from_secs(20);
const GROUP: &str = "notification-test";
const TOKEN: &str = "ops-secret-token";
const USER_CREATED: &str = "user.created";
const TRACK_PUBLISHED: &str = "track.published";

// ---------------------------------------------------------------------------------------------
// Events and the test's publisher
// ---------------------------------------------------------------------------------------------

fn envelope(payload: Event) -> Envelope {
    new_envelope(payload, "events-bus-test", "test-correlation")
}

/// A `user.created` whose `display_name` tells the fixture's handler how to behave.
fn user_created(display_name: &str) -> Envelope {
    envelope(Event::UserCreated(UserCreated {
        user_id: format!("user-{}", new_ulid(0)),
        email: "ada@example.com".into(),
        display_name: display_name.into(),
        role: "listener".into(),
    }))
}

fn track_published(title: &str) -> Envelope {
    envelope(Event::TrackPublished(TrackPublished {
        song_id: "song-1".into(),
        artist_id: "artist-1".into(),
        artist_name: "The Testers".into(),
        title: title.into(),
        genre: None,
        tags: None,
    }))
}

/// A Redis client that publishes as the bus does and reads what the fixture recorded.
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

    /// The ids the fixture handled on `topic`, in order (`handled:TOPIC`).
    async fn handled(&mut self, topic: &str) -> Vec<String> {
        self.conn
            .lrange(format!("handled:{topic}"), 0, -1)
            .await
            .unwrap()
    }

    /// When the handler was called for event `id`, in ms since the epoch.
    async fn attempts(&mut self, id: &str) -> Vec<u64> {
        self.conn
            .lrange(format!("attempts:{id}"), 0, -1)
            .await
            .unwrap()
    }

    /// Events of `topic` delivered to the group and not yet acknowledged.
    async fn pending(&mut self, topic: &str) -> i64 {
        let reply: redis::Value = redis::cmd("XPENDING")
            .arg(stream_key(topic))
            .arg(GROUP)
            .query_async(&mut self.conn)
            .await
            .unwrap();
        match reply {
            redis::Value::Array(items) => match items.first() {
                Some(redis::Value::Int(n)) => *n,
                other => panic!("unexpected XPENDING summary {other:?}"),
            },
            other => panic!("unexpected XPENDING reply {other:?}"),
        }
    }

    async fn set(&mut self, key: &str, value: &str) {
        let _: () = self.conn.set(key, value).await.unwrap();
    }

    /// Waits until `topic` has `count` handled ids (and panics if it gets more).
    async fn wait_handled(&mut self, topic: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let handled = self.handled(topic).await;
            assert!(
                handled.len() <= count,
                "more than {count} events handled on {topic}: {handled:?}"
            );
            if handled.len() == count {
                return handled;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {WAIT:?}: {} of {count} events handled on {topic}",
                    handled.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn ids(envelopes: &[Envelope]) -> Vec<String> {
    envelopes.iter().map(|e| e.id.clone()).collect()
}

#[track_caller]
fn assert_distinct(handled: &[String]) {
    let distinct: HashSet<&String> = handled.iter().collect();
    assert_eq!(
        distinct.len(),
        handled.len(),
        "an event was handled more than once: {handled:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// The fixture with the operator token set.
fn events_app() -> TestAppBuilder {
    builder("events.toml").variable("ops_token", TOKEN)
}

async fn start(builder: TestAppBuilder) -> TestApp {
    builder
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start events.toml: {e:?}"))
}

/// An operator request with the right token.
async fn ops(app: &TestApp, method: Method, path: &str) -> TestResponse {
    app.send(
        app.request(method, &format!("/ops/events{path}"))
            .bearer_auth(TOKEN),
    )
    .await
}

async fn dead_letters(app: &TestApp) -> Vec<Value> {
    let response = ops(app, Method::GET, "/dead-letters").await;
    assert_eq!(response.status, 200, "dead letters: {}", response.text());
    response.json()
}

/// Waits until the group has `count` dead letters; returns them (newest first).
async fn wait_dead_letters(app: &TestApp, count: usize) -> Vec<Value> {
    eventually(WAIT, &format!("{count} dead letter(s)"), || async {
        let letters = dead_letters(app).await;
        assert!(letters.len() <= count, "too many dead letters: {letters:?}");
        (letters.len() == count).then_some(letters)
    })
    .await
}

async fn replay(app: &TestApp, dead_id: &str) -> TestResponse {
    ops(
        app,
        Method::POST,
        &format!("/dead-letters/{dead_id}/replay"),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn published_event_is_handled_once_by_its_topics_handler() {
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let user = user_created("ada");
    let track = track_published("first song");
    bus.publish(&user).await;
    bus.publish(&track).await;

    assert_eq!(bus.wait_handled(USER_CREATED, 1).await, [user.id.as_str()]);
    assert_eq!(
        bus.wait_handled(TRACK_PUBLISHED, 1).await,
        [track.id.as_str()]
    );
    // Later wake-ups (the second publish woke the group again) do not handle it again.
    bus.wake(USER_CREATED).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bus.attempts(&user.id).await.len(), 1, "one handler call");
    assert_eq!(bus.pending(USER_CREATED).await, 0, "acknowledged");
    assert_eq!(bus.pending(TRACK_PUBLISHED).await, 0, "acknowledged");

    let reported = app.get("/events/handled").await;
    assert_eq!(reported.status, 200, "{}", reported.text());
    assert_eq!(
        reported.json::<Value>(),
        json!({ USER_CREATED: [user.id], TRACK_PUBLISHED: [track.id] })
    );
}

#[tokio::test]
async fn events_published_while_the_consumer_is_stopped_are_all_handled_once_when_it_returns() {
    let redis = RedisServer::start().unwrap();
    let mut bus = Bus::connect(&redis.url()).await;
    let first_app = start(events_app().variable("redis_url", redis.url())).await;
    let first = user_created("before the outage");
    bus.publish(&first).await;
    bus.wait_handled(USER_CREATED, 1).await;
    first_app.stop().await;

    let away: Vec<Envelope> = (0..100)
        .map(|i| user_created(&format!("user {i}")))
        .collect();
    for envelope in &away {
        bus.publish(envelope).await; // the wake-ups reach nobody
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bus.handled(USER_CREATED).await, [first.id.as_str()]);

    let app = start(events_app().variable("redis_url", redis.url())).await;
    let drained = ops(&app, Method::POST, "/drain").await;
    assert_eq!(drained.status, 200, "{}", drained.text());
    let report: Value = drained.json();
    assert_eq!(report["handled"], 100, "drain report {report}");
    assert_eq!(report["duplicates"], 0, "drain report {report}");

    let mut expected = vec![first.id.clone()];
    expected.extend(ids(&away));
    assert_eq!(
        bus.handled(USER_CREATED).await,
        expected,
        "every event once, in order"
    );
    // A later wake-up finds nothing left.
    bus.wake(USER_CREATED).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bus.handled(USER_CREATED).await, expected);
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}

#[tokio::test]
async fn consumer_that_starts_after_events_were_published_reads_them_from_the_start() {
    let redis = RedisServer::start().unwrap();
    let mut bus = Bus::connect(&redis.url()).await;
    // No consumer group exists yet.
    let early: Vec<Envelope> = (0..10).map(|i| track_published(&format!("t{i}"))).collect();
    for envelope in &early {
        bus.publish(envelope).await;
    }
    let _app = start(events_app().variable("redis_url", redis.url())).await;
    bus.wake(TRACK_PUBLISHED).await;
    assert_eq!(bus.wait_handled(TRACK_PUBLISHED, 10).await, ids(&early));
}

#[tokio::test]
async fn same_envelope_published_twice_is_handled_once() {
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let twice = user_created("twice");
    let marker = user_created("marker");
    bus.publish(&twice).await;
    bus.publish(&twice).await;
    bus.publish(&marker).await;

    // A stream is read in order: once the marker is handled, both copies were delivered.
    let handled = bus.wait_handled(USER_CREATED, 2).await;
    assert_eq!(handled, [twice.id.as_str(), marker.id.as_str()]);
    let length: i64 = redis::cmd("XLEN")
        .arg(stream_key(USER_CREATED))
        .query_async(&mut bus.conn)
        .await
        .unwrap();
    assert_eq!(length, 3, "both copies are in the stream");
    assert_eq!(
        bus.attempts(&twice.id).await.len(),
        1,
        "the copy never reached the handler"
    );
    assert_eq!(
        bus.pending(USER_CREATED).await,
        0,
        "the copy was acknowledged"
    );
}

#[tokio::test]
async fn concurrent_drains_handle_each_new_event_once() {
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let events: Vec<Envelope> = (0..40).map(|i| user_created(&format!("c{i}"))).collect();
    for envelope in &events {
        bus.append(envelope).await; // no wake-up: only the drains below read them
    }
    let drains = (0..4).map(|_| ops(&app, Method::POST, "/drain"));
    for response in futures::future::join_all(drains).await {
        assert_eq!(response.status, 200, "{}", response.text());
    }
    let handled = bus.handled(USER_CREATED).await;
    assert_distinct(&handled);
    assert_eq!(handled.len(), 40);
}

// ---------------------------------------------------------------------------------------------
// Retries and dead letters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn more_failed_events_than_one_page_are_all_retried_without_another_wake_up() {
    // A drain looks at pending entries a page (100) at a time; the rest must not wait for a
    // publish or an operator to be retried.
    let app = start(
        events_app()
            .variable("retry_base_ms", "100")
            .variable("max_attempts", "50"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let events: Vec<Envelope> = (0..150).map(|_| user_created("fail-until-flag")).collect();
    for event in &events {
        bus.append(event).await;
    }
    bus.wake(USER_CREATED).await;
    eventually(WAIT, "every event to fail once", || {
        let mut bus = bus.clone();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        async move {
            for id in &ids {
                if bus.attempts(id).await.is_empty() {
                    return None;
                }
            }
            Some(())
        }
    })
    .await;
    bus.set("flag:healthy", "1").await;

    // Only the retry timer wakes the consumer from here on.
    let handled = bus.wait_handled(USER_CREATED, events.len()).await;
    let mut expected: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let mut got: Vec<&str> = handled.iter().map(String::as_str).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "each one handled, once");
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}

#[tokio::test]
async fn failing_event_is_retried_with_growing_delays_and_handled_once_after_recovery() {
    const BASE_MS: u64 = 200;
    let app = start(
        events_app()
            .variable("retry_base_ms", BASE_MS.to_string())
            .variable("max_attempts", "10"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let flaky = user_created("fail-until-flag");
    bus.publish(&flaky).await;

    // Nothing but the retry timer wakes the consumer from here on.
    eventually(WAIT, "four failed attempts", || {
        let mut bus = bus.clone();
        let id = flaky.id.clone();
        async move { (bus.attempts(&id).await.len() >= 4).then_some(()) }
    })
    .await;
    assert!(bus.handled(USER_CREATED).await.is_empty());
    bus.set("flag:healthy", "1").await;

    let handled = bus.wait_handled(USER_CREATED, 1).await;
    assert_eq!(handled, [flaky.id.as_str()]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        bus.handled(USER_CREATED).await,
        [flaky.id.as_str()],
        "never handled twice"
    );

    let attempts = bus.attempts(&flaky.id).await;
    assert!(
        (5..10).contains(&attempts.len()),
        "four failures and one success: {attempts:?}"
    );
    // The wait before attempt n+1 is at least base * 2^(n-1): 200, 400, 800, 1600 ms. (A few
    // ms of slack: Redis measures idle time from the delivery, the handler stamps a moment later.)
    for (n, gap) in attempts.windows(2).map(|w| w[1] - w[0]).enumerate() {
        let due = BASE_MS << n;
        assert!(
            gap + 30 >= due,
            "retry {} came after {gap} ms, before its backoff of {due} ms; attempts {attempts:?}",
            n + 1
        );
    }
    assert_eq!(bus.pending(USER_CREATED).await, 0);
    assert!(dead_letters(&app).await.is_empty());
}

#[tokio::test]
async fn concurrent_drains_retry_a_due_event_once() {
    let app = start(
        events_app()
            .variable("retry_base_ms", "300")
            .variable("max_attempts", "10"),
    )
    .await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let flaky = user_created("fail-until-flag");
    bus.publish(&flaky).await;
    let timer = format!("spindle:timer:{GROUP}");
    eventually(WAIT, "the retry timer to be armed", || {
        let mut bus = bus.clone();
        let timer = timer.clone();
        async move {
            let armed: bool = bus.conn.exists(&timer).await.unwrap();
            armed.then_some(())
        }
    })
    .await;
    // Disarm it (DEL sends no expiry event): only the drains below retry the event.
    let _: i64 = bus.conn.del(&timer).await.unwrap();
    assert_eq!(bus.attempts(&flaky.id).await.len(), 1);
    bus.set("flag:healthy", "1").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let drains = (0..6).map(|_| ops(&app, Method::POST, "/drain"));
    for response in futures::future::join_all(drains).await {
        assert_eq!(response.status, 200, "{}", response.text());
    }
    let handled = bus.handled(USER_CREATED).await;
    let attempts = bus.attempts(&flaky.id).await;
    assert_eq!(
        handled,
        [flaky.id.as_str()],
        "handled once; the handler ran {} times",
        attempts.len()
    );
    assert_eq!(attempts.len(), 2, "one failure, one retry");
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}

#[tokio::test]
async fn event_that_always_fails_is_dead_lettered_after_max_attempts_with_its_error() {
    // Defaults: 4 attempts, 100 ms base delay.
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let doomed = user_created("fail-always");
    bus.publish(&doomed).await;

    let letters = wait_dead_letters(&app, 1).await;
    let letter = &letters[0];
    assert_eq!(letter["error"], "smtp down", "{letter}");
    assert_eq!(letter["attempts"], 4, "{letter}");
    assert_eq!(letter["topic"], USER_CREATED, "{letter}");
    let event: Envelope = serde_json::from_value(letter["event"].clone()).unwrap();
    assert_eq!(event, doomed, "the dead letter keeps the whole envelope");

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        bus.attempts(&doomed.id).await.len(),
        4,
        "no attempt after the last"
    );
    assert_eq!(bus.pending(USER_CREATED).await, 0, "acknowledged once dead");
    assert!(bus.handled(USER_CREATED).await.is_empty());

    // Replaying it while the handler still fails: 409, and it stays.
    let dead_id = letter["id"].as_str().unwrap();
    let replayed = replay(&app, dead_id).await;
    assert_eq!(replayed.status, 409, "{}", replayed.text());
    assert!(replayed.text().contains("smtp down"), "{}", replayed.text());
    assert_eq!(
        bus.attempts(&doomed.id).await.len(),
        5,
        "replay ran the handler"
    );
    assert_eq!(dead_letters(&app).await.len(), 1);

    // The group goes on with later events.
    let next = user_created("next");
    bus.publish(&next).await;
    assert_eq!(bus.wait_handled(USER_CREATED, 1).await, [next.id]);
}

#[tokio::test]
async fn replayed_dead_letter_is_handled_once_and_leaves_the_dead_letters() {
    let app = start(events_app().variable("max_attempts", "2")).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let flaky = user_created("fail-until-flag");
    bus.publish(&flaky).await;

    let letters = wait_dead_letters(&app, 1).await;
    assert_eq!(letters[0]["error"], "smtp down until flag:healthy");
    assert_eq!(letters[0]["attempts"], 2);
    let dead_id = letters[0]["id"].as_str().unwrap().to_string();

    assert_eq!(replay(&app, &dead_id).await.status, 409, "still failing");
    assert_eq!(dead_letters(&app).await.len(), 1);

    bus.set("flag:healthy", "1").await;
    let replayed = replay(&app, &dead_id).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    assert_eq!(replayed.json::<Value>(), json!({ "replayed": dead_id }));
    assert!(
        dead_letters(&app).await.is_empty(),
        "gone from the dead letters"
    );
    assert_eq!(bus.handled(USER_CREATED).await, [flaky.id.as_str()]);

    // Replaying it again finds nothing; delivering it again does not handle it again.
    assert_eq!(replay(&app, &dead_id).await.status, 404);
    let marker = user_created("marker");
    bus.publish(&flaky).await;
    bus.publish(&marker).await;
    assert_eq!(
        bus.wait_handled(USER_CREATED, 2).await,
        [flaky.id.as_str(), marker.id.as_str()]
    );
}

#[tokio::test]
async fn unreadable_entry_is_dead_lettered_and_later_events_are_still_handled() {
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    bus.append_raw(USER_CREATED, b"{this is not an envelope")
        .await;
    let good = user_created("after the garbage");
    bus.publish(&good).await;

    assert_eq!(bus.wait_handled(USER_CREATED, 1).await, [good.id.as_str()]);
    let letters = wait_dead_letters(&app, 1).await;
    let error = letters[0]["error"].as_str().unwrap();
    assert!(error.starts_with("unreadable event"), "{}", letters[0]);
    assert_eq!(letters[0]["attempts"], 1, "not retried: {}", letters[0]);
    assert_eq!(letters[0]["topic"], USER_CREATED);
    assert_eq!(
        letters[0]["event"], "{this is not an envelope",
        "the operator sees the bytes that could not be read"
    );
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Operator routes
// ---------------------------------------------------------------------------------------------

const OPS_ROUTES: [(&str, &str); 3] = [
    ("POST", "/ops/events/drain"),
    ("GET", "/ops/events/dead-letters"),
    ("POST", "/ops/events/dead-letters/1-0/replay"),
];

async fn ops_status(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> u16 {
    let mut request = app.request(method.parse().unwrap(), path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.send(request).await.status
}

#[tokio::test]
async fn operator_routes_need_the_ops_token() {
    let app = start(events_app()).await;
    let mut bus = Bus::connect(&app.redis.url()).await;
    let waiting = user_created("waiting");
    bus.append(&waiting).await; // no wake-up: only a drain handles it

    for (method, path) in OPS_ROUTES {
        assert_eq!(
            ops_status(&app, method, path, None).await,
            401,
            "{method} {path} without a token"
        );
        assert_eq!(
            ops_status(&app, method, path, Some("wrong-token")).await,
            403,
            "{method} {path} with a wrong token"
        );
    }
    assert!(
        bus.handled(USER_CREATED).await.is_empty(),
        "a refused drain drains nothing"
    );
    let basic = app
        .send(
            app.request(Method::GET, "/ops/events/dead-letters")
                .header("authorization", format!("Basic {TOKEN}")),
        )
        .await;
    assert_eq!(basic.status, 401, "only a bearer token counts");

    assert_eq!(
        ops_status(&app, "POST", "/ops/events/drain", Some(TOKEN)).await,
        200
    );
    assert_eq!(bus.handled(USER_CREATED).await, [waiting.id]);
}

#[tokio::test]
async fn operator_routes_are_closed_when_ops_token_is_unset() {
    let app = start(builder("events.toml")).await;
    for (method, path) in OPS_ROUTES {
        for token in [None, Some(""), Some("anything")] {
            assert_eq!(
                ops_status(&app, method, path, token).await,
                403,
                "{method} {path} with token {token:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Redis crashes
// ---------------------------------------------------------------------------------------------

/// Publishes wake-ups until `count` events are handled on `topic` (the trigger resubscribes
/// with backoff after Redis comes back, and wake-ups sent before that are lost).
async fn wake_until_handled(bus: &mut Bus, topic: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        bus.wake(topic).await;
        let handled = bus.handled(topic).await;
        let distinct: HashSet<&String> = handled.iter().collect();
        if distinct.len() >= count {
            return handled;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {WAIT:?}: {} of {count} events handled",
                distinct.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn acknowledged_events_survive_a_redis_crash_and_are_not_handled_again() {
    let mut redis = RedisServer::start_persistent().unwrap();
    let _app = start(events_app().variable("redis_url", redis.url())).await;
    let mut bus = Bus::connect(&redis.url()).await;
    let before: Vec<Envelope> = (0..50).map(|i| user_created(&format!("b{i}"))).collect();
    for envelope in &before {
        bus.publish(envelope).await;
    }
    bus.wait_handled(USER_CREATED, 50).await;

    redis.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis.restart().unwrap();
    let mut bus = Bus::connect(&redis.url()).await;
    assert_eq!(bus.handled(USER_CREATED).await, ids(&before));
    assert_eq!(bus.pending(USER_CREATED).await, 0, "the acks survived");

    let after: Vec<Envelope> = (0..50).map(|i| user_created(&format!("a{i}"))).collect();
    for envelope in &after {
        bus.publish(envelope).await;
    }
    wake_until_handled(&mut bus, USER_CREATED, 100).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut expected = ids(&before);
    expected.extend(ids(&after));
    assert_eq!(bus.handled(USER_CREATED).await, expected);
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}

#[tokio::test]
async fn redis_crash_during_a_drain_loses_no_event_and_repeats_at_most_the_one_in_flight() {
    const TOTAL: usize = 500;
    let mut redis = RedisServer::start_persistent().unwrap();
    let _app = start(events_app().variable("redis_url", redis.url())).await;
    let mut bus = Bus::connect(&redis.url()).await;
    let events: Vec<Envelope> = (0..TOTAL).map(|i| user_created(&format!("m{i}"))).collect();
    for envelope in &events {
        bus.append(envelope).await; // each XADD is on disk before it is acknowledged
    }
    bus.wake(USER_CREATED).await;
    eventually(WAIT, "the drain to be under way", || {
        let mut bus = bus.clone();
        async move { (bus.handled(USER_CREATED).await.len() >= 20).then_some(()) }
    })
    .await;
    redis.stop();
    redis.restart().unwrap();
    let mut bus = Bus::connect(&redis.url()).await;
    let at_crash = bus.handled(USER_CREATED).await.len();
    assert!(
        at_crash < TOTAL,
        "the drain had finished before the crash; nothing was tested"
    );

    wake_until_handled(&mut bus, USER_CREATED, TOTAL).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let handled = bus.handled(USER_CREATED).await;
    let distinct: HashSet<&String> = handled.iter().collect();
    assert_eq!(
        distinct,
        ids(&events).iter().collect(),
        "every event handled"
    );
    let repeats = handled.len() - distinct.len();
    println!("crashed after {at_crash} of {TOTAL} handled; {repeats} handled twice");
    // The handler's effect and the bus's bookkeeping (ZADD processed, XACK) are separate
    // writes: an event whose handler ran just before the crash may run again. Only that one.
    assert!(
        repeats <= 1,
        "{repeats} events handled twice after one crash"
    );
    assert_eq!(bus.pending(USER_CREATED).await, 0);
}
