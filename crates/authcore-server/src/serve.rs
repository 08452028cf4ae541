//! `authcore serve`: the HTTP server.

use std::process::ExitCode;

use authcore_core::{Authenticator, BasicCacheConfig, CreateUser, Password, Role, TokenConfig};
use clap::Args;

use crate::cli::BoxError;
use std::sync::Arc;

use crate::listener::{self, ListenerArgs};
use crate::observe;
use crate::ops::{self, Ops};
use crate::options::{HashArgs, KeyArgs, PolicyArgs, StoreArgs};
use crate::ratelimit::{self, RateLimitArgs};

/// The options of `authcore serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, env = "AUTHCORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    #[command(flatten)]
    pub listener: ListenerArgs,

    #[command(flatten)]
    pub stores: StoreArgs,

    #[command(flatten)]
    pub keys: KeyArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub hashing: HashArgs,

    #[command(flatten)]
    pub rate_limit: RateLimitArgs,

    /// Serve GET /metrics on this address of its own instead of on --listen (where it needs
    /// no authentication: keep --listen private or use this). Plain HTTP, with the read
    /// timeouts of --listen and a --max-connections cap of its own.
    #[arg(long, env = "AUTHCORE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,

    /// Milliseconds each part checked by GET /readyz (user store, lockout store, directory)
    /// has to answer.
    #[arg(long, env = "AUTHCORE_READY_TIMEOUT_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub ready_timeout_ms: u64,

    /// The `iss` claim of issued tokens.
    #[arg(long, env = "AUTHCORE_TOKEN_ISSUER", default_value = "authcore")]
    pub token_issuer: String,

    /// How often, in milliseconds, the run-time settings (policy, LDAP) are checked for
    /// changes made through another process on the same database: one small read of a version
    /// number; a change is in force here within this interval plus one load.
    #[arg(long, env = "AUTHCORE_SETTINGS_REFRESH_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub settings_refresh_ms: u64,

    /// The cluster name in Redis's password pre-hash (`password_hash_method: "1"` on
    /// POST/PUT /v1/users: SHA-256 of `username:clustername:password`). Without it such
    /// requests are refused with 400.
    #[arg(long, env = "AUTHCORE_CLUSTER_NAME")]
    pub cluster_name: Option<String>,

    /// Entries of the cache of recent successful Basic-credential checks on users-API calls
    /// (a hit skips argon2 only; a password change, logout everywhere, a role or status
    /// change or a lockout end it). 0 turns the cache off.
    #[arg(long, env = "AUTHCORE_BASIC_CACHE_SIZE", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub basic_cache_size: u64,

    /// Seconds a Basic-credential success is reused, counted from its argon2 check.
    #[arg(long, env = "AUTHCORE_BASIC_CACHE_TTL", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub basic_cache_ttl: u64,
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<ExitCode, BoxError> {
    let metrics = ops::install_recorder()?;
    let stores = Arc::new(args.stores.open().await?);
    let ops = Ops::new(
        Arc::clone(&stores),
        metrics,
        std::time::Duration::from_millis(args.ready_timeout_ms),
        args.metrics_listen.is_none(),
    );
    let mut builder = Authenticator::builder()
        .operations(Arc::new(ops.clone()))
        .lockout_store(stores.lockout_store())
        .keys(args.keys.key_ring()?)
        .token_config(TokenConfig {
            issuer: args.token_issuer.clone(),
            ..TokenConfig::default()
        })
        .policy(args.policy.policy())
        .hashing(args.hashing.config()?)
        .sign_in_limits(args.hashing.sign_in_limits())
        .basic_cache(BasicCacheConfig {
            max_entries: usize::try_from(args.basic_cache_size)?,
            ttl_secs: args.basic_cache_ttl,
        })
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .settings_store(stores.sql.clone())
        .directory_control(stores.ldap.clone());
    if let Some(name) = &args.cluster_name {
        builder = builder.cluster_name(name.clone());
    }
    for store in stores.user_stores() {
        builder = builder.store(store);
    }
    let auth = builder.build()?;
    // The flags and --ldap-config seed what the database does not hold yet; from then on
    // the database's settings are in force, here and in every process sharing it.
    let (ldap, mappings) = match args.stores.ldap_seed()? {
        Some((ldap, mappings)) => (Some(ldap), mappings),
        None => (None, Vec::new()),
    };
    auth.seed_settings(ldap, mappings)
        .await
        .map_err(|e| format!("cannot load the run-time settings: {e}"))?;
    if let Some(ldap) = stores.ldap.current()
        && let Err(e) = ldap.check_connection().await
    {
        tracing::warn!(error = %e, "the LDAP directory is not reachable yet");
    }
    let _watcher = auth.watch_settings(std::time::Duration::from_millis(args.settings_refresh_ms));
    // Directory-only servers have no local users to bootstrap.
    if stores.local_users {
        bootstrap_admin(&auth).await?;
    }

    let tls = args.listener.tls()?;
    listener::raise_open_file_limit(&args.listener);
    let audit = observe::Audit {
        auth: auth.clone(),
        clients: Arc::new(args.rate_limit.client_resolver()),
    };
    // The users API, with /livez, /readyz and (without --metrics-listen) /metrics: the core's
    // route table has them, answered by `ops`.
    let mut app = authcore_axum::UsersApi::new(auth.clone())
        .without_request_span()
        .into_router();
    if let Some(limiter) = args.rate_limit.limiter()? {
        app = app.layer(axum::middleware::from_fn_with_state(
            limiter,
            ratelimit::limit,
        ));
    }
    // Innermost first: the request id is set before the span opens, the span covers the
    // audit event and the metrics.
    app = app
        .layer(axum::middleware::from_fn(ops::record))
        .layer(axum::middleware::from_fn_with_state(audit, observe::audit))
        .layer(observe::trace_layer())
        .layer(axum::middleware::from_fn(observe::request_id));
    if tls.is_some() && args.listener.hsts_max_age > 0 {
        app = listener::hsts(app, args.listener.hsts_max_age);
    }
    let tcp = listener::bind(&args.listen, args.listener.listen_backlog)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = tcp.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // On stdout, for scripts and tests that start the server on port 0.
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, "authcore server started");
    if let Some(metrics_addr) = &args.metrics_listen {
        let metrics_tcp = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|e| format!("cannot listen on --metrics-listen {metrics_addr}: {e}"))?;
        let metrics_addr = metrics_tcp.local_addr()?;
        println!("metrics on http://{metrics_addr}/metrics");
        tracing::info!(addr = %metrics_addr, "metrics listener started");
        let router = ops.metrics_router(auth);
        // The same hardened listener as --listen (read timeouts, connection cap), plain HTTP.
        let metrics_listener = args.listener.clone();
        tokio::spawn(async move {
            let forever = std::future::pending::<()>();
            if let Err(e) =
                listener::serve(metrics_tcp, router, &metrics_listener, None, forever).await
            {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    listener::serve(tcp, app, &args.listener, tls, shutdown_signal()).await?;
    tracing::info!("authcore server stopped");
    Ok(ExitCode::SUCCESS)
}

/// Creates the first admin from `AUTHCORE_ADMIN_EMAIL` / `AUTHCORE_ADMIN_PASSWORD` when the
/// store has no user.
async fn bootstrap_admin(auth: &Authenticator) -> Result<(), BoxError> {
    if auth.has_users().await? {
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
            role: Role::ADMIN,
        })
        .await
        .map_err(|e| format!("cannot create the first admin: {e}"))?;
    tracing::info!(email = %user.email, "first admin created");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
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
