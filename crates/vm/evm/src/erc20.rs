//! The ERC-20 view of the ledger (SPEC §3): every mint answers at its own EVM address with the
//! ERC-20 interface, reading and writing the ledger's own balances and allowances — no wrapped
//! copy. It runs as a precompile beside revm's Ethereum ones. Its writes go through revm's
//! journal (ledger keys appear as storage slots of the view's address, the native token's
//! balances are the accounts' balances), so a revert undoes them like any contract's writes.

use crate::db::StateDb;
use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::{Revert, SolCall, SolError, SolEvent, sol};
use nvm_identity::{Registry, VmAddress, index_key};
use nvm_ledger::{Ledger, NATIVE_MINT, allowance_key, balance_key};
use nvm_primitives::{IdCom, Mint};
use revm::{
    context::{Cfg, ContextTr, JournalTr},
    handler::{EthPrecompiles, PrecompileProvider},
    interpreter::{CallInputs, CallScheme, Gas, InstructionResult, InterpreterResult},
    primitives::{AddressSet, hardfork::SpecId},
};

/// Where a ledger token answers as an ERC-20: `SHA-256("erc20-addr:" ‖ mint)[12..32]`.
pub fn erc20_address(mint: &Mint) -> Address {
    Address::from(nvm_ledger::erc20_view_address(mint))
}

sol! {
    function name() external view returns (string);
    function symbol() external view returns (string);
    function decimals() external view returns (uint8);
    function totalSupply() external view returns (uint256);
    function balanceOf(address owner) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    /// n-VM extension: pays a 32-byte address (an SVM address or an id_com).
    function transferToVmAddress(bytes32 to, uint256 value) external returns (bool);
    /// n-VM extension: pays a Bitcoin output script (SPEC §3's BVM view). The native token
    /// becomes a UTXO under the script and the call returns its funding transaction's txid
    /// (display byte order, as wallets show it) — unless the script is one an identity shows
    /// (its BVM address, a linked key's), whose balance it credits (returns zero). Any other
    /// token goes to the script's holder (returns zero).
    function transferToScript(bytes script, uint256 value) external returns (bytes32);
    /// A payment of the native token into a UTXO; `txid` in display byte order, output 0.
    event TransferToScript(address indexed from, bytes32 indexed txid, bytes script, uint256 value);
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
}

/// Gas of any call to a view (the reads it makes: token record, index lookups, one slot).
const CALL_GAS: u64 = 2_600;
/// Gas of each ledger write (a balance or an allowance), as a storage write.
const WRITE_GAS: u64 = 5_000;
/// Gas of a Transfer or Approval log (LOG3 with 32 bytes of data).
const LOG_GAS: u64 = 375 * 4 + 8 * 32;
/// Gas per byte of a script a UTXO is locked under (kept twice: in the UTXO and in its funding
/// transaction), as contract code is charged per byte it deposits.
const SCRIPT_BYTE_GAS: u64 = 200;

/// revm's Ethereum precompiles (or a variant's set) plus the ledger's ERC-20 views.
#[derive(Clone, Debug)]
pub struct LedgerPrecompiles {
    eth: EthPrecompiles,
}

impl LedgerPrecompiles {
    /// `precompiles` (a variant's set at `spec`) and the ERC-20 views.
    pub fn with(precompiles: &'static revm::precompile::Precompiles, spec: SpecId) -> Self {
        Self { eth: EthPrecompiles { precompiles, spec } }
    }
}

/// Why a view call stops: a revert with a reason, or a failure of the node's state.
enum Stop {
    Revert(String),
    OutOfGas,
    State(String),
}

type ViewResult<T> = Result<T, Stop>;

fn state_stop(e: impl std::fmt::Display) -> Stop {
    Stop::State(e.to_string())
}

fn slot(key: [u8; 32]) -> U256 {
    U256::from_be_bytes(key)
}

