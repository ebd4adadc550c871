//! `nvm bench`: native transfers (or, with `--erc20`, ERC-20 transfers in signed Ethereum
//! transactions; with `--spl`, SPL Token transfers in signed Solana transactions; with
//! `--bitcoin`, P2WPKH spends; with `--trc20`, TRC-20 transfers in signed Tron transactions; with
//! `--all`, each in one run) through the node's own pipeline, timed per stage.

mod bitcoin;
mod erc20;
mod network;
mod pipeline;
mod spl;
mod trc20;

use clap::Args;
use nvm_executor::VerifiedTx;
use nvm_identity::{SecretKey, VmAddress, derive_address, id_com_from_credential};
use nvm_ledger::NATIVE_MINT;
use nvm_node::{Chain, DEV_CHAIN_ID, DEV_TX_FEE, Genesis, GenesisAccount};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, SchemeId, TxBody, sha256};
use nvm_vm_native::NativeOp;
use rayon::prelude::*;
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

#[derive(Args)]
pub struct BenchArgs {
    /// Number of signed transfers to push through.
    #[arg(long, default_value_t = 100_000)]
    pub txs: usize,
    /// Distinct sending identities (each sends txs/senders transfers in nonce order).
    #[arg(long, default_value_t = 2_000)]
    pub senders: usize,
    /// Transactions per block.
    #[arg(long, default_value_t = 10_000)]
    pub block_txs: usize,
    /// Keep the chain database (with `--validators`, the whole network) here instead of a
    /// temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Run ERC-20 transfers of a Solidity token in signed Ethereum transactions instead, beside
    /// plain revm executing the same transactions.
    #[arg(long)]
    pub erc20: bool,
    /// Run SPL Token transfers in signed Solana transactions instead.
    #[arg(long)]
    pub spl: bool,
    /// Run P2WPKH spends in signed Bitcoin transactions instead, beside Bitcoin Core's
    /// interpreter verifying them alone.
    #[arg(long)]
    pub bitcoin: bool,
    /// Run TRC-20 transfers (a ledger token's TRC-20 view) in signed Tron transactions instead,
    /// beside their signature recovery alone.
    #[arg(long)]
    pub trc20: bool,
    /// Run native, ERC-20, SPL Token, P2WPKH and TRC-20 workloads one after another and compare
    /// them.
    #[arg(long, conflicts_with_all = ["erc20", "spl", "bitcoin", "trc20"])]
    pub all: bool,
    /// Run native transfers through a local network of this many validator processes on
    /// 127.0.0.1 (consensus, gossip, JSON-RPC submission): finalized TPS and time to finality.
    #[arg(long, conflicts_with_all = ["erc20", "spl", "bitcoin", "trc20", "all"])]
    pub validators: Option<usize>,
    /// Least time between blocks, with `--validators`.
    #[arg(long, default_value_t = 200)]
    pub block_time_ms: u64,
    /// With `--validators`: submit at most this many transactions per second in all (0: as
    /// fast as the validators acknowledge them). Time to finality is meaningful below the
    /// network's capacity; above it, it measures the queue.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
}

fn key_of(label: &str, i: usize) -> SecretKey {
    SecretKey::from_secret(SchemeId::Ed25519, &sha256(format!("{label} {i}").as_bytes()))
        .expect("32-byte seed")
}

/// A dev-chain genesis for a benchmark: these identities and external addresses funded.
fn bench_genesis(
    accounts: Vec<GenesisAccount>,
    external_accounts: Vec<(VmAddress, u128)>,
) -> Genesis {
    Genesis {
        chain_id: DEV_CHAIN_ID,
        timestamp_ms: 0,
        tx_fee: DEV_TX_FEE,
        accounts,
        parts: vec![Arc::new(nvm_vm_api::FundedAddresses(external_accounts))],
        block_gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
        dev_authority: None,
        address_formats: nvm_identity::SPEC_FORMATS.iter().collect(),
    }
}

/// Opens the benchmark's chain in `--data-dir`, or in a temporary directory that lives as long
/// as the returned guard.
fn open_chain(
    args: &BenchArgs,
    genesis: &Genesis,
) -> Result<(Arc<Chain>, tempfile::TempDir), String> {
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.data_dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    // Like a node's defaults: what is measured includes keeping the last 128 blocks' state.
    let history = nvm_node::HistoryWindow::default();
    let chain = Chain::open(&dir, genesis, [0xEE; 32], crate::vms::registry()?, history)
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(chain), temp))
}

