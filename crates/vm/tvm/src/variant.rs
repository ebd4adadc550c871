//! The Tron variant of the EVM (as op-revm varies revm): Tron's account space, `ISCONTRACT`,
//! the TRC-10 opcodes (`token_ops.rs`), Tron's resource opcodes refused, and Tron's contract
//! addresses — a deployment's from its transaction's id and owner, `CREATE2`'s with Tron's
//! `0x41` in place of Ethereum's `0xff`.

use nvm_vm_evm::{
    AccountSpace, EvmContext, EvmInstructions, EvmVariant, LedgerPrecompiles, StateDb,
    VariantError, VariantEvm,
};
use revm::{
    context::{ContextTr, result::ExecutionResult},
    context_interface::result::HaltReason,
    handler::{
        EthFrame, EvmTr, FrameData, FrameResult, Handler, ItemOrResult, MainnetHandler,
        PrecompileProvider,
    },
    interpreter::{
        CreateScheme, FrameInput, GasTracker, Instruction, InstructionContext,
        InstructionExecResult, InstructionResult, InterpreterAction,
        instructions::contract::create,
        instructions::host::{extcodesize, selfdestruct},
        interpreter::EthInterpreter,
        interpreter_action::FrameInit,
        interpreter_types::LoopControl,
    },
    primitives::{Address, B256, U256, hardfork::SpecId, keccak256},
};

/// java-tron's `ISCONTRACT`: pops an address, pushes 1 if it holds code, else 0.
pub const ISCONTRACT: u8 = 0xd4;
/// Tron's resource opcodes (freeze, unfreeze, vote, delegate, …), not activated here.
pub const RESOURCE_OPCODES: std::ops::RangeInclusive<u8> = 0xd5..=0xdf;
/// `EXTCODESIZE`, whose account access `ISCONTRACT` is.
const EXTCODESIZE: u8 = 0x3b;
/// `CREATE2`, whose address Tron derives its own way.
const CREATE2: u8 = 0xf5;
/// `SELFDESTRUCT`, an internal transaction on Tron.
const SELFDESTRUCT: u8 = 0xff;
/// `CALL` and `BALANCE`, whose static costs `CALLTOKEN` and `TOKENBALANCE` have.
const CALL: u8 = 0xf1;
const BALANCE: u8 = 0x31;
/// The base tier's cost (`CALLVALUE`'s), `CALLTOKENVALUE`'s and `CALLTOKENID`'s.
const BASE_GAS: u16 = 2;

/// Where a contract a transaction deploys lives (java-tron's `generateContractAddress`):
/// `keccak256(txID ‖ 0x41 ‖ owner)[12..]`.
pub fn contract_address(txid: &[u8; 32], owner: &Address) -> Address {
    let digest = keccak256([&txid[..], &[crate::TRON_ADDRESS_PREFIX], owner.as_slice()].concat());
    Address::from_slice(&digest[12..])
}

/// Where a `CREATE` inside a transaction puts a contract (java-tron's `generateContractAddress`
/// of the root transaction): `keccak256(txID ‖ n)[12..]`, `n` (8 bytes, big-endian) the number of
/// internal transactions the transaction had started before it.
pub fn nested_contract_address(txid: &[u8; 32], internal_txs: u64) -> Address {
    let digest = keccak256([&txid[..], &internal_txs.to_be_bytes()].concat());
    Address::from_slice(&digest[12..])
}

/// Where `CREATE2` by `sender` puts a contract (java-tron's `generateContractAddress2`):
/// `keccak256(0x41 ‖ sender ‖ salt ‖ keccak256(init code))[12..]`.
pub fn create2_address(sender: &Address, salt: U256, init_code_hash: B256) -> Address {
    let bytes = [
        &[crate::TRON_ADDRESS_PREFIX][..],
        sender.as_slice(),
        &salt.to_be_bytes::<32>(),
        init_code_hash.as_slice(),
    ]
    .concat();
    Address::from_slice(&keccak256(bytes)[12..])
}

/// Tron's changes to mainline revm.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tron;

/// The Tron VM's accounts: SPEC §2's Tron addresses, with code and storage apart from
/// Ethereum's (so a Tron contract never runs as an Ethereum one, nor the reverse).
pub const TRON_SPACE: AccountSpace = AccountSpace {
    format: &nvm_identity::TVM_FORMAT,
    code_hash_tag: b"tvm:codehash:",
    storage_tag: b"tvm:storage:",
};

