//! Differential test of the EVM against plain revm: random sequences of EVM operations run as
//! n-VM transactions through real block execution (`Executor::execute_block`, writes applied as
//! a node applies them) and through plain revm over its in-memory `CacheDB`, whose inputs this
//! test builds itself from the same operation (not through n-VM's converters). Outcomes, logs,
//! gas (of reverts and halts too) and the post-state n-VM wrote — balances, nonces, code, storage
//! of every account — must agree after every transaction. The contract
//! (`evm_differential/router.rs`) reaches calls between contracts, reverts inside nested calls,
//! CREATE2, SELFDESTRUCT and storage refunds. Operations run in native envelopes (gas price 0,
//! the flat fee set to 0 here) and as signed EIP-1559 transactions paying gas under a base fee.
//! Replay a failure with the seed proptest prints.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;
#[path = "evm_differential/router.rs"]
mod router;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::{
    Actor, CHAIN, GOLD, actor, cases, erc20_transfer, executor_with_fee, sign_payload, vms,
};
use nvm_executor::{ExecutionMode, Executor, VerifiedTx};
use nvm_identity::{Registry, VmAddress, derive_address, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_primitives::{SchemeId, TxStatus};
use nvm_state_api::{MemoryState, StateAccessExt, StateReader, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_evm::{EvmOp, TRANSFER_GAS, UnifiedDb};
use proptest::prelude::*;
use revm::{
    Context, Database, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{
        BlockEnv as RevmBlock, CfgEnv, TxEnv as RevmTx,
        result::{EVMError, ExecutionResult},
    },
    database::{CacheDB, EmptyDB},
    primitives::{KECCAK_EMPTY, hardfork::SpecId},
    state::AccountInfo,
};

const CALLERS: usize = 3;
/// What each caller holds in native-envelope runs.
const START: u128 = 1_000_000;
/// Base fee of the block signed transactions run in, and what each signer holds there.
const BASE_FEE: u64 = 2_000_000_000;
const SIGNER_START: u128 = 10u128.pow(21);
/// Contracts a step may name (by index into those deployed so far).
const CONTRACT_CHOICES: usize = 6;
/// Accounts without code that steps pay: addresses `0x03…03` to `0x05…05`.
const STRANGERS: usize = 3;
/// Storage slots every account's comparison reads (the router writes 0..4, 8 and 9).
const SLOTS: u64 = 10;

/// A log as (emitting address, topics, data).
type LogParts = (Vec<u8>, Vec<[u8; 32]>, Vec<u8>);

/// How a transaction ended, in terms both sides express.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Success {
        logs: Vec<LogParts>,
        gas: u64,
    },
    Revert {
        data: Vec<u8>,
        gas: u64,
    },
    Halt {
        gas: u64,
    },
    /// Not executable (value or gas above the balance, fee cap under the base fee).
    Invalid,
}

/// What the router is told to do by the callee of a nested call.
#[derive(Clone, Debug)]
enum Inner {
    Nothing,
    Store { slot: u8, stored: u64 },
    Revert,
    Destruct { beneficiary: usize },
}

