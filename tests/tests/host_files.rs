//! `files` mounts, `environment` and component output, through a real component
//! (`tests/fixtures/capabilities.toml`, data in `tests/fixtures/probe/testdata`).

mod support;

use serde_json::{Value, json};
use spindle_tests::TestApp;
use support::{ok, probe_get, probe_post, start};

async fn files(app: &TestApp, component: &str, args: Value) -> Value {
    probe_post(app, &format!("/{component}/files"), args).await
}

async fn read(app: &TestApp, path: &str) -> Value {
    files(app, "files", json!({ "op": "read", "path": path })).await
}

#[tokio::test]
async fn directory_mount_keeps_its_app_relative_path() {
    let app = start("capabilities.toml").await;
    assert_eq!(
        ok(&read(&app, "/probe/testdata/assets/a.txt").await),
        "alpha"
    );
    assert_eq!(
        ok(&read(&app, "/probe/testdata/assets/nested/b.txt").await),
        "beta"
    );
}

#[tokio::test]
async fn placement_puts_a_file_at_its_destination() {
    let app = start("capabilities.toml").await;
    assert_eq!(ok(&read(&app, "/greeting.txt").await), "hello from a file");
}

#[tokio::test]
async fn glob_mounts_only_the_matching_files_at_their_app_relative_paths() {
    let app = start("capabilities.toml").await;
    assert_eq!(
        ok(&read(&app, "/probe/testdata/static/notes.md").await),
        "# notes"
    );
    let other = read(&app, "/probe/testdata/static/other.txt").await;
    assert!(other.get("error").is_some(), "not matched by *.md: {other}");
}

#[tokio::test]
async fn excluded_files_are_not_mounted() {
    let app = start("capabilities.toml").await;
    let hidden = read(&app, "/probe/testdata/assets/secret/hidden.txt").await;
    assert!(hidden.get("error").is_some(), "excluded: {hidden}");
}

#[tokio::test]
async fn root_lists_exactly_what_the_manifest_mounts() {
    let app = start("capabilities.toml").await;
    let listing = files(&app, "files", json!({ "op": "list", "path": "/" })).await;
    assert_eq!(ok(&listing), json!(["greeting.txt", "probe"]));
}

#[tokio::test]
async fn mounted_files_are_read_only() {
    let app = start("capabilities.toml").await;
    let overwrite = files(
        &app,
        "files",
        json!({ "op": "write", "path": "/probe/testdata/assets/a.txt", "contents": "changed" }),
    )
    .await;
    assert!(
        overwrite.get("error").is_some(),
        "writing a mounted file fails: {overwrite}"
    );
    let create = files(
        &app,
        "files",
        json!({ "op": "write", "path": "/probe/testdata/assets/new.txt", "contents": "new" }),
    )
    .await;
    assert!(
        create.get("error").is_some(),
        "creating a file fails: {create}"
    );
    assert_eq!(
        ok(&read(&app, "/probe/testdata/assets/a.txt").await),
        "alpha"
    );
    let new = read(&app, "/probe/testdata/assets/new.txt").await;
    assert!(new.get("error").is_some(), "{new}");
    // The source tree is untouched.
    let source = support::fixture("probe/testdata/assets/a.txt");
    assert_eq!(std::fs::read_to_string(source).unwrap(), "alpha");
}

#[tokio::test]
async fn component_without_files_sees_no_filesystem() {
    let app = start("capabilities.toml").await;
    let answer = files(
        &app,
        "bare",
        json!({ "op": "read", "path": "/greeting.txt" }),
    )
    .await;
    assert!(answer.get("error").is_some(), "{answer}");
}

#[tokio::test]
async fn environment_values_are_passed_verbatim() {
    let app = start("capabilities.toml").await;
    assert_eq!(
        ok(&probe_get(&app, "/files/env/GREETING").await),
        "hello from the manifest"
    );
    // `environment` is not templated.
    assert_eq!(
        ok(&probe_get(&app, "/files/env/NOT_TEMPLATED").await),
        "{{ greeting }}"
    );
}

#[tokio::test]
async fn environment_is_per_component() {
    let app = start("capabilities.toml").await;
    let answer = probe_get(&app, "/bare/env/GREETING").await;
    assert_eq!(answer["error"], "not-present", "{answer}");
    assert_eq!(ok(&probe_get(&app, "/bare/env/PROBE_ID").await), "bare");
}

#[tokio::test]
async fn component_stdout_and_stderr_go_to_its_log_files() {
    let app = start("capabilities.toml").await;
    let answer = probe_post(
        &app,
        "/bare/log",
        json!({ "stdout": "to stdout", "stderr": "to stderr" }),
    )
    .await;
    ok(&answer);
    assert!(
        app.component_log("bare", "stdout").contains("to stdout"),
        "{:?}",
        app.component_log("bare", "stdout")
    );
    assert!(app.component_log("bare", "stderr").contains("to stderr"));
    assert!(!app.component_log("store", "stdout").contains("to stdout"));
}
