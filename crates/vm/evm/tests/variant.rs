//! The EVM as a framework for variants: a variant changes revm's instruction table and its
//! transaction handler without a fork, and what it changes is exactly what runs — mainline
//! beside it is untouched.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_primitives::{Bytes, U256};
use nvm_state_api::MemoryState;
use nvm_vm_api::{BlockEnv, VmError};
use nvm_vm_evm::{
    CallOutcome, CallRequest, EvmContext, EvmInstructions, EvmVariant, EvmVm, VariantError,
    VariantEvm,
};
use revm::{
    context::result::{EVMError, HaltReason},
    handler::{EvmTr, Handler},
    interpreter::{
        Instruction, InstructionContext, InstructionExecResult, InstructionResult,
        interpreter::EthInterpreter,
    },
    primitives::hardfork::SpecId,
};
use std::marker::PhantomData;

/// An opcode mainline leaves unassigned.
const MARK: u8 = 0x0c;
/// What `MARK` pushes.
const MARK_VALUE: u64 = 42;

/// Init code that runs `MARK` and returns the word it pushed: `MARK PUSH1 0 MSTORE PUSH1 32
/// PUSH1 0 RETURN`.
const RETURNS_MARK: [u8; 9] = [MARK, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];

fn mark(
    context: InstructionContext<'_, EvmContext<'_, '_>, EthInterpreter>,
) -> InstructionExecResult {
    if !context.interpreter.stack.push(U256::from(MARK_VALUE)) {
        return Err(InstructionResult::StackOverflow);
    }
    Ok(())
}

/// A variant with one opcode more (at 2 gas), and a handler that refuses calls moving value.
#[derive(Clone, Default)]
struct Marked;

impl EvmVariant for Marked {
    fn instructions(&self, table: &mut EvmInstructions<'_, '_>, _spec: SpecId) {
        table.insert_instruction(MARK, Instruction::new(mark), 2);
    }

    fn run(
        &self,
        evm: &mut VariantEvm<'_, '_>,
    ) -> Result<revm::context::result::ExecutionResult, VariantError> {
        NoValue(PhantomData).run(evm)
    }
}

/// revm's mainnet handler but for its environment check, which also refuses value.
struct NoValue<'s, 'b>(PhantomData<fn(&mut VariantEvm<'s, 'b>)>);

impl<'s, 'b> Handler for NoValue<'s, 'b> {
    type Evm = VariantEvm<'s, 'b>;
    type Error = VariantError;
    type HaltReason = HaltReason;

    fn validate_env(&self, evm: &mut Self::Evm) -> Result<(), Self::Error> {
        if !evm.ctx().tx.value.is_zero() {
            return Err(EVMError::Custom("this chain's calls move no value".into()));
        }
        revm::handler::validation::validate_env(evm.ctx())
    }
}

fn block() -> BlockEnv {
    BlockEnv {
        chain_id: 31_337,
        height: 1,
        timestamp_ms: 1_000,
        gas_limit: 30_000_000,
        ..Default::default()
    }
}

fn create(code: &[u8], value: u64) -> CallRequest {
    CallRequest {
        from: None,
        to: None,
        value: U256::from(value),
        data: Bytes::copy_from_slice(code),
        gas: Some(100_000),
        token: None,
        ..CallRequest::default()
    }
}

#[test]
fn a_variant_runs_its_own_opcode_and_handler_and_mainline_does_not() {
    let state = MemoryState::default();
    let variant = EvmVm { spec: SpecId::default(), variant: Marked };
    let mainline = <EvmVm>::default();

    match variant.simulate(&state, &block(), &create(&RETURNS_MARK, 0), None).unwrap() {
        CallOutcome::Success { output, .. } => {
            assert_eq!(U256::from_be_slice(&output), U256::from(MARK_VALUE))
        }
        other => panic!("the variant's opcode did not run: {other:?}"),
    }
    match mainline.simulate(&state, &block(), &create(&RETURNS_MARK, 0), None).unwrap() {
        CallOutcome::Halt { reason, .. } => assert!(reason.contains("OpcodeNotFound"), "{reason}"),
        other => panic!("mainline ran an opcode it does not have: {other:?}"),
    }

    // The variant's handler refuses a creation that moves value; mainline's checks the
    // balance instead (the zero address has none).
    let refused = variant.simulate(&state, &block(), &create(&RETURNS_MARK, 1), None).unwrap_err();
    assert!(matches!(&refused, VmError::Failed(m) if m.contains("move no value")), "{refused:?}");
    let mainline_refusal =
        mainline.simulate(&state, &block(), &create(&[0x00], 1), None).unwrap_err();
    assert!(!mainline_refusal.to_string().contains("move no value"), "{mainline_refusal:?}");
}
