//! The users API of authcore on the memory store, with the hashing engine's OS priority
//! chosen on the command line: the A/B of the priority choice in `BENCHMARKS.md`
//! (`scripts/bench --priority-ab`). Prints `listening on http://ADDR` like the reference server.

use std::process::ExitCode;
use std::sync::Arc;

use authcore_core::secrecy::SecretSlice;
use authcore_core::{
    Authenticator, CreateUser, HashingConfig, Key, KeyRing, Password, Role, WorkerPriority,
};
use authcore_memory::MemoryStore;
use clap::{Parser, ValueEnum};

/// authcore's users API on the memory store, for the priority A/B.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The one user's e-mail.
    #[arg(long, env = "AUTHCORE_ADMIN_EMAIL")]
    username: String,
    /// The one user's password.
    #[arg(long, env = "AUTHCORE_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,
    /// The hashing workers' OS priority.
    #[arg(long, value_enum, default_value_t = Priority::Lowered)]
    priority: Priority,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Priority {
    Lowered,
    Normal,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run(args)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let store = Arc::new(MemoryStore::new());
    let mut secret = format!("engine-server-{}", std::process::id()).into_bytes();
    secret.resize(32, b'x');
    let keys = Key::hs256("k", &SecretSlice::from(secret))
        .and_then(KeyRing::new)
        .map_err(|e| e.to_string())?;
    let auth = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .hashing(HashingConfig {
            priority: match args.priority {
                Priority::Lowered => WorkerPriority::Lowered,
                Priority::Normal => WorkerPriority::Normal,
            },
            ..HashingConfig::default()
        })
        .keys(keys)
        .build()
        .map_err(|e| e.to_string())?;
    auth.create_user_unchecked(CreateUser {
        email: args.username,
        password: Password::from(args.password),
        name: None,
        role: Role::ADMIN,
    })
    .await
    .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    axum::serve(listener, authcore_axum::router(auth))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
