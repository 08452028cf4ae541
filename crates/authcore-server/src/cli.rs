//! The command line: one variant of [`Command`] per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::span;
use tracing::subscriber::Interest;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Filter};

use crate::{check_config, hash_calibrate, import, keygen, serve, user};

/// An error that ends a subcommand with exit status 1; its text is printed on stderr.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// authcore: an authentication server speaking Redis Enterprise's users API, and the tools
/// to administer it.
#[derive(Debug, Parser)]
#[command(name = "authcore", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log lines as text or as one JSON object per line (on standard error; `RUST_LOG` sets
    /// the level, e.g. `info,authcore::audit=info`).
    #[arg(
        long,
        env = "AUTHCORE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

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
    /// The same rules as the API apply (validation; the password policy stored through
    /// PUT /v1/cluster and /v1/cluster/policy, which --password-complexity and
    /// --password-min-length only fill in while the database holds none; the last active
    /// admin cannot be demoted, disabled or deleted), and a server on the same database sees
    /// the change at its next request (it caches nothing: old tokens of a changed user die). `passwd` also unlocks
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

    /// Import users from another system: JSON lines (.jsonl) or CSV with a header row.
    ///
    /// Fields: email (required), name, role, status, and exactly one of password (plain,
    /// hashed with argon2id) and password_hash (bcrypt, PBKDF2-SHA256 in PHC, passlib or Django
    /// form, scrypt, SHA-crypt, yescrypt, argon2: stored as it is and replaced by argon2id at
    /// the user's first sign-in). Every bad row is reported with its line number and nothing
    /// of it is written; the others are imported. Exit status 1 when a row failed. A server
    /// may run on the same database. Example:
    ///
    ///   authcore import users.jsonl --database-url 'sqlite://authcore.db?mode=rwc' --on-conflict skip
    Import(import::ImportArgs),
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
            Self::Import(args) => import::run(args).await,
        }
    }

    /// The log level when `RUST_LOG` is not set: the server tells what it does, the tools
    /// only warn.
    fn default_log_level(&self) -> &'static str {
        match self {
            Self::Serve(_) => "info",
            // Administrative acts leave an audit event.
            Self::User(_) => "warn,authcore::audit=info",
            Self::Keygen(_) | Self::CheckConfig(_) | Self::HashCalibrate(_) | Self::Import(_) => {
                "warn"
            }
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, fields, spans).
    Json,
}

/// Logs on stderr, filtered by `RUST_LOG`; store and directory errors are counted for
/// `/metrics` whatever the filter.
pub fn init_logging(command: &Command, format: LogFormat) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(command.default_log_level()));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let counter =
        StoreErrorCounter.with_filter(Uncached(tracing_subscriber::filter::filter_fn(|m| {
            *m.level() <= tracing::Level::WARN && StoreErrorCounter::store(m.target()).is_some()
        })));
    tracing_subscriber::registry()
        .with(fmt.with_filter(Uncached(filter)))
        .with(counter)
        .init();
}

/// A per-layer filter whose verdict is never cached per call site as "always": every event
/// asks [`Filter::enabled`] again.
///
/// tracing-subscriber carries each per-layer filter's decision from `enabled` to `on_event`
/// in a thread-local, and skips `enabled` for a call site cached as "always". sqlx checks
/// `enabled` for its statement log (a dynamic check, never cached) after every query, and
/// with the statement log off that leaves "disabled" in the thread-local: the next event of
/// an "always" call site then reached no layer. So with `RUST_LOG=info` the SQL store's
/// "database unavailable" warning right after a failed query was neither printed nor counted
/// in `authcore_store_errors_total` (tokio-rs/tracing#2704, #3572). "Sometimes" costs one
/// filter check per event.
struct Uncached<F>(F);

impl<S, F: Filter<S>> Filter<S> for Uncached<F> {
    fn enabled(&self, meta: &tracing::Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static tracing::Metadata<'static>) -> Interest {
        if self.0.callsite_enabled(meta).is_never() {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, cx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, cx: Context<'_, S>) {
        self.0.on_record(id, values, cx);
    }

    fn on_enter(&self, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_enter(id, cx);
    }

    fn on_exit(&self, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_exit(id, cx);
    }

    fn on_close(&self, id: span::Id, cx: Context<'_, S>) {
        self.0.on_close(id, cx);
    }
}

/// Counts warnings and errors of the SQL store and the directory
/// (`authcore_store_errors_total{store}`).
#[derive(Debug)]
struct StoreErrorCounter;

impl StoreErrorCounter {
    fn store(target: &str) -> Option<&'static str> {
        if target.starts_with("authcore_sql") {
            Some("sql")
        } else if target.starts_with("authcore_ldap") {
            Some("ldap")
        } else {
            None
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StoreErrorCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(store) = Self::store(event.metadata().target()) {
            metrics::counter!(crate::ops::STORE_ERRORS, "store" => store).increment(1);
        }
    }
}
