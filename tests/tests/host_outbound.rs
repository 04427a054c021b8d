//! Outbound HTTP and outbound Redis through real components (`tests/fixtures/outbound-http.toml`,
//! `tests/fixtures/outbound-redis.toml`): `allowed_outbound_hosts` as Spin enforces it, against
//! a loopback HTTP server and the real redis-server each test starts.

mod support;

use futures::StreamExt;
use serde_json::{Value, json};
use spindle_tests::TestApp;
use std::time::Duration;
use support::{EchoServer, assert_error, builder, closed_port, header, ok, probe_post};

// ---------------------------------------------------------------------------------------------
// Outbound HTTP
// ---------------------------------------------------------------------------------------------

async fn start_http(echo_port: u16) -> TestApp {
    builder("outbound-http.toml")
        .variable("echo_port", echo_port.to_string())
        .start()
        .await
        .expect("outbound-http.toml starts")
}

async fn fetch(app: &TestApp, component: &str, url: &str) -> Value {
    probe_post(app, &format!("/{component}/http"), json!({ "url": url })).await
}

#[tokio::test]
async fn allowed_loopback_server_is_reached() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    let answer = probe_post(
        &app,
        "/allowed/http",
        json!({
            "url": server.url("/songs?page=2"),
            "method": "POST",
            "headers": [["x-test", "one"]],
            "body": "payload",
        }),
    )
    .await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["served_by"], "echo-server", "{answer}");
    let received = server.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].target, "/songs?page=2");
    assert_eq!(received[0].header("x-test"), Some("one"));
    assert_eq!(
        received[0].header("host"),
        Some(format!("127.0.0.1:{}", server.port).as_str())
    );
}

#[tokio::test]
async fn host_missing_from_allowed_outbound_hosts_is_http_request_denied() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    let answer = fetch(&app, "denied", &server.url("/")).await;
    assert_error(&answer, "HttpRequestDenied");
    assert!(server.requests().is_empty(), "nothing left the host");
}

