//! Schema migrations a component applies to its own SQLite database: numbered SQL files from
//! `migrations/COMPONENT/`, each applied once, in order, recorded in `schema_migrations`.

use spin_sdk::sqlite::{Connection, Value};

/// One migration: its version (the file's number) and its SQL (statements separated by `;`
/// at the end of a line).
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Applies every migration not applied yet; running it again changes nothing. Each migration
/// runs in a transaction with its version record, so a failure leaves no half-applied step, and
/// the version is read again under the write lock, so two instances starting together apply it
/// once.
pub fn apply(conn: &Connection, migrations: &[Migration]) -> Result<(), String> {
    let run =
        |sql: &str, params: &[Value]| conn.execute(sql, params).map_err(|e| format!("{sql}: {e}"));
    let current = || -> Result<i64, String> {
        let applied = run(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?;
        Ok(match applied.rows.first().and_then(|r| r.values.first()) {
            Some(Value::Integer(v)) => *v,
            _ => 0,
        })
    };
    // Write-ahead logging: readers never wait for a writer (a long write, such as a rebuild,
    // does not stop reads) and a commit costs one sync. The mode is kept in the file, so this
    // is a no-op after the first open; a database that cannot (in memory, remote) keeps its own.
    let _ = conn.execute("PRAGMA journal_mode = WAL", &[]);
    run(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        &[],
    )?;
    for migration in migrations {
        if migration.version <= current()? {
            continue;
        }
        run("BEGIN IMMEDIATE", &[])?;
        let result = current().and_then(|version| {
            if migration.version <= version {
                return Ok(());
            }
            statements(migration.sql).try_for_each(|statement| run(statement, &[]).map(drop))?;
            run(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, datetime('now'))",
                &[Value::Integer(migration.version)],
            )
            .map(drop)
        });
        match result {
            Ok(()) => run("COMMIT", &[]).map(drop)?,
            Err(e) => {
                let _ = run("ROLLBACK", &[]);
                return Err(format!("migration {}: {e}", migration.version));
            }
        }
    }
    Ok(())
}

/// The statements of a migration file: split at `;` ending a line, comments and blanks dropped.
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n")
        .map(str::trim)
        .map(|s| s.trim_end_matches(';'))
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_line_ending_semicolons() {
        let sql =
            "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i ON a (x);\n";
        let parts: Vec<&str> = statements(sql).collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].ends_with("DEFAULT ';')"));
        assert_eq!(parts[1], "CREATE INDEX i ON a (x)");
    }
}