/// A view's bookkeeping slot `SHA-256("erc20:credited:" ‖ id_com)`, holding `id_com`: the view
/// credited that identity. Written through revm's journal like the balances (so a revert takes
/// it back); the EVM commit turns it into the identity's holdings entry and never stores it.
pub(crate) fn credited_marker(id: &IdCom) -> [u8; 32] {
    nvm_primitives::sha256_parts(&[b"erc20:credited:", id])
}

/// A view's bookkeeping slot `SHA-256("erc20:moved:" ‖ id_com)`, holding `id_com`: the view
/// wrote that identity's balance. The EVM commit turns it into a note of the balance for the
/// node's index of holders (the balance slots themselves are hashes) and never stores it.
pub(crate) fn moved_marker(id: &IdCom) -> [u8; 32] {
    nvm_primitives::sha256_parts(&[b"erc20:moved:", id])
}

/// The native view's bookkeeping slot `SHA-256("erc20:script-payments")`: how many payments into
/// scripts the transaction has made so far, so each gets its own funding txid. Journaled like the
/// balances (a reverted payment does not count); the EVM commit never stores it.
pub(crate) fn script_payments_slot() -> [u8; 32] {
    nvm_primitives::sha256(b"erc20:script-payments")
}

/// One call to one view, with the gas it has used so far.
struct ViewCall<'c, CTX> {
    ctx: &'c mut CTX,
    view: Address,
    mint: Mint,
    caller: Address,
    gas: Gas,
}