/// One random operation, before addresses are known. `contract` and `target` index the
/// contracts deployed so far (modulo their number); targets past them are accounts without code.
#[derive(Clone, Debug)]
enum Step {
    Deploy {
        caller: usize,
        value: u128,
    },
    Store {
        caller: usize,
        contract: usize,
        slot: u8,
        stored: u64,
        value: u128,
        gas: u64,
    },
    Nested {
        caller: usize,
        contract: usize,
        target: usize,
        inner: Inner,
        then_revert: bool,
        value: u128,
    },
    Create2 {
        caller: usize,
        contract: usize,
        salt: u8,
        self_destructing: bool,
        value: u128,
    },
    Destruct {
        caller: usize,
        contract: usize,
        beneficiary: usize,
    },
    Revert {
        caller: usize,
        contract: usize,
    },
    Transfer {
        caller: usize,
        to: usize,
        value: u128,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let caller = 0..CALLERS;
    let contract = 0..CONTRACT_CHOICES;
    let value = prop_oneof![3 => Just(0u128), 3 => 1u128..5_000, 1 => Just(START * 10)];
    // Zero often, so that slots are cleared (a refund) as well as set.
    let stored = prop_oneof![Just(0u64), 1u64..4, any::<u64>()];
    let gas = prop_oneof![Just(300_000u64), Just(40_000), Just(23_000)];
    let someone = 0..CALLERS + STRANGERS;
    let inner = prop_oneof![
        Just(Inner::Nothing),
        (0..4u8, stored.clone()).prop_map(|(slot, stored)| Inner::Store { slot, stored }),
        Just(Inner::Revert),
        someone.clone().prop_map(|beneficiary| Inner::Destruct { beneficiary }),
    ];
    prop_oneof![
        2 => (caller.clone(), value.clone()).prop_map(|(caller, value)| Step::Deploy { caller, value }),
        4 => (caller.clone(), contract.clone(), 0..4u8, stored, value.clone(), gas)
            .prop_map(|(caller, contract, slot, stored, value, gas)| Step::Store { caller, contract, slot, stored, value, gas }),
        5 => (caller.clone(), contract.clone(), 0..CONTRACT_CHOICES + CALLERS + STRANGERS, inner, any::<bool>(), value.clone())
            .prop_map(|(caller, contract, target, inner, then_revert, value)| Step::Nested { caller, contract, target, inner, then_revert, value }),
        2 => (caller.clone(), contract.clone(), 0..3u8, any::<bool>(), value.clone())
            .prop_map(|(caller, contract, salt, self_destructing, value)| Step::Create2 { caller, contract, salt, self_destructing, value }),
        1 => (caller.clone(), contract.clone(), someone.clone())
            .prop_map(|(caller, contract, beneficiary)| Step::Destruct { caller, contract, beneficiary }),
        1 => (caller.clone(), contract).prop_map(|(caller, contract)| Step::Revert { caller, contract }),
        2 => (caller, someone, value).prop_map(|(caller, to, value)| Step::Transfer { caller, to, value }),
    ]
}

/// An operation as both sides take it: `to` is `None` for a creation.
#[derive(Clone, Debug)]
struct Op {
    to: Option<Address>,
    value: u128,
    data: Vec<u8>,
    gas_limit: u64,
}

/// Who sends: an identity signing native envelopes, or an Ethereum key signing EIP-1559.
enum Sender {
    Native(Actor),
    Ethereum(PrivateKeySigner),
}

struct Harness {
    executor: Executor,
    ours: MemoryState,
    theirs: CacheDB<EmptyDB>,
    block: BlockEnv,
    senders: Vec<Sender>,
    callers: Vec<Address>,
    nonces: Vec<u64>,
    contracts: Vec<Address>,
}

impl Harness {
    /// Callers are identities sending native envelopes (operations 0x10–0x12).
    fn native() -> Self {
        let actors: Vec<Actor> = (0..CALLERS).map(actor).collect();
        let mut h = Self::empty(0);
        let callers: Vec<Address> = actors.iter().map(|a| evm_address_of(&a.id)).collect();
        let ids: Vec<_> = actors.iter().map(|a| a.id).collect();
        h.fund(&ids, &callers, START, |overlay| {
            for a in &actors {
                Registry::create(overlay, SchemeId::Ed25519, &a.key.public_key(), [0; 32]).unwrap();
            }
        });
        h.senders = actors.into_iter().map(Sender::Native).collect();
        h.callers = callers;
        h
    }

    /// Callers are Ethereum keys (legacy identities) sending signed transactions in a block
    /// with [`BASE_FEE`].
    fn signed() -> Self {
        let keys: Vec<PrivateKeySigner> = (0..CALLERS)
            .map(|i| PrivateKeySigner::from_bytes(&[i as u8 + 1; 32].into()).unwrap())
            .collect();
        let mut h = Self::empty(BASE_FEE);
        let callers: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let ids: Vec<_> = callers
            .iter()
            .map(|a| legacy_id_com(&VmAddress::Evm(a.into_array())).unwrap())
            .collect();
        h.fund(&ids, &callers, SIGNER_START, |_| {});
        h.senders = keys.into_iter().map(Sender::Ethereum).collect();
        h.callers = callers;
        h
    }

