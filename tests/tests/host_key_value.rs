//! `fermyon:spin/key-value@2.0.0` through real components (`tests/fixtures/capabilities.toml`,
//! `tests/fixtures/stores.toml`): stores by label, access only to declared labels, and the
//! default store's file in the state directory.

mod support;

use serde_json::{Value, json};
use spindle_tests::TestApp;
use support::{DirectApp, assert_error, builder, ok, probe_post, start, start_error};

/// A runtime config defining the `cache` store (relative to the runtime config's directory) and
/// the `cache` database (in memory).
const STORES_RUNTIME_CONFIG: &str = r#"
[key_value_store.cache]
type = "spin"
path = "cache-kv.db"

[sqlite_database.cache]
type = "spin"
"#;

async fn start_stores() -> TestApp {
    builder("stores.toml")
        .runtime_config(STORES_RUNTIME_CONFIG)
        .start()
        .await
        .expect("stores.toml starts with its runtime config")
}

async fn kv(app: &TestApp, component: &str, label: &str, ops: Value) -> Value {
    probe_post(
        app,
        &format!("/{component}/kv"),
        json!({ "label": label, "ops": ops }),
    )
    .await
}

#[tokio::test]
async fn set_get_exists_delete_and_get_keys_on_the_default_store() {
    let app = start("capabilities.toml").await;
    let answer = kv(
        &app,
        "store",
        "default",
        json!([
            { "op": "set", "key": "b", "value": "two" },
            { "op": "set", "key": "a", "value": "one" },
            { "op": "get", "key": "a" },
            { "op": "exists", "key": "a" },
            { "op": "get-keys" },
            { "op": "set", "key": "a", "value": "uno" },
            { "op": "get", "key": "a" },
            { "op": "delete", "key": "a" },
            { "op": "exists", "key": "a" },
            { "op": "get-keys" },
        ]),
    )
    .await;
    assert_eq!(
        ok(&answer),
        json!([
            null,
            null,
            "one",
            true,
            ["a", "b"],
            null,
            "uno",
            null,
            false,
            ["b"]
        ])
    );
}

#[tokio::test]
async fn missing_key_is_none_and_deleting_it_is_ok() {
    let app = start("capabilities.toml").await;
    let answer = kv(
        &app,
        "store",
        "default",
        json!([
            { "op": "get", "key": "never-set" },
            { "op": "exists", "key": "never-set" },
            { "op": "delete", "key": "never-set" },
            { "op": "get-keys" },
        ]),
    )
    .await;
    assert_eq!(ok(&answer), json!([null, false, null, []]));
}

#[tokio::test]
async fn values_persist_across_requests() {
    let app = start("capabilities.toml").await;
    kv(
        &app,
        "store",
        "default",
        json!([{ "op": "set", "key": "k", "value": "v" }]),
    )
    .await;
    let answer = kv(
        &app,
        "store",
        "default",
        json!([{ "op": "get", "key": "k" }]),
    )
    .await;
    assert_eq!(ok(&answer), json!(["v"]));
}

#[tokio::test]
async fn undeclared_store_label_is_access_denied() {
    let app = start("capabilities.toml").await;
    // `bare` declares no key_value_stores: even `default`, which always exists, is denied.
    let answer = kv(&app, "bare", "default", json!([])).await;
    assert_error(&answer, "access-denied");
    assert_eq!(answer["stage"], "open");
}

#[tokio::test]
async fn undeclared_label_that_no_store_has_is_access_denied_not_no_such_store() {
    let app = start("capabilities.toml").await;
    // The declaration check comes before the store lookup.
    let answer = kv(&app, "store", "nonexistent", json!([])).await;
    assert_error(&answer, "access-denied");
}

#[tokio::test]
async fn label_declared_only_by_another_component_is_access_denied() {
    let app = start_stores().await;
    // `cache` is configured and `labelled` declares it; `other` does not.
    let answer = kv(&app, "other", "cache", json!([])).await;
    assert_error(&answer, "access-denied");
    let answer = kv(&app, "labelled", "cache", json!([{ "op": "get-keys" }])).await;
    assert_eq!(ok(&answer), json!([[]]));
}

