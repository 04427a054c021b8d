//! The `web` component: the built web player served from its files mount (caching, the SPA
//! fallback, what is never a page), and the end-to-end tests of the player in a real headless
//! Chromium (`web/e2e/`, driven by playwright-core), run against an app started here.

use spindle_tests::accounts::{self, PASSWORD};
use spindle_tests::oidc::{Identity, OidcProvider};
use spindle_tests::{TestApp, repo_root, spawn_app, spawn_app_with};
use std::process::Stdio;

/// The operator token the browser tests read the dev outbox's one-time codes with.
const OPS_TOKEN: &str = "e2e-operator";

/// Who the test OpenID provider signs in as.
const GOOGLE_NAME: &str = "Gina Google";

/// The shared check (status, problem+json, title and type), named by the request.
fn assert_problem(response: &spindle_tests::TestResponse, status: u16) {
    spindle_tests::assert_problem(response, status, "the web component's answer");
}

/// The script that `index.html` loads: Vite names it after a hash of its content.
fn entry_script(html: &str) -> String {
    let start = html.find("/assets/").expect("index.html loads an asset");
    let end = start + html[start..].find('"').expect("a quoted asset path");
    html[start..end].to_string()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_and_revalidated() {
    let app = spawn_app().await;

    let page = app.get("/").await;

    assert_eq!(page.status, 200);
    assert_eq!(page.content_type().as_deref(), Some("text/html"));
    assert!(page.text().contains(r#"<div id="app">"#), "{}", page.text());
    assert_eq!(page.header("cache-control").as_deref(), Some("no-cache"));
    let csp = page
        .header("content-security-policy")
        .expect("a CSP on the page");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let etag = page.header("etag").expect("an ETag");
    let again = app
        .send(
            app.request(reqwest::Method::GET, "/")
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn hashed_assets_are_kept_for_a_year() {
    let app = spawn_app().await;
    let script = entry_script(&app.get("/").await.text());

    let asset = app.get(&script).await;

    assert_eq!(asset.status, 200);
    assert_eq!(asset.content_type().as_deref(), Some("text/javascript"));
    assert_eq!(
        asset.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        asset.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let on_disk = std::fs::read(
        repo_root()
            .join("web/dist")
            .join(script.trim_start_matches('/')),
    )
    .unwrap();
    assert_eq!(asset.body.as_ref(), on_disk.as_slice());
}

#[tokio::test]
async fn text_files_come_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let script = entry_script(&app.get("/").await.text());
    let on_disk = |suffix: &str| {
        let name = format!("{}{suffix}", script.trim_start_matches('/'));
        std::fs::read(repo_root().join("web/dist").join(name)).unwrap()
    };
    let get = |accept: &'static str| {
        let request = app.request(reqwest::Method::GET, &script);
        app.send(if accept.is_empty() {
            request
        } else {
            request.header("accept-encoding", accept)
        })
    };

    let plain = get("").await;
    let br = get("gzip, deflate, br").await;
    let gzip = get("br;q=0, gzip").await;

    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body.as_ref(), on_disk("").as_slice());
    assert_eq!(br.header("content-encoding").as_deref(), Some("br"));
    assert_eq!(br.body.as_ref(), on_disk(".br").as_slice());
    assert_eq!(gzip.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gzip.body.as_ref(), on_disk(".gz").as_slice());
    assert!(
        br.body.len() < plain.body.len() / 2,
        "{} of {} bytes",
        br.body.len(),
        plain.body.len()
    );
    for answer in [&plain, &br, &gzip] {
        assert_eq!(answer.header("vary").as_deref(), Some("accept-encoding"));
        assert_eq!(answer.content_type().as_deref(), Some("text/javascript"));
    }
    let etags: std::collections::HashSet<_> = [&plain, &br, &gzip]
        .iter()
        .map(|a| a.header("etag"))
        .collect();
    assert_eq!(etags.len(), 3, "each encoding has its own validator");
    let page = app
        .send(
            app.request(reqwest::Method::GET, "/songs/x")
                .header("accept-encoding", "br"),
        )
        .await;
    assert_eq!(page.header("content-encoding").as_deref(), Some("br"));
}

#[tokio::test]
async fn app_paths_get_the_page_so_the_browser_can_route_them() {
    let app = spawn_app().await;
    let root = app.get("/").await.text();

    for path in [
        "/search?q=x",
        "/songs/01JAAAAAAAAAAAAAAAAAAAAAAA",
        "/playlists/",
        "/studio/upload",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.text(), root, "{path}");
        assert_eq!(
            page.header("cache-control").as_deref(),
            Some("no-cache"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn missing_files_and_api_paths_are_problem_404s() {
    let app = spawn_app().await;

    assert_problem(&app.get("/assets/nope-1234.js").await, 404);
    assert_problem(&app.get("/robots.txt").await, 404);
    assert_problem(&app.get("/api/nope").await, 404);
    assert_problem(&app.get("/.well-known/nope").await, 404);
    let icon = app.get("/favicon.svg").await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.content_type().as_deref(), Some("image/svg+xml"));
}

#[tokio::test]
async fn the_api_keeps_its_routes() {
    let app = spawn_app().await;

    let songs = app.get("/api/songs").await;
    assert_eq!(songs.status, 200, "{}", songs.text());
    assert_eq!(songs.content_type().as_deref(), Some("application/json"));
    assert_eq!(
        app.get("/health").await.json::<serde_json::Value>()["component"],
        "health"
    );
    assert_problem(&app.get("/api/auth/me").await, 401);
    let keys = app.get("/.well-known/jwks.json").await;
    assert_eq!(keys.status, 200);
    assert!(keys.json::<serde_json::Value>()["keys"].is_array());
}

#[tokio::test]
async fn only_get_and_head_are_served() {
    let app = spawn_app().await;

    assert_problem(
        &app.send(app.request(reqwest::Method::POST, "/")).await,
        405,
    );
    assert_problem(
        &app.send(app.request(reqwest::Method::DELETE, "/songs/x"))
            .await,
        405,
    );
    let head = app.send(app.request(reqwest::Method::HEAD, "/")).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, app.get("/").await.body.len());
}

#[tokio::test]
async fn paths_cannot_leave_the_mount() {
    let app = spawn_app().await;

    // HTTP clients resolve `/%2e%2e/` themselves (the URL standard), so that one arrives as
    // `/spin.toml`, which the mount does not hold; an encoded `/` reaches the component.
    let cases = [
        ("/%2e%2e/spin.toml", 404),
        ("/assets/..%2f..%2fspin.toml", 400),
        ("/assets/%2e%2e%2f%2e%2e%2fCargo.toml", 400),
        ("/a%00b", 400),
        ("/a%zz", 400),
    ];
    for (path, status) in cases {
        let answer = app.get(path).await;
        assert_problem(&answer, status);
        assert!(
            !answer.text().contains("[application]") && !answer.text().contains("[workspace]"),
            "{path}"
        );
    }
}

/// The web player's tests in headless Chromium (`web/e2e/*.test.mjs`): the user stories (an
/// artist uploads a generated song and sees its duration; a listener finds it by search, plays,
/// seeks, makes a playlist with it; a second browser of the same listener pauses it and the
/// first stops within two seconds), sign-in by emailed code, with Google (a local OpenID
/// provider) and password reset, and axe-core
/// accessibility scans with a keyboard-only run of the player. Screenshots go to
/// `SPINDLE_SCREENSHOTS` when set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_player_works_in_a_real_browser() {
    let chromium = std::env::var("SPINDLE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).is_file(),
        "{chromium} is missing: the README's test command (scripts/test) installs Debian's chromium"
    );
    let mut app = spawn_app_with(&[
        ("admin_emails", "admin@example.com"),
        ("ops_token", OPS_TOKEN),
    ])
    .await;
    accounts::register_admin(&app, "admin@example.com").await;
    // Google sign-in against a local OpenID provider that sends the browser back to this app.
    let provider = OidcProvider::start_redirecting_to(&app.url("/api/auth/google/callback")).await;
    provider.next_login(Identity::new("google-e2e", "gina@example.com", GOOGLE_NAME));
    let mut variables = provider.variables();
    variables.push(("public_url".into(), app.url("")));
    app.restart(variables).await;

    let output = run_e2e(&app, &chromium).await;

    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the browser tests failed:\n{log}");
    println!("{log}");
}

async fn run_e2e(app: &TestApp, chromium: &str) -> std::process::Output {
    let web = repo_root().join("web");
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules is missing: scripts/test runs `npm ci` in web/ (through the web component's build)"
    );
    tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "e2e/",
        ])
        .current_dir(&web)
        .env("SPINDLE_URL", app.url(""))
        .env("SPINDLE_CHROMIUM", chromium)
        .env("SPINDLE_ADMIN_EMAIL", "admin@example.com")
        .env("SPINDLE_ADMIN_PASSWORD", PASSWORD)
        .env("SPINDLE_OPS_TOKEN", OPS_TOKEN)
        .env("SPINDLE_GOOGLE_NAME", GOOGLE_NAME)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs (scripts/setup.sh installs Node.js)")
}
