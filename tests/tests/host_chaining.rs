//! Service chaining (`http://<component>.spin.internal`), through real components
//! (`tests/fixtures/chaining.toml`): served in memory, straight to the component, as if it had
//! matched `/...`, and only when `allowed_outbound_hosts` permits it.

mod support;

use support::{assert_error, header, header_names_with_prefix, header_values, probe_get, start};

#[tokio::test]
async fn chained_request_gets_spin_headers_as_if_it_matched_a_catch_all() {
    let app = start("chaining.toml").await;
    let answer = probe_get(&app, "/chain/back/hello/from/front?x=1").await;
    assert_eq!(answer["component"], "front", "{answer}");
    assert_eq!(answer["status"], 200, "{answer}");
    let back = &answer["body"];
    assert_eq!(back["component"], "back", "{answer}");

    assert_eq!(header(back, "spin-client-addr"), "0.0.0.0:0");
    assert_eq!(header(back, "spin-path-info"), "/hello/from/front");
    assert_eq!(header(back, "spin-matched-route"), "/...");
    assert_eq!(header(back, "spin-raw-component-route"), "/...");
    assert_eq!(header(back, "spin-component-route"), "");
    assert_eq!(header(back, "spin-base-path"), "/");
    assert_eq!(
        header(back, "spin-full-url"),
        "http://localhost/hello/from/front?x=1"
    );
    assert!(
        header_names_with_prefix(back, "spin-path-match-").is_empty(),
        "{back}"
    );
    // The caller's own headers arrive; its Host does not.
    assert_eq!(header(back, "x-probe-caller"), "front");
    assert!(header_values(back, "host").is_empty(), "{back}");
    assert_eq!(back["authority"], "back.spin.internal", "{back}");
    assert_eq!(back["path"], "/hello/from/front?x=1", "{back}");
}

#[tokio::test]
async fn chaining_ignores_the_target_component_routes() {
    let app = start("chaining.toml").await;
    // `back` is routed at /back/...; a chained request goes to it whatever its path.
    let answer = probe_get(&app, "/chain/back/not/under/back").await;
    assert_eq!(answer["body"]["component"], "back", "{answer}");
    assert_eq!(header(&answer["body"], "spin-path-info"), "/not/under/back");
}

#[tokio::test]
async fn private_component_is_reachable_only_by_chaining() {
    let app = start("chaining.toml").await;
    // From outside, /middle is just another path for the catch-all.
    assert_eq!(probe_get(&app, "/middle").await["component"], "front");

    let answer = probe_get(&app, "/chain/middle/hello").await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["component"], "middle", "{answer}");
    assert_eq!(header(&answer["body"], "spin-client-addr"), "0.0.0.0:0");
}

#[tokio::test]
async fn chained_requests_can_hop_through_a_private_component() {
    let app = start("chaining.toml").await;
    // front → middle (private) → back
    let answer = probe_get(&app, "/chain/middle/chain/back/deep/path").await;
    let middle = &answer["body"];
    assert_eq!(middle["component"], "middle", "{answer}");
    assert_eq!(middle["status"], 200, "{answer}");
    let back = &middle["body"];
    assert_eq!(back["component"], "back", "{answer}");
    assert_eq!(header(back, "spin-path-info"), "/deep/path");
    assert_eq!(header(back, "x-probe-caller"), "middle");
}

#[tokio::test]
async fn literal_spin_internal_entry_allows_only_that_component() {
    let app = start("chaining.toml").await;
    // middle allows http://back.spin.internal only: chaining to front is denied.
    let answer = probe_get(&app, "/chain/middle/chain/front/x").await;
    let middle = &answer["body"];
    assert_eq!(middle["component"], "middle", "{answer}");
    assert_error(middle, "HttpRequestDenied");
}

#[tokio::test]
async fn chaining_without_an_allowed_outbound_host_is_http_request_denied() {
    let app = start("chaining.toml").await;
    let answer = probe_get(&app, "/isolated/chain/back/x").await;
    assert_eq!(answer["component"], "isolated");
    assert_error(&answer, "HttpRequestDenied");
}

#[tokio::test]
async fn chaining_scheme_must_match_the_allowed_entry() {
    let app = start("chaining.toml").await;
    // tls allows https://*.spin.internal: an http:// chained request is denied...
    let answer = probe_get(&app, "/tls/chain/back/x").await;
    assert_eq!(answer["component"], "tls");
    assert_error(&answer, "HttpRequestDenied");

    // ...and an https:// one is served in memory (no TLS involved).
    let answer = support::probe_post(
        &app,
        "/tls/http",
        serde_json::json!({ "url": "https://back.spin.internal/over/https" }),
    )
    .await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["component"], "back", "{answer}");
    assert_eq!(header(&answer["body"], "spin-path-info"), "/over/https");
    assert_eq!(header(&answer["body"], "spin-client-addr"), "0.0.0.0:0");
}

#[tokio::test]
async fn wildcard_spin_internal_entry_covers_only_the_app_components() {
    let app = start("chaining.toml").await;
    // http://*.spin.internal expands to one entry per component of the app.
    let answer = probe_get(&app, "/chain/ghost/x").await;
    assert_eq!(answer["component"], "front");
    assert_error(&answer, "HttpRequestDenied");
}

#[tokio::test]
async fn chaining_to_an_unknown_component_is_an_error_for_the_caller() {
    let app = start("chaining.toml").await;
    // reckless allows http://*:*, so the request passes the allow-list, but there is no such
    // component. Spin traps the caller here; a wasi:http host hook cannot trap, so this host
    // answers the guest's request with an error code instead (a documented difference).
    let answer = probe_get(&app, "/reckless/chain/ghost/x").await;
    assert_eq!(answer["component"], "reckless", "{answer}");
    assert!(
        answer["error"].is_string(),
        "the caller sees an error: {answer}"
    );
    assert!(
        answer.get("status").is_none(),
        "no response reached the caller: {answer}"
    );
    // The app keeps serving.
    assert_eq!(probe_get(&app, "/reckless").await["component"], "reckless");
}

#[tokio::test]
async fn chaining_to_a_component_without_an_http_trigger_is_an_error_for_the_caller() {
    let app = start("chaining.toml").await;
    // `worker` is a component of the app but no trigger uses it.
    let answer = probe_get(&app, "/reckless/chain/worker/x").await;
    assert!(
        answer["error"].is_string(),
        "the caller sees an error: {answer}"
    );
    assert!(answer.get("status").is_none(), "{answer}");
}

#[tokio::test]
async fn trapping_chained_component_gives_the_caller_a_500() {
    let app = start("chaining.toml").await;
    let answer = probe_get(&app, "/chain/back/trap").await;
    assert_eq!(answer["component"], "front", "{answer}");
    assert_eq!(answer["status"], 500, "{answer}");
    assert_eq!(answer["body"], "", "Spin's 500 has an empty body: {answer}");
}