    fn empty(base_fee: u64) -> Self {
        let empty = MemoryState::default();
        let mut overlay = TxOverlay::new(&empty);
        Ledger::create_token(&mut overlay, &NATIVE_MINT, TokenInfo::native()).unwrap();
        let (writes, _) = overlay.into_writes();
        let mut ours = MemoryState::default();
        ours.apply(&writes.into_iter().collect());
        let block = BlockEnv {
            chain_id: CHAIN,
            height: 7,
            timestamp_ms: 1_700_000_000_000,
            proposer: [0xEE; 32],
            parent_hash: [0x11; 32],
            base_fee_per_gas: base_fee,
            gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
        };
        Self {
            // Native envelopes pay no flat fee here, so balances are revm's alone.
            executor: executor_with_fee(0),
            ours,
            theirs: CacheDB::new(EmptyDB::default()),
            block,
            senders: Vec::new(),
            callers: Vec::new(),
            nonces: vec![0; CALLERS],
            contracts: Vec::new(),
        }
    }

    /// Gives each caller `amount` on both sides (the native supply is what they hold), after
    /// `setup` has written what else n-VM's state needs.
    fn fund(
        &mut self,
        ids: &[[u8; 32]],
        callers: &[Address],
        amount: u128,
        setup: impl FnOnce(&mut TxOverlay<'_>),
    ) {
        let base = self.ours.clone();
        let mut overlay = TxOverlay::new(&base);
        setup(&mut overlay);
        for (id, address) in ids.iter().zip(callers) {
            Ledger::credit(&mut overlay, &NATIVE_MINT, id, amount).unwrap();
            self.theirs
                .insert_account_info(*address, AccountInfo::from_balance(U256::from(amount)));
        }
        let mut info = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap();
        info.supply = amount * ids.len() as u128;
        overlay.set_encoded(nvm_ledger::token_key(&NATIVE_MINT), &info);
        let (writes, _) = overlay.into_writes();
        self.ours.apply(&writes.into_iter().collect());
    }

    fn contract(&self, i: usize) -> Address {
        self.contracts
            .get(i % self.contracts.len().max(1))
            .copied()
            .unwrap_or(Address::repeat_byte(0xCC))
    }

    /// A caller's or a stranger's address.
    fn someone(&self, i: usize) -> Address {
        match i {
            i if i < CALLERS => self.callers[i],
            i => Address::repeat_byte(i as u8),
        }
    }

    fn op(&self, step: &Step) -> (usize, Op) {
        let call =
            |to: Address, value, data, gas_limit| Op { to: Some(to), value, data, gas_limit };
        match step.clone() {
            Step::Deploy { caller, value } => {
                (caller, Op { to: None, value, data: router::init_code(), gas_limit: 400_000 })
            }
            Step::Store { caller, contract, slot, stored, value, gas } => {
                (caller, call(self.contract(contract), value, router::store(slot, stored), gas))
            }
            Step::Nested { caller, contract, target, inner, then_revert, value } => {
                let target = match target {
                    t if t < CONTRACT_CHOICES => self.contract(t),
                    t => self.someone(t - CONTRACT_CHOICES),
                };
                let inner = match inner {
                    Inner::Nothing => Vec::new(),
                    Inner::Store { slot, stored } => router::store(slot, stored),
                    Inner::Revert => router::revert(),
                    Inner::Destruct { beneficiary } => {
                        router::destruct(self.someone(beneficiary).into_array())
                    }
                };
                let data = router::call(target.into_array(), value / 2, &inner, then_revert);
                (caller, call(self.contract(contract), value, data, 300_000))
            }
            Step::Create2 { caller, contract, salt, self_destructing, value } => {
                let init = if self_destructing {
                    router::self_destructing_init_code()
                } else {
                    router::init_code()
                };
                (
                    caller,
                    call(self.contract(contract), value, router::create2(salt, &init), 400_000),
                )
            }
            Step::Destruct { caller, contract, beneficiary } => {
                let data = router::destruct(self.someone(beneficiary).into_array());
                (caller, call(self.contract(contract), 0, data, 100_000))
            }
            Step::Revert { caller, contract } => {
                (caller, call(self.contract(contract), 0, router::revert(), 100_000))
            }
            // A plain transfer: a native envelope's 0x12 gives it TRANSFER_GAS.
            Step::Transfer { caller, to, value } => {
                (caller, call(self.someone(to), value, Vec::new(), TRANSFER_GAS))
            }
        }
    }

    /// `op` as `caller` sends it on n-VM; for signed runs, at `max_fee` and `tip` per gas.
    fn transaction(&self, caller: usize, op: &Op, max_fee: u128, tip: u128) -> VerifiedTx {
        let nonce = self.nonces[caller];
        match &self.senders[caller] {
            Sender::Native(a) => {
                let payload = match (op.to, op.data.is_empty() && op.gas_limit == TRANSFER_GAS) {
                    (None, _) => EvmOp::Create {
                        value: op.value,
                        init_code: op.data.clone(),
                        gas_limit: op.gas_limit,
                    },
                    (Some(to), true) => EvmOp::Transfer { to: to.into_array(), value: op.value },
                    (Some(to), false) => EvmOp::Call {
                        to: to.into_array(),
                        value: op.value,
                        data: op.data.clone(),
                        gas_limit: op.gas_limit,
                    },
                };
                sign_payload(a, a.id, nonce, payload.encode())
            }
            Sender::Ethereum(key) => {
                let tx = TxEip1559 {
                    chain_id: CHAIN,
                    nonce,
                    gas_limit: op.gas_limit,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: tip,
                    to: op.to.map_or(TxKind::Create, TxKind::Call),
                    value: U256::from(op.value),
                    access_list: Default::default(),
                    input: op.data.clone().into(),
                };
                let signature = key.sign_hash_sync(&tx.signature_hash()).unwrap();
                let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
                VerifiedTx::verify(&vms(), nvm_vm_evm::tag_ethereum(&raw)).unwrap()
            }
        }
    }

    /// Runs the transaction in a block of its own and applies the block's writes.
    fn run_ours(&mut self, tx: VerifiedTx) -> Outcome {
        let outcome = self
            .executor
            .execute_block(&self.ours, &self.block, vec![tx], ExecutionMode::Serial)
            .unwrap();
        self.ours.apply(&outcome.writes);
        let Some(included) = outcome.included.first() else { return Outcome::Invalid };
        let receipt = &included.receipt;
        match &receipt.status {
            TxStatus::Success => Outcome::Success {
                logs: receipt
                    .logs
                    .iter()
                    .map(|l| (l.source[12..].to_vec(), l.topics.clone(), l.data.clone()))
                    .collect(),
                gas: receipt.gas_used,
            },
            TxStatus::Reverted { data } => {
                Outcome::Revert { data: data.clone(), gas: receipt.gas_used }
            }
            TxStatus::Halted { .. } => Outcome::Halt { gas: receipt.gas_used },
            TxStatus::Failed { .. } => Outcome::Invalid,
        }
    }

    /// The same operation through plain revm, its transaction and block built here; refused,
    /// it writes nothing — except, for a native envelope (included whatever happens), its nonce.
    fn run_theirs(&mut self, caller: usize, op: &Op, max_fee: u128, tip: u128) -> Outcome {
        let native = matches!(self.senders[caller], Sender::Native(_));
        let mut tx = RevmTx::builder()
            .caller(self.callers[caller])
            .kind(op.to.map_or(TxKind::Create, TxKind::Call))
            .value(U256::from(op.value))
            .data(op.data.clone().into())
            .gas_limit(op.gas_limit)
            .nonce(self.nonces[caller])
            .chain_id(Some(CHAIN));
        tx = if native {
            tx.gas_price(0)
        } else {
            tx.tx_type(Some(2)).gas_price(max_fee).gas_priority_fee(Some(tip))
        };
        let mut cfg = CfgEnv::new_with_spec(SpecId::default());
        cfg.chain_id = CHAIN;
        // Native envelopes paid their fee outside the EVM: gas is free, under any base fee.
        cfg.disable_base_fee = native;
        let block = RevmBlock {
            number: U256::from(self.block.height),
            beneficiary: evm_address_of(&self.block.proposer),
            timestamp: U256::from(self.block.timestamp_ms / 1000),
            gas_limit: self.block.gas_limit,
            basefee: self.block.base_fee_per_gas,
            difficulty: U256::ZERO,
            prevrandao: Some(B256::from(nvm_primitives::sha256_parts(&[
                b"nvm:prevrandao:",
                &self.block.height.to_le_bytes(),
                &self.block.proposer,
            ]))),
            ..RevmBlock::default()
        };
        let mut evm = Context::mainnet()
            .with_db(&mut self.theirs)
            .with_block(block)
            .with_cfg(cfg)
            .build_mainnet();
        match evm.transact_commit(tx.build().unwrap()) {
            Ok(result) => match result {
                ExecutionResult::Success { logs, gas, .. } => Outcome::Success {
                    logs: logs
                        .iter()
                        .map(|l| {
                            let topics = l.data.topics().iter().map(|t| t.0).collect();
                            (l.address.to_vec(), topics, l.data.data.to_vec())
                        })
                        .collect(),
                    gas: gas.tx_gas_used(),
                },
                ExecutionResult::Revert { output, gas, .. } => {
                    Outcome::Revert { data: output.to_vec(), gas: gas.tx_gas_used() }
                }
                ExecutionResult::Halt { gas, .. } => Outcome::Halt { gas: gas.tx_gas_used() },
            },
            Err(EVMError::Transaction(_)) => {
                if native {
                    let address = self.callers[caller];
                    let mut info = self.theirs.basic(address).unwrap().unwrap_or_default();
                    info.nonce += 1;
                    self.theirs.insert_account_info(address, info);
                }
                Outcome::Invalid
            }
            Err(other) => panic!("plain revm failed: {other}"),
        }
    }

    /// Runs one step on both sides; the outcomes must agree.
    fn step(&mut self, step: &Step, max_fee: u128, tip: u128) -> Result<Outcome, TestCaseError> {
        let (caller, op) = self.op(step);
        let deployed = op.to.is_none().then(|| self.callers[caller].create(self.nonces[caller]));
        let tx = self.transaction(caller, &op, max_fee, tip);
        let ours = self.run_ours(tx);
        let theirs = self.run_theirs(caller, &op, max_fee, tip);
        prop_assert_eq!(&ours, &theirs, "step {:?} at max fee {} tip {}", step, max_fee, tip);
        if ours != Outcome::Invalid || matches!(self.senders[caller], Sender::Native(_)) {
            self.nonces[caller] += 1;
        }
        self.track_created(deployed);
        self.compare_everyone()?;
        Ok(ours)
    }

    /// Every account a step can reach: callers, strangers, the coinbase, the contracts and every
    /// address their CREATE2 can deploy to.
    fn everyone(&self) -> Vec<Address> {
        let mut all: Vec<Address> = (0..CALLERS + STRANGERS).map(|i| self.someone(i)).collect();
        all.extend([evm_address_of(&self.block.proposer), Address::repeat_byte(0xCC)]);
        all.extend(self.contracts.iter().copied());
        all.extend(self.contracts.iter().flat_map(create2_targets));
        all.sort();
        all.dedup();
        all
    }

    /// Routers deployed (by the step's creation or a CREATE2) join the contracts steps may name.
    fn track_created(&mut self, deployed: Option<Address>) {
        let mut candidates: Vec<Address> = deployed.into_iter().collect();
        candidates.extend(self.contracts.iter().flat_map(create2_targets));
        for address in candidates {
            let has_code =
                self.theirs.basic(address).unwrap().is_some_and(|i| i.code_hash != KECCAK_EMPTY);
            if has_code && !self.contracts.contains(&address) {
                self.contracts.push(address);
            }
        }
    }

    /// Balance, nonce, code hash and slots `0..SLOTS` of every account, as n-VM's state holds
    /// them and as plain revm does.
    fn compare_everyone(&mut self) -> Result<(), TestCaseError> {
        let everyone = self.everyone();
        let mut overlay = TxOverlay::new(&self.ours);
        let mut db = UnifiedDb::new(&mut overlay);
        let norm = |info: Option<AccountInfo>| {
            info.map_or((U256::ZERO, 0, KECCAK_EMPTY), |i| (i.balance, i.nonce, i.code_hash))
        };
        for address in everyone {
            let ours = norm(db.basic(address).unwrap());
            let theirs = norm(self.theirs.basic(address).unwrap());
            prop_assert_eq!(ours, theirs, "account {}", address);
            for slot in 0..SLOTS {
                let ours = db.storage(address, U256::from(slot)).unwrap();
                let theirs = self.theirs.storage(address, U256::from(slot)).unwrap();
                prop_assert_eq!(ours, theirs, "slot {} of {}", slot, address);
            }
        }
        Ok(())
    }

    /// The native supply is still the sum of every balance (burned base fees leave both).
    fn supply_is_held(&self) -> Result<(), TestCaseError> {
        let mut overlay = TxOverlay::new(&self.ours);
        let supply = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap().supply;
        let mut db = UnifiedDb::new(&mut overlay);
        let mut held = 0u128;
        for address in self.everyone() {
            held += db.basic(address).unwrap().map_or(0, |i| u128::try_from(i.balance).unwrap());
        }
        prop_assert_eq!(supply, held);
        Ok(())
    }
}

/// An identity's EVM address, by the identity formula (SPEC §2), not the EVM crate.
fn evm_address_of(id: &[u8; 32]) -> Address {
    let Some(address) = derive_address(&nvm_identity::EVM_FORMAT, id).evm() else { unreachable!() };
    Address::from(address)
}

/// Where a router at `deployer` deploys with CREATE2, for every salt and init code steps use.
fn create2_targets(deployer: &Address) -> Vec<Address> {
    let inits = [router::init_code(), router::self_destructing_init_code()];
    (0..3u8)
        .flat_map(|salt| inits.iter().map(move |init| (salt, keccak256(init))))
        .map(|(salt, hash)| deployer.create2(B256::from(U256::from(salt)), hash))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), .. ProptestConfig::default() })]

    /// Operations in native envelopes.
    #[test]
    fn native_envelope_evm_matches_plain_revm(steps in proptest::collection::vec(step(), 1..30)) {
        let mut h = Harness::native();
        for step in &steps {
            h.step(step, 0, 0)?;
        }
    }

    /// Signed EIP-1559 transactions, some under the base fee or overdrawn (invalid on both
    /// sides), paying gas: outcomes, gas and every balance — the coinbase's tips too — agree,
    /// and the native supply is still what is held after the burns.
    #[test]
    fn signed_transactions_match_plain_revm(
        steps in proptest::collection::vec(
            (step(), prop_oneof![Just(1_000_000_000u128), Just(3_000_000_000u128), Just(9_000_000_000u128)], prop_oneof![Just(0u128), Just(1_000_000_000u128)]),
            1..24,
        )
    ) {
        let mut h = Harness::signed();
        for (step, max_fee, tip) in &steps {
            h.step(step, *max_fee, *tip)?;
        }
        h.supply_is_held()?;
    }
}

