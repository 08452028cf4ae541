//! The reference server: authcore's Redis Enterprise compatible users API over HTTP.
//!
//! ```text
//! cargo run --release --example server
//! ```
//!
//! With no options it keeps users in the SQLite file `authcore.db` in the working directory and
//! listens on 127.0.0.1:8080. Every option is also an environment variable (`--help`). On an
//! empty user store, `AUTHCORE_ADMIN_EMAIL` and `AUTHCORE_ADMIN_PASSWORD` create the first
//! admin. SIGINT or SIGTERM stop it gracefully.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use authcore::secrecy::SecretSlice;
use authcore::{
    AuthPolicy, Authenticator, CreateUser, Key, KeyRing, LockoutPolicy, LockoutStore, Password,
    PasswordComplexity, PasswordExpiry, Role, TokenConfig, UserStore,
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

type BoxError = Box<dyn StdError + Send + Sync>;

/// authcore reference server: Redis Enterprise compatible users API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, env = "AUTHCORE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,

    /// User store URL: sqlite://FILE?mode=rwc, postgres://..., mysql://...
    /// [default: sqlite://authcore.db?mode=rwc, in the working directory]
    #[arg(long, env = "AUTHCORE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// LDAP configuration (JSON file: Redis's `ldap` object plus `ldap_mappings`): users come
    /// from the directory. With --database-url too, local users are looked up first, then the
    /// directory; without it the default SQLite file keeps only the lockout state.
    #[arg(long, env = "AUTHCORE_LDAP_CONFIG")]
    ldap_config: Option<PathBuf>,

    /// HS256 secret (at least 32 bytes). Without it and without --jwt-key a random key is
    /// used and tokens die with the process.
    #[arg(long, env = "AUTHCORE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,

    /// PKCS#8 PEM private key (Ed25519 or P-256) to sign tokens with (EdDSA / ES256); its
    /// public key is served at /.well-known/jwks.json. With --jwt-secret too, tokens signed
    /// with the secret stay valid.
    #[arg(long, env = "AUTHCORE_JWT_KEY")]
    jwt_key: Option<PathBuf>,

    /// Days a password stays valid (0: never expires).
    #[arg(long, env = "AUTHCORE_PASSWORD_EXPIRATION_DAYS", default_value_t = 0)]
    password_expiration_days: u32,

    /// Failed sign-ins that lock an account (0: lockout off).
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_THRESHOLD", default_value_t = LockoutPolicy::DEFAULT.threshold)]
    login_lockout_threshold: u32,

    /// Seconds an account stays locked (0: until an admin resets its password).
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_DURATION", default_value_t = LockoutPolicy::DEFAULT.duration_secs)]
    login_lockout_duration: u64,

    /// Seconds without a failure after which the failure counter starts again.
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_COUNTER_RESET_AFTER", default_value_t = LockoutPolicy::DEFAULT.counter_reset_after_secs)]
    login_lockout_counter_reset_after: u64,

    /// Enforce Redis's password complexity rules (`--password-complexity` or `=true/false`).
    #[arg(long, env = "AUTHCORE_PASSWORD_COMPLEXITY", default_value_t = false,
          num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    password_complexity: bool,

    /// The `iss` claim of issued tokens.
    #[arg(long, env = "AUTHCORE_TOKEN_ISSUER", default_value = "authcore")]
    token_issuer: String,
}

const DEFAULT_DATABASE_URL: &str = "sqlite://authcore.db?mode=rwc";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let (stores, lockout) = stores(&args).await?;
    let mut builder = Authenticator::builder()
        .lockout_store(lockout)
        .keys(keys(&args)?)
        .token_config(TokenConfig {
            issuer: args.token_issuer.clone(),
            ..TokenConfig::default()
        })
        .policy(AuthPolicy {
            expiry: PasswordExpiry::days(args.password_expiration_days),
            lockout: LockoutPolicy {
                threshold: args.login_lockout_threshold,
                duration_secs: args.login_lockout_duration,
                counter_reset_after_secs: args.login_lockout_counter_reset_after,
            },
            complexity: PasswordComplexity {
                enabled: args.password_complexity,
            },
        })
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES);
    for store in stores {
        builder = builder.store(store);
    }
    let auth = builder.build()?;
    // Directory-only servers have no local users to bootstrap.
    bootstrap_admin(
        &auth,
        args.ldap_config.is_none() || args.database_url.is_some(),
    )
    .await?;

    let app = authcore_axum::router(auth);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    // On stdout, for scripts and tests that start the server on port 0.
    println!("listening on http://{addr}");
    tracing::info!(%addr, "authcore server started");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("authcore server stopped");
    Ok(())
}

