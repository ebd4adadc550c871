//! Differential test: random EVM operation sequences run by n-VM's EVM over the unified state
//! and by plain revm over its in-memory `CacheDB` give the same outcomes, return data, logs, gas
//! and post-state (balances, nonces, code, storage) — as operations in native envelopes (gas price
//! 0), and as signed EIP-1559 transactions paying gas under a base fee (the coinbase's tips and
//! the burned base fee included). Replay a failure with the seed proptest prints.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::TxKind;
use alloy_primitives::{Address, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use nvm_identity::{Registry, SecretKey};
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_primitives::SchemeId;
use nvm_state_api::StateAccessExt;
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::{BlockEnv, TxEnv, Vm, VmError};
use nvm_vm_evm::{EthereumTx, EvmOp, EvmVm, UnifiedDb, evm_address, revm_block, revm_tx};
use proptest::prelude::*;
use revm::{
    Context, Database, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{
        CfgEnv,
        result::{EVMError, ExecutionResult, Output},
    },
    database::{CacheDB, EmptyDB},
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
};

const CHAIN: u64 = 31_337;
const CALLERS: usize = 3;
const START: u128 = 1_000_000;

/// With calldata `(slot, value)`: `SSTORE(slot, value)`, `LOG1(topic = slot, data = value)`,
/// return `(value, CALLVALUE)`. With no calldata: `REVERT` with `0xdead`.
const RUNTIME: &str =
    "3615602157602035806000355560005260003560206000a13460205260406000f35b61dead60005260206000fd";

fn init_code() -> Vec<u8> {
    hex::decode(format!("602d80600b6000396000f3{RUNTIME}")).unwrap()
}

/// A log as (emitting address, topics, data).
type LogParts = (Vec<u8>, Vec<[u8; 32]>, Vec<u8>);

/// How a transaction ended, in terms both sides can express.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Success {
        output: Vec<u8>,
        logs: Vec<LogParts>,
        gas: u64,
    },
    Revert(Vec<u8>),
    Halt,
    /// Not executable (e.g. value above balance): included, nothing but the nonce changes.
    Rejected(String),
}

/// n-VM's logs in the parts both sides can express.
fn nvm_logs(logs: &[nvm_primitives::Log]) -> Vec<LogParts> {
    logs.iter().map(|l| (l.source[12..].to_vec(), l.topics.clone(), l.data.clone())).collect()
}

/// How a transaction plain revm ran ended.
fn revm_outcome(result: ExecutionResult) -> Outcome {
    match result {
        ExecutionResult::Success { output, logs, gas, .. } => Outcome::Success {
            output: match output {
                Output::Call(bytes) => bytes.to_vec(),
                Output::Create(_, address) => address.map(|a| a.to_vec()).unwrap_or_default(),
            },
            logs: logs
                .iter()
                .map(|l| {
                    (
                        l.address.to_vec(),
                        l.data.topics().iter().map(|t| t.0).collect(),
                        l.data.data.to_vec(),
                    )
                })
                .collect(),
            gas: gas.tx_gas_used(),
        },
        ExecutionResult::Revert { output, .. } => Outcome::Revert(output.to_vec()),
        ExecutionResult::Halt { .. } => Outcome::Halt,
    }
}

/// One random operation, before addresses are known.
#[derive(Clone, Debug)]
enum Step {
    Create { caller: usize, value: u128 },
    Call { caller: usize, contract: usize, slot: u8, stored: u64, value: u128, gas: u64 },
    Revert { caller: usize, contract: usize },
    Transfer { caller: usize, to: usize, value: u128 },
}

fn step() -> impl Strategy<Value = Step> {
    let caller = 0..CALLERS;
    let value = prop_oneof![Just(0u128), 1u128..5_000, Just(START * 10)];
    prop_oneof![
        2 => (caller.clone(), value.clone()).prop_map(|(caller, value)| Step::Create { caller, value }),
        5 => (caller.clone(), 0..4usize, 0..4u8, any::<u64>(), value.clone(), prop_oneof![Just(200_000u64), Just(30_000), Just(21_500)])
            .prop_map(|(caller, contract, slot, stored, value, gas)| Step::Call { caller, contract, slot, stored, value, gas }),
        1 => (caller.clone(), 0..4usize).prop_map(|(caller, contract)| Step::Revert { caller, contract }),
        2 => (caller, 0..(CALLERS + 3), value).prop_map(|(caller, to, value)| Step::Transfer { caller, to, value }),
    ]
}

