//! The Bitcoin wallet format: transactions as Bitcoin wallets build and sign them (bitcoinjs-lib,
//! Core), in blocks as `BITCOIN_TX_TAG ‖ consensus bytes`. A transaction spends UTXOs of the
//! unified state; its outputs become UTXOs, except one paying an identity's BVM address as a
//! witness-v1 program, which credits that identity's ledger balance (no key exists for the
//! program, so it could never be spent as a UTXO). The fee — inputs minus outputs — goes to the
//! block's proposer. No nonce: an outpoint is spent once, and the txid is the replay key.

use crate::script::verify_inputs;
use bitcoin::{
    OutPoint, Transaction, TxOut, Weight, absolute::LockTime, consensus::encode, hashes::Hash,
};
use nvm_identity::{Registry, legacy_btc_id, script_index_key};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{TxHash, TxStatus, VmKind};
use nvm_state_api::{StateAccess, StateAccessExt, TxOverlay};
use nvm_utxo::{self as utxo, UNITS_PER_SAT, Utxo, credited_identity, declare_credited};
use nvm_vm_api::{
    BlockEnv, EnvelopeCheck, Rejection, Replay, TxEnv, TxError, WalletFormat, WalletOutcome,
    WalletTx,
};
use std::sync::Arc;

/// First byte of a block transaction that is a Bitcoin transaction.
pub const BITCOIN_TX_TAG: u8 = 0xB7;
/// Most weight a transaction may have (Bitcoin's standardness limit).
pub const MAX_WEIGHT: Weight = Weight::from_wu(400_000);
/// The receipt's opcode: the BVM's range (0x30–0x3F).
pub const OPCODE_SPEND: u8 = 0x30;

/// A decoded Bitcoin transaction (its scripts are verified against the state, at admission and
/// in the block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitcoinTx {
    tx: Transaction,
    txid: [u8; 32],
}

impl BitcoinTx {
    /// Strict decoding: the consensus encoding with nothing after it, at least one input and one
    /// output, no coinbase, no input twice, weight within [`MAX_WEIGHT`], values within 21M BTC.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let malformed = |e: &dyn std::fmt::Display| {
            TxError::rejected(Rejection::Malformed, format!("malformed Bitcoin transaction: {e}"))
        };
        let tx: Transaction = encode::deserialize(bytes).map_err(|e| malformed(&e))?;
        let invalid = |reason: &str| TxError::rejected(Rejection::Invalid, reason);
        if tx.input.is_empty() || tx.output.is_empty() {
            return Err(invalid("a Bitcoin transaction needs at least one input and one output"));
        }
        if tx.is_coinbase() {
            return Err(invalid("a coinbase transaction cannot be sent"));
        }
        if tx.weight() > MAX_WEIGHT {
            return Err(invalid(&format!("weight {} is over {}", tx.weight(), MAX_WEIGHT)));
        }
        let mut seen = std::collections::HashSet::new();
        if !tx.input.iter().all(|i| seen.insert(i.previous_output)) {
            return Err(invalid("an outpoint is spent twice in the transaction"));
        }
        let total =
            tx.output.iter().try_fold(bitcoin::Amount::ZERO, |sum, o| sum.checked_add(o.value));
        if total.is_none_or(|t| t > bitcoin::Amount::MAX_MONEY) {
            return Err(invalid("outputs total more than 21 million BTC"));
        }
        let txid = tx.compute_txid().to_byte_array();
        Ok(Self { tx, txid })
    }

    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// The txid in internal byte order (wallets show it reversed).
    pub fn txid(&self) -> [u8; 32] {
        self.txid
    }
}

impl WalletTx for BitcoinTx {
    fn hash(&self) -> TxHash {
        self.txid
    }

    fn replay(&self) -> Replay {
        Replay::Key(utxo::tx_key(&self.txid))
    }

    fn conflicts(&self) -> Vec<nvm_primitives::StateKey> {
        self.tx.input.iter().map(|input| utxo::utxo_key(&input.previous_output)).collect()
    }
}

