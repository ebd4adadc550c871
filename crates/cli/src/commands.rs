//! The client and node commands.

use crate::{RpcArgs, client::Client, keyfile::KeyFile};
use clap::{Args, Subcommand};
use nvm_identity::{SecretKey, VmAddress};
use nvm_ledger::NATIVE_MINT;
use nvm_node::{Genesis, dev_key};
use nvm_primitives::{Mint, SchemeId};
use nvm_vm_native::NativeOp;
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

type CmdResult = Result<(), String>;

pub(crate) fn print(json_mode: bool, value: &Value, human: impl FnOnce(&Value) -> String) {
    if json_mode {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", human(value));
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

// ---------------------------------------------------------------- node

/// How to run a node.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// Single-validator development network with the well-known dev key funded.
    #[arg(long)]
    dev: bool,
    /// One validator of a multi-validator network, configured by `--config`.
    #[arg(long, requires = "config", conflicts_with = "dev")]
    validator: bool,
    /// The validator's config file (`nvm testnet init` writes them).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the chain database, the consensus storage and the transaction journal live.
    #[arg(long, default_value = ".nvm-dev")]
    data_dir: PathBuf,
    /// The `nvm_*` and Ethereum JSON-RPC (HTTP and WebSocket).
    #[arg(long, default_value = "127.0.0.1:8545")]
    rpc_addr: SocketAddr,
    /// Most calls in one JSON-RPC batch (more: error -32010).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_batch)]
    rpc_max_batch: u32,
    /// Most JSON-RPC connections served at once.
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_connections)]
    rpc_max_connections: u32,
    /// Largest JSON-RPC answer in bytes (more: error -32008).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_response_bytes)]
    rpc_max_response_bytes: u32,
    /// Most subscriptions one WebSocket connection holds (more: error -32006).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_subscriptions)]
    rpc_max_subscriptions: u32,
    /// Longest an `eth_call`, a whole `eth_estimateGas` or a Tron constant call runs, in
    /// milliseconds (longer: error -32000 "execution aborted").
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().call_timeout.as_millis() as u64)]
    rpc_call_timeout_ms: u64,
    /// Most gas an `eth_call` or `eth_estimateGas` may use (at most the EVM's 2^24 per
    /// transaction).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().call_gas_cap)]
    rpc_gas_cap: u64,
    /// Most blocks one `eth_getLogs` scans (more: error -32000).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_log_blocks)]
    rpc_max_log_blocks: u64,
    /// Most logs one `eth_getLogs` returns (more: error -32000).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_logs)]
    rpc_max_logs: usize,
    /// Most accounts one Solana `getProgramAccounts` or `getTokenAccountsByOwner` looks at
    /// (more: error -32012).
    #[arg(long, default_value_t = nvm_rpc::RpcLimits::default().max_scanned_accounts)]
    rpc_max_scanned_accounts: usize,
    /// Solana's JSON-RPC; its pub-sub WebSocket listens on the next port (8900), as Solana's do.
    #[arg(long, default_value = "127.0.0.1:8899")]
    solana_rpc_addr: SocketAddr,
    /// Tron's HTTP API (java-tron's `/wallet/*`, what TronWeb calls), on java-tron's port.
    #[arg(long, default_value = "127.0.0.1:8090")]
    tron_http_addr: SocketAddr,
    /// Least milliseconds between blocks.
    #[arg(long, default_value_t = 400)]
    block_time_ms: u64,
    /// Most transactions in one block.
    #[arg(long, default_value_t = 20_000)]
    max_block_txs: usize,
    /// Most gas one block's transactions may use (a dev chain's; a network's is in its genesis).
    #[arg(long, default_value_t = nvm_vm_evm::BLOCK_GAS_LIMIT, conflicts_with = "validator")]
    gas_limit: u64,
    /// No block gas limit (as anvil's flag of the same name): blocks hold what `--max-block-txs`
    /// allows.
    #[arg(long, conflicts_with_all = ["validator", "gas_limit"])]
    disable_block_gas_limit: bool,
    /// Most transactions one sender may have pending, and how far past its next nonce it may
    /// queue them (default: the whole pool, as anvil takes; validators keep 1,024).
    #[arg(long, default_value_t = crate::node::MEMPOOL_CAPACITY, conflicts_with = "validator")]
    max_pending_per_sender: usize,
    /// Consensus p2p (a dev node is the only validator; port 0 picks any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    p2p_addr: SocketAddr,
    /// Serve Prometheus metrics (`GET /metrics`) here.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// How many blocks before the head keep their state readable (`eth_call`, `eth_getBalance`
    /// … at an older block; `cast run`); 0: the head only.
    #[arg(long, default_value_t = 128, conflicts_with = "validator")]
    history_blocks: u64,
    /// Keep every block's state readable (an archive node; the database grows with every block).
    #[arg(long, conflicts_with_all = ["history_blocks", "validator"])]
    archive: bool,
}

