//! `authcore`: the authcore server and its admin CLI.
//!
//! ```text
//! cargo install --path crates/authcore-server
//! authcore serve
//! ```
//!
//! `authcore serve` runs the Redis Enterprise compatible users API; the other subcommands
//! administer the same database directly (see `authcore --help`). Every subcommand lives in a
//! module of its own with its clap arguments and a `run` function; [`cli::Command`] lists them.

mod check_config;
mod cleartext;
mod cli;
mod hash_calibrate;
mod import;
mod keygen;
mod listener;
mod observe;
mod ops;
mod options;
mod ratelimit;
mod serve;
mod user;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let serving = matches!(cli.command, cli::Command::Serve(_));
    cli::init_logging(&cli.command, cli.log_format);
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
    match runtime.block_on(cli.command.run()) {
        Ok(code) => code,
        Err(e) => {
            if serving {
                tracing::error!("{e}");
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
