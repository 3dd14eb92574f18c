//! The `chronik` binary: `serve` runs the server, `admin …` provisions a running one, `project …`
//! checks and deploys an app's project folder, `send` streams a file of custom event completions
//! into an account.
//! One file per subcommand; the server itself lives in `chronik-server`.

mod admin;
mod project;
mod send;
mod serve;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The doc comment below, not the package description, is the help's first line, so it stays next
// to the list of subcommands it names (tests/cli/help.rs checks both).
/// Chronik, a self-hosted server that speaks HubSpot's event and CRM APIs: `serve` runs it; `admin`,
/// `project` and `send` work with a running one.
#[derive(Debug, Parser)]
#[command(name = "chronik", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Provision accounts, apps, installs, private apps and visitors on a running server.
    Admin(admin::AdminArgs),
    /// Check an app's project folder (*-hsmeta.json files) offline, or deploy it to a server.
    Project(project::ProjectArgs),
    /// Send an NDJSON file of custom event completions through /events/v3/send/batch.
    Send(send::SendArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Project(args) => project::run(args).await,
            Command::Send(args) => send::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes, `: `-separated, for one-line messages. Callers pass reqwest errors
/// without their URL where it carries a credential (`project upload`'s `hapikey`).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
