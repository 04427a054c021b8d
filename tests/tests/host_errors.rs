//! Failures: a component that traps, a component the host cannot link, and manifests Spin
//! refuses to start (`tests/fixtures/capabilities.toml`, `tests/fixtures/unknown-import.toml`).

mod support;

use support::{builder, probe_get, start, start_error};

#[tokio::test]
async fn trapping_request_is_a_500_with_an_empty_body_and_the_next_request_is_served() {
    let app = start("capabilities.toml").await;
    let response = app.get("/store/trap").await;
    assert_eq!(response.status, 500, "{}", response.text());
    assert!(
        response.body.is_empty(),
        "Spin's 500 has an empty body: {:?}",
        response.text()
    );
    // A fresh instance serves the very next request.
    let answer = probe_get(&app, "/store/anything").await;
    assert_eq!(answer["component"], "store");
    // And another trap behaves the same.
    assert_eq!(app.get("/store/trap").await.status, 500);
    assert_eq!(probe_get(&app, "/bare").await["component"], "bare");
}

#[tokio::test]
async fn concurrent_requests_survive_a_trapping_one() {
    let app = start("capabilities.toml").await;
    let (a, b, c) = tokio::join!(
        app.get("/store/one"),
        app.get("/store/trap"),
        app.get("/bare/two")
    );
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 500);
    assert_eq!(c.status, 200);
}

#[tokio::test]
async fn component_importing_an_unknown_interface_fails_load_naming_it() {
    let message = start_error(builder("unknown-import.toml")).await;
    assert!(
        message.contains("spin:sqlite/sqlite@3.0.0"),
        "the error names the missing interface: {message}"
    );
    assert!(
        message.contains("newer-sdk"),
        "the error names the component: {message}"
    );
}

/// Writes `manifest` (with `{probe}` replaced by the probe's absolute path) into a temporary
/// directory and returns the error of starting it.
async fn start_error_for(manifest: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let probe = spindle_tests::repo_root().join("target/wasm32-wasip2/release/fixture_probe.wasm");
    let text = manifest.replace("{probe}", &probe.display().to_string());
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, text).unwrap();
    start_error(spindle_tests::TestApp::builder(&path)).await
}

#[tokio::test]
async fn private_false_route_is_a_start_up_error() {
    let message = start_error_for(
        r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = { private = false }
component = "c"
[component.c]
source = "{probe}"
"#,
    )
    .await;
    assert!(
        message.contains("route must be a string pattern or '{ private = true }'"),
        "{message}"
    );
}

#[tokio::test]
async fn deprecated_base_other_than_root_is_a_start_up_error() {
    let message = start_error_for(
        r#"
spin_manifest_version = 2
[application]
name = "x"
[application.trigger.http]
base = "/api"
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "{probe}"
"#,
    )
    .await;
    assert!(message.contains("deprecated trigger 'base'"), "{message}");
}

#[tokio::test]
async fn unnamed_route_param_is_a_start_up_error() {
    let message = start_error_for(
        r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/users/:/x"
component = "c"
[component.c]
source = "{probe}"
"#,
    )
    .await;
    assert!(message.contains("params must be named"), "{message}");
}

#[tokio::test]
async fn malformed_allowed_outbound_host_is_a_start_up_error() {
    let message = start_error_for(
        r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "{probe}"
allowed_outbound_hosts = ["example.com"]
"#,
    )
    .await;
    assert!(message.contains("does not contain a scheme"), "{message}");
}

#[tokio::test]
async fn unknown_manifest_key_is_a_start_up_error() {
    let message = start_error_for(
        r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "{probe}"
allowed_outbund_hosts = ["http://example.com"]
"#,
    )
    .await;
    assert!(message.contains("allowed_outbund_hosts"), "{message}");
}
