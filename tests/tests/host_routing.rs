//! The HTTP trigger's routing table, through real components (`tests/fixtures/routing.toml`):
//! which component answers a path, as Spin's router (routefinder) decides.

mod support;

use support::{probe_get, start};

/// Asserts `path` is answered by `component`.
async fn assert_routed(app: &spindle_tests::TestApp, path: &str, component: &str) {
    let answer = probe_get(app, path).await;
    assert_eq!(
        answer["component"], component,
        "GET {path} should go to `{component}`: {answer}"
    );
}

async fn assert_not_found(app: &spindle_tests::TestApp, path: &str) {
    let response = app.get(path).await;
    assert_eq!(
        response.status,
        404,
        "GET {path} matches no route: {}",
        response.text()
    );
    assert!(
        response.body.is_empty(),
        "Spin's 404 has an empty body, got {:?}",
        response.text()
    );
}

#[tokio::test]
async fn exact_route_matches_with_or_without_a_trailing_slash() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/exact", "exact").await;
    assert_routed(&app, "/exact/", "exact").await;
    assert_routed(&app, "//exact//", "exact").await;
}

#[tokio::test]
async fn query_string_does_not_take_part_in_matching() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/exact?x=1&y=/wild", "exact").await;
}

#[tokio::test]
async fn root_route_matches_only_the_root() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/", "root").await;
    assert_not_found(&app, "/nothing-here").await;
}

#[tokio::test]
async fn path_no_route_matches_is_a_404_with_an_empty_body() {
    let app = start("routing.toml").await;
    assert_not_found(&app, "/nothing/matches/this").await;
    // Exact routes have no wildcard: nothing below them matches.
    assert_not_found(&app, "/exact/more").await;
}

#[tokio::test]
async fn literal_segments_match_whole_segments_case_sensitively() {
    let app = start("routing.toml").await;
    assert_not_found(&app, "/exactly").await;
    assert_not_found(&app, "/Exact").await;
    // A wildcard route covers its prefix and what is below it, not a longer name.
    assert_not_found(&app, "/wildcat").await;
}

#[tokio::test]
async fn paths_are_matched_raw_without_percent_decoding() {
    let app = start("routing.toml").await;
    // `%61` is `a`, but Spin matches the raw path.
    assert_not_found(&app, "/ex%61ct").await;
}

#[tokio::test]
async fn wildcard_route_matches_its_prefix_and_everything_below_it() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/wild", "wild").await;
    assert_routed(&app, "/wild/", "wild").await;
    assert_routed(&app, "/wild/a/b/c", "wild").await;
}

#[tokio::test]
async fn longest_wildcard_prefix_wins() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/wild/deep", "wild-deep").await;
    assert_routed(&app, "/wild/deep/x/y", "wild-deep").await;
    // `deep` is a whole segment: `/wild/deeper` is only under `/wild/...`.
    assert_routed(&app, "/wild/deeper", "wild").await;
}

#[tokio::test]
async fn exact_beats_param_beats_wildcard_at_the_same_position() {
    let app = start("routing.toml").await;
    // /foo/bar, /foo/:id, /foo/... and /:a/bar all exist.
    assert_routed(&app, "/foo/bar", "foo-bar").await;
    assert_routed(&app, "/foo/baz", "foo-id").await;
    assert_routed(&app, "/foo/baz/qux", "foo-wild").await;
    assert_routed(&app, "/foo", "foo-wild").await;
    assert_routed(&app, "/zzz/bar", "any-bar").await;
}

#[tokio::test]
async fn leftmost_differing_segment_decides_not_overall_specificity() {
    let app = start("routing.toml").await;
    // `/wild/...` has a literal where `/:a/bar` has a parameter, so it wins for `/wild/bar`
    // even though `/:a/bar` would match every segment without a wildcard.
    assert_routed(&app, "/wild/bar", "wild").await;
}

#[tokio::test]
async fn param_route_needs_a_value_for_each_param() {
    let app = start("routing.toml").await;
    assert_routed(&app, "/users/42", "users").await;
    assert_routed(&app, "/users/42/hello", "users").await;
    assert_not_found(&app, "/users").await;
    assert_not_found(&app, "/users/").await;
    assert_routed(&app, "/shows/7/episodes/3", "shows").await;
    assert_not_found(&app, "/shows/7/episodes").await;
}

