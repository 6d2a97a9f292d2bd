//! `failoverctl`: the operator's CLI of the failover orchestrator. Parses
//! the command line, reads the deployment's configuration once, builds the
//! clients once, and hands the command to a plain function.

mod aws;
mod cli;
mod commands;
mod exit;
mod render;
mod target;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = async {
        let deployment = target::Deployment::resolve(&cli.target).await?;
        let clients = commands::Clients::new(&deployment);
        commands::run(&cli.command, cli.json, &deployment, &clients).await
    }
    .await;
    match result {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(output.text.as_bytes()).is_err() {
                return ExitCode::from(exit::FAILED);
            }
            ExitCode::from(output.code)
        }
        Err(error) => {
            eprintln!("{}", exit::message(&error));
            ExitCode::from(exit::of_error(&error))
        }
    }
}
