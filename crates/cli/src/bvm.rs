//! `nvm bvm`: Bitcoin on n-VM from the command line — a script's coins and token holder, sending
//! a signed Bitcoin transaction, and decoding one to see what it spends and pays.

use crate::{RpcArgs, client::Client, commands::print};
use bitcoin::consensus::encode::deserialize;
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum BvmCommand {
    /// The unspent outputs of a Bitcoin address (bc1…, 1…, 3…) or an output script in hex.
    Utxos {
        /// A Bitcoin address (bc1…, 1…, 3…) or an output script in hex.
        address: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Who holds the tokens sent to a Bitcoin address (bc1…, 1…, 3…) or output script (hex):
    /// the identity that linked its key, else the script's own (legacy) identity — give its
    /// id_com to `nvm balance`.
    Holder {
        /// A Bitcoin address (bc1…, 1…, 3…) or an output script in hex.
        address: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Send a signed Bitcoin transaction (hex, as wallets export it); prints its txid.
    Send {
        /// The signed transaction, in hex.
        hex: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Decode a Bitcoin transaction (hex): its txid, what it spends and what it pays.
    Decode {
        /// The transaction, in hex.
        hex: String,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn bvm(command: BvmCommand) -> Result<(), String> {
    match command {
        BvmCommand::Utxos { address, rpc } => {
            let utxos =
                Client::new(&rpc.rpc)?.call("nvm_getUtxos", vec![Value::String(address)])?;
            print(rpc.json, &utxos, |v| {
                let rows = v.as_array().cloned().unwrap_or_default();
                if rows.is_empty() {
                    return "no unspent outputs".into();
                }
                rows.iter()
                    .map(|u| {
                        format!(
                            "{}:{}  {} sat  (block {})",
                            u["txid"].as_str().unwrap_or(""),
                            u["vout"],
                            u["value"],
                            u["height"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        BvmCommand::Holder { address, rpc } => {
            let holder =
                Client::new(&rpc.rpc)?.call("nvm_getScriptHolder", vec![Value::String(address)])?;
            print(rpc.json, &holder, |v| {
                let how = if v["linked"] == true { "linked identity" } else { "legacy identity" };
                format!("{} ({how})", v["idCom"].as_str().unwrap_or_default())
            });
            Ok(())
        }
        BvmCommand::Send { hex, rpc } => {
            let txid = Client::new(&rpc.rpc)?
                .call("nvm_sendBitcoinTransaction", vec![Value::String(hex)])?;
            print(rpc.json, &json!({ "txid": txid }), |v| {
                v["txid"].as_str().unwrap_or_default().to_string()
            });
            Ok(())
        }
        BvmCommand::Decode { hex, json } => {
            let bytes = hex::decode(hex.trim().trim_start_matches("0x"))
                .map_err(|e| format!("not hex: {e}"))?;
            let tx: bitcoin::Transaction =
                deserialize(&bytes).map_err(|e| format!("not a Bitcoin transaction: {e}"))?;
            let value = json!({
                "txid": tx.compute_txid().to_string(),
                "weight": tx.weight().to_wu(),
                "inputs": tx.input.iter().map(|i| json!({ "txid": i.previous_output.txid.to_string(), "vout": i.previous_output.vout, "sequence": i.sequence.0 })).collect::<Vec<_>>(),
                "outputs": tx.output.iter().map(|o| json!({ "value": o.value.to_sat(), "scriptPubKey": hex::encode(o.script_pubkey.as_bytes()) })).collect::<Vec<_>>(),
            });
            print(json, &value, |v| serde_json::to_string_pretty(v).unwrap_or_default());
            Ok(())
        }
    }
}
