//! `nvm testnet init --validators N --out DIR` writes a local network's keys and configs
//! (127.0.0.1 ports); `nvm testnet run DIR` starts one validator process per config.

use crate::validator::{FundedAddress, FundedKey, GenesisFile, Peer, ValidatorConfig, new_key};
use clap::Subcommand;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{SystemTime, UNIX_EPOCH},
};

#[derive(Subcommand)]
pub enum TestnetCommand {
    /// Write keys, genesis and one config per validator.
    Init {
        /// How many validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Where to write the network (a directory per validator).
        #[arg(long)]
        out: PathBuf,
        /// Validator i uses ports base + 10·i (p2p), +1 (RPC), +2 (Solana RPC; +3 its
        /// pub-sub), +4 (metrics).
        #[arg(long, default_value_t = 30_400)]
        base_port: u16,
        /// Target time between blocks, in milliseconds.
        #[arg(long, default_value_t = 200)]
        block_time_ms: u64,
        /// Most transactions one block holds.
        #[arg(long, default_value_t = 10_000)]
        max_block_txs: usize,
        /// The network's chain id (Ethereum's EIP-155 id, and what link messages name); a random
        /// one by default, so nothing signed for another chain replays here.
        #[arg(long)]
        chain_id: Option<u64>,
        /// Fund an address at genesis, `ADDRESS=AMOUNT` (any VM's address as `nvm transfer --to`
        /// takes it; the amount in NVM, e.g. 1000.5). Repeatable. Nothing else is funded.
        #[arg(long = "fund", value_name = "ADDRESS=AMOUNT")]
        funded: Vec<String>,
        /// Fund the dev allocation too: the dev key, the standard "test … junk" mnemonic's
        /// accounts and the Solana faucet — keys anyone knows, for local experiments only.
        #[arg(long)]
        dev_accounts: bool,
    },
    /// Start every validator of a network `init` wrote, one process each, until Ctrl-C.
    Run {
        /// The directory `init` wrote.
        dir: PathBuf,
    },
}

pub fn testnet(command: TestnetCommand) -> Result<(), String> {
    match command {
        TestnetCommand::Init {
            validators,
            out,
            base_port,
            block_time_ms,
            max_block_txs,
            chain_id,
            funded,
            dev_accounts,
        } => {
            let funded_addresses =
                funded.iter().map(|f| funded_address(f)).collect::<Result<_, _>>()?;
            let plan = Plan {
                validators,
                base_port,
                block_time_ms,
                max_block_txs,
                chain_id: chain_id.unwrap_or_else(random_chain_id),
                funded: vec![],
                funded_addresses,
                dev_accounts,
            };
            init(&plan, &out)
        }
        TestnetCommand::Run { dir } => run(&dir),
    }
}

/// The config file of validator `index` in a network directory.
pub fn config_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("validator-{index}")).join("config.json")
}

/// `ADDRESS=AMOUNT` (NVM) as a genesis allocation, checked now rather than when a validator
/// first reads the genesis.
fn funded_address(text: &str) -> Result<FundedAddress, String> {
    let (address, amount) =
        text.split_once('=').ok_or_else(|| format!("--fund {text:?}: expected ADDRESS=AMOUNT"))?;
    nvm_identity::VmAddress::parse(address).map_err(|e| format!("--fund {text:?}: {e}"))?;
    let balance = crate::commands::parse_amount(amount, nvm_ledger::NATIVE_DECIMALS, false)
        .map_err(|e| format!("--fund {text:?}: {e}"))?;
    Ok(FundedAddress { address: address.to_string(), balance: balance.to_string() })
}

/// A chain id no other network is likely to have: random, at least 2³² (above every public
/// chain's), below 2⁵³ (what JavaScript wallets hold exactly).
pub fn random_chain_id() -> u64 {
    use rand_core::RngCore;
    (1 << 32) + rand_core::OsRng.next_u64() % ((1 << 53) - (1 << 32))
}

/// What `init` writes.
pub struct Plan {
    pub validators: usize,
    pub base_port: u16,
    pub block_time_ms: u64,
    pub max_block_txs: usize,
    pub chain_id: u64,
    /// Keys funded at genesis (their identities).
    pub funded: Vec<FundedKey>,
    /// Any VM's addresses funded at genesis.
    pub funded_addresses: Vec<FundedAddress>,
    /// Whether the dev allocation is funded too.
    pub dev_accounts: bool,
}

/// Writes `genesis.json` and one `validator-i/config.json` per validator into `out`.
pub fn init(plan: &Plan, out: &Path) -> Result<(), String> {
    if plan.validators == 0 {
        return Err("a network needs at least one validator".into());
    }
    let port = |i: usize, offset: u16| -> Result<std::net::SocketAddr, String> {
        let p = u32::from(plan.base_port) + 10 * i as u32 + u32::from(offset);
        let p = u16::try_from(p).map_err(|_| format!("port {p} is out of range"))?;
        Ok(std::net::SocketAddr::from(([127, 0, 0, 1], p)))
    };
    let keys: Vec<(String, String)> = (0..plan.validators).map(|_| new_key()).collect();
    let peers = keys
        .iter()
        .enumerate()
        .map(|(i, (_, public_key))| {
            Ok(Peer { public_key: public_key.clone(), p2p_addr: port(i, 0)? })
        })
        .collect::<Result<Vec<_>, String>>()?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let genesis = GenesisFile {
        validators: keys.iter().map(|(_, public)| public.clone()).collect(),
        chain_id: plan.chain_id,
        timestamp_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        funded: plan.funded.clone(),
        funded_addresses: plan.funded_addresses.clone(),
        dev_accounts: plan.dev_accounts,
    };
    let genesis_path = std::path::absolute(out.join("genesis.json")).map_err(|e| e.to_string())?;
    write_json(&genesis_path, &genesis)?;
    for (i, (secret, _)) in keys.iter().enumerate() {
        let dir = out.join(format!("validator-{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = ValidatorConfig {
            private_key: secret.clone(),
            p2p_addr: port(i, 0)?,
            rpc_addr: port(i, 1)?,
            solana_rpc_addr: port(i, 2)?,
            tron_http_addr: port(i, 5)?,
            metrics_addr: port(i, 4)?,
            data_dir: std::path::absolute(dir.join("data")).map_err(|e| e.to_string())?,
            genesis: genesis_path.clone(),
            validators: peers.clone(),
            block_time_ms: plan.block_time_ms,
            max_block_txs: plan.max_block_txs,
        };
        let path = config_path(out, i);
        write_json(&path, &config)?;
        println!("validator {i}: {} (RPC http://{})", path.display(), config.rpc_addr);
    }
    Ok(())
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts validator `index` of `dir` as a child process, its output in `validator-i/node.log`.
pub fn spawn_validator(dir: &Path, index: usize) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let config = config_path(dir, index);
    let log_path = dir.join(format!("validator-{index}")).join("node.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args(["node", "--validator", "--config"])
        .arg(&config)
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start validator {index}: {e}"))
}

fn run(dir: &Path) -> Result<(), String> {
    let mut children = Vec::new();
    let mut index = 0;
    while config_path(dir, index).exists() {
        children.push(spawn_validator(dir, index)?);
        println!(
            "validator {index} started (log: {})",
            dir.join(format!("validator-{index}/node.log")).display()
        );
        index += 1;
    }
    if children.is_empty() {
        return Err(format!(
            "no validator configs in {} (run `nvm testnet init` first)",
            dir.display()
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(crate::commands::shutdown_signal())?;
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(())
}