#[tokio::test]
async fn route_written_without_leading_slash_and_with_trailing_slash_is_normalised() {
    let app = start("routing.toml").await;
    // route = "raw/" → /raw
    assert_routed(&app, "/raw", "raw").await;
    assert_routed(&app, "/raw/", "raw").await;
}

#[tokio::test]
async fn later_duplicate_of_a_route_replaces_the_earlier_one() {
    let app = start("routing.toml").await;
    // Both `dup-first` and `dup-second` declare "/dup": the later declaration wins.
    assert_routed(&app, "/dup", "dup-second").await;
}

#[tokio::test]
async fn of_two_routes_that_normalise_alike_the_first_declared_wins() {
    let app = start("routing.toml").await;
    // "/twin" (twin-first) and "/twin/" (twin-second) are different strings, both kept.
    assert_routed(&app, "/twin", "twin-first").await;
    assert_routed(&app, "/twin/", "twin-first").await;
}

#[tokio::test]
async fn route_params_end_at_a_dot_as_in_routefinder() {
    let app = start("routing.toml").await;
    // route = "/report/:id.json": routefinder splits on `.`, so `id` captures `7`.
    let answer = probe_get(&app, "/report/7.json").await;
    assert_eq!(answer["component"], "report", "{answer}");
    assert_eq!(
        support::header_values(&answer, "spin-path-match-id"),
        vec!["7".to_string()],
        "the param stops at the dot: {answer}"
    );
    // `.json` is a literal: another extension does not match.
    assert_not_found(&app, "/report/7.xml").await;
}

#[tokio::test]
async fn private_route_is_not_reachable_from_outside() {
    let app = start("routing.toml").await;
    // `secret` has `route = { private = true }`; nothing routes to it.
    assert_not_found(&app, "/secret").await;
    assert_not_found(&app, "/secret/anything").await;
    assert_ne!(probe_get(&app, "/").await["component"], "secret");
}

#[tokio::test]
async fn private_component_is_reachable_by_service_chaining() {
    let app = start("routing.toml").await;
    let answer = probe_get(&app, "/caller/chain/secret/hello").await;
    assert_eq!(answer["component"], "caller", "{answer}");
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["component"], "secret", "{answer}");
    assert_eq!(answer["body"]["path"], "/hello", "{answer}");
}

#[tokio::test]
async fn well_known_spin_paths_are_answered_by_the_runtime() {
    let app = start("routing.toml").await;
    let health = app.get("/.well-known/spin/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "OK");

    let info = app.get("/.well-known/spin/info").await;
    assert_eq!(info.status, 200);
    assert_eq!(info.content_type().as_deref(), Some("application/json"));

    let other = app.get("/.well-known/spin/other").await;
    assert_eq!(other.status, 404);
    assert!(other.body.is_empty(), "{}", other.text());
}

#[tokio::test]
async fn static_response_trigger_answers_without_a_component() {
    // `static_response` (instead of `component`) is a Spin trigger form: status 200 unless
    // given, the configured headers and body.
    let dir = tempfile::tempdir().unwrap();
    let probe = spindle_tests::repo_root().join("target/wasm32-wasip2/release/fixture_probe.wasm");
    let manifest = format!(
        r#"
spin_manifest_version = 2
[application]
name = "static"
[[trigger.http]]
route = "/teapot"
static_response = {{ status_code = 418, headers = {{ x-kind = "teapot" }}, body = "short and stout" }}
[[trigger.http]]
route = "/ok"
static_response = {{ body = "fine" }}
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "{}"
environment = {{ PROBE_ID = "c" }}
"#,
        probe.display()
    );
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    let app = spindle_tests::TestApp::builder(&path)
        .start()
        .await
        .unwrap_or_else(|e| panic!("an app with static responses starts: {e:?}"));

    let teapot = app.get("/teapot").await;
    assert_eq!(teapot.status, 418);
    assert_eq!(teapot.header("x-kind").as_deref(), Some("teapot"));
    assert_eq!(teapot.text(), "short and stout");
    let ok = app.get("/ok").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text(), "fine");
    assert_routed(&app, "/other", "c").await;
}
