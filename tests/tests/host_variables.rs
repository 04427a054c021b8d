//! `fermyon:spin/variables@2.0.0` and application variables through a real component
//! (`tests/fixtures/variables.toml`): defaults, templates, the provider chain, the errors a
//! guest sees, and the start-up checks.

mod support;

use serde_json::Value;
use spindle_tests::{TestApp, TestAppBuilder};
use support::{assert_error, builder, mentions, ok, probe_get, start_error};

/// variables.toml with every required variable provided (`name` and `required_unused` on the
/// command line, `api_key` in the environment).
fn with_required() -> TestAppBuilder {
    builder("variables.toml")
        .variable("name", "Ada")
        .variable("required_unused", "present")
        .env("SPIN_VARIABLE_API_KEY", "key-from-env")
}

async fn start_vars(b: TestAppBuilder) -> TestApp {
    b.start()
        .await
        .unwrap_or_else(|e| panic!("variables.toml did not start: {e:?}"))
}

async fn get(app: &TestApp, name: &str) -> Value {
    probe_get(app, &format!("/vars/variable/{name}")).await
}

#[tokio::test]
async fn variable_with_a_default_resolves_to_it() {
    let app = start_vars(with_required()).await;
    assert_eq!(ok(&get(&app, "greeting").await), "hello");
}

#[tokio::test]
async fn template_combines_literals_and_several_variables() {
    let app = start_vars(with_required()).await;
    assert_eq!(ok(&get(&app, "url").await), "https://example.com:8080/v1");
    assert_eq!(ok(&get(&app, "renamed").await), "hello, Ada!");
    assert_eq!(ok(&get(&app, "literal").await), "just text");
}

#[tokio::test]
async fn command_line_variable_overrides_the_default() {
    let app = start_vars(with_required().variable("greeting", "hi")).await;
    assert_eq!(ok(&get(&app, "greeting").await), "hi");
    assert_eq!(ok(&get(&app, "renamed").await), "hi, Ada!");
}

#[tokio::test]
async fn environment_provider_reads_spin_variable_prefixed_names() {
    let app = start_vars(with_required()).await;
    // api_key ← SPIN_VARIABLE_API_KEY
    assert_eq!(ok(&get(&app, "api_key").await), "key-from-env");
}

#[tokio::test]
async fn runtime_config_static_provider_supplies_values() {
    let app = start_vars(with_required().runtime_config(
        "[[variables_provider]]\ntype = \"static\"\nvalues = { layered = \"from-runtime-config\", host = \"music.example\" }\n",
    ))
    .await;
    assert_eq!(ok(&get(&app, "layered").await), "from-runtime-config");
    assert_eq!(ok(&get(&app, "url").await), "https://music.example:8080/v1");
}

#[tokio::test]
async fn providers_are_asked_command_line_then_runtime_config_then_environment_then_default() {
    let rc = "[[variables_provider]]\ntype = \"static\"\nvalues = { layered = \"from-runtime-config\" }\n";

    let all = start_vars(
        with_required()
            .variable("layered", "from-cli")
            .runtime_config(rc)
            .env("SPIN_VARIABLE_LAYERED", "from-env"),
    )
    .await;
    assert_eq!(ok(&get(&all, "layered").await), "from-cli");

    let no_cli = start_vars(
        with_required()
            .runtime_config(rc)
            .env("SPIN_VARIABLE_LAYERED", "from-env"),
    )
    .await;
    assert_eq!(ok(&get(&no_cli, "layered").await), "from-runtime-config");

    let env_only = start_vars(with_required().env("SPIN_VARIABLE_LAYERED", "from-env")).await;
    assert_eq!(ok(&get(&env_only, "layered").await), "from-env");

    let none = start_vars(with_required()).await;
    assert_eq!(ok(&get(&none, "layered").await), "from-default");
}

#[tokio::test]
async fn name_the_component_did_not_declare_is_undefined() {
    let app = start_vars(with_required()).await;
    // `not_for_component` is an application variable, but the component has no such key.
    let message = assert_error(&get(&app, "not_for_component").await, "undefined");
    assert_eq!(message, r#"no variable for "vars"."not_for_component""#);
    // A valid name nobody declared at all.
    let message = assert_error(&get(&app, "a_2").await, "undefined");
    assert_eq!(message, r#"no variable for "vars"."a_2""#);
}

#[tokio::test]
async fn malformed_name_is_invalid_name() {
    let app = start_vars(with_required()).await;
    for name in [
        "Greeting",
        "2fast",
        "a__b",
        "trailing_",
        "has-dash",
        "_lead",
    ] {
        let answer = get(&app, name).await;
        let message = assert_error(&answer, "invalid-name");
        assert!(
            message.contains(name),
            "the message names {name:?}: {message}"
        );
    }
}

#[tokio::test]
async fn missing_required_variable_fails_start_up_naming_it() {
    let message = start_error(
        builder("variables.toml")
            .variable("required_unused", "present")
            .env("SPIN_VARIABLE_API_KEY", "k"),
    )
    .await;
    assert!(mentions(&message, "name"), "names the variable: {message}");
    assert!(message.contains("required"), "{message}");
    assert!(
        !mentions(&message, "api_key"),
        "only the missing one: {message}"
    );
}

#[tokio::test]
async fn required_variable_no_component_uses_is_still_checked_at_start_up() {
    let message = start_error(
        builder("variables.toml")
            .variable("name", "Ada")
            .env("SPIN_VARIABLE_API_KEY", "k"),
    )
    .await;
    assert!(mentions(&message, "required_unused"), "{message}");
}

#[tokio::test]
async fn required_variable_provided_only_by_the_environment_satisfies_start_up() {
    let app = start_vars(
        builder("variables.toml")
            .env("SPIN_VARIABLE_NAME", "Grace")
            .env("SPIN_VARIABLE_API_KEY", "k")
            .env("SPIN_VARIABLE_REQUIRED_UNUSED", "x"),
    )
    .await;
    assert_eq!(ok(&get(&app, "name").await), "Grace");
}

#[tokio::test]
async fn template_naming_an_undeclared_variable_fails_start_up() {
    let message = start_error(builder("bad-template.toml")).await;
    assert!(mentions(&message, "undeclared_thing"), "{message}");
}