#[tokio::test]
async fn port_must_match_the_allowed_entry() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    // other-port allows http://127.0.0.1:1 only.
    assert_error(
        &fetch(&app, "other-port", &server.url("/")).await,
        "HttpRequestDenied",
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn scheme_must_match_the_allowed_entry() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    // https-only allows https://127.0.0.1:<port>; the same host and port over http is denied.
    assert_error(
        &fetch(&app, "https-only", &server.url("/")).await,
        "HttpRequestDenied",
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn host_names_are_not_resolved_when_matching() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    // by-name allows http://localhost:<port>: 127.0.0.1 is a different host to the allow-list.
    assert_error(
        &fetch(&app, "by-name", &server.url("/")).await,
        "HttpRequestDenied",
    );
}

#[tokio::test]
async fn port_range_is_half_open() {
    let server = EchoServer::start().await;
    let port = server.port;

    // lo..hi allows lo up to hi - 1.
    let app = builder("outbound-http.toml")
        .variable("echo_port", port.to_string())
        .variable("lo_port", port.to_string())
        .variable("hi_port", (port + 1).to_string())
        .start()
        .await
        .unwrap();
    let answer = fetch(&app, "range", &server.url("/in")).await;
    assert_eq!(
        answer["status"],
        200,
        "{port} is in {port}..{}: {answer}",
        port + 1
    );

    let app = builder("outbound-http.toml")
        .variable("echo_port", port.to_string())
        .variable("lo_port", (port - 1).to_string())
        .variable("hi_port", port.to_string())
        .start()
        .await
        .unwrap();
    let answer = fetch(&app, "range", &server.url("/out")).await;
    assert_error(&answer, "HttpRequestDenied");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn allowed_host_template_that_resolves_to_empty_is_ignored() {
    let server = EchoServer::start().await;
    // allowed has "{{ optional_host }}", which defaults to "": the app starts, the other
    // entry still works.
    let app = start_http(server.port).await;
    assert_eq!(
        fetch(&app, "allowed", &server.url("/")).await["status"],
        200
    );
}

#[tokio::test]
async fn connection_refused_is_reported_as_such() {
    let port = closed_port();
    let app = start_http(port).await;
    let answer = fetch(&app, "allowed", &format!("http://127.0.0.1:{port}/")).await;
    assert_error(&answer, "ConnectionRefused");
}

#[tokio::test]
async fn relative_url_is_sent_to_the_app_itself_when_self_is_allowed() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    let answer = fetch(&app, "self-caller", "/target/hello?x=1").await;
    assert_eq!(answer["status"], 200, "{answer}");
    let target = &answer["body"];
    assert_eq!(target["component"], "target", "{answer}");
    // It went through the app's listener and router like any request.
    assert_eq!(header(target, "spin-path-info"), "/hello");
    assert_eq!(header(target, "spin-matched-route"), "/target/...");
    let client = header(target, "spin-client-addr");
    assert!(
        client.starts_with("127.0.0.1:") && client != "0.0.0.0:0",
        "{client}"
    );
    assert_eq!(
        header(target, "spin-full-url"),
        format!("http://{}/target/hello?x=1", app.addr)
    );
}

#[tokio::test]
async fn relative_url_without_self_permission_is_http_request_denied() {
    let server = EchoServer::start().await;
    let app = start_http(server.port).await;
    assert_error(
        &fetch(&app, "denied", "/target/hello").await,
        "HttpRequestDenied",
    );
    // An allow-list with other hosts does not grant `self` either.
    assert_error(
        &fetch(&app, "allowed", "/target/hello").await,
        "HttpRequestDenied",
    );
}

// ---------------------------------------------------------------------------------------------
// Outbound Redis
// ---------------------------------------------------------------------------------------------

async fn start_redis_app() -> TestApp {
    builder("outbound-redis.toml")
        .start()
        .await
        .expect("outbound-redis.toml starts")
}

async fn redis_ops(app: &TestApp, component: &str, address: &str, ops: Value) -> Value {
    probe_post(
        app,
        &format!("/{component}/redis"),
        json!({ "address": address, "ops": ops }),
    )
    .await
}

#[tokio::test]
async fn redis_operations_run_against_an_allowed_server() {
    let app = start_redis_app().await;
    let url = app.redis.url();
    let answer = redis_ops(
        &app,
        "allowed",
        &url,
        json!([
            { "op": "set", "key": "song", "value": "blue" },
            { "op": "get", "key": "song" },
            { "op": "get", "key": "missing" },
            { "op": "incr", "key": "plays" },
            { "op": "incr", "key": "plays" },
            { "op": "sadd", "key": "tags", "values": ["rock", "jazz", "rock"] },
            { "op": "smembers", "key": "tags" },
            { "op": "srem", "key": "tags", "values": ["jazz", "pop"] },
            { "op": "smembers", "key": "tags" },
            { "op": "del", "keys": ["song", "plays", "nothing"] },
            { "op": "get", "key": "song" },
        ]),
    )
    .await;
    assert_eq!(
        ok(&answer),
        json!([
            null,
            "blue",
            null,
            1,
            2,
            2,
            ["jazz", "rock"],
            1,
            ["rock"],
            2,
            null
        ])
    );
    // The real server agrees.
    assert_eq!(app.redis.command("SISMEMBER tags rock").unwrap(), "1");
    assert_eq!(app.redis.command("EXISTS song").unwrap(), "0");
}

#[tokio::test]
async fn redis_execute_flattens_replies_like_spin() {
    let app = start_redis_app().await;
    let url = app.redis.url();
    let bin = |s: &str| json!({ "binary": s });
    let answer = redis_ops(
        &app,
        "allowed",
        &url,
        json!([
            { "op": "execute", "command": "SET", "args": [bin("k"), bin("v")] },
            { "op": "execute", "command": "GET", "args": [bin("k")] },
            { "op": "execute", "command": "GET", "args": [bin("nope")] },
            { "op": "execute", "command": "INCRBY", "args": [bin("n"), { "int64": 5 }] },
            { "op": "execute", "command": "RPUSH", "args": [bin("l"), bin("a"), bin("b")] },
            { "op": "execute", "command": "LRANGE", "args": [bin("l"), { "int64": 0 }, { "int64": -1 }] },
            { "op": "execute", "command": "LRANGE", "args": [bin("empty"), { "int64": 0 }, { "int64": -1 }] },
            { "op": "execute", "command": "SCAN", "args": [{ "int64": 0 }, bin("MATCH"), bin("l*")] },
            { "op": "execute", "command": "PING", "args": [] },
        ]),
    )
    .await;
    assert_eq!(
        ok(&answer),
        json!([
            [{ "status": "OK" }],
            [bin("v")],
            ["nil"],
            [{ "int64": 5 }],
            [{ "int64": 2 }],
            [bin("a"), bin("b")],
            [],
            // [cursor, [keys]] flattened into one list
            [bin("0"), bin("l")],
            [{ "status": "PONG" }],
        ])
    );
}

#[tokio::test]
async fn a_blocking_redis_command_holds_up_no_other_instance() {
    // As in Spin, each guest `open` has its own connection: one instance waiting in
    // `XREAD BLOCK` does not stand in the way of another's `XADD`, which wakes it.
    let app = start_redis_app().await;
    let url = app.redis.url();
    let bin = |s: &str| json!({ "binary": s });
    let waiting = redis_ops(
        &app,
        "allowed",
        &url,
        json!([{ "op": "execute", "command": "XREAD", "args": [
            bin("BLOCK"), { "int64": 20000 }, bin("STREAMS"), bin("feed"), bin("$")
        ] }]),
    );
    let writing = async {
        // Once the first instance is blocked in Redis, the second writes.
        spindle_tests::eventually(
            Duration::from_secs(10),
            "a client blocked in XREAD",
            || async {
                let clients = app.redis.command("CLIENT LIST").unwrap_or_default();
                clients.contains("cmd=xread").then_some(())
            },
        )
        .await;
        redis_ops(
            &app,
            "allowed",
            &url,
            json!([{ "op": "execute", "command": "XADD", "args": [
                bin("feed"), bin("*"), bin("song"), bin("blue")
            ] }]),
        )
        .await
    };
    let (waited, written) = tokio::join!(waiting, writing);
    let id = ok(&written)[0][0].clone();
    assert!(id["binary"].is_string(), "XADD answered an id: {written}");
    // The waiting instance was woken by that entry: [stream, id, field, value], flattened.
    assert_eq!(
        ok(&waited),
        json!([[bin("feed"), id, bin("song"), bin("blue")]]),
        "{waited}"
    );
}

#[tokio::test]
async fn redis_server_error_from_execute_is_other() {
    let app = start_redis_app().await;
    let url = app.redis.url();
    let answer = redis_ops(
        &app,
        "allowed",
        &url,
        json!([
            { "op": "set", "key": "text", "value": "x" },
            { "op": "execute", "command": "LPUSH", "args": [{ "binary": "text" }, { "binary": "y" }] },
        ]),
    )
    .await;
    let message = assert_error(&answer, "other");
    assert!(message.contains("WRONGTYPE"), "{message}");
    assert_eq!(answer["index"], 1);
}

#[tokio::test]
async fn redis_publish_reaches_subscribers() {
    let app = start_redis_app().await;
    let client = redis::Client::open(app.redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("news").await.unwrap();
    let answer = redis_ops(
        &app,
        "allowed",
        &app.redis.url(),
        json!([{ "op": "publish", "channel": "news", "payload": "hello subscribers" }]),
    )
    .await;
    assert_eq!(ok(&answer), json!([null]));
    let mut messages = pubsub.on_message();
    let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("the message arrives")
        .expect("a message");
    assert_eq!(
        message.get_payload::<String>().unwrap(),
        "hello subscribers"
    );
}

#[tokio::test]
async fn redis_address_missing_from_allowed_outbound_hosts_is_invalid_address() {
    let app = start_redis_app().await;
    let answer = redis_ops(&app, "denied", &app.redis.url(), json!([])).await;
    assert_error(&answer, "invalid-address");
    assert_eq!(answer["stage"], "open");
}

#[tokio::test]
async fn redis_entry_without_a_port_allows_only_6379() {
    let app = start_redis_app().await;
    // default-port allows redis://127.0.0.1, i.e. port 6379; the test server is elsewhere.
    assert_ne!(app.redis.port(), 6379);
    let answer = redis_ops(&app, "default-port", &app.redis.url(), json!([])).await;
    assert_error(&answer, "invalid-address");
}

#[tokio::test]
async fn unparseable_redis_address_is_invalid_address() {
    let app = start_redis_app().await;
    let answer = redis_ops(&app, "any-port", "not a redis address", json!([])).await;
    assert_error(&answer, "invalid-address");
}

#[tokio::test]
async fn unreachable_allowed_redis_server_is_other() {
    let app = start_redis_app().await;
    let address = format!("redis://127.0.0.1:{}", closed_port());
    let answer = redis_ops(&app, "any-port", &address, json!([])).await;
    assert_error(&answer, "other");
}
