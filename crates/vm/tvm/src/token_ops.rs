//! Tron's TRC-10 opcodes over the ledger, at java-tron's numbers: a ledger token is the TRC-10
//! asset its id names (`crate::asset`), and these move and read the same balance its ERC-20,
//! SPL and TRC-20 views do — through revm's journal, so a frame that reverts gives back what it
//! was sent.
//!
//! - `CALLTOKEN` (`0xd0`; pops gas, address, amount, token id, in offset, in size, out offset,
//!   out size; pushes 1 or 0): a `CALL` that sends `amount` of the asset instead of TRX. The move
//!   happens inside the callee's frame (the handler makes it once the frame has its checkpoint),
//!   so a callee that reverts returns the tokens. A caller holding less pushes 0 and calls
//!   nothing, as on java-tron.
//! - `TOKENBALANCE` (`0xd1`; pops token id, then address): what the address holds of the asset.
//! - `CALLTOKENVALUE` (`0xd2`), `CALLTOKENID` (`0xd3`): the asset amount and id the running frame
//!   was sent — by `CALLTOKEN`, or the transaction's `call_token_value`/`token_id` for its first
//!   frame; 0 in any other frame (tron-solc checks both in every non-payable function).
//!
//! An id that is no TRC-10 id (0, at most 1,000,000, or past `i64`) halts the frame
//! (`InvalidOperandOOG`), as java-tron refuses it.

use crate::variant::TronContext;
use nvm_vm_evm::{StateDb, TokenValue, journaled_token_balance, journaled_token_move};
use revm::{
    context::ContextTr,
    context_interface::context::ContextError,
    interpreter::{
        FrameInput, InstructionContext, InstructionExecResult, InstructionResult,
        InterpreterAction,
        instructions::contract::call,
        interpreter_types::{InputsTr, LoopControl, RuntimeFlag},
    },
    primitives::{Address, U256},
};

pub const CALLTOKEN: u8 = 0xd0;
pub const TOKENBALANCE: u8 = 0xd1;
pub const CALLTOKENVALUE: u8 = 0xd2;
pub const CALLTOKENID: u8 = 0xd3;

/// What `CALLTOKEN` pays beyond `CALL`'s costs when it moves tokens (as a `CALL` sending value
/// pays), and the stipend its callee then gets.
const TOKEN_TRANSFER_GAS: u64 = 9_000;
const TOKEN_TRANSFER_STIPEND: u64 = 2_300;

/// The asset id a stack word names, if it is one (java-tron: above 1,000,000, within `i64`).
fn token_id(word: U256) -> Result<u64, InstructionResult> {
    u64::try_from(word)
        .ok()
        .filter(|id| *id >= crate::FIRST_ASSET_ID && i64::try_from(*id).is_ok())
        .ok_or(InstructionResult::InvalidOperandOOG)
}

/// What `owner` holds of the asset `id` (0 for an asset that does not exist). A state that
/// cannot be read aborts the transaction: the error goes in the context, where revm returns it
/// from the run (a fatal halt without it would be a panic in revm's frame loop).
pub(crate) fn balance_of<CTX: ContextTr<Db: StateDb>>(
    host: &mut CTX,
    id: u64,
    owner: Address,
) -> Result<U256, InstructionResult> {
    let balance =
        crate::asset_mint(host.db_mut().state(), id).map_err(|e| e.to_string()).and_then(|mint| {
            match mint {
                Some(mint) => journaled_token_balance(host, mint, owner),
                None => Ok(U256::ZERO),
            }
        });
    balance.map_err(|e| {
        *host.error() = Err(ContextError::Custom(format!("TRC-10 balance: {e}")));
        InstructionResult::FatalExternalError
    })
}

/// Moves `token` from `from` to `to` through the journal; `false` if `from` holds too little.
pub(crate) fn send<CTX: ContextTr<Db: StateDb>>(
    host: &mut CTX,
    token: TokenValue,
    from: Address,
    to: Address,
) -> Result<bool, String> {
    let mint = crate::asset_mint(host.db_mut().state(), token.id).map_err(|e| e.to_string())?;
    let Some(mint) = mint else { return Ok(false) };
    journaled_token_move(host, mint, from, to, U256::from(token.amount))
}

fn push(context: TronContext<'_, '_, '_>, value: U256) -> InstructionExecResult {
    if context.interpreter.stack.push(value) {
        Ok(())
    } else {
        Err(InstructionResult::StackOverflow)
    }
}

pub(crate) fn call_token_value(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let amount = context.host.chain().current().amount;
    push(context, U256::from(amount))
}

pub(crate) fn call_token_id(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let id = context.host.chain().current().id;
    push(context, U256::from(id))
}

pub(crate) fn token_balance(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    let id = token_id(interpreter.stack.pop()?)?;
    let owner = Address::from_word(interpreter.stack.pop()?.into());
    let balance = balance_of(host, id, owner)?;
    push(InstructionContext { interpreter, host }, balance)
}

pub(crate) fn call_token(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    let [gas, to, amount, id] =
        interpreter.stack.popn::<4>().ok_or(InstructionResult::StackUnderflow)?;
    let id = token_id(id)?;
    let amount = u64::try_from(amount)
        .ok()
        .filter(|a| i64::try_from(*a).is_ok())
        .ok_or(InstructionResult::InvalidOperandOOG)?;
    if amount > 0 {
        if interpreter.runtime_flag.is_static() {
            return Err(InstructionResult::CallNotAllowedInsideStatic);
        }
        let sender = interpreter.input.target_address();
        if balance_of(host, id, sender)? < U256::from(amount) {
            // As java-tron: no call, 0 pushed (the frame goes on).
            interpreter.stack.popn::<4>().ok_or(InstructionResult::StackUnderflow)?;
            return push(InstructionContext { interpreter, host }, U256::ZERO);
        }
        if !interpreter.gas.record_regular_cost(TOKEN_TRANSFER_GAS) {
            return Err(InstructionResult::OutOfGas);
        }
    }
    // `CALL`'s own stack, sending no TRX; the handler sends the asset to the frame it starts.
    for word in [U256::ZERO, to, gas] {
        if !interpreter.stack.push(word) {
            return Err(InstructionResult::StackOverflow);
        }
    }
    host.chain_mut().next = Some(TokenValue { id, amount });
    let result = call::<{ revm::bytecode::opcode::CALL }, _, _>(InstructionContext {
        interpreter: &mut *interpreter,
        host: &mut *host,
    });
    if amount > 0
        && let Some(InterpreterAction::NewFrame(FrameInput::Call(inputs))) =
            interpreter.bytecode.action()
    {
        inputs.gas_limit = inputs.gas_limit.saturating_add(TOKEN_TRANSFER_STIPEND);
    }
    result
}
