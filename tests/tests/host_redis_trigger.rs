//! The Redis trigger through a real `#[redis_component]` (`tests/fixtures/redis-trigger.toml`):
//! messages published with a Redis client in the test reach every component subscribed to the
//! channel, a failing or trapping handler does not stop later messages, and the trigger's
//! connection is part of the app's life.

mod support;

use redis::AsyncCommands;
use spindle_tests::TestApp;
use spindle_tests::eventually;
use std::time::Duration;
use support::{builder, closed_port, start, start_error};

const WAIT: Duration = Duration::from_secs(20);

async fn connect(app: &TestApp) -> redis::aio::MultiplexedConnection {
    redis::Client::open(app.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test's redis-server")
}

async fn publish(conn: &mut redis::aio::MultiplexedConnection, channel: &str, payload: &str) {
    let _: i64 = conn.publish(channel, payload).await.unwrap();
}

async fn list(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Vec<String> {
    conn.lrange(key, 0, -1).await.unwrap()
}

/// Waits until the list `key` holds `expected` exactly.
async fn wait_for_list(conn: &redis::aio::MultiplexedConnection, key: &str, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    let mut last = Vec::new();
    let got = tokio::time::timeout(WAIT, async {
        loop {
            last = list(&mut conn.clone(), key).await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if got.is_err() {
        let now = list(&mut conn.clone(), key).await;
        panic!("list `{key}` never became {expected:?}; it is {now:?} (last seen {last:?})");
    }
}

#[tokio::test]
async fn published_message_is_delivered_to_the_subscribed_component() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    publish(&mut conn, "events", "hello").await;
    wait_for_list(&conn, "received", &["hello"]).await;
}

#[tokio::test]
async fn every_component_on_the_channel_receives_each_message() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    publish(&mut conn, "events", "first").await;
    publish(&mut conn, "events", "second").await;
    wait_for_list(&conn, "received", &["first", "second"]).await;
    wait_for_list(&conn, "received:two", &["first", "second"]).await;
}

#[tokio::test]
async fn failing_handler_does_not_stop_later_messages() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    for payload in ["one", "fail", "two"] {
        publish(&mut conn, "events", payload).await;
    }
    wait_for_list(&conn, "received", &["one", "two"]).await;
    // The failing handler did run (it records before returning its error).
    wait_for_list(&conn, "received:failed", &["fail"]).await;
}

#[tokio::test]
async fn trapping_handler_does_not_stop_later_messages() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    for payload in ["before", "trap", "after"] {
        publish(&mut conn, "events", payload).await;
    }
    wait_for_list(&conn, "received", &["before", "after"]).await;
}

#[tokio::test]
async fn messages_on_other_channels_are_not_delivered() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    publish(&mut conn, "elsewhere", "ignored").await;
    publish(&mut conn, "events", "marker").await;
    // Messages from one server are handled in order: once the marker is in, the other
    // message would have been too.
    wait_for_list(&conn, "received", &["marker"]).await;
}

#[tokio::test]
async fn channel_comes_from_a_template() {
    let app = builder("redis-trigger.toml")
        .variable("channel", "custom")
        .start()
        .await
        .unwrap();
    let mut conn = connect(&app).await;
    publish(&mut conn, "events", "not-subscribed").await;
    publish(&mut conn, "custom", "subscribed").await;
    wait_for_list(&conn, "received", &["subscribed"]).await;
}

#[tokio::test]
async fn handler_output_goes_to_the_component_log() {
    let app = start("redis-trigger.toml").await;
    let mut conn = connect(&app).await;
    publish(&mut conn, "events", "logged").await;
    eventually(WAIT, "the sink's stdout log", || async {
        app.component_log("sink", "stdout")
            .contains("received logged")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn unreachable_redis_address_fails_start_up() {
    let address = format!("redis://127.0.0.1:{}", closed_port());
    let message = start_error(builder("redis-trigger.toml").variable("redis_url", &address)).await;
    assert!(message.contains(&address), "names the address: {message}");
}

#[tokio::test]
async fn trigger_resubscribes_after_redis_comes_back() {
    // Spin exits when its Redis connection drops; this host reconnects and resubscribes with
    // backoff instead (README: "Difference from Spin").
    let mut app = start("redis-trigger.toml").await;
    app.redis.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.redis.restart().unwrap();
    let mut conn = connect(&app).await;
    // Publish until the resubscribed trigger hears one (messages sent before it is back are
    // lost, as for any pub/sub subscriber).
    let delivered = tokio::time::timeout(WAIT, async {
        loop {
            publish(&mut conn, "events", "after-restart").await;
            if list(&mut conn, "received")
                .await
                .iter()
                .any(|m| m == "after-restart")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        delivered.is_ok(),
        "the trigger never resubscribed after Redis came back"
    );
    // The HTTP side kept serving throughout.
    assert_eq!(app.get("/.well-known/spin/health").await.status, 200);
}