impl<CTX: ContextTr<Db: StateDb>> ViewCall<'_, CTX> {
    fn charge(&mut self, cost: u64) -> ViewResult<()> {
        if self.gas.record_regular_cost(cost) { Ok(()) } else { Err(Stop::OutOfGas) }
    }

    /// The identity an address names: an address of the accounts' space (Ethereum's, or Tron's
    /// in the Tron VM) in the reverse index, else the other space's address in it, else the
    /// address's legacy identity in its own space.
    fn resolve20(&mut self, address: Address) -> ViewResult<IdCom> {
        let db = self.ctx.db_mut();
        let own = db.space().address(address.into_array());
        let other = match own.evm() {
            Some(raw) => VmAddress::Tvm(raw),
            None => VmAddress::Evm(address.into_array()),
        };
        let state = db.state();
        let named = if state.get(&index_key(&own)).map_err(state_stop)?.is_none()
            && state.get(&index_key(&other)).map_err(state_stop)?.is_some()
        {
            other
        } else {
            own
        };
        Registry::resolve(state, &named).map_err(state_stop)
    }

    /// The identity a 32-byte address names: an SVM address, or an id_com itself.
    fn resolve32(&mut self, address: B256) -> ViewResult<IdCom> {
        let state = self.ctx.db_mut().state();
        let svm = VmAddress::Svm(address.0);
        if state.get(&index_key(&svm)).map_err(state_stop)?.is_none()
            && Registry::get(state, &address.0).map_err(state_stop)?.is_some()
        {
            return Ok(address.0);
        }
        Registry::resolve(state, &svm).map_err(state_stop)
    }

    fn load(&mut self, key: [u8; 32]) -> ViewResult<U256> {
        let view = self.view;
        self.ctx.journal_mut().load_account(view).map_err(state_stop)?;
        Ok(self.ctx.journal_mut().sload(view, slot(key)).map_err(state_stop)?.data)
    }

    fn store(&mut self, key: [u8; 32], value: U256) -> ViewResult<()> {
        self.charge(WRITE_GAS)?;
        let view = self.view;
        self.ctx.journal_mut().load_account(view).map_err(state_stop)?;
        self.ctx.journal_mut().sstore(view, slot(key), value).map_err(state_stop)?;
        Ok(())
    }

    fn balance(&mut self, owner: Address) -> ViewResult<U256> {
        if self.mint == NATIVE_MINT {
            let account = self.ctx.journal_mut().load_account(owner).map_err(state_stop)?;
            return Ok(account.data.info.balance);
        }
        let id = self.resolve20(owner)?;
        self.load(balance_key(&self.mint, &id))
    }

    /// Moves `value` from `from`'s identity to `to`'s and logs the ERC-20 Transfer. `named`: the
    /// caller named `to_shown` (an EVM address), rather than a 32-byte address.
    fn move_value(
        &mut self,
        from: Address,
        to: IdCom,
        to_shown: Address,
        value: U256,
        named: bool,
    ) -> ViewResult<()> {
        if self.mint == NATIVE_MINT {
            // Native balances are EVM account balances: move them through the journal, to the
            // recipient identity's own EVM account.
            self.charge(2 * WRITE_GAS)?;
            let to_account = self.ctx.db_mut().space().account_of(&to);
            let failed =
                self.ctx.journal_mut().transfer(from, to_account, value).map_err(state_stop)?;
            if failed.is_some() {
                return Err(Stop::Revert("ERC20: transfer amount exceeds balance".into()));
            }
        } else {
            self.move_token(from, to, value)?;
        }
        if named {
            // The recipient's EVM account, touched, is resolved (and its legacy identity
            // indexed) when the transaction commits, as every account an EVM transaction
            // touches is.
            self.ctx.journal_mut().load_account(to_shown).map_err(state_stop)?;
            self.ctx.journal_mut().touch_account(to_shown);
        }
        self.log(Transfer { from, to: to_shown, value }.encode_log_data())
    }

    /// Moves `value` of the (non-native) token from `from`'s identity to `to`, through the
    /// journal; reverts on an overdraft.
    fn move_token(&mut self, from: Address, to: IdCom, value: U256) -> ViewResult<()> {
        let from_id = self.resolve20(from)?;
        let (from_key, to_key) = (balance_key(&self.mint, &from_id), balance_key(&self.mint, &to));
        let available = self.load(from_key)?;
        if available < value {
            return Err(Stop::Revert("ERC20: transfer amount exceeds balance".into()));
        }
        // Refused before anything is written (a move outside a view call has no frame of its
        // own to revert).
        let overflows =
            |before: U256| before.checked_add(value).is_none_or(|v| v > U256::from(u128::MAX));
        if from_key != to_key && overflows(self.load(to_key)?) {
            return Err(Stop::Revert("ERC20: balance overflow".into()));
        }
        self.store(from_key, available - value)?;
        let before = self.load(to_key)?;
        self.store(to_key, before + value)?;
        let view = self.view;
        if before.is_zero() && !value.is_zero() {
            // A first credit: noted in the recipient's holdings when the transaction commits.
            let marker = slot(credited_marker(&to));
            self.ctx.journal_mut().sstore(view, marker, slot(to)).map_err(state_stop)?;
        }
        for id in [from_id, to] {
            let marker = slot(moved_marker(&id));
            self.ctx.journal_mut().sstore(view, marker, slot(id)).map_err(state_stop)?;
        }
        Ok(())
    }

    /// `transferToScript`: see its declaration.
    fn transfer_to_script(&mut self, script: &[u8], value: U256) -> ViewResult<B256> {
        nvm_utxo::check_script(script).map_err(Stop::Revert)?;
        let caller = self.caller;
        let credited =
            nvm_utxo::credited_identity(self.ctx.db_mut().state(), script).map_err(state_stop)?;
        if self.mint != NATIVE_MINT || credited.is_some() {
            let to = match credited {
                Some(id) => id,
                None => nvm_utxo::script_holder(self.ctx.db_mut().state(), script)
                    .map_err(state_stop)?,
            };
            let shown = self.ctx.db_mut().space().account_of(&to);
            self.move_value(caller, to, shown, value, false)?;
            return Ok(B256::ZERO);
        }
        let amount = u128::try_from(value)
            .map_err(|_| Stop::Revert("ERC20: transfer amount exceeds balance".into()))?;
        let value_sat = nvm_utxo::whole_satoshi(amount).map_err(Stop::Revert)?;
        let script_gas = SCRIPT_BYTE_GAS * script.len() as u64;
        self.charge(2 * WRITE_GAS + script_gas)?;
        let counter = script_payments_slot();
        let index = self.load(counter)?;
        self.store(counter, index + U256::from(1))?;
        let index = u32::try_from(index)
            .map_err(|_| Stop::Revert("too many payments into scripts".into()))?;
        let origin = self.ctx.db_mut().origin();
        let payment = nvm_utxo::ScriptPayment { origin, index, value_sat, script_pubkey: script };
        let txid = payment.shown_txid();
        let view = self.view;
        let failed = self.ctx.journal_mut().transfer(caller, view, value).map_err(state_stop)?;
        if failed.is_some() {
            return Err(Stop::Revert("ERC20: transfer amount exceeds balance".into()));
        }
        let txid = B256::from(txid);
        let event = TransferToScript { from: caller, txid, script: script.to_vec().into(), value };
        self.charge(8 * script.len() as u64)?;
        self.log(event.encode_log_data())?;
        Ok(txid)
    }

    fn log(&mut self, data: alloy_primitives::LogData) -> ViewResult<()> {
        self.charge(LOG_GAS)?;
        let address = self.view;
        self.ctx.journal_mut().log(Log { address, data });
        Ok(())
    }

    fn spend_allowance(&mut self, owner: Address, value: U256) -> ViewResult<()> {
        let (owner_id, spender_id) = (self.resolve20(owner)?, self.resolve20(self.caller)?);
        let key = allowance_key(&self.mint, &owner_id, &spender_id);
        let allowed = self.load(key)?;
        if allowed < value {
            return Err(Stop::Revert("ERC20: insufficient allowance".into()));
        }
        // As in the ledger, the largest allowance is unlimited and never spent.
        if allowed != U256::from(u128::MAX) {
            self.store(key, allowed - value)?;
        }
        Ok(())
    }

    fn token_info(&mut self) -> ViewResult<nvm_ledger::TokenInfo> {
        let mint = self.mint;
        Ledger::token(self.ctx.db_mut().state(), &mint)
            .map_err(state_stop)?
            .ok_or_else(|| Stop::Revert("token does not exist".into()))
    }

    /// Decodes the call and runs it; `is_static` forbids writes.
    fn dispatch(&mut self, input: &[u8], is_static: bool) -> ViewResult<Vec<u8>> {
        self.charge(CALL_GAS)?;
        let selector: [u8; 4] = input
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Stop::Revert("no function selector".into()))?;
        let bad = |e: alloy_sol_types::Error| Stop::Revert(format!("malformed call: {e}"));
        let writes = matches!(
            selector,
            transferCall::SELECTOR
                | approveCall::SELECTOR
                | transferFromCall::SELECTOR
                | transferToVmAddressCall::SELECTOR
                | transferToScriptCall::SELECTOR
        );
        if writes && is_static {
            return Err(Stop::Revert("state change in a static call".into()));
        }
        let caller = self.caller;
        Ok(match selector {
            nameCall::SELECTOR => nameCall::abi_encode_returns(&self.token_info()?.name),
            symbolCall::SELECTOR => symbolCall::abi_encode_returns(&self.token_info()?.symbol),
            decimalsCall::SELECTOR => {
                decimalsCall::abi_encode_returns(&self.token_info()?.decimals)
            }
            totalSupplyCall::SELECTOR => {
                totalSupplyCall::abi_encode_returns(&U256::from(self.token_info()?.supply))
            }
            balanceOfCall::SELECTOR => {
                let call = balanceOfCall::abi_decode(input).map_err(bad)?;
                balanceOfCall::abi_encode_returns(&self.balance(call.owner)?)
            }
            allowanceCall::SELECTOR => {
                let call = allowanceCall::abi_decode(input).map_err(bad)?;
                let (owner, spender) = (self.resolve20(call.owner)?, self.resolve20(call.spender)?);
                let allowed = self.load(allowance_key(&self.mint, &owner, &spender))?;
                allowanceCall::abi_encode_returns(&allowed)
            }
            transferCall::SELECTOR => {
                let call = transferCall::abi_decode(input).map_err(bad)?;
                let to = self.resolve20(call.to)?;
                self.move_value(caller, to, call.to, call.value, true)?;
                transferCall::abi_encode_returns(&true)
            }
            transferToVmAddressCall::SELECTOR => {
                let call = transferToVmAddressCall::abi_decode(input).map_err(bad)?;
                let to = self.resolve32(call.to)?;
                let shown = self.ctx.db_mut().space().account_of(&to);
                self.move_value(caller, to, shown, call.value, false)?;
                transferToVmAddressCall::abi_encode_returns(&true)
            }
            transferToScriptCall::SELECTOR => {
                let call = transferToScriptCall::abi_decode(input).map_err(bad)?;
                let txid = self.transfer_to_script(&call.script, call.value)?;
                transferToScriptCall::abi_encode_returns(&txid)
            }
            approveCall::SELECTOR => {
                let call = approveCall::abi_decode(input).map_err(bad)?;
                if call.value > U256::from(u128::MAX) {
                    return Err(Stop::Revert("ERC20: allowance above the ledger's range".into()));
                }
                let (owner, spender) = (self.resolve20(caller)?, self.resolve20(call.spender)?);
                self.store(allowance_key(&self.mint, &owner, &spender), call.value)?;
                let approval = Approval { owner: caller, spender: call.spender, value: call.value };
                self.log(approval.encode_log_data())?;
                approveCall::abi_encode_returns(&true)
            }
            transferFromCall::SELECTOR => {
                let call = transferFromCall::abi_decode(input).map_err(bad)?;
                self.spend_allowance(call.from, call.value)?;
                let to = self.resolve20(call.to)?;
                self.move_value(call.from, to, call.to, call.value, true)?;
                transferFromCall::abi_encode_returns(&true)
            }
            other => {
                return Err(Stop::Revert(format!(
                    "unknown ERC-20 function 0x{}",
                    hex::encode(other)
                )));
            }
        })
    }
}