pub fn run_node(args: NodeArgs) -> CmdResult {
    let NodeArgs {
        dev,
        validator,
        config,
        data_dir,
        rpc_addr,
        rpc_max_batch,
        rpc_max_connections,
        rpc_max_response_bytes,
        rpc_max_subscriptions,
        rpc_call_timeout_ms,
        rpc_gas_cap,
        rpc_max_log_blocks,
        rpc_max_logs,
        rpc_max_scanned_accounts,
        solana_rpc_addr,
        tron_http_addr,
        block_time_ms,
        max_block_txs,
        gas_limit,
        disable_block_gas_limit,
        max_pending_per_sender,
        p2p_addr,
        metrics_addr,
        history_blocks,
        archive,
    } = args;
    if validator {
        let config = config.ok_or("--validator needs --config FILE")?;
        return crate::validator::run(&config);
    }
    if !dev {
        return Err("pass --dev (single validator) or --validator --config FILE".into());
    }
    if max_pending_per_sender == 0 || gas_limit == 0 {
        return Err("--gas-limit and --max-pending-per-sender must be at least 1".into());
    }
    // The one validator of a dev chain may write its state directly (anvil's dev methods).
    let genesis = Genesis {
        block_gas_limit: if disable_block_gas_limit { u64::MAX } else { gas_limit },
        dev_authority: Some(nvm_node::dev_id()),
        ..Genesis::dev(&crate::vms::registry()?)
    };
    let key = dev_key();
    let consensus_key =
        <commonware_cryptography::ed25519::PrivateKey as commonware_codec::DecodeExt<_>>::decode(
            key.secret_bytes().to_vec(),
        )
        .map_err(|e| format!("dev key: {e}"))?;
    let me = commonware_cryptography::Signer::public_key(&consensus_key);
    let setup = crate::node::NodeSetup {
        key: consensus_key,
        // Alone: the only validator, its p2p on a port nobody needs to know.
        validators: vec![(me, p2p_addr)],
        p2p_addr,
        genesis: genesis.clone(),
        data_dir,
        rpc_addr,
        rpc_limits: nvm_rpc::RpcLimits {
            max_batch: rpc_max_batch,
            max_connections: rpc_max_connections,
            max_response_bytes: rpc_max_response_bytes,
            max_subscriptions: rpc_max_subscriptions,
            call_timeout: std::time::Duration::from_millis(rpc_call_timeout_ms),
            call_gas_cap: rpc_gas_cap,
            max_log_blocks: rpc_max_log_blocks,
            max_logs: rpc_max_logs,
            max_scanned_accounts: rpc_max_scanned_accounts,
        },
        solana_rpc_addr,
        tron_http_addr,
        metrics_addr,
        faucet: Some(nvm_vm_svm::Faucet::dev()),
        dev_authority: Some(std::sync::Arc::new(nvm_rpc::DevAuthority::new(
            dev_key(),
            nvm_node::dev_id(),
        ))),
        history: if archive {
            nvm_node::HistoryWindow::All
        } else {
            nvm_node::HistoryWindow::Blocks(history_blocks)
        },
        max_pending_per_sender,
        // A dev node acknowledges a transaction once the OS has it: it survives kill -9, not a
        // power loss (anvil keeps nothing); an fsync per request would bound it by the disk.
        journal_sync: nvm_node::JournalSync::ProcessCrash,
        rules: nvm_consensus::BlockRules {
            max_block_txs,
            block_time: Duration::from_millis(block_time_ms),
        },
    };
    crate::node::run(setup, |chain| {
        let dev_id = KeyFile::new(key.clone(), [0; 32]).id_com();
        let height = chain.head().map_or(0, |h| h.height);
        println!(
            "n-VM dev node — chain id {}, one validator, resuming at height {height}",
            genesis.chain_id
        );
        println!("Dev key (well known, never use it on a real network):");
        println!("  scheme    {}", key.scheme().name());
        println!("  secret    {}", hex0x(&key.secret_bytes()));
        println!("  id_com    {}", hex0x(&dev_id));
        println!("  funded with 1000000000 NVM; save it with `nvm key dev --out dev.json`");
        println!(
            "Ethereum dev accounts (mnemonic \"{}\"), 10000 NVM each:",
            nvm_vm_evm::DEV_MNEMONIC
        );
        let accounts = nvm_vm_evm::DEV_MNEMONIC_ACCOUNTS;
        for (i, address) in nvm_vm_evm::mnemonic_addresses(nvm_vm_evm::DEV_MNEMONIC, accounts)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            println!("  ({i}) {}", nvm_identity::VmAddress::Evm(*address).display());
        }
        println!("Tron dev accounts (the same keys as Tron keys), 10000 TRX each:");
        for (i, address) in nvm_vm_tvm::dev_tron_addresses().iter().enumerate() {
            println!("  ({i}) {}", nvm_identity::VmAddress::Tvm(*address).display());
        }
    })
}