/// Runs `raws` as one block on top of the head, outside the measurement (a workload's setup);
/// every transaction must succeed. Returns the new head's hash.
fn setup_block(chain: &Chain, raws: Vec<Vec<u8>>, height: u64) -> Result<[u8; 32], String> {
    let txs = VerifiedTx::verify_many(&chain.executor().vms, raws)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let count = txs.len();
    let proposed = chain.propose(txs, height).map_err(|e| e.to_string())?;
    let failed = proposed.receipts.iter().find(|r| r.status != nvm_primitives::TxStatus::Success);
    if proposed.receipts.len() != count || failed.is_some() {
        return Err(format!(
            "setup block {height}: {} of {count} included, {failed:?}",
            proposed.receipts.len()
        ));
    }
    Ok(chain.commit(&proposed).map_err(|e| e.to_string())?.hash)
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// How fast `check` — a transaction's signature verification or sender recovery, the work
/// admission cannot skip — gets through `raws` on all cores, printed as `what`'s ceiling: what a
/// VM's sustained rate in the same run is held against.
fn signature_ceiling(raws: &[Vec<u8>], what: &str, check: impl Fn(&[u8]) -> bool + Sync) -> f64 {
    use rayon::prelude::*;
    let t = std::time::Instant::now();
    let passed = raws.par_iter().filter(|raw| check(raw)).count();
    let elapsed = t.elapsed();
    let ceiling = rate(passed, elapsed);
    println!(
        "{what} ceiling: {ceiling:>10.0} tx/s  ({passed} checked in {elapsed:.2?} on all cores)"
    );
    ceiling
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    if let Some(validators) = args.validators {
        return network::run(&args, validators);
    }
    if args.all {
        let native = native(&args)?;
        println!();
        let erc20 = erc20::run(&args)?;
        println!();
        let spl = spl::run(&args)?;
        println!();
        let btc = bitcoin::run(&args)?;
        println!();
        let trc20 = trc20::run(&args)?;
        println!("\nsustained throughput, same run ({} transactions each):", args.txs);
        for (what, tps) in [
            ("native transfers", native),
            ("ERC-20 (EVM)", erc20),
            ("SPL Token (SVM)", spl),
            ("P2WPKH (BVM)", btc),
            ("TRC-20 (TVM)", trc20),
        ] {
            println!("  {what:<18} {tps:>10.0} tx/s");
        }
        return Ok(());
    }
    if args.erc20 {
        return erc20::run(&args).map(drop);
    }
    if args.spl {
        return spl::run(&args).map(drop);
    }
    if args.bitcoin {
        return bitcoin::run(&args).map(drop);
    }
    if args.trc20 {
        return trc20::run(&args).map(drop);
    }
    native(&args).map(drop)
}

/// Prints what a workload runs; returns its sender count (at least `min_senders`) and block size
/// (at least one transaction, as the pipeline drives it).
fn announce(args: &BenchArgs, workload: &str, min_senders: usize) -> (usize, usize) {
    let senders = args.senders.max(min_senders);
    let block_txs = args.block_txs.max(1);
    println!(
        "n-VM bench: {} {workload}, {senders} senders, {block_txs} per block, {} threads",
        args.txs,
        rayon::current_num_threads()
    );
    (senders, block_txs)
}

/// Signed native transfers from `senders` identities (each funded in the returned genesis
/// accounts): transfer `j` is sender `j % senders`'s nonce `j / senders`, so in order every
/// sender's nonces arrive in sequence. Returns the accounts and (hash, envelope) per transfer.
fn native_transfers(
    txs: usize,
    senders: usize,
) -> (Vec<GenesisAccount>, Vec<(nvm_primitives::TxHash, Vec<u8>)>) {
    let keys: Vec<SecretKey> =
        (0..senders).into_par_iter().map(|i| key_of("bench sender", i)).collect();
    let ids: Vec<IdCom> = keys
        .iter()
        .map(|k| id_com_from_credential(SchemeId::Ed25519, &k.public_key(), &[0; 32]))
        .collect();
    let recipients: Vec<IdCom> =
        (0..senders).map(|i| sha256(format!("bench recipient {i}").as_bytes())).collect();
    let accounts = keys
        .iter()
        .map(|k| GenesisAccount {
            scheme: SchemeId::Ed25519,
            public_key: k.public_key(),
            salt: [0; 32],
            balance: 10u128.pow(24),
        })
        .collect();
    let signed = (0..txs)
        .into_par_iter()
        .map(|j| {
            let s = j % senders;
            let nonce = (j / senders) as u64;
            // Half the transfers name the recipient by its EVM address (resolved via the index).
            let to = if j % 2 == 0 {
                VmAddress::Native(recipients[(s + j / senders) % senders])
            } else {
                derive_address(&nvm_identity::EVM_FORMAT, &recipients[(s + j / senders) % senders])
            };
            let body = TxBody {
                version: ENVELOPE_VERSION,
                chain_id: DEV_CHAIN_ID,
                sender: ids[s],
                nonce,
                max_fee: DEV_TX_FEE,
                context: None,
                payload: NativeOp::Transfer { mint: NATIVE_MINT, to, amount: 1 }.encode(),
            };
            let tx = keys[s].sign_transaction(body).expect("ed25519 signing");
            (tx.hash(), tx.encode())
        })
        .collect();
    (accounts, signed)
}

/// Native transfers; returns the sustained rate.
fn native(args: &BenchArgs) -> Result<f64, String> {
    let (senders, _) = announce(args, "native transfers", 1);
    let started = Instant::now();
    let (accounts, signed) = native_transfers(args.txs, senders);
    let raws: Vec<Vec<u8>> = signed.into_iter().map(|(_, raw)| raw).collect();
    let (chain, _temp) = open_chain(args, &bench_genesis(accounts, Vec::new()))?;
    println!("signed {} transactions in {:.2?} (not timed below)", raws.len(), started.elapsed());

    let t = Instant::now();
    let verified = VerifiedTx::verify_many(&chain.executor().vms, raws.clone());
    let verify_time = t.elapsed();
    let ok = verified.iter().filter(|v| v.is_ok()).count();
    println!(
        "signature-verification ceiling: {:>10.0} tx/s  ({ok} verified in {verify_time:.2?}, batched Ed25519 on all cores)",
        rate(ok, verify_time)
    );

    let sustained = pipeline::sustained(&chain, raws, args.block_txs, args.txs)?;
    Ok(sustained)
}
