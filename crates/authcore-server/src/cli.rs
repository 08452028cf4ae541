//! The command line: one variant of [`Command`] per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::serve;

/// An error that ends a subcommand with exit status 1; its text is printed on stderr.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// authcore: an authentication server speaking Redis Enterprise's users API, and the tools
/// to administer it.
#[derive(Debug, Parser)]
#[command(name = "authcore", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. Adding one: a module with a clap `Args` struct and an
/// `async fn run(args) -> Result<ExitCode, BoxError>`, a variant here and an arm in
/// [`Command::run`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (Redis Enterprise compatible users API).
    ///
    /// Serves the users API on --listen. Every option is also an environment variable. On an
    /// empty user store, AUTHCORE_ADMIN_EMAIL and AUTHCORE_ADMIN_PASSWORD create the first
    /// admin. SIGINT or SIGTERM stop it gracefully, after the
    /// requests in flight.
    Serve(serve::ServeArgs),
}

impl Command {
    /// Runs the subcommand.
    pub async fn run(self) -> Result<ExitCode, BoxError> {
        match self {
            Self::Serve(args) => serve::run(args).await,
        }
    }

    /// The log level when `RUST_LOG` is not set: the server tells what it does, the tools
    /// only warn.
    fn default_log_level(&self) -> &'static str {
        match self {
            Self::Serve(_) => "info",
        }
    }
}

/// Logs on stderr, filtered by `RUST_LOG`.
pub fn init_logging(command: &Command) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(command.default_log_level())),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
