//! The `spin-*` headers the HTTP trigger adds to a request, as a component sees them
//! (`tests/fixtures/routing.toml`).

mod support;

use serde_json::Value;
use support::{header, header_names_with_prefix, header_values, probe_get, raw_request, start};

/// The request `GET path` answered by the probe, with the app's `host:port`.
async fn echo(path: &str) -> (Value, String) {
    let app = start("routing.toml").await;
    let answer = probe_get(&app, path).await;
    (answer, app.addr.to_string())
}

#[tokio::test]
async fn wildcard_route_with_a_param_gets_every_spin_header() {
    let app = start("routing.toml").await;
    let answer = probe_get(&app, "/users/42/hello/world?x=1&y=2").await;
    assert_eq!(answer["component"], "users", "{answer}");

    assert_eq!(header(&answer, "spin-path-info"), "/hello/world");
    assert_eq!(
        header(&answer, "spin-full-url"),
        format!("http://{}/users/42/hello/world?x=1&y=2", app.addr)
    );
    assert_eq!(header(&answer, "spin-matched-route"), "/users/:userid/...");
    assert_eq!(header(&answer, "spin-base-path"), "/");
    assert_eq!(
        header(&answer, "spin-raw-component-route"),
        "/users/:userid/..."
    );
    assert_eq!(header(&answer, "spin-component-route"), "/users/:userid");
    assert_eq!(header(&answer, "spin-path-match-userid"), "42");
    let client = header(&answer, "spin-client-addr");
    assert!(
        client.starts_with("127.0.0.1:") && !client.ends_with(":0"),
        "the TCP peer address: {client}"
    );
}

#[tokio::test]
async fn path_info_is_the_wildcard_remainder_with_its_slashes() {
    let app = start("routing.toml").await;
    // (path, spin-path-info) for route `/users/:userid/...` (Spin's test_http_routing).
    for (path, path_info, userid) in [
        ("/users/42", "", "42"),
        ("/users/42/", "/", "42"),
        ("/users/42/hello/", "/hello/", "42"),
        ("/users/42/a//", "/a/", "42"),
    ] {
        let answer = probe_get(&app, path).await;
        assert_eq!(
            header(&answer, "spin-path-info"),
            path_info,
            "path-info of {path}"
        );
        assert_eq!(header(&answer, "spin-path-match-userid"), userid, "{path}");
    }
    // And for a wildcard without params.
    for (path, path_info) in [
        ("/wild", ""),
        ("/wild/", "/"),
        ("/wild/a/b", "/a/b"),
        ("/wild/a/b/", "/a/b/"),
    ] {
        let answer = probe_get(&app, path).await;
        assert_eq!(answer["component"], "wild");
        assert_eq!(
            header(&answer, "spin-path-info"),
            path_info,
            "path-info of {path}"
        );
        assert_eq!(header(&answer, "spin-matched-route"), "/wild/...");
        assert_eq!(header(&answer, "spin-component-route"), "/wild");
    }
}

#[tokio::test]
async fn exact_route_has_empty_path_info_even_with_a_trailing_slash() {
    let (answer, _) = echo("/exact/").await;
    assert_eq!(header(&answer, "spin-path-info"), "");
    assert_eq!(header(&answer, "spin-matched-route"), "/exact");
    assert_eq!(header(&answer, "spin-raw-component-route"), "/exact");
    assert_eq!(header(&answer, "spin-component-route"), "/exact");
    assert!(header_names_with_prefix(&answer, "spin-path-match-").is_empty());
}

#[tokio::test]
async fn root_route_has_an_empty_matched_route() {
    let (answer, _) = echo("/").await;
    assert_eq!(answer["component"], "root");
    assert_eq!(header(&answer, "spin-matched-route"), "");
    assert_eq!(header(&answer, "spin-raw-component-route"), "/");
    assert_eq!(header(&answer, "spin-component-route"), "/");
    assert_eq!(header(&answer, "spin-path-info"), "");
}

