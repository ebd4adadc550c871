//! The cluster as solana-test-validator describes itself: `getIdentity`, `getClusterNodes`,
//! `getVoteAccounts`, `getSlotLeader`, `getSlotLeaders`, `getLeaderSchedule`,
//! `getRecentPerformanceSamples`, `getInflationReward`. n-VM's validators are simplex
//! validators with Ed25519 keys: a validator's Solana identity is its key (base58), each with
//! one vote of equal weight, and a slot's leader is the validator whose identity proposed its
//! block (`nvm_vm_svm`'s reading of a header's proposer). No stake, no inflation.

use crate::{
    SOLANA_CORE_VERSION, SolanaContext,
    params::{SolResult, arg, base58, config, internal, invalid_params, values},
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_primitives::{IdCom, SchemeId};
use serde_json::{Value, json};

/// Slots per epoch (as `getEpochInfo` reports them).
const SLOTS_PER_EPOCH: u64 = 432_000;
/// Most slots one `getSlotLeaders` call names (Agave's limit).
const MAX_SLOT_LEADERS: u64 = 5_000;
/// Most samples one `getRecentPerformanceSamples` call returns (Agave's limit), and the period.
const MAX_SAMPLES: usize = 720;
const SAMPLE_PERIOD_SECS: u64 = 60;
/// Most blocks read to make performance samples.
const MAX_SAMPLED_BLOCKS: u64 = 10_000;

/// The cluster's validators as RPC knows them: their Ed25519 keys, and this node's.
#[derive(Clone, Debug, Default)]
pub struct Validators {
    pub keys: Vec<[u8; 32]>,
    pub own: Option<[u8; 32]>,
}

impl Validators {
    /// The key whose identity (the proposer of the blocks it leads) is `proposer`.
    fn key_of(&self, proposer: &IdCom) -> Option<[u8; 32]> {
        self.keys.iter().copied().find(|key| {
            nvm_identity::id_com_from_credential(SchemeId::Ed25519, key, &[0; 32]) == *proposer
        })
    }
}

fn leader(ctx: &SolanaContext, slot: u64) -> Result<Option<String>, ErrorObjectOwned> {
    let Some(block) = ctx.node.block(slot).map_err(internal)? else { return Ok(None) };
    Ok(ctx.validators.key_of(&block.header.proposer).map(|k| base58(&k)))
}

pub(super) fn get_identity(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    let own = ctx.validators.own.ok_or_else(|| internal("this node has no validator key"))?;
    Ok(json!({ "identity": base58(&own) }))
}

pub(super) fn get_cluster_nodes(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    Ok(Value::Array(
        ctx.validators
            .keys
            .iter()
            .map(|key| {
                json!({
                    "pubkey": base58(key),
                    "gossip": null,
                    "tpu": null,
                    "rpc": null,
                    "version": SOLANA_CORE_VERSION,
                    "featureSet": 0,
                    "shredVersion": 0,
                })
            })
            .collect(),
    ))
}

pub(super) fn get_vote_accounts(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    let head = ctx.node.head().map_err(internal)?.height;
    let current: Vec<Value> = ctx
        .validators
        .keys
        .iter()
        .map(|key| {
            json!({
                "votePubkey": base58(key),
                "nodePubkey": base58(key),
                "activatedStake": 1,
                "epochVoteAccount": true,
                "commission": 0,
                "lastVote": head,
                "epochCredits": [],
                "rootSlot": head,
            })
        })
        .collect();
    Ok(json!({ "current": current, "delinquent": [] }))
}

pub(super) fn get_slot_leader(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    config(&values(params)?, 0)?;
    let head = ctx.node.head().map_err(internal)?.height;
    leader(ctx, head)?.map(Value::String).ok_or_else(|| internal("the head's proposer is unknown"))
}

/// The leaders of committed slots from `start` (at most `limit`, up to the head): later slots'
/// leaders are not known in advance (simplex picks each view's leader as it comes).
pub(super) fn get_slot_leaders(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let number = |index, name| {
        arg(&values, index, name)?
            .as_u64()
            .ok_or_else(|| invalid_params(format!("Invalid params: {name} must be a number")))
    };
    let (start, limit) = (number(0, "start slot")?, number(1, "limit")?);
    if limit > MAX_SLOT_LEADERS {
        return Err(invalid_params(format!("Invalid limit; max {MAX_SLOT_LEADERS}")));
    }
    let head = ctx.node.head().map_err(internal)?.height;
    let mut leaders = Vec::new();
    for slot in start..start.saturating_add(limit).min(head + 1) {
        leaders.push(leader(ctx, slot)?.map_or(Value::Null, Value::String));
    }
    Ok(Value::Array(leaders))
}

/// This epoch's committed slots (indexes within the epoch) by leader.
pub(super) fn get_leader_schedule(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    let head = ctx.node.head().map_err(internal)?.height;
    let first = head - head % SLOTS_PER_EPOCH;
    let mut schedule = serde_json::Map::new();
    for slot in first.max(head.saturating_sub(MAX_SAMPLED_BLOCKS))..=head {
        if let Some(key) = leader(ctx, slot)? {
            let slots = schedule.entry(key).or_insert_with(|| json!([]));
            if let Value::Array(slots) = slots {
                slots.push(json!(slot - first));
            }
        }
    }
    Ok(Value::Object(schedule))
}

/// Transactions and slots per minute over the recent blocks, newest first.
pub(super) fn get_recent_performance_samples(
    ctx: &SolanaContext,
    params: &Params<'_>,
) -> SolResult {
    let values = values(params)?;
    let limit = match values.first() {
        None | Some(Value::Null) => MAX_SAMPLES,
        Some(n) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= MAX_SAMPLES)
            .ok_or_else(|| invalid_params(format!("Invalid limit; max {MAX_SAMPLES}")))?,
    };
    let head = ctx.node.head().map_err(internal)?.height;
    let mut samples: Vec<Value> = Vec::new();
    // (period, last slot, slots, transactions) of the sample being made.
    let mut current: Option<(u64, u64, u64, u64)> = None;
    for slot in (head.saturating_sub(MAX_SAMPLED_BLOCKS)..=head).rev() {
        let Some(block) = ctx.node.block(slot).map_err(internal)? else { continue };
        let period = block.header.timestamp_ms / 1000 / SAMPLE_PERIOD_SECS;
        let txs = block.transactions.len() as u64;
        match &mut current {
            Some((p, _, slots, count)) if *p == period => {
                *slots += 1;
                *count += txs;
            }
            _ => {
                if let Some(done) = current.take() {
                    samples.push(sample(done));
                }
                if samples.len() == limit {
                    break;
                }
                current = Some((period, slot, 1, txs));
            }
        }
    }
    if let Some(done) = current.filter(|_| samples.len() < limit) {
        samples.push(sample(done));
    }
    Ok(Value::Array(samples))
}

fn sample((_, slot, slots, transactions): (u64, u64, u64, u64)) -> Value {
    json!({
        "slot": slot,
        "numSlots": slots,
        "numTransactions": transactions,
        "numNonVoteTransactions": transactions,
        "samplePeriodSecs": SAMPLE_PERIOD_SECS,
    })
}

/// No inflation: every address's reward is `null`, as Solana answers for one without a reward.
pub(super) fn get_inflation_reward(_: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let addresses = arg(&values, 0, "addresses")?
        .as_array()
        .ok_or_else(|| invalid_params("Invalid params: addresses is an array"))?;
    Ok(Value::Array(vec![Value::Null; addresses.len()]))
}