/// Base fee of the block signed transactions run in.
const BASE_FEE: u64 = 2_000_000_000;
/// What each signer holds in the signed-transaction runs (enough for gas at a few gwei).
const SIGNER_START: u128 = 10u128.pow(21);

struct Harness {
    /// Set in signed-transaction runs: the callers' keys (their addresses act as legacy identities).
    signers: Vec<PrivateKeySigner>,
    ours: MemoryState,
    theirs: CacheDB<EmptyDB>,
    ids: Vec<[u8; 32]>,
    callers: Vec<Address>,
    contracts: Vec<Address>,
    nonces: Vec<u64>,
    block: BlockEnv,
}

impl Harness {
    fn new() -> Self {
        let empty = MemoryState::default();
        let mut state = TxOverlay::new(&empty);
        Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
        let mut theirs = CacheDB::new(EmptyDB::default());
        let (mut ids, mut callers) = (Vec::new(), Vec::new());
        for i in 0..CALLERS {
            let key = SecretKey::from_secret(SchemeId::Ed25519, &[i as u8 + 1; 32]).unwrap();
            let id = Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [0; 32])
                .unwrap();
            Ledger::credit(&mut state, &NATIVE_MINT, &id, START).unwrap();
            let address = evm_address(&id);
            theirs.insert_account_info(address, AccountInfo::from_balance(U256::from(START)));
            ids.push(id);
            callers.push(address);
        }
        let (writes, _) = state.into_writes();
        let mut ours = MemoryState::default();
        ours.apply(&writes.into_iter().collect());
        let block = BlockEnv {
            chain_id: CHAIN,
            height: 7,
            timestamp_ms: 1_700_000_000_000,
            proposer: [0xEE; 32],
            parent_hash: [0x11; 32],
            // Operations in native envelopes run at gas price 0, which plain revm accepts only
            // under a zero base fee.
            base_fee_per_gas: 0,
            gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
        };
        Self {
            signers: Vec::new(),
            ours,
            theirs,
            ids,
            callers,
            contracts: Vec::new(),
            nonces: vec![0; CALLERS],
            block,
        }
    }

    /// A harness whose callers are Ethereum keys sending signed transactions in a block with
    /// [`BASE_FEE`]; their legacy identities hold [`SIGNER_START`] each.
    fn signed() -> Self {
        let signers: Vec<PrivateKeySigner> = (0..CALLERS)
            .map(|i| PrivateKeySigner::from_bytes(&[i as u8 + 1; 32].into()).unwrap())
            .collect();
        let empty = MemoryState::default();
        let mut state = TxOverlay::new(&empty);
        Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
        let mut theirs = CacheDB::new(EmptyDB::default());
        let (mut ids, mut callers) = (Vec::new(), Vec::new());
        for signer in &signers {
            let id = legacy_id_com(&VmAddress::Evm(signer.address().into_array())).unwrap();
            Ledger::credit(&mut state, &NATIVE_MINT, &id, SIGNER_START).unwrap();
            theirs.insert_account_info(
                signer.address(),
                AccountInfo::from_balance(U256::from(SIGNER_START)),
            );
            ids.push(id);
            callers.push(signer.address());
        }
        let mut info = Ledger::token(&mut state, &NATIVE_MINT).unwrap().unwrap();
        info.supply = SIGNER_START * CALLERS as u128;
        state.set_encoded(nvm_ledger::token_key(&NATIVE_MINT), &info);
        let (writes, _) = state.into_writes();
        let mut ours = MemoryState::default();
        ours.apply(&writes.into_iter().collect());
        let mut h = Self { signers, ours, theirs, ids, callers, ..Self::new() };
        h.block.base_fee_per_gas = BASE_FEE;
        h
    }

    /// `op` as `caller`'s signed EIP-1559 transaction offering `max_fee` and `tip` per gas.
    fn sign(&self, caller: usize, op: &EvmOp, max_fee: u128, tip: u128) -> EthereumTx {
        let (to, value, input, gas_limit) = match op.clone() {
            EvmOp::Call { to, value, data, gas_limit } => {
                (TxKind::Call(to.into()), value, data, gas_limit)
            }
            EvmOp::Create { value, init_code, gas_limit } => {
                (TxKind::Create, value, init_code, gas_limit)
            }
            EvmOp::Transfer { to, value } => (TxKind::Call(to.into()), value, Vec::new(), 100_000),
        };
        let tx = TxEip1559 {
            chain_id: CHAIN,
            nonce: self.nonces[caller],
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to,
            value: U256::from(value),
            access_list: Default::default(),
            input: input.into(),
        };
        let signature = self.signers[caller].sign_hash_sync(&tx.signature_hash()).unwrap();
        EthereumTx::decode(&TxEnvelope::from(tx.into_signed(signature)).encoded_2718()).unwrap()
    }

    /// A signed transaction through n-VM's EVM; an invalid one changes nothing.
    fn run_signed_ours(&mut self, caller: usize, tx: &EthereumTx) -> Outcome {
        let env = TxEnv {
            block: &self.block,
            sender: self.ids[caller],
            nonce: self.nonces[caller],
            tx_hash: tx.hash(),
        };
        let mut overlay = TxOverlay::new(&self.ours);
        let out = match EvmVm::default().execute_ethereum(&env, tx, &mut overlay) {
            Ok(out) => out,
            Err(VmError::Invalid(_)) => return Outcome::Rejected(String::new()),
            Err(other) => panic!("n-VM EVM failed: {other}"),
        };
        let (writes, _) = overlay.into_writes();
        self.ours.apply(&writes.into_iter().collect());
        match out.status {
            Ok(output) => Outcome::Success {
                // A creation's output is the address it deployed to, as plain revm reports it.
                output: match tx.created_address() {
                    Some(address) => address.to_vec(),
                    None => output.to_vec(),
                },
                logs: nvm_logs(&out.logs),
                gas: out.gas_used,
            },
            Err(msg) if msg.starts_with("execution reverted: 0x") => {
                Outcome::Revert(hex::decode(&msg["execution reverted: 0x".len()..]).unwrap())
            }
            Err(_) => Outcome::Halt,
        }
    }

    /// The same signed transaction through plain revm (base fee check on, fees charged);
    /// refused, it changes nothing.
    fn run_signed_theirs(&mut self, tx: &EthereumTx) -> Outcome {
        match self.plain_revm(tx.revm_tx()) {
            Ok(result) => revm_outcome(result),
            Err(_) => Outcome::Rejected(String::new()),
        }
    }

    fn op(&self, step: &Step) -> (usize, EvmOp) {
        let contract = |i: usize| {
            self.contracts
                .get(i % self.contracts.len().max(1))
                .copied()
                .unwrap_or(Address::repeat_byte(0xCC))
        };
        match *step {
            Step::Create { caller, value } => {
                (caller, EvmOp::Create { value, init_code: init_code(), gas_limit: 300_000 })
            }
            Step::Call { caller, contract: c, slot, stored, value, gas } => {
                let mut data = vec![0u8; 64];
                data[31] = slot;
                data[56..].copy_from_slice(&stored.to_be_bytes());
                (caller, EvmOp::Call { to: contract(c).into_array(), value, data, gas_limit: gas })
            }
            Step::Revert { caller, contract: c } => (
                caller,
                EvmOp::Call {
                    to: contract(c).into_array(),
                    value: 0,
                    data: vec![],
                    gas_limit: 100_000,
                },
            ),
            Step::Transfer { caller, to, value } => {
                let to = match to {
                    t if t < CALLERS => self.callers[t],
                    t => Address::repeat_byte(t as u8),
                };
                (caller, EvmOp::Transfer { to: to.into_array(), value })
            }
        }
    }

    fn run_ours(&mut self, caller: usize, op: EvmOp) -> Outcome {
        let env = TxEnv {
            block: &self.block,
            sender: self.ids[caller],
            nonce: self.nonces[caller],
            tx_hash: [0; 32],
        };
        let mut overlay = TxOverlay::new(&self.ours);
        let result = EvmVm::default().execute(&env, &op.encode(), &mut overlay);
        let outcome = match result {
            Ok(out) => Outcome::Success {
                output: out.output,
                logs: nvm_logs(&out.logs),
                gas: out.gas_used,
            },
            Err(VmError::Failed(msg)) if msg.starts_with("execution reverted: 0x") => {
                Outcome::Revert(hex::decode(&msg["execution reverted: 0x".len()..]).unwrap())
            }
            Err(VmError::Failed(msg)) if msg.starts_with("execution halted") => Outcome::Halt,
            Err(VmError::Failed(msg)) => Outcome::Rejected(msg),
            Err(other) => panic!("n-VM EVM failed: {other}"),
        };
        let mut writes = match outcome {
            Outcome::Success { .. } => overlay.into_writes().0,
            _ => Default::default(),
        };
        // As the executor does: the transaction's nonce is used whatever happened.
        let mut nonce_state = TxOverlay::new(&self.ours);
        Registry::set_nonce(&mut nonce_state, &self.ids[caller], self.nonces[caller] + 1);
        writes.extend(nonce_state.into_writes().0);
        self.ours.apply(&writes.into_iter().collect());
        outcome
    }

    fn run_theirs(&mut self, caller: usize, op: EvmOp) -> Outcome {
        let tx = revm_tx(op, self.callers[caller], self.nonces[caller], CHAIN).unwrap();
        match self.plain_revm(tx) {
            Ok(result) => revm_outcome(result),
            Err(reason) => {
                // Included anyway on n-VM: only the nonce moves.
                let address = self.callers[caller];
                let mut info = self.theirs.basic(address).unwrap().unwrap_or_default();
                info.nonce += 1;
                self.theirs.insert_account_info(address, info);
                Outcome::Rejected(reason)
            }
        }
    }

    /// Runs `tx` with plain revm over its in-memory database in this harness's block and
    /// commits it; `Err` is revm's refusal of the transaction (nothing written).
    fn plain_revm(&mut self, tx: revm::context::TxEnv) -> Result<ExecutionResult, String> {
        let env = TxEnv { block: &self.block, sender: [0; 32], nonce: 0, tx_hash: [0; 32] };
        let mut cfg = CfgEnv::new_with_spec(revm::primitives::hardfork::SpecId::default());
        cfg.chain_id = CHAIN;
        let mut evm = Context::mainnet()
            .with_db(&mut self.theirs)
            .with_block(revm_block(&env))
            .with_cfg(cfg)
            .build_mainnet();
        match evm.transact_commit(tx) {
            Ok(result) => Ok(result),
            Err(EVMError::Transaction(e)) => {
                Err(EVMError::<std::convert::Infallible>::Transaction(e).to_string())
            }
            Err(other) => panic!("plain revm failed: {other}"),
        }
    }

    /// Balance, nonce, code hash and slots 0..4 of `address` on both sides.
    fn compare(&mut self, address: Address) -> Result<(), TestCaseError> {
        let mut overlay = TxOverlay::new(&self.ours);
        let mut db = UnifiedDb::new(&mut overlay);
        let norm = |info: Option<AccountInfo>| {
            info.map_or((U256::ZERO, 0, KECCAK_EMPTY), |i| (i.balance, i.nonce, i.code_hash))
        };
        let ours = norm(db.basic(address).unwrap());
        let theirs = norm(self.theirs.basic(address).unwrap());
        prop_assert_eq!(ours, theirs, "account {}", address);
        for slot in 0..4u64 {
            let ours = db.storage(address, U256::from(slot)).unwrap();
            let theirs = self.theirs.storage(address, U256::from(slot)).unwrap();
            prop_assert_eq!(ours, theirs, "slot {} of {}", slot, address);
        }
        Ok(())
    }
}