/// Ctrl-C or SIGTERM (what service managers send). Either way the node stops producing and lets
/// the block in flight finish committing; a kill -9 instead loses no committed block either.
pub(crate) async fn shutdown_signal() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(|e| e.to_string()),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------- keys

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a new key (and a random salt for its identity).
    New {
        /// Its signature scheme.
        #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "secp256k1", "schnorr", "ml-dsa-44"])]
        scheme: String,
        /// Write the key file here (refuses to overwrite without --force).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing --out file (its key is lost).
        #[arg(long, requires = "out")]
        force: bool,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// The well-known dev key funded by `nvm node --dev`.
    Dev {
        /// Write the key file here (refuses to overwrite without --force).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing --out file.
        #[arg(long, requires = "out")]
        force: bool,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// What a key file holds, its secret left out: scheme, public key, identity and addresses.
    Show {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

fn show_key(file: &KeyFile, out: Option<PathBuf>, force: bool, json_mode: bool) -> CmdResult {
    if let Some(path) = &out {
        file.save(path, force)?;
    }
    print_key(file, true, out.as_deref(), json_mode);
    Ok(())
}

/// A key file as `nvm key` shows it: scheme, the secret (`with_secret`) or else the public key,
/// identity and addresses, and where it was saved.
fn print_key(file: &KeyFile, with_secret: bool, saved: Option<&std::path::Path>, json_mode: bool) {
    let mut value = file.to_json();
    let (label, field) =
        if with_secret { ("secret    ", "secret") } else { ("public key", "public_key") };
    if !with_secret && let Some(fields) = value.as_object_mut() {
        fields.remove("secret");
        fields.insert(field.into(), format!("0x{}", hex::encode(file.key.public_key())).into());
    }
    value["addresses"] = nvm_rpc::identity_json(&file.id_com());
    print(json_mode, &value, |v| {
        format!(
            "scheme     {}\n{label} {}\nid_com     {}\nevm        {}\nsvm        {}\ntvm        {}{}",
            v["scheme"].as_str().unwrap_or_default(),
            v[field].as_str().unwrap_or_default(),
            v["id_com"].as_str().unwrap_or_default(),
            v["addresses"]["evm_display"].as_str().unwrap_or_default(),
            v["addresses"]["svm_display"].as_str().unwrap_or_default(),
            v["addresses"]["tvm_display"].as_str().unwrap_or_default(),
            saved.map(|p| format!("\nsaved to   {}", p.display())).unwrap_or_default()
        )
    });
}

pub fn key(cmd: KeyCommand) -> CmdResult {
    match cmd {
        KeyCommand::New { scheme, out, force, json } => {
            let scheme =
                SchemeId::from_name(&scheme).ok_or_else(|| format!("unknown scheme {scheme}"))?;
            let mut salt = [0u8; 32];
            OsRng.fill_bytes(&mut salt);
            show_key(&KeyFile::new(SecretKey::generate(scheme), salt), out, force, json)
        }
        KeyCommand::Dev { out, force, json } => {
            show_key(&KeyFile::new(dev_key(), [0; 32]), out, force, json)
        }
        KeyCommand::Show { key, json } => {
            print_key(&KeyFile::load(&key)?, false, None, json);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- identities

#[derive(Subcommand)]
pub enum IdentityCommand {
    /// Register the identity of a key file (its id_com must hold enough for the fee).
    Create {
        /// The key file that signs (`nvm key new`, `nvm key dev`).
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Replace an identity's credential with another key; id_com and every address stay.
    /// The new key file is rewritten to act for the identity.
    Rotate {
        /// The identity's current key.
        #[arg(long)]
        key: PathBuf,
        /// The key that takes over (from `nvm key new`).
        #[arg(long)]
        new_key: PathBuf,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Link an Ethereum account (e.g. MetaMask's) to an identity: its transactions then act
    /// for the identity, on its balances. The account signs `nvm identity link-message` with
    /// `personal_sign`; give that signature, or the account's secret key to sign here.
    LinkEvm(crate::link::LinkEvmArgs),
    /// Link a Solana key (e.g. Phantom's) to an identity: its transactions and token accounts
    /// then act for the identity, on its balances. The key signs `nvm identity link-message
    /// --solana` with Ed25519 (a wallet's signMessage); give that signature, or its keypair file.
    LinkSol(crate::link::LinkSolArgs),
    /// Link a Bitcoin key to an identity: what its addresses (P2PKH, P2WPKH, P2SH-P2WPKH, P2TR)
    /// hold — coins and tokens — moves to the identity, and what they are paid later credits it.
    /// The key signs `nvm identity link-message --bitcoin` as wallets sign messages (BIP-137).
    LinkBtc(crate::link::LinkBtcArgs),
    /// Link a Tron key (e.g. TronLink's) to an identity: its TRX moves to the identity and its
    /// Tron transactions then act for it. The key signs `nvm identity link-message --tron` with
    /// TronWeb's signMessageV2.
    LinkTron(crate::link::LinkTronArgs),
    /// Print the message an Ethereum account (or with --solana a Solana key, with --bitcoin a
    /// Bitcoin key, with --tron a Tron key) signs to be linked.
    LinkMessage(crate::link::LinkMessageArgs),
    /// Show the identity behind any address (asks the node).
    Show {
        /// Any VM address (0x EVM, base58 SVM, T… Tron, bc1p… BVM) or an id_com.
        address: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Compute every VM address of an identity (offline).
    Derive {
        /// The identity's id_com (0x + 64 hex).
        #[arg(long, conflicts_with = "key")]
        id_com: Option<String>,
        /// Or the key file whose identity it is.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

fn receipt_line(receipt: &Value) -> String {
    let status = receipt["status"].as_str().unwrap_or("?");
    let mut line = format!(
        "{} in block {} — {status}",
        receipt["txHash"].as_str().unwrap_or_default(),
        receipt["blockHeight"]
    );
    if let Some(err) = receipt["error"].as_str() {
        line.push_str(&format!(": {err}"));
    }
    line
}

/// Prints a receipt; a transaction that failed in its block is an error (non-zero exit), said
/// once: its hash, block, reason and the fee it paid all the same (the JSON receipt is printed
/// too with `--json`).
pub(crate) fn report(json_mode: bool, receipt: &Value) -> CmdResult {
    if receipt["status"].as_str() != Some("failed") {
        print(json_mode, receipt, receipt_line);
        return Ok(());
    }
    if json_mode {
        print(json_mode, receipt, receipt_line);
    }
    let fee = receipt["feePaid"].as_str().and_then(|f| f.parse::<u128>().ok());
    let fee = fee.map_or_else(|| "?".into(), |f| format_amount(f, nvm_ledger::NATIVE_DECIMALS));
    Err(format!(
        "transaction {} failed in block {}: {} (it paid its fee, {fee} NVM)",
        receipt["txHash"].as_str().unwrap_or_default(),
        receipt["blockHeight"],
        receipt["error"].as_str().unwrap_or("unknown reason"),
    ))
}

pub(crate) fn decode_hex(text: &str, what: &str) -> Result<Vec<u8>, String> {
    hex::decode(text.trim_start_matches("0x"))
        .map_err(|_| format!("{what} must be 0x-hex, got {text:?}"))
}

pub fn identity(cmd: IdentityCommand) -> CmdResult {
    match cmd {
        IdentityCommand::Create { key, rpc } => {
            let file = KeyFile::load(&key)?;
            let op = NativeOp::CreateIdentity {
                scheme: file.key.scheme() as u8,
                public_key: file.key.public_key(),
                salt: file.salt,
            };
            let receipt = Client::new(&rpc.rpc)?.send(&file, file.id_com(), &op, true)?;
            report(rpc.json, &receipt)
        }
        IdentityCommand::Rotate { key, new_key, rpc } => {
            let current = KeyFile::load(&key)?;
            let mut next = KeyFile::load(&new_key)?;
            let client = Client::new(&rpc.rpc)?;
            let id = current.id_com();
            let chain_id = client.chain_id()?;
            let nonce = client.pending_nonce(&id)?;
            let scheme = next.key.scheme();
            let public_key = next.key.public_key();
            let digest =
                nvm_identity::Registry::rotation_digest(chain_id, &id, nonce, scheme, &public_key);
            let proof = next.key.sign(&digest).map_err(|e| e.to_string())?;
            let op = NativeOp::RotateCredential { scheme: scheme as u8, public_key, proof };
            let receipt = client.send(&current, id, &op, true)?;
            if receipt["status"] == "success" {
                next.rotated_into = Some(id);
                next.save(&new_key, true)?;
            }
            report(rpc.json, &receipt)
        }
        IdentityCommand::LinkMessage(args) => crate::link::message(args),
        IdentityCommand::LinkEvm(args) => crate::link::link_evm(args),
        IdentityCommand::LinkSol(args) => crate::link::link_sol(args),
        IdentityCommand::LinkBtc(args) => crate::link::link_btc(args),
        IdentityCommand::LinkTron(args) => crate::link::link_tron(args),
        IdentityCommand::Show { address, rpc } => {
            let value =
                Client::new(&rpc.rpc)?.call("nvm_getIdentity", vec![Value::String(address)])?;
            print(rpc.json, &value, |v| {
                fields(v, &[ADDRESS_FIELDS, &["registered", "scheme"]].concat())
            });
            Ok(())
        }
        IdentityCommand::Derive { id_com, key, json } => {
            let id = match (id_com, key) {
                (Some(hex_id), _) => {
                    match VmAddress::parse(&hex_id).ok().and_then(|a| a.native()) {
                        Some(id) => id,
                        None => {
                            return Err(format!(
                                "--id-com must be 0x + 64 hex digits, got {hex_id:?}"
                            ));
                        }
                    }
                }
                (None, Some(path)) => KeyFile::load(&path)?.id_com(),
                (None, None) => return Err("give --id-com or --key".into()),
            };
            let value = nvm_rpc::identity_json(&id);
            print(json, &value, |v| fields(v, ADDRESS_FIELDS));
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- tokens

/// Parses a decimal amount in token units (`1.5`) into base units, or base units with `raw`.
pub fn parse_amount(text: &str, decimals: u8, raw: bool) -> Result<u128, String> {
    let bad = || format!("invalid amount {text:?}");
    if raw {
        return text.parse().map_err(|_| bad());
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > decimals as usize || (whole.is_empty() && frac.is_empty()) {
        return Err(format!("amount {text:?} has more than {decimals} decimals"));
    }
    let scale = 10u128.checked_pow(decimals as u32).ok_or_else(bad)?;
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac_value: u128 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
    let frac_scaled = frac_value * 10u128.pow((decimals as usize - frac.len()) as u32);
    whole.checked_mul(scale).and_then(|w| w.checked_add(frac_scaled)).ok_or_else(bad)
}

/// An amount that moves tokens (`--amount` of a transfer or a mint): [`parse_amount`], and more
/// than zero — a transfer of nothing would only pay a fee.
fn moved_amount(text: &str, decimals: u8, raw: bool) -> Result<u128, String> {
    match parse_amount(text, decimals, raw)? {
        0 => Err(format!("--amount must be more than 0, got {text:?}")),
        amount => Ok(amount),
    }
}

fn format_amount(base: u128, decimals: u8) -> String {
    let scale = 10u128.pow(decimals as u32);
    let frac = base % scale;
    if frac == 0 {
        return (base / scale).to_string();
    }
    let frac = format!("{frac:0width$}", width = decimals as usize);
    format!("{}.{}", base / scale, frac.trim_end_matches('0'))
}

pub(crate) fn parse_mint(token: &Option<String>) -> Result<Mint, String> {
    match token.as_deref() {
        None | Some("native") => Ok(NATIVE_MINT),
        Some(text) => {
            let bytes = hex::decode(text.trim_start_matches("0x"))
                .map_err(|e| format!("bad token id: {e}"))?;
            bytes.try_into().map_err(|_| "token id must be 32 bytes".to_string())
        }
    }
}

fn token_decimals(client: &Client, mint: &Mint) -> Result<u8, String> {
    let info = client.call("nvm_getToken", vec![Value::String(hex0x(mint))])?;
    if info.is_null() {
        return Err(format!("no token {}", hex0x(mint)));
    }
    info["decimals"].as_u64().map(|d| d as u8).ok_or_else(|| "node did not report decimals".into())
}

#[derive(Args)]
pub struct TransferArgs {
    /// The key file that signs (`nvm key new`, `nvm key dev`).
    #[arg(long)]
    pub key: PathBuf,
    /// Recipient: any VM address (0x EVM, base58 SVM, T… Tron, bvm:hex), an id_com, or a
    /// Bitcoin address (bc1…, 1…, 3…) or `script:<hex>` — the native token locked in a UTXO
    /// under that script, another token held for the script's key (`nvm bvm holder`).
    #[arg(long)]
    pub to: String,
    /// Amount in token units (e.g. 1.5); with --raw, in base units.
    #[arg(long)]
    pub amount: String,
    /// --amount is in base units (no decimals).
    #[arg(long)]
    pub raw: bool,
    /// Token id (0x + 64 hex); the native token when absent.
    #[arg(long)]
    pub token: Option<String>,
    #[command(flatten)]
    pub rpc: RpcArgs,
}

/// What `nvm identity show` and `derive` print of an identity: its id_com and every address.
const ADDRESS_FIELDS: &[&str] =
    &["id_com", "evm_display", "svm_display", "bvm_display", "bvm_bitcoin", "tvm_display"];

/// `keys` of `value`, one per line, for people.
fn fields(value: &Value, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| {
            let shown =
                value[*k].as_str().map(str::to_string).unwrap_or_else(|| value[*k].to_string());
            format!("{k:<12} {shown}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn transfer(args: TransferArgs) -> CmdResult {
    let file = KeyFile::load(&args.key)?;
    let client = Client::new(&args.rpc.rpc)?;
    let mint = parse_mint(&args.token)?;
    let decimals = token_decimals(&client, &mint)?;
    let amount = moved_amount(&args.amount, decimals, args.raw)?;
    let unit = Unit { decimals, raw: args.raw, native: mint == NATIVE_MINT };
    check_affordable(&client, &file.id_com(), &mint, amount, unit)?;
    if let Ok(script_pubkey) = nvm_vm_bvm::script_of(&args.to) {
        let op = if mint == NATIVE_MINT {
            nvm_vm_bvm::BvmOp::Lock { script_pubkey, amount }
        } else {
            nvm_vm_bvm::BvmOp::Hold { mint, script_pubkey, amount }
        };
        let receipt = client.send_payload(&file, file.id_com(), op.encode(), true)?;
        return report(args.rpc.json, &receipt);
    }
    let to = VmAddress::parse(&args.to).map_err(|e| e.to_string())?;
    let receipt =
        client.send(&file, file.id_com(), &NativeOp::Transfer { mint, to, amount }, true)?;
    report(args.rpc.json, &receipt)
}

/// How the user wrote an amount: in token units of `decimals` (`NVM` for the native token), or
/// in base units (`--raw`).
#[derive(Clone, Copy)]
struct Unit {
    decimals: u8,
    raw: bool,
    native: bool,
}

impl Unit {
    fn show(self, base: u128) -> String {
        match (self.raw, self.native) {
            (true, _) => format!("{base} base units"),
            (false, true) => format!("{} NVM", format_amount(base, self.decimals)),
            (false, false) => format_amount(base, self.decimals),
        }
    }
}

/// Refuses, before anything is sent, an amount the sender does not hold (with the fee, for the
/// native token), saying so in the unit the user typed.
fn check_affordable(
    client: &Client,
    sender: &nvm_primitives::IdCom,
    mint: &Mint,
    amount: u128,
    unit: Unit,
) -> CmdResult {
    let held = client
        .call("nvm_getBalance", vec![Value::String(hex0x(sender)), Value::String(hex0x(mint))])?;
    let held: u128 = held["balance"].as_str().and_then(|b| b.parse().ok()).unwrap_or(0);
    let fee: u128 = if unit.native {
        let info = client.call("nvm_chainInfo", vec![])?;
        info["txFee"].as_str().and_then(|f| f.parse().ok()).unwrap_or(0)
    } else {
        0
    };
    let needed = amount.saturating_add(fee);
    if needed <= held {
        return Ok(());
    }
    let with_fee = if fee > 0 {
        format!(" ({} with the fee of {})", unit.show(needed), unit.show(fee))
    } else {
        String::new()
    };
    Err(format!(
        "insufficient funds: --amount {} is more than the {} you hold{with_fee}; nothing was sent",
        unit.show(amount),
        unit.show(held)
    ))
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token with you as its mint authority.
    Create {
        /// The key file that signs; it becomes the mint authority.
        #[arg(long)]
        key: PathBuf,
        /// The token's name (its ERC-20 name()).
        #[arg(long)]
        name: String,
        /// Its symbol (ERC-20 symbol()).
        #[arg(long)]
        symbol: String,
        /// Its decimals (ERC-20 decimals(); SPL shows the same).
        #[arg(long, default_value_t = 18)]
        decimals: u8,
        /// Initial supply minted to you, in token units.
        #[arg(long, default_value = "0")]
        supply: String,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Mint new units (authority only).
    Mint {
        /// The mint authority's key file.
        #[arg(long)]
        key: PathBuf,
        /// The token id (0x + 64 hex).
        #[arg(long)]
        token: String,
        /// Recipient: any VM address or an id_com.
        #[arg(long)]
        to: String,
        /// Amount in token units (e.g. 1.5); with --raw, in base units.
        #[arg(long)]
        amount: String,
        /// --amount is in base units (no decimals).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

pub fn token(cmd: TokenCommand) -> CmdResult {
    match cmd {
        TokenCommand::Create { key, name, symbol, decimals, supply, rpc } => {
            let file = KeyFile::load(&key)?;
            let initial_supply = parse_amount(&supply, decimals, false)?;
            let client = Client::new(&rpc.rpc)?;
            let op = NativeOp::CreateToken { name, symbol, decimals, initial_supply };
            let mut receipt = client.send(&file, file.id_com(), &op, true)?;
            // The mint id is the source of the creation's Transfer log.
            receipt["token"] = receipt["logs"][0]["source"].clone();
            if !rpc.json && receipt["status"] == "success" {
                println!("token {}", receipt["token"].as_str().unwrap_or_default());
            }
            report(rpc.json, &receipt)
        }
        TokenCommand::Mint { key, token, to, amount, raw, rpc } => {
            let file = KeyFile::load(&key)?;
            let client = Client::new(&rpc.rpc)?;
            let mint = parse_mint(&Some(token))?;
            let amount = moved_amount(&amount, token_decimals(&client, &mint)?, raw)?;
            let to = VmAddress::parse(&to).map_err(|e| e.to_string())?;
            let receipt =
                client.send(&file, file.id_com(), &NativeOp::Mint { mint, to, amount }, true)?;
            report(rpc.json, &receipt)
        }
    }
}

#[derive(Args)]
pub struct BalanceArgs {
    /// Any VM address or id_com.
    pub address: String,
    /// Token id (0x + 64 hex); the native token when absent.
    #[arg(long)]
    pub token: Option<String>,
    /// Check a Merkle proof of the balance (and of the address's identity) against the block
    /// header's state root, and the header against its finalization certificate, instead of
    /// trusting the node's answer.
    #[arg(long)]
    pub prove: bool,
    /// With `--prove`: the network's genesis file, whose validator set the certificate must be
    /// signed by (without it, the validator set the node reports is used, and said so).
    #[arg(long, requires = "prove")]
    pub genesis: Option<PathBuf>,
    #[command(flatten)]
    pub rpc: RpcArgs,
}

pub fn balance(args: BalanceArgs) -> CmdResult {
    let client = Client::new(&args.rpc.rpc)?;
    let mint = parse_mint(&args.token)?;
    let mut value = client.call(
        "nvm_getBalance",
        vec![Value::String(args.address.clone()), Value::String(hex0x(&mint))],
    )?;
    if args.prove {
        let address = VmAddress::parse(&args.address).map_err(|e| e.to_string())?;
        let trusted =
            args.genesis.as_deref().map(crate::validator::GenesisFile::load).transpose()?;
        let proven = crate::prove::prove_balance(&client, &address, &mint, trusted.as_ref())?;
        value["balance"] = Value::String(proven.balance.to_string());
        value["idCom"] = Value::String(hex0x(&proven.id_com));
        value["proven"] = serde_json::json!({
            "height": proven.height,
            "stateRoot": hex0x(&proven.header.state_root),
            "blockHash": hex0x(&proven.header.hash()),
            "finalizedBy": proven.finality.signers,
            "validators": proven.finality.validators,
            "validatorSet": if trusted.is_some() { "genesis" } else { "reported by the node" },
        });
    }
    print(args.rpc.json, &value, |v| {
        let base: u128 = v["balance"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        let decimals = v["decimals"].as_u64().unwrap_or(0) as u8;
        let mut line = format!(
            "{} {}",
            format_amount(base, decimals),
            v["symbol"].as_str().unwrap_or_default()
        );
        let proven = &v["proven"];
        if let Some(height) = proven["height"].as_u64() {
            line.push_str(&format!(
                " (proven at block {height} against state root {}; the block finalized by {} of \
                 {} validators, validator set {})",
                proven["stateRoot"].as_str().unwrap_or_default(),
                proven["finalizedBy"],
                proven["validators"],
                proven["validatorSet"].as_str().unwrap_or_default(),
            ));
        }
        line
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1.5", 18, false), Ok(1_500_000_000_000_000_000));
        assert_eq!(parse_amount("7", 0, false), Ok(7));
        assert_eq!(parse_amount("42", 6, true), Ok(42));
        assert!(parse_amount("0.0000001", 6, false).is_err());
        assert!(moved_amount("0", 6, false).unwrap_err().contains("more than 0"));
        assert!(moved_amount("0.000", 6, false).is_err());
        assert_eq!(moved_amount("0.5", 1, false), Ok(5));
        assert!(parse_amount("abc", 6, false).is_err());
        assert_eq!(format_amount(1_500_000, 6), "1.5");
        assert_eq!(format_amount(2_000_000, 6), "2");
    }
}
