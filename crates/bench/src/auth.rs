//! `--suite auth`: what signing in and checking a token cost. The real `auth` component and
//! the fixture `token-verify` (`tests/fixtures/token-verify.toml`) run in-process against a
//! private `redis-server` (the test harness's `TestApp`), with rate limits lifted so the
//! benchmark is not refused.
//!
//! * **Login**: sequential `POST /api/auth/login` requests, timed end to end over loopback
//!   HTTP (argon2id verification dominates): the right password, a wrong one, and an unknown
//!   email (checked against the dummy hash). The two refusals should take about the same
//!   time, so timing does not reveal whether an account exists.
//! * **Token verification inside a component**: `token-verify` verifies one access token
//!   `--verify-count` times in a loop and reports the mean per request (JWKS from the
//!   key-value cache + parse + EdDSA check, as every component does per request) and per
//!   signature check alone.

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use spindle_tests::{TestApp, TestResponse};
use std::path::Path;
use std::time::Instant;
use tokio::runtime::Runtime;

const MANIFEST: &str = "tests/fixtures/token-verify.toml";
const LIFTED_LIMITS: &str =
    "login-address=1000000/60,login-failures-email=1000000/60,register-address=1000000/60";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "a long benchmark passphrase";

pub struct Config {
    pub logins: usize,
    pub verifications: u32,
}

pub struct AuthResult {
    pub known: Histogram<u64>,
    pub wrong_password: Histogram<u64>,
    pub unknown: Histogram<u64>,
    pub request_micros: f64,
    pub signature_micros: f64,
}

pub fn run(root: &Path, config: &Config, rt: &Runtime) -> Result<AuthResult> {
    rt.block_on(async {
        // Spin resolves a relative SQLite path against the working directory: give it an
        // absolute one.
        let dir = tempfile::Builder::new().prefix("spindle-bench-auth-").tempdir()?;
        let database = dir.path().join("auth.db");
        let app = TestApp::builder(root.join(MANIFEST))
            .variable("auth_rate_limits", LIFTED_LIMITS)
            .runtime_config(format!(
                "[sqlite_database.auth]\ntype = \"spin\"\npath = {:?}\n",
                database.display().to_string()
            ))
            .start()
            .await
            .context("failed to start the auth fixture (run scripts/test or build the components first)")?;
        let registered = app
            .post_json(
                "/api/auth/register",
                &json!({"email": EMAIL, "password": PASSWORD, "displayName": "Bench", "role": "listener"}),
            )
            .await;
        expect(&registered, 201, "register")?;
        let token = registered.json::<Value>()["accessToken"]
            .as_str()
            .context("no accessToken")?
            .to_string();

        eprintln!("login: {} sequential logins, each kind...", config.logins);
        let known = logins(&app, EMAIL, PASSWORD, 200, config.logins).await?;
        let wrong_password = logins(&app, EMAIL, "not the password", 401, config.logins).await?;
        let unknown = logins(&app, "nobody@example.com", PASSWORD, 401, config.logins).await?;

        eprintln!("token verification: {} times inside token-verify...", config.verifications);
        let verify = |n: u32| {
            app.send(
                app.request(reqwest::Method::GET, &format!("/verify?n={n}"))
                    .bearer_auth(&token),
            )
        };
        expect(&verify(1).await, 200, "warm-up verification")?;
        let measured = verify(config.verifications).await;
        expect(&measured, 200, "verification")?;
        let body: Value = measured.json();
        let number = |name: &str| body[name].as_f64().with_context(|| format!("no {name}"));
        let result = AuthResult {
            known,
            wrong_password,
            unknown,
            request_micros: number("requestMicros")?,
            signature_micros: number("signatureMicros")?,
        };
        app.stop().await;
        Ok(result)
    })
}

/// Times `count` logins (after 10 untimed ones), each expected to answer `status`.
async fn logins(
    app: &TestApp,
    email: &str,
    password: &str,
    status: u16,
    count: usize,
) -> Result<Histogram<u64>> {
    let mut histogram = Histogram::<u64>::new(3)?;
    for i in 0..count + 10 {
        let started = Instant::now();
        let response = app
            .post_json(
                "/api/auth/login",
                &json!({"email": email, "password": password}),
            )
            .await;
        let elapsed = started.elapsed();
        expect(&response, status, "login")?;
        if i >= 10 {
            histogram.record(elapsed.as_micros() as u64)?;
        }
    }
    Ok(histogram)
}

/// An error unless `response` has `status`.
pub fn expect(response: &TestResponse, status: u16, what: &str) -> Result<()> {
    if response.status != status {
        bail!(
            "{what}: expected {status}, got {}: {}",
            response.status,
            response.text()
        );
    }
    Ok(())
}

pub fn print(result: &AuthResult) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!("| login                   | count | p50 ms | p99 ms |");
    println!("|-------------------------|------:|-------:|-------:|");
    for (name, h) in [
        ("right password", &result.known),
        ("wrong password", &result.wrong_password),
        ("unknown email (dummy)", &result.unknown),
    ] {
        println!(
            "| {name:<23} | {:>5} | {:>6.1} | {:>6.1} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99)
        );
    }
    println!();
    println!(
        "token verification inside a component: {:.1} µs per request (cached JWKS + parse + EdDSA), {:.1} µs per signature check",
        result.request_micros, result.signature_micros
    );
}

pub fn to_json(result: &AuthResult, config: &Config) -> Value {
    let summary = |h: &Histogram<u64>| {
        json!({
            "count": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p99_us": h.value_at_quantile(0.99),
            "max_us": h.max(),
        })
    };
    json!({
        "login_right_password": summary(&result.known),
        "login_wrong_password": summary(&result.wrong_password),
        "login_unknown_email": summary(&result.unknown),
        "verify_iterations": config.verifications,
        "verify_request_us": result.request_micros,
        "verify_signature_us": result.signature_micros,
    })
}
