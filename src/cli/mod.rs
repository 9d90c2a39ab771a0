//! The command-line interface: clap definitions in [`args`], one handler module per
//! subcommand, shared printing in [`output`].

mod apikey;
mod apikey_limits;
pub mod args;
mod config_cmd;
mod env;
mod oauth;
pub mod output;
mod prices;
mod route;
mod server_cmd;
mod status;
mod upstream;
mod usage;

use std::io;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::config::{ConfigError, ConfigStore};
use args::{Cli, Command};
use output::Output;

/// What every handler gets: where the config is and how to print.
pub struct Ctx {
    pub store: ConfigStore,
    pub out: Output,
}

/// Errors a handler reports; the exit code is 1 unless it says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    User(String),
    /// The command ran but the answer is "no" (e.g. `health` on an unhealthy gateway).
    #[error("{0}")]
    Failed(String),
    /// Already reported on stdout; exit non-zero without another message.
    #[error("")]
    Silent,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Other(e.into())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// Shorthand for a user-facing error.
pub fn user_error(msg: impl Into<String>) -> CliError {
    CliError::User(msg.into())
}

/// Parse arguments, run the command, print errors and pick the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Other(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(CliError::Silent) => ExitCode::FAILURE,
        Err(e) => {
            let text = match &e {
                CliError::Other(inner) => format!("{inner:#}"),
                other => other.to_string(),
            };
            eprintln!("error: {text}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> CliResult {
    if let Command::Completions { shell } = cli.command {
        let mut cmd = Cli::command();
        clap_complete::generate(shell, &mut cmd, "llm-gateway", &mut io::stdout());
        return Ok(());
    }
    let ctx = Ctx {
        store: ConfigStore::resolve(cli.config.as_deref())?,
        out: Output::new(cli.json),
    };
    match cli.command {
        Command::Apikey(c) => apikey::run(&ctx, c),
        Command::Upstream(c) => upstream::run(&ctx, c),
        Command::Route(c) => route::run(&ctx, c),
        Command::Oauth(c) => oauth::run(&ctx, c),
        Command::Env(c) => env::run(&ctx, c),
        Command::Server(c) => server_cmd::run(&ctx, c),
        Command::Status => status::status(&ctx),
        Command::Health => status::health(&ctx),
        Command::Config(c) => config_cmd::run(&ctx, c),
        Command::Prices(c) => prices::run(&ctx, c),
        Command::Usage(a) => usage::run(&ctx, a),
        Command::Completions { .. } => Ok(()),
    }
}