impl EvmVariant for Tron {
    fn name(&self) -> &'static str {
        "tvm"
    }

    /// SPEC §1's Tron range.
    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        0x40..=0x4F
    }

    fn space(&self) -> AccountSpace {
        TRON_SPACE
    }

    fn instructions(&self, table: &mut EvmInstructions<'_, '_>, _spec: SpecId) {
        // ISCONTRACT costs what EXTCODESIZE does: the same account access.
        let gas = table.gas_table()[EXTCODESIZE as usize];
        table.insert_instruction(ISCONTRACT, Instruction::new(is_contract), gas);
        for opcode in RESOURCE_OPCODES {
            table.insert_instruction(opcode, Instruction::new(not_activated), 0);
        }
        let gas = table.gas_table()[CREATE2 as usize];
        table.insert_instruction(CREATE2, Instruction::new(tron_create2), gas);
        let gas = table.gas_table()[SELFDESTRUCT as usize];
        table.insert_instruction(SELFDESTRUCT, Instruction::new(tron_selfdestruct), gas);
        use crate::token_ops as ops;
        let gas = table.gas_table()[CALL as usize];
        table.insert_instruction(ops::CALLTOKEN, Instruction::new(ops::call_token), gas);
        let gas = table.gas_table()[BALANCE as usize];
        table.insert_instruction(ops::TOKENBALANCE, Instruction::new(ops::token_balance), gas);
        let (value, id) =
            (Instruction::new(ops::call_token_value), Instruction::new(ops::call_token_id));
        table.insert_instruction(ops::CALLTOKENVALUE, value, BASE_GAS);
        table.insert_instruction(ops::CALLTOKENID, id, BASE_GAS);
    }

    fn precompiles(&self, spec: SpecId) -> &'static revm::precompile::Precompiles {
        crate::precompiles::tron_precompiles(revm::precompile::PrecompileSpecId::from_spec_id(spec))
    }

    /// Mainline's handler, but a deployment's contract lives at Tron's address for it.
    fn run(&self, evm: &mut VariantEvm<'_, '_>) -> Result<ExecutionResult, VariantError> {
        TronHandler::default().run(evm)
    }

    /// Tron's API serves no traces: mainline's inspected run would create at Ethereum's
    /// addresses and move no TRC-10 tokens, so a trace through it would be of another execution.
    fn inspect<'s, 'b, I>(
        &self,
        _evm: &mut VariantEvm<'s, 'b, I>,
    ) -> Result<ExecutionResult, VariantError>
    where
        I: revm::Inspector<nvm_vm_evm::EvmContext<'s, 'b>>,
    {
        Err(revm::context::result::EVMError::Custom("the Tron VM serves no traces".into()))
    }
}

/// revm's mainnet handler with one change: the transaction's own deployment (its first frame)
/// creates at [`contract_address`] of the transaction's id (the state's origin) and caller.
#[derive(Default)]
struct TronHandler<'s, 'b> {
    mainnet: MainnetHandler<VariantEvm<'s, 'b>, VariantError, EthFrame<EthInterpreter>>,
}

impl<'s, 'b> Handler for TronHandler<'s, 'b> {
    type Evm = VariantEvm<'s, 'b>;
    type Error = VariantError;
    type HaltReason = HaltReason;

    fn first_frame_input(
        &mut self,
        evm: &mut Self::Evm,
        gas: &mut GasTracker,
    ) -> Result<Option<FrameInit>, Self::Error> {
        let mut init = self.mainnet.first_frame_input(evm, gas)?;
        if let Some(FrameInit { frame_input: FrameInput::Create(inputs), .. }) = &mut init {
            let txid = evm.ctx_mut().db_mut().origin();
            let address = contract_address(&txid, &inputs.caller());
            inputs.set_scheme(CreateScheme::Custom { address });
        }
        Ok(init)
    }

    /// Mainline's loop of frames, each started by [`start_frame`] (which sends it its token
    /// value) and its token value dropped when it returns.
    fn run_exec_loop(
        &mut self,
        evm: &mut Self::Evm,
        first_frame_input: FrameInit,
    ) -> Result<FrameResult, Self::Error> {
        if let Some(result) = start_frame(evm, first_frame_input)? {
            return Ok(result);
        }
        loop {
            let result = match evm.frame_run()? {
                ItemOrResult::Item(init) => match start_frame(evm, init)? {
                    None => continue,
                    Some(result) => result,
                },
                ItemOrResult::Result(result) => {
                    let values = evm.ctx_mut().chain_mut();
                    values.frames.pop();
                    // A `CALLTOKEN` that halted before its frame started sends nothing.
                    values.next = None;
                    result
                }
            };
            if let Some(result) = evm.frame_return_result(result)? {
                return Ok(result);
            }
        }
    }
}

