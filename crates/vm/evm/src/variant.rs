//! The EVM as a framework for variants (the Tron VM is one): n-VM runs revm unforked, and a
//! variant changes what revm lets a chain change — its instruction table (opcodes added,
//! replaced or removed, their static gas) and the handler each transaction runs through
//! (validation, gas, fees, rewards) — the way op-revm and revm's `examples/my_evm` and
//! `examples/custom_opcodes` do. [`crate::EvmVm`] is generic over the variant and monomorphised
//! for each: mainline Ethereum ([`Mainline`]) pays nothing for the indirection.

use crate::{AccountSpace, DbError, UnifiedDb, erc20::LedgerPrecompiles};
use revm::{
    Context, Journal,
    context::{BlockEnv, CfgEnv, Evm, TxEnv, result::EVMError},
    context_interface::result::{ExecutionResult, InvalidTransaction},
    handler::{EthFrame, Handler, MainnetHandler, instructions::EthInstructions},
    inspector::{Inspector, InspectorHandler},
    interpreter::interpreter::EthInterpreter,
    precompile::{PrecompileSpecId, Precompiles},
    primitives::hardfork::SpecId,
};
use std::ops::RangeInclusive;

/// The revm context every variant runs in: a block, a transaction and a config over the
/// unified state (`'s` borrows the transaction's overlay, `'b` the state below it), with the
/// token values of its call frames in revm's `chain` slot.
pub type EvmContext<'s, 'b> =
    Context<BlockEnv, TxEnv, CfgEnv, UnifiedDb<'s, 'b>, Journal<UnifiedDb<'s, 'b>>, FrameValues>;

/// A ledger token a call frame was sent beside its native value — Tron's TRC-10 `CALLTOKEN`, or a
/// transaction's `call_token_value`: the token's id as the variant numbers it, and the amount.
/// Mainline never sends one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenValue {
    pub id: u64,
    pub amount: u64,
}

/// What a variant keeps beside revm's context for one transaction: the token value of each
/// running frame (innermost last), and the one the frame about to start is sent (set by the
/// instruction or transaction that starts it, taken by the variant's handler when it does).
#[derive(Clone, Debug, Default)]
pub struct FrameValues {
    pub next: Option<TokenValue>,
    pub frames: Vec<TokenValue>,
    /// How many internal transactions (calls and creations below the first frame, in the order
    /// they start, reverted ones too) the transaction has made so far: Tron numbers its nested
    /// `CREATE`s' addresses by it.
    pub internal_txs: u64,
    /// A simulation's deadline, watched at every jump ([`crate::deadline`]); none in blocks.
    pub(crate) watch: Option<crate::deadline::Watch>,
}

impl FrameValues {
    /// The token value of the frame running (none: zero).
    pub fn current(&self) -> TokenValue {
        self.frames.last().copied().unwrap_or_default()
    }
}

/// A variant's instruction table over that context.
pub type EvmInstructions<'s, 'b> = EthInstructions<EthInterpreter, EvmContext<'s, 'b>>;

/// The EVM a variant runs: revm's own `Evm` over [`EvmContext`], the variant's instruction
/// table and the ledger's precompiles (mainline's, and the ERC-20 views of ledger tokens). `I`
/// is the inspector a trace runs it with (none in blocks and calls).
pub type VariantEvm<'s, 'b, I = ()> = Evm<
    EvmContext<'s, 'b>,
    I,
    EvmInstructions<'s, 'b>,
    LedgerPrecompiles,
    EthFrame<EthInterpreter>,
>;

/// What a failed run reports: the state below failed, or the transaction is invalid for revm.
pub type VariantError = EVMError<DbError, InvalidTransaction>;

/// A variant of the EVM: what it changes of mainline revm. Every method defaults to mainline.
pub trait EvmVariant: Clone + Default + Send + Sync + 'static {
    /// The name of the VM it is (`Vm::name`; mainline: `evm`).
    fn name(&self) -> &'static str {
        "evm"
    }

    /// The opcodes of the VM it is (mainline: the EVM's, 0x10–0x1F, SPEC §1).
    fn opcodes(&self) -> RangeInclusive<u8> {
        0x10..=0x1F
    }

    /// Whose addresses its accounts are (Ethereum's by default; the Tron VM's are Tron's).
    fn space(&self) -> AccountSpace {
        AccountSpace::ETHEREUM
    }

    /// Changes mainline's instruction table at `spec` (opcodes in, out or replaced, with their
    /// static gas; [`EthInstructions::insert_instruction`]).
    fn instructions(&self, _table: &mut EvmInstructions<'_, '_>, _spec: SpecId) {}

    /// The precompiles at `spec` (mainline: Ethereum's; a variant may replace some, as Tron
    /// does at 0x09 and 0x0a). The ledger's ERC-20 views answer beside them either way.
    fn precompiles(&self, spec: SpecId) -> &'static Precompiles {
        Precompiles::new(PrecompileSpecId::from_spec_id(spec))
    }

    /// Runs the transaction `evm`'s context holds to its result, through the variant's
    /// [`Handler`] (mainline: revm's [`MainnetHandler`]). The journal is finalized by the
    /// caller, whatever this returns.
    fn run(&self, evm: &mut VariantEvm<'_, '_>) -> Result<ExecutionResult, VariantError> {
        MainnetHandler::default().run(evm)
    }

    /// [`EvmVariant::run`] with `evm`'s inspector watching every step, call and log (a trace,
    /// `debug_traceTransaction`): through revm's `InspectorHandler` of the same handler. A
    /// variant whose handler changes the frames overrides this (or refuses, if it serves no
    /// traces).
    fn inspect<'s, 'b, I>(
        &self,
        evm: &mut VariantEvm<'s, 'b, I>,
    ) -> Result<ExecutionResult, VariantError>
    where
        I: Inspector<EvmContext<'s, 'b>, EthInterpreter>,
    {
        MainnetHandler::default().inspect_run(evm)
    }
}

/// Mainline Ethereum: revm's instruction table and handler, unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mainline;

impl EvmVariant for Mainline {}
