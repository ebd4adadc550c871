//! `nvm bench`: native transfers through the node's own pipeline, timed per stage.

use clap::Args;
use nvm_executor::VerifiedTx;
use nvm_identity::{SecretKey, VmAddress, derive_address, id_com_from_credential};
use nvm_ledger::NATIVE_MINT;
use nvm_node::{BlockPipeline, Chain, DEV_CHAIN_ID, DEV_TX_FEE, Genesis, GenesisAccount, Mempool};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, SchemeId, TxBody, VmKind, sha256};
use nvm_vm_native::NativeOp;
use rayon::prelude::*;
use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
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
    /// Keep the chain database here instead of a temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

fn key_of(label: &str, i: usize) -> SecretKey {
    SecretKey::from_secret(SchemeId::Ed25519, &sha256(format!("{label} {i}").as_bytes()))
        .expect("32-byte seed")
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let senders = args.senders.max(1);
    println!(
        "n-VM bench: {} native transfers, {senders} senders, {} per block, {} threads",
        args.txs,
        args.block_txs,
        rayon::current_num_threads()
    );
    let keys: Vec<SecretKey> =
        (0..senders).into_par_iter().map(|i| key_of("bench sender", i)).collect();
    let ids: Vec<IdCom> = keys
        .iter()
        .map(|k| id_com_from_credential(SchemeId::Ed25519, &k.public_key(), &[0; 32]))
        .collect();
    let recipients: Vec<IdCom> =
        (0..senders).map(|i| sha256(format!("bench recipient {i}").as_bytes())).collect();
    let genesis = Genesis {
        chain_id: DEV_CHAIN_ID,
        timestamp_ms: 0,
        tx_fee: DEV_TX_FEE,
        accounts: keys
            .iter()
            .map(|k| GenesisAccount {
                scheme: SchemeId::Ed25519,
                public_key: k.public_key(),
                salt: [0; 32],
                balance: 10u128.pow(24),
            })
            .collect(),
        evm_accounts: Vec::new(),
    };
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.data_dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let chain = Arc::new(Chain::open(&dir, &genesis, [0xEE; 32]).map_err(|e| e.to_string())?);

    let started = Instant::now();
    let raws: Vec<Vec<u8>> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let s = j % senders;
            let nonce = (j / senders) as u64;
            // Half the transfers name the recipient by its EVM address (resolved via the index).
            let to = if j % 2 == 0 {
                VmAddress::Native(recipients[(s + j / senders) % senders])
            } else {
                derive_address(VmKind::Evm, &recipients[(s + j / senders) % senders])
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
            keys[s].sign_transaction(body).expect("ed25519 signing").encode()
        })
        .collect();
    println!("signed {} transactions in {:.2?} (not timed below)", raws.len(), started.elapsed());

    let t = Instant::now();
    let verified = VerifiedTx::verify_many(raws.clone());
    let verify_time = t.elapsed();
    let ok = verified.iter().filter(|v| v.is_ok()).count();
    println!(
        "signature-verification ceiling: {:>10.0} tx/s  ({ok} verified in {verify_time:.2?}, batched Ed25519 on all cores)",
        rate(ok, verify_time)
    );

    let mempool = Arc::new(Mempool::new(args.txs + 1));
    let block_txs = args.block_txs.max(1);
    let (mut execute, mut commit) = (Duration::ZERO, Duration::ZERO);
    let mut stages = nvm_node::BlockTimings::default();
    let (mut included, mut failed, mut blocks, mut fallbacks) = (0usize, 0usize, 0usize, 0usize);
    let admission_over = AtomicBool::new(false);
    let pipeline = Instant::now();
    // As in the node, admission (RPC threads there) runs beside block production.
    let admit = std::thread::scope(|scope| -> Result<Duration, String> {
        let admission = scope.spawn(|| -> Result<Duration, String> {
            let started = Instant::now();
            let result = raws.chunks(block_txs).try_for_each(|chunk| {
                let admitted = chain.submit(&mempool, chunk.to_vec()).map_err(|e| e.to_string())?;
                match admitted.into_iter().find_map(Result::err) {
                    Some(e) => Err(format!("admission failed: {e}")),
                    None => Ok(()),
                }
            });
            admission_over.store(true, Ordering::Release);
            result.map(|()| started.elapsed())
        });
        let mut pipeline = BlockPipeline::new(chain.clone(), mempool.clone());
        // The block being committed still has its transactions in the mempool.
        let mut in_flight = 0;
        loop {
            let over = admission_over.load(Ordering::Acquire);
            if mempool.len() < block_txs + in_flight && !over {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            let t = Instant::now();
            let report = pipeline.step(block_txs, blocks as u64 + 1).map_err(|e| e.to_string())?;
            execute += t.elapsed();
            commit += report.commit_time;
            if report.included == 0 && over {
                break;
            }
            fallbacks += report.fell_back_to_serial as usize;
            stages.ordering += report.timings.ordering;
            stages.execution += report.timings.execution;
            stages.state_root += report.timings.state_root;
            failed += report.failed;
            included += report.included;
            in_flight = report.included;
            blocks += 1;
        }
        let t = Instant::now();
        if let Some((_, time)) = pipeline.finish().map_err(|e| e.to_string())? {
            commit += time;
        }
        execute += t.elapsed();
        admission.join().map_err(|_| "admission thread panicked".to_string())?
    })?;
    let total = pipeline.elapsed();
    println!("pipeline (admission -> parallel execution -> state root -> fsync'd commit):");
    println!(
        "  sustained:        {:>10.0} tx/s  ({included} included in {blocks} blocks, {total:.2?}; {failed} failed, {fallbacks} serial fallbacks)",
        rate(included, total)
    );
    println!(
        "  admission:        {:>10.0} tx/s  ({admit:.2?} beside block production: decode + batch signature check + nonce/balance)",
        rate(included, admit)
    );
    println!(
        "  block building:   {:>10.0} tx/s  ({execute:.2?} in all, waiting for the previous commit included; of which:)",
        rate(included, execute)
    );
    for (stage, time) in [
        ("lane ordering", stages.ordering),
        ("execution", stages.execution),
        ("state root (JMT)", stages.state_root),
    ] {
        println!("    {stage:<16}  {:>10.0} tx/s  ({time:.2?})", rate(included, time));
    }
    println!(
        "  durable commit:   {:>10.0} tx/s  ({commit:.2?}: one fsync'd redb transaction per block, on its own thread beside the next block)",
        rate(included, commit)
    );
    if included != args.txs {
        return Err(format!("only {included} of {} transactions were included", args.txs));
    }
    Ok(())
}