/// `n` cases, or `PROPTEST_CASES` when it is set (a longer search than the suite's).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), .. ProptestConfig::default() })]

    #[test]
    fn nvm_evm_matches_plain_revm(steps in proptest::collection::vec(step(), 1..30)) {
        let mut h = Harness::new();
        for step in &steps {
            let (caller, op) = h.op(step);
            let created = matches!(op, EvmOp::Create { .. }).then(|| h.callers[caller].create(h.nonces[caller]));
            let ours = h.run_ours(caller, op.clone());
            let theirs = h.run_theirs(caller, op);
            prop_assert_eq!(&ours, &theirs, "step {:?}", step);
            h.nonces[caller] += 1;
            if let (Some(address), Outcome::Success { .. }) = (created, &ours) {
                h.contracts.push(address);
            }
            let mut everyone = h.callers.clone();
            everyone.extend(h.contracts.iter().copied());
            everyone.extend((CALLERS..CALLERS + 3).map(|t| Address::repeat_byte(t as u8)));
            everyone.push(Address::repeat_byte(0xCC));
            for address in everyone {
                h.compare(address)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), .. ProptestConfig::default() })]

    /// Signed EIP-1559 transactions, some under the base fee or overdrawn (invalid on both
    /// sides), paying gas: outcomes, gas and every balance — the coinbase's too — agree.
    #[test]
    fn signed_transactions_match_plain_revm(
        steps in proptest::collection::vec(
            (step(), prop_oneof![Just(1_000_000_000u128), Just(3_000_000_000u128), Just(9_000_000_000u128)], prop_oneof![Just(0u128), Just(1_000_000_000u128)]),
            1..24,
        )
    ) {
        let mut h = Harness::signed();
        let coinbase = evm_address(&h.block.proposer);
        for (step, max_fee, tip) in &steps {
            let (caller, op) = h.op(step);
            let tx = h.sign(caller, &op, *max_fee, *tip);
            let ours = h.run_signed_ours(caller, &tx);
            let theirs = h.run_signed_theirs(&tx);
            prop_assert_eq!(&ours, &theirs, "step {:?} at max fee {} tip {}", step, max_fee, tip);
            if ours != Outcome::Rejected(String::new()) {
                h.nonces[caller] += 1;
                if let (Some(address), Outcome::Success { .. }) = (tx.created_address(), &ours) {
                    h.contracts.push(address);
                }
            }
            let mut everyone = h.callers.clone();
            everyone.extend(h.contracts.iter().copied());
            everyone.extend((CALLERS..CALLERS + 3).map(|t| Address::repeat_byte(t as u8)));
            everyone.extend([coinbase, Address::repeat_byte(0xCC)]);
            for address in everyone {
                h.compare(address)?;
            }
        }
        // The burned base fee left the supply: it is still the sum of the balances.
        let mut overlay = TxOverlay::new(&h.ours);
        let supply = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap().supply;
        let mut held = 0u128;
        let mut db = UnifiedDb::new(&mut overlay);
        let mut holders = h.callers.clone();
        holders.extend(h.contracts.iter().copied());
        holders.extend((CALLERS..CALLERS + 3).map(|t| Address::repeat_byte(t as u8)));
        holders.extend([coinbase, Address::repeat_byte(0xCC)]);
        for address in holders {
            held += db.basic(address).unwrap().map_or(0, |i| u128::try_from(i.balance).unwrap());
        }
        prop_assert_eq!(supply, held);
    }
}

