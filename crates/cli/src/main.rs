//! `nvm`: the n-VM node and its command-line client.

mod bench;
mod bvm;
mod client;
mod commands;
mod keyfile;
mod link;
mod metrics;
mod node;
mod prove;
mod svm;
mod testnet;
mod validator;
mod vms;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nvm",
    version,
    about = "n-VM: one chain, five VMs, one identity and one token ledger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where a client command finds the node.
#[derive(clap::Args, Clone)]
pub struct RpcArgs {
    /// The node's JSON-RPC URL.
    #[arg(long, env = "NVM_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    pub rpc: String,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node.
    Node(commands::NodeArgs),
    /// Create or show keys.
    #[command(subcommand)]
    Key(commands::KeyCommand),
    /// Create, show and derive identities.
    #[command(subcommand)]
    Identity(commands::IdentityCommand),
    /// Send tokens to any VM address.
    Transfer(commands::TransferArgs),
    /// Create and mint tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Balance of any VM address or id_com.
    Balance(commands::BalanceArgs),
    /// Measure native-transfer throughput through the node's own pipeline.
    Bench(bench::BenchArgs),
    /// A local multi-validator network on 127.0.0.1.
    #[command(subcommand)]
    Testnet(testnet::TestnetCommand),
    /// Bitcoin on n-VM: a script's coins, sending and decoding Bitcoin transactions.
    #[command(subcommand)]
    Bvm(bvm::BvmCommand),
    /// Solana on n-VM: run a Solana message as your identity's Solana address.
    #[command(subcommand)]
    Svm(svm::SvmCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Node(args) => commands::run_node(args),
        Command::Key(cmd) => commands::key(cmd),
        Command::Identity(cmd) => commands::identity(cmd),
        Command::Transfer(args) => commands::transfer(args),
        Command::Token(cmd) => commands::token(cmd),
        Command::Balance(args) => commands::balance(args),
        Command::Bench(args) => bench::run(args),
        Command::Testnet(cmd) => testnet::testnet(cmd),
        Command::Bvm(cmd) => bvm::bvm(cmd),
        Command::Svm(cmd) => svm::svm(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The flags of `command` and its subcommands without a help line, named by their path.
    fn undocumented(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.get_help().is_none() && id != "help" && id != "version" {
                found.push(format!("{path} --{id}"));
            }
        }
        for sub in command.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_flag_has_a_help_line() {
        let mut found = Vec::new();
        undocumented(&super::Cli::command(), "nvm", &mut found);
        assert!(found.is_empty(), "flags without help: {found:#?}");
    }
}
