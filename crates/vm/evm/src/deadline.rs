//! A time budget for simulated calls (`eth_call`, `eth_estimateGas`, Tron's constant calls), as
//! geth's `--rpc.evmtimeout`: the gas cap bounds a call's work only as well as gas prices its
//! opcodes, and a gas estimate runs the call some twenty-five times.
//!
//! A simulation with a deadline runs with `JUMP` and `JUMPI` replaced by versions that look at
//! the clock every [`JUMPS_PER_CHECK`] jumps — every loop jumps, and code without one ends within
//! its size — and abort the transaction past the deadline. Blocks never carry a deadline: their
//! instruction table is revm's (or the variant's) untouched.

use crate::variant::{EvmContext, EvmInstructions};
use revm::{
    bytecode::opcode::{JUMP, JUMPI},
    context::ContextTr,
    context_interface::context::ContextError,
    interpreter::{
        InstructionContext, InstructionExecResult, InstructionResult, instructions::control,
        interpreter::EthInterpreter,
    },
};
use std::time::{Duration, Instant};

/// How many jumps run between two looks at the clock (a look costs about as much as 100 jumps).
const JUMPS_PER_CHECK: u32 = 1024;

/// When a simulation must have ended, and how long it was given (for the error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub at: Instant,
    pub budget: Duration,
}

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self { at: Instant::now() + budget, budget }
    }

    /// What a simulation that ran past it fails with (geth's words).
    pub fn error(&self) -> String {
        format!("execution aborted (timeout = {:?})", self.budget)
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }
}

/// A deadline as the running transaction keeps it: and the jumps until the next look.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watch {
    pub deadline: Deadline,
    pub jumps_left: u32,
}

impl Watch {
    pub fn new(deadline: Deadline) -> Self {
        Self { deadline, jumps_left: JUMPS_PER_CHECK }
    }
}

type JumpContext<'a, 's, 'b> = InstructionContext<'a, EvmContext<'s, 'b>, EthInterpreter>;

/// Replaces `JUMP` and `JUMPI` in `table` with versions that watch the transaction's deadline
/// (their gas stays as it was).
pub(crate) fn watch_jumps(table: &mut EvmInstructions<'_, '_>) {
    let table = table.instruction_table_mut();
    table[usize::from(JUMP)] = revm::interpreter::Instruction::new(watched_jump);
    table[usize::from(JUMPI)] = revm::interpreter::Instruction::new(watched_jumpi);
}

/// Counts one jump against the transaction's watch; past the deadline, aborts the transaction
/// (a context error, which revm returns from the run instead of a result).
fn tick(context: &mut JumpContext<'_, '_, '_>) -> InstructionExecResult {
    let Some(watch) = context.host.chain_mut().watch.as_mut() else { return Ok(()) };
    watch.jumps_left -= 1;
    if watch.jumps_left > 0 {
        return Ok(());
    }
    watch.jumps_left = JUMPS_PER_CHECK;
    if !watch.deadline.passed() {
        return Ok(());
    }
    let error = watch.deadline.error();
    *context.host.error() = Err(ContextError::Custom(error));
    Err(InstructionResult::FatalExternalError)
}

fn watched_jump(mut context: JumpContext<'_, '_, '_>) -> InstructionExecResult {
    tick(&mut context)?;
    control::jump(context)
}

fn watched_jumpi(mut context: JumpContext<'_, '_, '_>) -> InstructionExecResult {
    tick(&mut context)?;
    control::jumpi(context)
}
