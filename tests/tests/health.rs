//! The health endpoints, as an operator (or a load balancer) sees them.

use serde_json::Value;
use spindle_tests::{TestApp, app_manifest, app_version, spawn_app};

/// The entry called `name` in a JSON array of `{ "name": ... }` objects.
#[track_caller]
fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {list}"))
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry named {name:?} in {list}"))
}

#[track_caller]
fn assert_latency(entry: &Value) {
    assert!(
        entry["latencyMs"].is_u64(),
        "latencyMs is a non-negative integer: {entry}"
    );
}

#[track_caller]
fn assert_reason(entry: &Value) {
    let reason = entry["reason"].as_str().unwrap_or_default();
    assert!(
        !reason.trim().is_empty(),
        "an unhealthy entry says why: {entry}"
    );
}

#[tokio::test]
async fn health_says_ok_with_the_application_version() {
    let app = spawn_app().await;

    let response = app.get("/health").await;

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.content_type().as_deref(), Some("application/json"));
    let body: Value = response.json();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["component"], "health", "{body}");
    assert_eq!(
        body["version"],
        app_version().as_str(),
        "version comes from spin.toml: {body}"
    );
}

#[tokio::test]
async fn health_services_checks_each_service_and_redis() {
    let app = spawn_app().await;

    let response = app.get("/health/services").await;

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.content_type().as_deref(), Some("application/json"));
    let body: Value = response.json();
    assert_eq!(body["status"], "ok", "{body}");
    // The default `health_services` is "health,auth,catalog,playlists,notification,sync,activity": each is
    // asked through service chaining (health checks itself).
    let services = body["services"]
        .as_array()
        .unwrap_or_else(|| panic!("services is a list: {body}"));
    assert_eq!(services.len(), 7, "{body}");
    for name in [
        "health",
        "auth",
        "catalog",
        "playlists",
        "notification",
        "sync",
        "activity",
    ] {
        let service = entry(&body["services"], name);
        assert_eq!(service["status"], "ok", "{service}");
        assert_latency(service);
        assert_eq!(service["version"], app_version().as_str(), "{service}");
        assert!(
            service["reason"].is_null(),
            "a healthy service has no reason: {service}"
        );
    }

    let redis = entry(&body["dependencies"], "redis");
    assert_eq!(redis["status"], "ok", "{redis}");
    assert_latency(redis);
    assert!(redis["reason"].is_null(), "{redis}");
}

#[tokio::test]
async fn an_unknown_service_is_unhealthy_and_the_platform_degraded() {
    let app = TestApp::builder(app_manifest())
        .variable("health_services", "health,ghost")
        .start()
        .await
        .expect("app starts");

    let response = app.get("/health/services").await;

    assert_eq!(
        response.status,
        200,
        "the aggregate still answers: {}",
        response.text()
    );
    let body: Value = response.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(entry(&body["services"], "health")["status"], "ok", "{body}");
    let ghost = entry(&body["services"], "ghost");
    assert_eq!(ghost["status"], "unhealthy", "{ghost}");
    assert_reason(ghost);
    assert_latency(ghost);
    assert_eq!(
        entry(&body["dependencies"], "redis")["status"],
        "ok",
        "{body}"
    );
}

#[tokio::test]
async fn with_redis_down_the_dependency_is_unhealthy_not_a_server_error() {
    let mut app = spawn_app().await;
    app.redis.stop();

    let response = app.get("/health/services").await;

    assert_eq!(response.status, 200, "never a 500: {}", response.text());
    let body: Value = response.json();
    let redis = entry(&body["dependencies"], "redis");
    assert_eq!(redis["status"], "unhealthy", "{redis}");
    assert_reason(redis);
    assert_eq!(body["status"], "degraded", "{body}");
    // The component itself is still fine.
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn when_redis_comes_back_the_dependency_recovers() {
    let mut app = spawn_app().await;
    // A first check opens the host's connection to Redis, which the restart then breaks.
    let before: Value = app.get("/health/services").await.json();
    assert_eq!(
        entry(&before["dependencies"], "redis")["status"],
        "ok",
        "{before}"
    );

    app.redis
        .restart()
        .expect("redis restarts on the same port");

    // The first request after the restart may still see the broken connection; the host must
    // reconnect by itself soon after.
    let mut last = Value::Null;
    for _ in 0..3 {
        let response = app.get("/health/services").await;
        assert_eq!(response.status, 200, "{}", response.text());
        last = response.json();
        if entry(&last["dependencies"], "redis")["status"] == "ok" {
            assert_eq!(last["status"], "ok", "{last}");
            return;
        }
    }
    panic!("redis stayed unhealthy after it came back: {last}");
}

#[tokio::test]
async fn unknown_api_paths_are_not_found() {
    let app = spawn_app().await;

    // Every other path belongs to the web player (see tests/tests/web.rs).
    assert_eq!(app.get("/api/nope").await.status, 404);
    assert_eq!(app.get("/health/nope").await.status, 404);
}

#[tokio::test]
async fn the_host_answers_spins_well_known_health_check() {
    let app = spawn_app().await;

    let response = app.get("/.well-known/spin/health").await;

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "OK");
}

#[tokio::test]
async fn a_service_slower_than_the_deadline_is_unhealthy_and_the_report_still_answers() {
    let manifest = spindle_tests::repo_root().join("tests/fixtures/health-slow.toml");
    let app = TestApp::builder(&manifest).start().await.expect("start");
    let started = std::time::Instant::now();
    let response = app.get("/health/services").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200, "{}", response.text());
    let report: Value = response.json();
    assert_eq!(report["status"], "degraded", "{report}");
    let slow = entry(&report["services"], "slow");
    assert_eq!(slow["status"], "unhealthy", "{report}");
    assert_reason(slow);
    assert_eq!(
        entry(&report["services"], "health")["status"],
        "ok",
        "{report}"
    );
    // The slow component sleeps 5 s; the check gives up after its 2 s deadline.
    assert!(
        elapsed < std::time::Duration::from_millis(4500),
        "took {elapsed:?}"
    );
}