fn invalid(reason: String) -> TxError {
    TxError::rejected(Rejection::Invalid, reason)
}

/// The outputs `tx` spends, in input order, each unspent in `state`.
fn spent_outputs(
    state: &mut dyn StateAccess,
    tx: &Transaction,
) -> Result<Vec<(OutPoint, Utxo)>, TxError> {
    let mut spent = Vec::with_capacity(tx.input.len());
    for (i, input) in tx.input.iter().enumerate() {
        let outpoint = input.previous_output;
        match utxo::get(state, &outpoint)? {
            Some(found) => spent.push((outpoint, found)),
            None => {
                let reason = match utxo::spent_in(state, &outpoint)? {
                    Some(height) => {
                        format!("input {i}: {outpoint} already spent in block {height}")
                    }
                    None => format!("input {i}: {outpoint} is not an unspent output"),
                };
                return Err(invalid(reason));
            }
        }
    }
    Ok(spent)
}

/// nLockTime and BIP68 relative locks against the block at `env`: heights are n-VM block
/// heights; times the median time past of the blocks before it, `now` (BIP113), and a coin's
/// the median when it was created (docs/BVM.md).
fn check_timelocks(
    tx: &Transaction,
    spent: &[(OutPoint, Utxo)],
    env: &BlockEnv,
    now: u64,
) -> Result<(), TxError> {
    if tx.is_lock_time_enabled() {
        let final_at = match tx.lock_time {
            LockTime::Blocks(h) => u64::from(h.to_consensus_u32()) < env.height,
            LockTime::Seconds(t) => u64::from(t.to_consensus_u32()) < now,
        };
        if !final_at {
            return Err(invalid(format!("not final: nLockTime {} is not reached", tx.lock_time)));
        }
    }
    if tx.version.0 < 2 {
        return Ok(());
    }
    for (i, (input, (_, coin))) in tx.input.iter().zip(spent).enumerate() {
        let unmet = match input.sequence.to_relative_lock_time() {
            Some(bitcoin::relative::LockTime::Blocks(h)) => {
                let blocks = u64::from(h.value());
                (env.height < coin.height + blocks).then(|| format!("{blocks} blocks"))
            }
            Some(bitcoin::relative::LockTime::Time(t)) => {
                let seconds = u64::from(t.value()) * 512;
                (now.saturating_sub(coin.time_ms / 1000) < seconds).then(|| format!("{seconds} s"))
            }
            None => None,
        };
        if let Some(lock) = unmet {
            return Err(invalid(format!("input {i}: relative lock of {lock} not reached")));
        }
    }
    Ok(())
}

/// The BVM: Bitcoin transactions over the unified state's UTXOs.
#[derive(Debug, Default)]
pub struct BvmVm {
    verified: VerifiedScripts,
}

/// Transactions (by wtxid: every byte, witnesses included) whose scripts this node's interpreter
/// already accepted. A verdict never goes stale: an outpoint names one output forever, so the
/// outputs a transaction spends are the same whenever it runs, and whether they are still unspent
/// is checked every time. So a transaction admitted to the mempool is not verified again when this
/// node builds or checks the block that holds it. Each node trusts only its own verdicts.
#[derive(Debug, Default)]
struct VerifiedScripts(parking_lot::Mutex<std::collections::HashSet<[u8; 32]>>);

/// Most verdicts kept; past it the set starts over (a cache, not a record).
const MAX_VERIFIED: usize = 200_000;

impl VerifiedScripts {
    fn contains(&self, wtxid: &[u8; 32]) -> bool {
        self.0.lock().contains(wtxid)
    }

    fn insert(&self, wtxid: [u8; 32]) {
        let mut set = self.0.lock();
        if set.len() >= MAX_VERIFIED {
            set.clear();
        }
        set.insert(wtxid);
    }
}

impl BvmVm {
    fn bitcoin(tx: &dyn WalletTx) -> Result<&BitcoinTx, TxError> {
        tx.of_format("a Bitcoin")
    }
}

