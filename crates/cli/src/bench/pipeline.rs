//! The measured part of both benchmarks: admission beside block production, then pipelined
//! execution and fsync'd commits, as the node runs them.

use super::rate;
use nvm_node::{BlockPipeline, Chain, Mempool};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Pushes `raws` through admission and block production on `chain`, `block_txs` per block,
/// prints the figures and returns how many transactions were included.
pub(super) fn drive(
    chain: &Arc<Chain>,
    raws: Vec<Vec<u8>>,
    block_txs: usize,
) -> Result<usize, String> {
    let mempool = Arc::new(Mempool::new(raws.len() + 1));
    let block_txs = block_txs.max(1);
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
    Ok(included)
}

/// Drives `raws` through the pipeline ([`drive`]) and returns the sustained rate, or an error if
/// fewer than `expected` were included.
pub(super) fn sustained(
    chain: &Arc<Chain>,
    raws: Vec<Vec<u8>>,
    block_txs: usize,
    expected: usize,
) -> Result<f64, String> {
    let started = std::time::Instant::now();
    let included = drive(chain, raws, block_txs)?;
    let rate = rate(included, started.elapsed());
    if included != expected {
        return Err(format!("only {included} of {expected} transactions were included"));
    }
    Ok(rate)
}