/// A fixed sequence that must produce every kind of outcome — nested reverts, CREATE2 of a
/// contract and of one that destroys itself, a self-destruct, a refund — identically on both sides.
#[test]
fn every_outcome_kind_agrees() {
    let mut h = Harness::native();
    let steps = [
        Step::Deploy { caller: 0, value: 10 },
        Step::Deploy { caller: 1, value: 0 },
        Step::Store { caller: 1, contract: 0, slot: 2, stored: 99, value: 5, gas: 300_000 },
        // Clearing the slot again earns the refund.
        Step::Store { caller: 1, contract: 0, slot: 2, stored: 0, value: 0, gas: 300_000 },
        Step::Revert { caller: 2, contract: 0 },
        Step::Store { caller: 1, contract: 0, slot: 3, stored: 1, value: 0, gas: 23_000 },
        Step::Transfer { caller: 2, to: 0, value: START * 10 },
        // The callee's store, then the caller reverts: both gone.
        Step::Nested {
            caller: 0,
            contract: 0,
            target: 1,
            inner: Inner::Store { slot: 1, stored: 7 },
            then_revert: true,
            value: 0,
        },
        // The callee reverts inside a call that succeeds: slot 9 records the failure.
        Step::Nested {
            caller: 0,
            contract: 0,
            target: 1,
            inner: Inner::Revert,
            then_revert: false,
            value: 40,
        },
        Step::Create2 { caller: 2, contract: 0, salt: 1, self_destructing: false, value: 3 },
        Step::Create2 { caller: 2, contract: 0, salt: 2, self_destructing: true, value: 4 },
        // Gone with no trace, so its address can be created again.
        Step::Create2 { caller: 2, contract: 0, salt: 2, self_destructing: true, value: 0 },
        Step::Destruct { caller: 0, contract: 1, beneficiary: CALLERS },
    ];
    let mut kinds = Vec::new();
    for step in &steps {
        kinds.push(match h.step(step, 0, 0).unwrap() {
            Outcome::Success { .. } => "success",
            Outcome::Revert { data, .. } => {
                assert!(data.is_empty() || U256::from_be_slice(&data) == U256::from(0xdead));
                "revert"
            }
            Outcome::Halt { .. } => "halt",
            Outcome::Invalid => "invalid",
        });
    }
    assert_eq!(
        kinds,
        [
            "success", "success", "success", "success", "revert", "halt", "invalid", "revert",
            "success", "success", "success", "success", "success"
        ]
    );
    assert_eq!(h.contracts.len(), 3, "two deployed, one by CREATE2 (the other destroyed itself)");
}

