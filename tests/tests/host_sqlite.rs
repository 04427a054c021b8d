//! `fermyon:spin/sqlite@2.0.0` through real components (`tests/fixtures/capabilities.toml`,
//! `tests/fixtures/stores.toml`): databases by label, access only to declared labels, values,
//! errors, connections, and the default database's file in the state directory.

mod support;

use serde_json::{Value, json};
use spindle_tests::TestApp;
use support::{DirectApp, assert_error, builder, ok, probe_post, start, start_error};

async fn sql(app: &TestApp, component: &str, label: &str, statements: Value) -> Value {
    probe_post(
        app,
        &format!("/{component}/sqlite"),
        json!({ "label": label, "statements": statements }),
    )
    .await
}

fn stmt(sql: &str) -> Value {
    json!({ "sql": sql })
}

/// A runtime config whose `cache` database has no path (in memory), plus the `cache`
/// key-value store stores.toml also needs.
const IN_MEMORY_CACHE: &str = r#"
[key_value_store.cache]
type = "spin"

[sqlite_database.cache]
type = "spin"
"#;

#[tokio::test]
async fn statements_run_on_the_default_database_and_values_round_trip() {
    let app = start("capabilities.toml").await;
    let answer = sql(
        &app,
        "store",
        "default",
        json!([
            stmt("CREATE TABLE songs (id INTEGER, rating REAL, title TEXT, art BLOB, note TEXT)"),
            {
                "sql": "INSERT INTO songs VALUES (?, ?, ?, ?, ?)",
                "params": [{ "integer": 7 }, { "real": 4.5 }, { "text": "Blue" }, { "blob": [0, 1, 255] }, "null"]
            },
            stmt("SELECT id, rating, title, art, note FROM songs"),
            stmt("SELECT count(*) AS n, typeof(note) AS t FROM songs"),
        ]),
    )
    .await;
    let results = ok(&answer);
    let select = &results[2];
    assert_eq!(
        select["columns"],
        json!(["id", "rating", "title", "art", "note"])
    );
    assert_eq!(
        select["rows"],
        json!([[{ "integer": 7 }, { "real": 4.5 }, { "text": "Blue" }, { "blob": [0, 1, 255] }, "null"]])
    );
    assert_eq!(results[3]["columns"], json!(["n", "t"]));
    assert_eq!(
        results[3]["rows"],
        json!([[{ "integer": 1 }, { "text": "null" }]])
    );
}

#[tokio::test]
async fn statement_that_returns_no_rows_has_no_columns_and_no_rows() {
    let app = start("capabilities.toml").await;
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt("CREATE TABLE t (x INTEGER)"), {
            "sql": "INSERT INTO t VALUES (?)", "params": [{ "integer": 1 }]
        }]),
    )
    .await;
    assert_eq!(
        ok(&answer),
        json!([{ "columns": [], "rows": [] }, { "columns": [], "rows": [] }])
    );
}

#[tokio::test]
async fn sql_error_is_io_with_sqlites_message() {
    let app = start("capabilities.toml").await;
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt("SELECT * FROM missing_table")]),
    )
    .await;
    let message = assert_error(&answer, "io");
    assert!(
        message.contains("no such table: missing_table"),
        "{message}"
    );
    assert_eq!(answer["index"], 0);
}

#[tokio::test]
async fn undeclared_database_is_access_denied() {
    let app = start("capabilities.toml").await;
    // `bare` declares no sqlite_databases: even `default` is denied.
    let answer = sql(&app, "bare", "default", json!([])).await;
    assert_error(&answer, "access-denied");
    assert_eq!(answer["stage"], "open");
    // So is a label that no database has.
    let answer = sql(&app, "store", "nonexistent", json!([])).await;
    assert_error(&answer, "access-denied");
}

#[tokio::test]
async fn database_declared_only_by_another_component_is_access_denied() {
    let app = builder("stores.toml")
        .runtime_config(IN_MEMORY_CACHE)
        .start()
        .await
        .unwrap();
    let answer = sql(&app, "other", "cache", json!([])).await;
    assert_error(&answer, "access-denied");
    let answer = sql(&app, "labelled", "cache", json!([stmt("SELECT 1 AS one")])).await;
    assert_eq!(ok(&answer)[0]["rows"], json!([[{ "integer": 1 }]]));
}

#[tokio::test]
async fn database_without_a_path_is_a_fresh_in_memory_database_per_open() {
    let app = builder("stores.toml")
        .runtime_config(IN_MEMORY_CACHE)
        .start()
        .await
        .unwrap();
    // Within one connection the table exists...
    let answer = sql(
        &app,
        "labelled",
        "cache",
        json!([
            stmt("CREATE TABLE t (x INTEGER)"),
            stmt("SELECT count(*) FROM t")
        ]),
    )
    .await;
    assert_eq!(ok(&answer)[1]["rows"], json!([[{ "integer": 0 }]]));
    // ...and the next open starts from an empty database.
    let answer = sql(
        &app,
        "labelled",
        "cache",
        json!([stmt("SELECT count(*) FROM t")]),
    )
    .await;
    let message = assert_error(&answer, "io");
    assert!(message.contains("no such table: t"), "{message}");
}