#[tokio::test]
async fn raw_component_route_is_the_route_exactly_as_written() {
    // route = "raw/"
    let (answer, _) = echo("/raw").await;
    assert_eq!(answer["component"], "raw");
    assert_eq!(header(&answer, "spin-raw-component-route"), "raw/");
    assert_eq!(header(&answer, "spin-component-route"), "raw/");
    assert_eq!(header(&answer, "spin-matched-route"), "/raw");
}

#[tokio::test]
async fn path_match_headers_are_named_after_lower_cased_params_with_raw_values() {
    // route = "/shows/:showId/episodes/:episode"
    let (answer, _) = echo("/shows/a%20b/episodes/3").await;
    assert_eq!(answer["component"], "shows");
    assert_eq!(
        header_names_with_prefix(&answer, "spin-path-match-"),
        vec!["spin-path-match-episode", "spin-path-match-showid"]
    );
    assert_eq!(header(&answer, "spin-path-match-showid"), "a%20b");
    assert_eq!(header(&answer, "spin-path-match-episode"), "3");
}

#[tokio::test]
async fn client_addr_is_the_tcp_peer_address_of_the_request() {
    let app = start("routing.toml").await;
    let response = raw_request(
        app.addr,
        &format!("GET /exact HTTP/1.1\r\nhost: {}", app.addr),
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(
        header(&answer, "spin-client-addr"),
        response.client_addr.to_string()
    );
}

#[tokio::test]
async fn full_url_and_authority_come_from_the_host_header() {
    let app = start("routing.toml").await;
    let response = raw_request(
        app.addr,
        "GET /wild/x?q=1 HTTP/1.1\r\nhost: music.example:8443",
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(
        header(&answer, "spin-full-url"),
        "http://music.example:8443/wild/x?q=1"
    );
    assert_eq!(answer["authority"], "music.example:8443", "{answer}");
}

#[tokio::test]
async fn component_sees_http_scheme_and_the_request_path_with_query() {
    let app = start("routing.toml").await;
    let answer = probe_get(&app, "/wild/a?b=c").await;
    assert_eq!(answer["scheme"], "http", "{answer}");
    assert_eq!(answer["path"], "/wild/a?b=c", "{answer}");
    assert_eq!(answer["authority"], app.addr.to_string(), "{answer}");
}

#[tokio::test]
async fn client_headers_are_passed_and_spin_headers_are_appended_after_them() {
    let app = start("routing.toml").await;
    let response = raw_request(
        app.addr,
        &format!(
            "GET /wild/real HTTP/1.1\r\nhost: {}\r\nx-custom: one\r\nspin-path-info: /forged",
            app.addr
        ),
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(header(&answer, "x-custom"), "one");
    // Spin appends: the client's value stays, the runtime's comes after it.
    assert_eq!(
        header_values(&answer, "spin-path-info"),
        vec!["/forged".to_string(), "/real".to_string()]
    );
}

#[tokio::test]
async fn connection_header_never_reaches_the_component() {
    let app = start("routing.toml").await;
    let response = raw_request(
        app.addr,
        &format!(
            "GET /exact HTTP/1.1\r\nhost: {}\r\nconnection: close",
            app.addr
        ),
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert!(header_values(&answer, "connection").is_empty(), "{answer}");
}

#[tokio::test]
async fn request_whose_only_authority_is_a_spin_internal_host_gets_no_response() {
    let app = start("routing.toml").await;
    // Spin strips a `Host: <id>.spin.internal` header from inbound requests; an origin-form
    // request then has no authority at all, and Spin drops the connection without answering.
    let raw = support::raw_exchange(
        app.addr,
        "GET /exact HTTP/1.1\r\nhost: exact.spin.internal\r\nconnection: close",
    )
    .await;
    assert!(
        raw.is_empty(),
        "expected the connection to be closed without a response, got {:?}",
        String::from_utf8_lossy(&raw)
    );
    // The app keeps serving.
    assert_eq!(probe_get(&app, "/exact").await["component"], "exact");
}