impl WalletFormat for BvmVm {
    fn tag(&self) -> u8 {
        BITCOIN_TX_TAG
    }

    /// Bitcoin's txid (of the transaction without its witnesses).
    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash> {
        BitcoinTx::decode(bytes).ok().map(|tx| tx.txid())
    }

    fn vm(&self) -> &'static str {
        VmKind::Bvm.name()
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(BitcoinTx::decode(bytes)?))
    }

    /// Not run before, every input unspent, outputs within inputs, timelocks reached, and every
    /// input's scripts satisfied (Bitcoin Core's interpreter, all consensus rules). The sender
    /// the receipt names is the first spent script's: the identity that linked it, else its
    /// legacy identity.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        _exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let btc = Self::bitcoin(tx)?;
        if state.get(&utxo::tx_key(&btc.txid))?.is_some() {
            return Err(TxError::AlreadyProcessed);
        }
        let spent = spent_outputs(state, &btc.tx)?;
        let inputs: u64 = spent.iter().map(|(_, u)| u.value).sum();
        let outputs: u64 = btc.tx.output.iter().map(|o| o.value.to_sat()).sum();
        if outputs > inputs {
            return Err(invalid(format!("outputs ({outputs} sat) above inputs ({inputs} sat)")));
        }
        check_timelocks(&btc.tx, &spent, env, utxo::median_time_past(state)?)?;
        let prevouts: Vec<TxOut> = spent
            .iter()
            .map(|(_, u)| TxOut {
                value: bitcoin::Amount::from_sat(u.value),
                script_pubkey: bitcoin::ScriptBuf::from_bytes(u.script_pubkey.clone()),
            })
            .collect();
        let wtxid = btc.tx.compute_wtxid().to_byte_array();
        if !self.verified.contains(&wtxid) {
            verify_inputs(&btc.tx, &prevouts)
                .map_err(|e| TxError::rejected(Rejection::Signature, e))?;
            self.verified.insert(wtxid);
        }
        let first = &spent[0].1.script_pubkey;
        let sender = Registry::script_owner(state, first)?.unwrap_or_else(|| legacy_btc_id(first));
        Ok(EnvelopeCheck {
            sender,
            next_nonce: 0,
            native_balance: 0,
            max_cost: 0,
            gas_reserved: 0,
            units_reserved: 0,
        })
    }

    /// Its inputs and outputs are its accesses, so transactions spending disjoint coins run in
    /// parallel: each spent coin and its script's list, each output's coin and list (or the
    /// credited identity's balance), and its replay key.
    fn declare(
        &self,
        tx: &dyn WalletTx,
        _env: &BlockEnv,
        state: &dyn nvm_state_api::StateReader,
        access: &mut nvm_state_api::AccessSet,
    ) {
        let Ok(btc) = Self::bitcoin(tx) else {
            access.exclusive = true;
            return;
        };
        let mut view = TxOverlay::new(state);
        access.write(utxo::tx_key(&btc.txid)).read(utxo::recent_times_key());
        for (i, input) in btc.tx.input.iter().enumerate() {
            access.write(utxo::utxo_key(&input.previous_output));
            if let Ok(Some(coin)) = utxo::get(&mut view, &input.previous_output) {
                access.write(utxo::script_key(&coin.script_pubkey));
                if i == 0 {
                    // The sender: who linked the first spent script, if anyone did.
                    access.read(script_index_key(&coin.script_pubkey));
                }
            }
        }
        let txid = bitcoin::Txid::from_byte_array(btc.txid);
        for (vout, out) in btc.tx.output.iter().enumerate() {
            let bytes = out.script_pubkey.as_bytes();
            declare_credited(access, bytes);
            match credited_identity(&mut view, out.script_pubkey.as_bytes()) {
                Ok(Some(id)) => {
                    access.write(nvm_ledger::balance_key(&NATIVE_MINT, &id));
                }
                Ok(None) => {
                    let vout = u32::try_from(vout).unwrap_or(u32::MAX);
                    access
                        .write(utxo::utxo_key(&OutPoint { txid, vout }))
                        .write(utxo::script_key(bytes));
                }
                Err(_) => access.exclusive = true,
            }
        }
    }

    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let btc = Self::bitcoin(tx)?;
        let mut inputs = 0u64;
        for (i, input) in btc.tx.input.iter().enumerate() {
            let Some(spent) = utxo::spend(state, &input.previous_output, env.block.height)? else {
                return Err(invalid(format!("input {i}: already spent")));
            };
            inputs += spent.value;
        }
        let mut outputs = 0u64;
        let txid = bitcoin::Txid::from_byte_array(btc.txid);
        let time_ms = utxo::median_time_past(state)?.saturating_mul(1000);
        for (vout, out) in btc.tx.output.iter().enumerate() {
            let value = out.value.to_sat();
            outputs += value;
            match credited_identity(state, out.script_pubkey.as_bytes())? {
                Some(id) => {
                    Ledger::credit(state, &NATIVE_MINT, &id, u128::from(value) * UNITS_PER_SAT)
                        .map_err(|e| TxError::State(nvm_ledger::state_failure(e)))?
                }
                None => {
                    let outpoint = OutPoint { txid, vout: u32::try_from(vout).unwrap_or(u32::MAX) };
                    let created = Utxo {
                        value,
                        script_pubkey: out.script_pubkey.to_bytes(),
                        height: env.block.height,
                        time_ms,
                    };
                    utxo::create(state, &outpoint, &created)?;
                }
            }
        }
        state.set_encoded(utxo::tx_key(&btc.txid), &env.block.height);
        let fee = u128::from(inputs.saturating_sub(outputs)) * UNITS_PER_SAT;
        Ok(WalletOutcome {
            status: TxStatus::Success,
            proposer_fee: fee,
            fee_paid: fee,
            gas_used: 0,
            logs: Vec::new(),
            vm_data: Vec::new(),
            opcode: OPCODE_SPEND,
            units_used: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::{
        Amount, ScriptBuf, Sequence, TxIn, Txid, Witness, consensus::encode::serialize,
        transaction::Version,
    };

    fn tx(inputs: Vec<OutPoint>, outputs: Vec<(u64, usize)>) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .into_iter()
                .map(|previous_output| TxIn {
                    previous_output,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs
                .into_iter()
                .map(|(sats, script_len)| TxOut {
                    value: Amount::from_sat(sats),
                    script_pubkey: ScriptBuf::from_bytes(vec![0x51; script_len]),
                })
                .collect(),
        }
    }

    fn refusal(tx: &Transaction) -> String {
        BitcoinTx::decode(&serialize(tx)).unwrap_err().to_string()
    }

    #[test]
    fn malformed_oversized_and_impossible_transactions_are_refused_by_name() {
        let coin = |n: u8| OutPoint { txid: Txid::from_byte_array([n; 32]), vout: 0 };
        let fine = tx(vec![coin(1)], vec![(1_000, 22)]);
        assert!(BitcoinTx::decode(&serialize(&fine)).is_ok());
        let mut trailing = serialize(&fine);
        trailing.push(0);
        let err = BitcoinTx::decode(&trailing).unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
        assert!(BitcoinTx::decode(&serialize(&fine)[..10]).is_err());
        // Over Bitcoin's standard weight (400,000): a 100 kB output script.
        assert!(refusal(&tx(vec![coin(1)], vec![(1, 100_001)])).contains("weight"));
        assert!(refusal(&tx(vec![], vec![(1, 22)])).contains("at least one input"));
        assert!(refusal(&tx(vec![coin(1)], vec![])).contains("at least one input"));
        assert!(refusal(&tx(vec![OutPoint::null()], vec![(1, 22)])).contains("coinbase"));
        assert!(refusal(&tx(vec![coin(1), coin(1)], vec![(1, 22)])).contains("spent twice"));
        let too_much = Amount::MAX_MONEY.to_sat();
        assert!(refusal(&tx(vec![coin(1)], vec![(too_much, 22), (1, 22)])).contains("21 million"));
    }
}