/// The user stores, in lookup order, and the lockout store.
async fn stores(args: &Args) -> Result<(Vec<Arc<dyn UserStore>>, Arc<dyn LockoutStore>), BoxError> {
    let url = args.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL);
    let sql = Arc::new(authcore_sql::SqlStore::connect(url).await.map_err(|e| {
        format!(
            "cannot open the user store {}: {e}",
            authcore_sql::mask_url(url)
        )
    })?);
    tracing::info!(url = %sql.masked_url(), "SQL store ready");
    let mut users: Vec<Arc<dyn UserStore>> = Vec::new();
    // With a directory, the database holds local users only when asked for explicitly; it
    // always keeps the lockout state (directory users are locked by DN).
    if args.ldap_config.is_none() || args.database_url.is_some() {
        users.push(sql.clone());
    }
    if let Some(path) = &args.ldap_config {
        let config = authcore_ldap::LdapConfig::from_json_file(path)
            .map_err(|e| format!("--ldap-config {}: {e}", path.display()))?;
        let ldap = authcore_ldap::LdapStore::new(config)?;
        if let Err(e) = ldap.check_connection().await {
            // Not fatal: the directory may come back; sign-ins answer 503 meanwhile.
            tracing::warn!(error = %e, "the LDAP directory is not reachable yet");
        }
        tracing::info!(config = %path.display(), "LDAP store ready");
        users.push(Arc::new(ldap));
    }
    Ok((users, sql))
}

fn keys(args: &Args) -> Result<KeyRing, BoxError> {
    let secret_key = match &args.jwt_secret {
        Some(secret) => Some(Key::hs256(
            "hs256",
            &SecretSlice::from(secret.as_bytes().to_vec()),
        )?),
        None => None,
    };
    if let Some(path) = &args.jwt_key {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --jwt-key {}: {e}", path.display()))?;
        let ring = KeyRing::new(Key::from_private_pem("key-1", &pem)?)?;
        return Ok(match secret_key {
            Some(old) => ring.with_verify_only(old)?,
            None => ring,
        });
    }
    if let Some(key) = secret_key {
        return Ok(KeyRing::new(key)?);
    }
    let mut random = vec![0u8; 32];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness for a JWT key: {e}"))?;
    tracing::warn!(
        "no --jwt-secret or --jwt-key: signing with a random key, tokens die with the process"
    );
    Ok(KeyRing::new(Key::hs256(
        "random",
        &SecretSlice::from(random),
    )?)?)
}

/// Creates the first admin from `AUTHCORE_ADMIN_EMAIL` / `AUTHCORE_ADMIN_PASSWORD` when the
/// store has no user.
async fn bootstrap_admin(auth: &Authenticator, local_users: bool) -> Result<(), BoxError> {
    if !local_users || auth.has_users().await? {
        return Ok(());
    }
    let email = std::env::var("AUTHCORE_ADMIN_EMAIL").ok();
    let password = std::env::var("AUTHCORE_ADMIN_PASSWORD").ok();
    let (Some(email), Some(password)) = (email, password) else {
        tracing::warn!(
            "the user store is empty: set AUTHCORE_ADMIN_EMAIL and AUTHCORE_ADMIN_PASSWORD to create the first admin"
        );
        return Ok(());
    };
    let user = auth
        .create_user_unchecked(CreateUser {
            email,
            password: Password::from(password),
            name: None,
            role: Role::new(Role::ADMIN),
        })
        .await
        .map_err(|e| format!("cannot create the first admin: {e}"))?;
    tracing::info!(email = %user.email, "first admin created");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
}