/// Starts a frame and sends it the token value its instruction (or transaction) set: inside
/// the frame's checkpoint when it runs code, so a revert gives the tokens back; after it when it
/// ends at once (no code, a precompile), if it succeeded. `None` while the frame runs.
///
/// A frame below the first is an internal transaction, counted as java-tron counts them (not a
/// precompile's, not one refused before it starts for depth or funds); a `CREATE` among them
/// lands at [`nested_contract_address`] of the count so far.
fn start_frame(
    evm: &mut VariantEvm<'_, '_>,
    mut init: FrameInit,
) -> Result<Option<FrameResult>, VariantError> {
    let values = evm.ctx_mut().chain_mut();
    let token = values.next.take().unwrap_or_default();
    let (internal, count) = (!values.frames.is_empty(), values.internal_txs);
    // Who sends the frame's tokens to whom (a creation's recipient is known once it starts).
    let (mut parties, mut creator) = (None, None);
    match &mut init.frame_input {
        FrameInput::Call(inputs) => parties = Some((inputs.caller, inputs.target_address)),
        FrameInput::Create(inputs) => {
            if internal && inputs.scheme() == CreateScheme::Create {
                let txid = evm.ctx_mut().db_mut().origin();
                let address = nested_contract_address(&txid, count);
                inputs.set_scheme(CreateScheme::Custom { address });
            }
            creator = Some(inputs.caller());
        }
        _ => {}
    }
    let precompile = parties.is_some_and(|(_, to)| {
        <LedgerPrecompiles as PrecompileProvider<EvmContext<'_, '_>>>::contains(
            &evm.precompiles,
            &to,
        )
    });
    let ended = match evm.frame_init(init)? {
        ItemOrResult::Item(frame) => {
            if let (Some(from), FrameData::Create(created)) = (creator.take(), &frame.data) {
                parties = Some((from, created.created_address));
            }
            None
        }
        ItemOrResult::Result(result) => Some(result),
    };
    let refused = ended.as_ref().is_some_and(|r| {
        matches!(
            r.instruction_result(),
            InstructionResult::CallTooDeep | InstructionResult::OutOfFunds
        )
    });
    if internal && !precompile && !refused {
        evm.ctx_mut().chain_mut().internal_txs += 1;
    }
    let succeeded = ended.as_ref().is_none_or(|r| r.instruction_result().is_ok());
    if token.amount > 0
        && succeeded
        && let Some((from, to)) = parties
    {
        // The sender's holding was checked (by `CALLTOKEN`, or at admission) with nothing run
        // since: a shortfall here is this node's failure.
        let sent = crate::token_ops::send(evm.ctx_mut(), token, from, to)
            .map_err(revm::context::result::EVMError::Custom)?;
        if !sent {
            return Err(revm::context::result::EVMError::Custom(format!(
                "asset {} held by {from} fell short of {} between its check and its move",
                token.id, token.amount
            )));
        }
    }
    if ended.is_none() {
        evm.ctx_mut().chain_mut().frames.push(token);
    }
    Ok(ended)
}

/// `CREATE2` as mainline runs it, its new frame then sent to Tron's address for it. (Mainline's
/// instruction ends by suspending the frame with the new one as its action.)
fn tron_create2(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    let result = create::<true, _, _>(InstructionContext {
        interpreter: &mut *interpreter,
        host: &mut *host,
    });
    if let Some(InterpreterAction::NewFrame(FrameInput::Create(inputs))) =
        interpreter.bytecode.action()
        && let CreateScheme::Create2 { salt } = inputs.scheme()
    {
        let address = create2_address(&inputs.caller(), salt, inputs.init_code_hash());
        inputs.set_scheme(CreateScheme::Custom { address });
    }
    result
}

pub(crate) type TronContext<'a, 's, 'b> =
    InstructionContext<'a, EvmContext<'s, 'b>, EthInterpreter>;

fn is_contract(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    extcodesize(InstructionContext { interpreter: &mut *interpreter, host: &mut *host })?;
    let size = interpreter.stack.pop()?;
    if !interpreter.stack.push(U256::from(!size.is_zero())) {
        return Err(InstructionResult::StackOverflow);
    }
    Ok(())
}

/// `SELFDESTRUCT` as mainline runs it, counted as an internal transaction (java-tron makes one).
fn tron_selfdestruct(context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    let InstructionContext { interpreter, host } = context;
    selfdestruct(InstructionContext { interpreter: &mut *interpreter, host: &mut *host })?;
    host.chain_mut().internal_txs += 1;
    Ok(())
}

/// Tron's resource opcodes: staking and voting have no counterpart on this chain.
fn not_activated(_context: TronContext<'_, '_, '_>) -> InstructionExecResult {
    Err(InstructionResult::NotActivated)
}
