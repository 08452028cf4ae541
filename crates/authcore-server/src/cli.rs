//! The command line: one variant of [`Command`] per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::{check_config, hash_calibrate, keygen, serve, user};

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

    /// Administer users straight on the database, with or without a server running on it.
    ///
    /// The same rules as the API apply (validation, password complexity with
    /// --password-complexity, the last admin cannot be demoted, disabled or deleted), and a
    /// server on the same database sees the change at its next request. `passwd` also unlocks
    /// the account: the way back in for a locked-out or forgotten admin. Passwords are
    /// prompted for without echo, or read from standard input with --password-stdin; never
    /// given as an argument. Example:
    ///
    ///   echo "$NEW" | authcore user passwd admin@example.com --password-stdin --database-url URL
    User(user::UserArgs),

    /// Generate a token signing secret (hs256) or private key (ed25519, p256).
    ///
    /// The output goes to standard output, or with --out to a new file with mode 0600 (an
    /// existing file is never overwritten). Pass a secret with --jwt-secret, a key file with
    /// --jwt-key.
    Keygen(keygen::KeygenArgs),

    /// Check what `authcore serve` would start with, and connect to the database and directory.
    ///
    /// Takes the same options and environment variables as `serve`. Prints one line per
    /// check (ok, warn, FAIL) and exits with status 1 when a check failed. Changes nothing:
    /// no migration is applied.
    CheckConfig(serve::ServeArgs),

    /// Measure argon2id on this host and print the parameters that meet a time target.
    ///
    /// Prints the parameters, the flags to pass to `serve` (and `user`), and the sign-ins per
    /// second one core can then check. Run it on the host that will serve, with nothing else
    /// busy.
    HashCalibrate(hash_calibrate::CalibrateArgs),
}

impl Command {
    /// Runs the subcommand.
    pub async fn run(self) -> Result<ExitCode, BoxError> {
        match self {
            Self::Serve(args) => serve::run(args).await,
            Self::User(args) => user::run(args).await,
            Self::Keygen(args) => keygen::run(&args),
            Self::CheckConfig(args) => check_config::run(args).await,
            Self::HashCalibrate(args) => hash_calibrate::run(args).await,
        }
    }

    /// The log level when `RUST_LOG` is not set: the server tells what it does, the tools
    /// only warn.
    fn default_log_level(&self) -> &'static str {
        match self {
            Self::Serve(_) => "info",
            Self::User(_) | Self::Keygen(_) | Self::CheckConfig(_) | Self::HashCalibrate(_) => {
                "warn"
            }
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