#[tokio::test]
async fn labelled_store_is_separate_from_the_default_store() {
    let app = start_stores().await;
    kv(
        &app,
        "labelled",
        "cache",
        json!([{ "op": "set", "key": "k", "value": "in-cache" }]),
    )
    .await;
    let answer = kv(
        &app,
        "labelled",
        "default",
        json!([{ "op": "get", "key": "k" }, { "op": "get-keys" }]),
    )
    .await;
    assert_eq!(ok(&answer), json!([null, []]));
}

#[tokio::test]
async fn components_declaring_the_same_label_share_the_store() {
    let app = start_stores().await;
    kv(
        &app,
        "labelled",
        "default",
        json!([{ "op": "set", "key": "shared", "value": "yes" }]),
    )
    .await;
    let answer = kv(
        &app,
        "other",
        "default",
        json!([{ "op": "get", "key": "shared" }]),
    )
    .await;
    assert_eq!(ok(&answer), json!(["yes"]));
}

#[tokio::test]
async fn store_path_is_relative_to_the_runtime_config_directory() {
    let app = start_stores().await;
    kv(
        &app,
        "labelled",
        "cache",
        json!([{ "op": "set", "key": "where", "value": "here" }]),
    )
    .await;
    // The harness writes the runtime config into the app's temporary directory, the parent
    // of the state directory.
    let file = app.state_dir().parent().unwrap().join("cache-kv.db");
    assert!(file.is_file(), "{} was created", file.display());
    let rows = kv_rows(&file);
    assert!(
        rows.contains(&("cache".to_string(), "where".to_string(), b"here".to_vec())),
        "{rows:?}"
    );
}

#[tokio::test]
async fn unconfigured_store_label_fails_start_up_naming_it() {
    // stores.toml declares `cache`, which only the runtime config defines.
    let message = start_error(builder("stores.toml")).await;
    assert!(message.contains("cache"), "names the label: {message}");
    assert!(
        message.contains("labelled"),
        "names the component: {message}"
    );
}

/// `(store, key, value)` rows of a Spin key-value SQLite file.
fn kv_rows(file: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut stmt = conn
        .prepare("SELECT store, key, value FROM spin_key_value ORDER BY store, key")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn default_store_persists_in_the_state_dir_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let logs = dir.path().join("logs");
    let manifest = support::fixture("capabilities.toml");

    let app = DirectApp::start(&manifest, &state, &logs, None, &[])
        .await
        .unwrap();
    let answer = app
        .post_json(
            "/store/kv",
            json!({ "label": "default", "ops": [{ "op": "set", "key": "song", "value": "blue" }] }),
        )
        .await;
    ok(&answer);
    app.stop().await;

    // Spin's file, table and layout: the label is the `store` column.
    let file = state.join("sqlite_key_value.db");
    assert!(file.is_file(), "{} exists", file.display());
    assert_eq!(
        kv_rows(&file),
        vec![("default".to_string(), "song".to_string(), b"blue".to_vec())]
    );

    let app = DirectApp::start(&manifest, &state, &logs, None, &[])
        .await
        .unwrap();
    let answer = app
        .post_json(
            "/store/kv",
            json!({ "label": "default", "ops": [{ "op": "get", "key": "song" }] }),
        )
        .await;
    assert_eq!(ok(&answer), json!(["blue"]));
    app.stop().await;
}

#[tokio::test]
async fn default_store_reads_a_file_written_in_spins_format() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    // A store file as Spin writes it, prepared before the app starts.
    let conn = rusqlite::Connection::open(state.join("sqlite_key_value.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
             PRIMARY KEY (store, key));
         INSERT INTO spin_key_value VALUES ('default', 'seeded', X'68690a');
         INSERT INTO spin_key_value VALUES ('other-label', 'seeded', X'6e6f');",
    )
    .unwrap();
    drop(conn);

    let app = DirectApp::start(
        &support::fixture("capabilities.toml"),
        &state,
        &dir.path().join("logs"),
        None,
        &[],
    )
    .await
    .unwrap();
    let answer = app
        .post_json(
            "/store/kv",
            json!({ "label": "default", "ops": [{ "op": "get", "key": "seeded" }, { "op": "get-keys" }] }),
        )
        .await;
    assert_eq!(ok(&answer), json!(["hi\n", ["seeded"]]));
    app.stop().await;
}