/// A reverted frame takes back what it moved through a ledger view (the one revert n-VM's own
/// code must get right: the view's writes go through revm's journal). Router A calls router B,
/// which calls GOLD's ERC-20 view `transfer` and then reverts; A's call succeeds. Plain revm
/// has no views, so this is checked against the ledger, not against revm.
#[test]
fn a_reverted_inner_frame_takes_back_its_erc20_view_transfer() {
    let mut h = Harness::native();
    for caller in [0, 1] {
        h.step(&Step::Deploy { caller, value: 0 }, 0, 0).unwrap();
    }
    let (outer, inner) = (h.contracts[0], h.contracts[1]);
    let holder = legacy_id_com(&VmAddress::Evm(inner.into_array())).unwrap();
    let recipient = common::actor(2).id;
    let base = h.ours.clone();
    let mut overlay = TxOverlay::new(&base);
    common::create_gold(&mut overlay);
    Ledger::credit(&mut overlay, &GOLD, &holder, 1_000).unwrap();
    let (writes, _) = overlay.into_writes();
    h.ours.apply(&writes.into_iter().collect());
    let gold = |h: &Harness, id| Ledger::balance(&mut TxOverlay::new(&h.ours), &GOLD, id).unwrap();

    let transfer = erc20_transfer(h.callers[2].into_array(), 300);
    for (then_revert, moved) in [(true, 0), (false, 300)] {
        let view_call =
            router::call(nvm_vm_evm::erc20_address(&GOLD).into_array(), 0, &transfer, then_revert);
        let data = router::call(inner.into_array(), 0, &view_call, false);
        let op = Op { to: Some(outer), value: 0, data, gas_limit: 300_000 };
        let tx = h.transaction(0, &op, 0, 0);
        let outcome = h.run_ours(tx);
        h.nonces[0] += 1;
        assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
        let success =
            h.ours.get(&nvm_vm_evm::storage_key(&outer, &U256::from(router::CALL_SUCCESS_SLOT)));
        assert_eq!(success.unwrap().is_some(), !then_revert, "A's call to B succeeded");
        assert_eq!(
            (gold(&h, &holder), gold(&h, &recipient)),
            (1_000 - moved, moved),
            "inner frame reverted: {then_revert}"
        );
    }
}
