//! `nvm svm invoke`: an identity runs a Solana message (instructions built with any Solana tool,
//! e.g. `new TransactionMessage(…).compileToLegacyMessage().serialize()` or `Message.serialize()`
//! of `@solana/web3.js`) as its own Solana address, signed by its n-VM key.

use crate::{
    RpcArgs,
    client::Client,
    commands::{decode_hex, report},
    keyfile::KeyFile,
};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SvmCommand {
    /// Run a legacy Solana message (base64, or 0x-hex) whose signers are your identity's Solana
    /// addresses (`nvm identity show` prints `svm_display`).
    Invoke {
        /// The identity's key file.
        #[arg(long)]
        key: PathBuf,
        /// The legacy Solana message: base64 (as web3.js serializes it) or 0x-hex.
        #[arg(long)]
        message: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

pub fn svm(command: SvmCommand) -> Result<(), String> {
    match command {
        SvmCommand::Invoke { key, message, rpc } => {
            use base64::Engine;
            let file = KeyFile::load(&key)?;
            let message = if message.starts_with("0x") {
                decode_hex(&message, "--message")?
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(message.trim())
                    .map_err(|e| format!("--message: neither 0x-hex nor base64: {e}"))?
            };
            let op = nvm_vm_svm::SvmOp::Invoke { message };
            // The node's checks, here first, so that a malformed message fails with its reason.
            nvm_vm_svm::SvmOp::decode(&op.encode())?;
            let receipt =
                Client::new(&rpc.rpc)?.send_payload(&file, file.id_com(), op.encode(), true)?;
            report(rpc.json, &receipt)
        }
    }
}