/// A ledger token's balance and moves for a variant's own instructions (Tron's TRC-10 opcodes),
/// outside any view call: the view's own journaled reads and writes, so a frame that reverts
/// undoes its moves. No gas is metered here (the instruction charges its own).
fn outside_call<CTX: ContextTr<Db: StateDb>>(ctx: &mut CTX, mint: Mint) -> ViewCall<'_, CTX> {
    let view = erc20_address(&mint);
    ViewCall { ctx, view, mint, caller: Address::ZERO, gas: Gas::new(u64::MAX) }
}

/// What `owner`'s identity holds of the (non-native) token `mint`, as the journal has it.
pub fn journaled_token_balance<CTX: ContextTr<Db: StateDb>>(
    ctx: &mut CTX,
    mint: Mint,
    owner: Address,
) -> Result<U256, String> {
    match outside_call(ctx, mint).balance(owner) {
        Ok(balance) => Ok(balance),
        Err(Stop::State(e)) => Err(e),
        Err(Stop::Revert(e)) => Err(e),
        Err(Stop::OutOfGas) => Err("out of gas outside a call".into()),
    }
}

/// Moves `amount` of the (non-native) token `mint` from `from`'s identity to `to`'s through the
/// journal, touching `to` (its legacy identity is indexed when the transaction commits); `false`
/// if `from` holds less (nothing moved). No log: the ERC-20 view did not move it.
pub fn journaled_token_move<CTX: ContextTr<Db: StateDb>>(
    ctx: &mut CTX,
    mint: Mint,
    from: Address,
    to: Address,
    amount: U256,
) -> Result<bool, String> {
    let mut call = outside_call(ctx, mint);
    let moved = call.resolve20(to).and_then(|to_id| call.move_token(from, to_id, amount));
    match moved {
        Ok(()) => {
            ctx.journal_mut().load_account(to).map_err(|e| e.to_string())?;
            ctx.journal_mut().touch_account(to);
            Ok(true)
        }
        Err(Stop::Revert(_)) => Ok(false),
        Err(Stop::State(e)) => Err(e),
        Err(Stop::OutOfGas) => Err("out of gas outside a call".into()),
    }
}