#[tokio::test]
async fn temporary_tables_end_with_the_connection_that_made_them() {
    let app = start("capabilities.toml").await;
    // Spin opens a new SQLite connection per `open`: TEMP objects of one request never leak
    // into another.
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt("CREATE TEMP TABLE scratch (x INTEGER)")]),
    )
    .await;
    ok(&answer);
    for _ in 0..4 {
        let answer = sql(
            &app,
            "store",
            "default",
            json!([stmt("SELECT count(*) FROM scratch")]),
        )
        .await;
        let message = assert_error(&answer, "io");
        assert!(message.contains("no such table: scratch"), "{message}");
    }
}

#[tokio::test]
async fn attaching_a_database_file_is_not_authorized() {
    let app = start("capabilities.toml").await;
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt(&format!(
            "ATTACH DATABASE '{}' AS other",
            other.display()
        ))]),
    )
    .await;
    assert_error(&answer, "io");
    assert!(!other.exists(), "the attached file was not created");
    // In-memory attachments are allowed.
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt("ATTACH DATABASE ':memory:' AS scratch")]),
    )
    .await;
    ok(&answer);
}

#[tokio::test]
async fn default_database_uses_sqlites_default_rollback_journal() {
    let app = start("capabilities.toml").await;
    // Spin sets no pragmas: the journal mode is SQLite's default, not WAL.
    let answer = sql(
        &app,
        "store",
        "default",
        json!([stmt("PRAGMA journal_mode")]),
    )
    .await;
    assert_eq!(ok(&answer)[0]["rows"], json!([[{ "text": "delete" }]]));
}

#[tokio::test]
async fn relative_database_path_resolves_against_the_working_directory() {
    // Unlike key-value paths, Spin joins a relative SQLite `path` to the process's current
    // directory. Integration tests run in the package directory (tests/).
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(cwd, std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let unique = format!(
        "host-sqlite-relative-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let absolute = tmp.join(&unique);
    let relative = std::path::Path::new("..")
        .join(tmp.strip_prefix(spindle_tests::repo_root()).unwrap())
        .join(&unique);
    let config = format!(
        "[key_value_store.cache]\ntype = \"spin\"\n\n[sqlite_database.cache]\ntype = \"spin\"\npath = \"{}\"\n",
        relative.display()
    );
    let app = builder("stores.toml")
        .runtime_config(config)
        .start()
        .await
        .unwrap();
    let answer = sql(
        &app,
        "labelled",
        "cache",
        json!([stmt("CREATE TABLE here (x INTEGER)")]),
    )
    .await;
    ok(&answer);
    app.stop().await;
    assert!(absolute.is_file(), "{} was created", absolute.display());
    let conn = rusqlite::Connection::open(&absolute).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'here'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let _ = std::fs::remove_file(&absolute);
}

#[tokio::test]
async fn default_database_persists_in_the_state_dir_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let logs = dir.path().join("logs");
    let manifest = support::fixture("capabilities.toml");

    let app = DirectApp::start(&manifest, &state, &logs, None, &[])
        .await
        .unwrap();
    let answer = app
        .post_json(
            "/store/sqlite",
            json!({ "label": "default", "statements": [
                { "sql": "CREATE TABLE plays (song TEXT)" },
                { "sql": "INSERT INTO plays VALUES (?)", "params": [{ "text": "blue" }] },
            ] }),
        )
        .await;
    ok(&answer);
    app.stop().await;

    let file = state.join("sqlite_db.db");
    assert!(file.is_file(), "{} exists", file.display());
    let conn = rusqlite::Connection::open(&file).unwrap();
    let song: String = conn
        .query_row("SELECT song FROM plays", [], |r| r.get(0))
        .unwrap();
    assert_eq!(song, "blue");
    drop(conn);

    let app = DirectApp::start(&manifest, &state, &logs, None, &[])
        .await
        .unwrap();
    let answer = app
        .post_json(
            "/store/sqlite",
            json!({ "label": "default", "statements": [{ "sql": "SELECT song FROM plays" }] }),
        )
        .await;
    assert_eq!(ok(&answer)[0]["rows"], json!([[{ "text": "blue" }]]));
    app.stop().await;
}

#[tokio::test]
async fn unconfigured_database_label_fails_start_up_naming_it() {
    // The key-value store `cache` is configured, the SQLite database `cache` is not.
    let message = start_error(
        builder("stores.toml").runtime_config("[key_value_store.cache]\ntype = \"spin\"\n"),
    )
    .await;
    assert!(message.contains("cache"), "names the database: {message}");
    assert!(
        message.contains("labelled"),
        "names the component: {message}"
    );
}
