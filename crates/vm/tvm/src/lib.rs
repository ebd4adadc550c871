//! The Tron VM (opcodes 0x40–0x4F, SPEC §1): the EVM crate's revm execution as a variant with
//! Tron's semantics, the way op-revm extends revm — no fork. What it changes so far:
//! - its accounts are Tron's: an identity's Tron address (SPEC §2), and contract code and
//!   storage of their own (`AccountSpace::TRON`), so a Tron contract never runs as an Ethereum
//!   one;
//! - `ISCONTRACT` (`0xd4`, java-tron's number): whether an address holds code;
//! - Tron's resource opcodes (`0xd5`–`0xdf`: freeze, vote, delegate, …) halt as not activated.
//!
//! The rest of issue 17 (TRC-10 opcodes and views, energy and fee limits, Tron's protobuf
//! transactions, the HTTP API) is `docs/TVM.md`'s "Not yet".

mod chain;
mod contract;
mod format;

pub use chain::dev_tron_addresses;
mod transaction;

pub use contract::{ENERGY_PRICE_SUN, MAX_FEE_LIMIT_SUN, energy_limit};
pub use format::{BANDWIDTH_PRICE_SUN, MAX_EXPIRATION_MS, TRON_TX_TAG, UNITS_PER_SUN, tron_tx_key};

pub use transaction::{
    Any, Contract, CreateSmartContract, MAX_TRON_TX_SIZE, Raw, SmartContract, TRON_ADDRESS_PREFIX,
    TransactionWire, TransferContract, TriggerSmartContract, TronCall, TronTx, TronTxError,
};

use nvm_state_api::{AccessSet, StateReader, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmResult};
use nvm_vm_evm::{AccountSpace, EvmContext, EvmInstructions, EvmVariant, EvmVm};
use revm::{
    interpreter::{
        Instruction, InstructionContext, InstructionExecResult, InstructionResult,
        instructions::host::extcodesize, interpreter::EthInterpreter,
    },
    primitives::{U256, hardfork::SpecId},
};

/// java-tron's `ISCONTRACT`: pops an address, pushes 1 if it holds code, else 0.
pub const ISCONTRACT: u8 = 0xd4;
/// Tron's resource opcodes (freeze, unfreeze, vote, delegate, …), not activated here.
pub const RESOURCE_OPCODES: std::ops::RangeInclusive<u8> = 0xd5..=0xdf;
/// `EXTCODESIZE`, whose account access `ISCONTRACT` is.
const EXTCODESIZE: u8 = 0x3b;

/// The Tron VM: the EVM crate's VM with the [`Tron`] variant (0x40–0x4F), wrapped so it can also
/// be Tron's wallet format (`format.rs`). Its EVM side is reached through `Deref`
/// (simulations).
#[derive(Clone, Copy, Debug, Default)]
pub struct TvmVm {
    pub evm: EvmVm<Tron>,
}

impl std::ops::Deref for TvmVm {
    type Target = EvmVm<Tron>;

    fn deref(&self) -> &EvmVm<Tron> {
        &self.evm
    }
}

/// Native envelopes' operations at 0x40–0x4F: the Tron variant's EVM.
impl Vm for TvmVm {
    fn name(&self) -> &'static str {
        self.evm.name()
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        self.evm.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        self.evm.check(payload)
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        self.evm.value_out(payload)
    }

    fn gas_reserved(&self, payload: &[u8]) -> u64 {
        self.evm.gas_reserved(payload)
    }

    fn declare(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        self.evm.declare(env, payload, state, access)
    }

    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        self.evm.execute(env, payload, state)
    }
}

/// Tron's changes to mainline revm.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tron;

impl EvmVariant for Tron {
    fn space(&self) -> AccountSpace {
        AccountSpace::TRON
    }

    fn instructions(&self, table: &mut EvmInstructions<'_, '_>, _spec: SpecId) {
        // ISCONTRACT costs what EXTCODESIZE does: the same account access.
        let gas = table.gas_table()[EXTCODESIZE as usize];
        table.insert_instruction(ISCONTRACT, Instruction::new(is_contract), gas);
        for opcode in RESOURCE_OPCODES {
            table.insert_instruction(opcode, Instruction::new(not_activated), 0);
        }
    }
}

type TronContext<'a, 's, 'b> = InstructionContext<'a, EvmContext<'s, 'b>, EthInterpreter>;

fn is_contract(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    extcodesize(InstructionContext { interpreter: &mut *interpreter, host: &mut *host })?;
    let size = interpreter.stack.pop()?;
    if !interpreter.stack.push(U256::from(!size.is_zero())) {
        return Err(InstructionResult::StackOverflow);
    }
    Ok(())
}

/// Tron's resource opcodes: staking and voting have no counterpart on this chain.
fn not_activated(_context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    Err(InstructionResult::NotActivated)
}