impl<CTX: ContextTr<Db: StateDb>> PrecompileProvider<CTX> for LedgerPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.eth, spec)
    }

    fn run(
        &mut self,
        ctx: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        if let Some(result) = self.eth.run(ctx, inputs)? {
            return Ok(Some(result));
        }
        let view = inputs.bytecode_address;
        let mint = ctx.db_mut().view_mint(&view).map_err(|e| e.to_string())?;
        let Some(mint) = mint else { return Ok(None) };
        let input = inputs.input.bytes(ctx);
        let mut call =
            ViewCall { ctx, view, mint, caller: inputs.caller, gas: Gas::new(inputs.gas_limit) };
        // A view's state is the ledger's: code running as another account (DELEGATECALL,
        // CALLCODE) or sending value to it cannot touch it.
        let outcome = if !matches!(inputs.scheme, CallScheme::Call | CallScheme::StaticCall)
            || inputs.target_address != view
        {
            Err(Stop::Revert("ERC-20 views can only be called directly".into()))
        } else if !inputs.value.get().is_zero() {
            Err(Stop::Revert("ERC-20 views do not accept value".into()))
        } else {
            call.dispatch(&input, inputs.is_static)
        };
        let gas = call.gas;
        match outcome {
            Ok(output) => Ok(Some(InterpreterResult::new(
                InstructionResult::Return,
                Bytes::from(output),
                gas,
            ))),
            Err(Stop::Revert(reason)) => Ok(Some(InterpreterResult::new(
                InstructionResult::Revert,
                Bytes::from(Revert::from(reason).abi_encode()),
                gas,
            ))),
            Err(Stop::OutOfGas) => {
                let mut gas = gas;
                gas.spend_all();
                Ok(Some(InterpreterResult::new(
                    InstructionResult::PrecompileOOG,
                    Bytes::new(),
                    gas,
                )))
            }
            Err(Stop::State(e)) => Err(e),
        }
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.eth.warm_addresses()
    }

    fn contains(&self, address: &Address) -> bool {
        self.eth.contains(address)
    }
}