/// A fixed sequence that must produce every kind of outcome, identically on both sides.
#[test]
fn every_outcome_kind_agrees() {
    let mut h = Harness::new();
    let steps = [
        Step::Create { caller: 0, value: 10 },
        Step::Call { caller: 1, contract: 0, slot: 2, stored: 99, value: 5, gas: 200_000 },
        Step::Revert { caller: 2, contract: 0 },
        Step::Call { caller: 1, contract: 0, slot: 3, stored: 1, value: 0, gas: 30_000 },
        Step::Transfer { caller: 2, to: 0, value: START * 10 },
        Step::Transfer { caller: 2, to: CALLERS, value: 77 },
    ];
    let mut kinds = Vec::new();
    for step in &steps {
        let (caller, op) = h.op(step);
        let created =
            matches!(op, EvmOp::Create { .. }).then(|| h.callers[caller].create(h.nonces[caller]));
        let ours = h.run_ours(caller, op.clone());
        let theirs = h.run_theirs(caller, op);
        assert_eq!(ours, theirs, "step {step:?}");
        h.nonces[caller] += 1;
        if let Some(address) = created {
            h.contracts.push(address);
        }
        kinds.push(match ours {
            Outcome::Success { .. } => "success",
            Outcome::Revert(data) => {
                assert_eq!(U256::from_be_slice(&data), U256::from(0xdead));
                "revert"
            }
            Outcome::Halt => "halt",
            Outcome::Rejected(_) => "rejected",
        });
    }
    assert_eq!(kinds, ["success", "success", "revert", "halt", "rejected", "success"]);
    let contract = h.contracts[0];
    for address in
        [h.callers[0], h.callers[1], h.callers[2], contract, Address::repeat_byte(CALLERS as u8)]
    {
        h.compare(address).unwrap();
    }
}
