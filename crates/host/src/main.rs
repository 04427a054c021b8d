//! `spindle`: run a Spin application (`up`) or build its components (`build`).

use anyhow::Result;
use clap::{Parser, Subcommand};
use spindle_host::UpOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "spindle",
    version,
    about = "A Spin-compatible host for Spindle's spin.toml"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the application, as `spin up` does.
    Up {
        /// The manifest, or the directory holding spin.toml.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Runtime configuration file (stores, databases, variable providers).
        #[arg(long = "runtime-config-file")]
        runtime_config: Option<PathBuf>,
        /// Directory for default stores and logs (default `.spin` beside the manifest; "" for none).
        #[arg(long = "state-dir")]
        state_dir: Option<PathBuf>,
        /// Directory for component logs (default `<state-dir>/logs`).
        #[arg(short = 'L', long = "log-dir", env = "SPIN_LOG_DIR")]
        log_dir: Option<PathBuf>,
        /// Set an application variable (highest precedence), NAME=VALUE.
        #[arg(long = "variable", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Do not echo component output to the terminal.
        #[arg(short, long)]
        quiet: bool,
        /// Build the components before starting.
        #[arg(long)]
        build: bool,
    },
    /// Build the components, as `spin build` does.
    Build {
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        /// Only these components.
        #[arg(short = 'c', long = "component-id")]
        components: Vec<String>,
    },
}

fn parse_variable(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("spindle_host=info,warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Build {
            manifest,
            components,
        } => spindle_host::build(&manifest, &components),
        Command::Up {
            manifest,
            listen,
            runtime_config,
            state_dir,
            log_dir,
            variables,
            quiet,
            build,
        } => {
            if build {
                spindle_host::build(&manifest, &[])?;
            }
            let opts = UpOptions {
                runtime_config,
                listen,
                state_dir,
                log_dir,
                variables,
                follow_logs: !quiet,
                ..UpOptions::new(manifest)
            };
            let running = spindle_host::up(opts).await?;
            println!("Serving http://{}", running.http_addr());
            println!("Available Routes:");
            for (route, component) in running.app().routes() {
                println!("  {component}: http://{}{route}", running.http_addr());
            }
            let token = running.shutdown_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                eprintln!("Shutting down...");
                token.cancel();
            });
            running.wait().await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