/// Makes real the payments into scripts that a transaction's native view logged (a successful
/// transaction's logs; a failed one has none): each a UTXO with its funding transaction, in log
/// order, as `transferToScript` numbered them. Their value left its payers through the journal,
/// to the view's account, which the commit does not store. Returns the value they hold.
pub(crate) fn settle_script_payments(
    state: &mut dyn nvm_state_api::StateAccess,
    env: &nvm_vm_api::TxEnv<'_>,
    logs: &[Log],
) -> Result<u128, String> {
    let native_view = erc20_address(&NATIVE_MINT);
    let mut paid = 0u128;
    let payments = logs.iter().filter(|log| {
        log.address == native_view
            && log.topics().first() == Some(&TransferToScript::SIGNATURE_HASH)
    });
    for (index, log) in payments.enumerate() {
        let event = TransferToScript::decode_log_data(&log.data).map_err(|e| e.to_string())?;
        let amount = u128::try_from(event.value).map_err(|e| e.to_string())?;
        let payment = nvm_utxo::ScriptPayment {
            origin: env.tx_hash,
            index: u32::try_from(index).map_err(|e| e.to_string())?,
            value_sat: nvm_utxo::whole_satoshi(amount)?,
            script_pubkey: &event.script,
        };
        // The UTXO the precompile numbered and logged: the same funding transaction.
        match payment.pay(state, env.block.height).map_err(|e| e.to_string())? {
            made if made.shown_txid() == Some(event.txid.0) => paid += amount,
            other => {
                return Err(format!(
                    "a payment into a script logged {}, went to {other:?}",
                    event.txid
                ));
            }
        }
    }
    Ok(paid)
}
