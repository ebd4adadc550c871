//! The native runtime: identity and token-ledger operations (opcodes 0x01–0x0F).

mod ops;

pub use ops::NativeOp;

use nvm_identity::{IdentityError, Registry, VmAddress, id_com_from_credential, identity_key};
pub use nvm_ledger::{approval_topic, transfer_topic};

use nvm_ledger::{
    Ledger, NATIVE_MINT, TokenInfo, allowance_key, amount_log, balance_key, token_key,
};
use nvm_primitives::{IdCom, Log, Mint, SchemeId, VmKind, sha256_parts};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateReader, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};

/// Mint id of a token created by `creator` with the transaction of nonce `nonce`.
pub fn token_mint_id(creator: &IdCom, nonce: u64) -> Mint {
    sha256_parts(&[b"mint:", creator, &nonce.to_le_bytes()])
}

/// For a `CreateIdentity` payload, the credential it registers: the executor lets such a
/// transaction be signed by that credential for the not-yet-existing sender it creates.
pub fn self_creation(payload: &[u8]) -> Option<(u8, Vec<u8>, [u8; 32])> {
    match NativeOp::decode(payload).ok()? {
        NativeOp::CreateIdentity { scheme, public_key, salt } => Some((scheme, public_key, salt)),
        _ => None,
    }
}

fn identity_err(e: IdentityError) -> VmError {
    match e {
        IdentityError::State(s) => VmError::State(s),
        other => VmError::Failed(other.to_string()),
    }
}

/// Points `external` at `sender` and moves everything its legacy identity held — the native
/// balance, every mint in its holdings and each of `mints` — to `sender`, logging each move.
fn link(
    state: &mut TxOverlay<'_>,
    sender: &IdCom,
    external: &VmAddress,
    mints: &[Mint],
    logs: &mut Vec<Log>,
) -> VmResult<()> {
    let legacy = Registry::link(state, sender, external).map_err(VmError::from)?;
    Ledger::move_all(state, &legacy, sender, mints, logs).map_err(VmError::from)
}

/// What linking `external` touches: its index entry, its legacy identity's nonce, holdings (as
/// the state before the block has them) and balances.
fn declare_link(
    state: &dyn StateReader,
    external: &VmAddress,
    sender: &IdCom,
    mints: &[Mint],
    access: &mut AccessSet,
) -> VmResult<()> {
    // Only external addresses are linked (the op's fields are an EVM address or a Solana key).
    let Some(legacy) = nvm_identity::legacy_id_com(external) else { return Ok(()) };
    Registry::declare_link(access, external, sender);
    Ledger::declare_move_all(&mut TxOverlay::new(state), access, &legacy, sender, mints)
        .map_err(VmError::from)
}

fn scheme(byte: u8) -> VmResult<SchemeId> {
    SchemeId::try_from(byte).map_err(|e| VmError::Failed(e.to_string()))
}

/// Resolves an address against the state before the block, for declarations.
fn resolve_before(
    state: &dyn StateReader,
    address: &VmAddress,
    access: &mut AccessSet,
) -> VmResult<IdCom> {
    Registry::declare_resolve(access, address);
    Ok(Registry::resolve(&mut TxOverlay::new(state), address)?)
}

/// [`resolve_before`] for an address the transaction credits `mint` to (see
/// [`Registry::resolve_and_index`] and [`Registry::declare_credit`]).
fn resolve_credited_before(
    state: &dyn StateReader,
    mint: &Mint,
    address: &VmAddress,
    access: &mut AccessSet,
) -> VmResult<IdCom> {
    Registry::declare_resolve_and_index(access, address);
    let id = resolve_before(state, address, access)?;
    Registry::declare_credit(&mut TxOverlay::new(state), access, mint, address, &id)?;
    Ok(id)
}

/// The native runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeVm;

impl Vm for NativeVm {
    fn name(&self) -> &'static str {
        VmKind::Native.name()
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(&nvm_identity::NATIVE_FORMAT)
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        VmKind::Native.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        NativeOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
    }

    fn self_registration(&self, payload: &[u8]) -> Option<(u8, Vec<u8>, [u8; 32])> {
        self_creation(payload)
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        match NativeOp::decode(payload) {
            Ok(NativeOp::Transfer { mint, amount, .. }) if mint == NATIVE_MINT => amount,
            _ => 0,
        }
    }

    fn declare(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        let sender = &env.sender;
        match NativeOp::decode(payload).map_err(VmError::Invalid)? {
            NativeOp::CreateIdentity { scheme: s, public_key, salt } => {
                let id = id_com_from_credential(scheme(s)?, &public_key, &salt);
                Registry::declare_create(access, &id);
            }
            NativeOp::RotateCredential { .. } => {
                access.write(identity_key(sender));
            }
            NativeOp::Transfer { mint, to, .. } => {
                resolve_credited_before(state, &mint, &to, access)?;
                access.read(token_key(&mint)).write(balance_key(&mint, sender));
            }
            NativeOp::Approve { mint, spender, .. } => {
                let spender = resolve_before(state, &spender, access)?;
                access.read(token_key(&mint)).write(allowance_key(&mint, sender, &spender));
            }
            NativeOp::TransferFrom { mint, owner, to, .. } => {
                let owner = resolve_before(state, &owner, access)?;
                resolve_credited_before(state, &mint, &to, access)?;
                access
                    .read(token_key(&mint))
                    .write(allowance_key(&mint, &owner, sender))
                    .write(balance_key(&mint, &owner));
            }
            NativeOp::CreateToken { .. } => {
                let mint = token_mint_id(sender, env.nonce);
                Ledger::declare_create_token(&mut TxOverlay::new(state), access, &mint)?;
                Registry::declare_credit(
                    &mut TxOverlay::new(state),
                    access,
                    &mint,
                    &VmAddress::Native(*sender),
                    sender,
                )?;
            }
            NativeOp::Mint { mint, to, .. } => {
                resolve_credited_before(state, &mint, &to, access)?;
                access.write(token_key(&mint));
            }
            NativeOp::Burn { mint, .. } => {
                access.write(token_key(&mint)).write(balance_key(&mint, sender));
            }
            NativeOp::LinkEvmAccount { address, mints, .. } => {
                declare_link(state, &VmAddress::Evm(address), sender, &mints, access)?;
            }
            NativeOp::LinkSolanaKey { key, mints, .. } => {
                declare_link(state, &VmAddress::Svm(key), sender, &mints, access)?;
            }
            NativeOp::LinkTronKey { address, mints, .. } => {
                declare_link(state, &VmAddress::Tvm(address), sender, &mints, access)?;
            }
            // Any key at all: it runs alone.
            NativeOp::DevWriteState { .. } => access.exclusive = true,
        }
        Ok(())
    }

    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        let sender = env.sender;
        let mut logs = Vec::new();
        match NativeOp::decode(payload).map_err(VmError::Invalid)? {
            NativeOp::CreateIdentity { scheme: s, public_key, salt } => {
                let id =
                    Registry::create(state, scheme(s)?, &public_key, salt).map_err(identity_err)?;
                if id != sender {
                    return Err(VmError::Failed(format!(
                        "credential creates identity 0x{}, not the sender",
                        nvm_primitives::B256::from(id)
                    )));
                }
            }
            NativeOp::RotateCredential { scheme: s, public_key, proof } => {
                let s = scheme(s)?;
                let digest = Registry::rotation_digest(
                    env.block.chain_id,
                    &sender,
                    env.nonce,
                    s,
                    &public_key,
                );
                nvm_identity::verify(s, &public_key, &digest, &proof)
                    .map_err(|e| VmError::Failed(format!("new credential's proof: {e}")))?;
                Registry::rotate(state, &sender, s, &public_key).map_err(identity_err)?;
            }
            NativeOp::Transfer { mint, to, amount } => {
                let to = Registry::resolve_and_index(state, &to)?;
                Ledger::transfer(state, &mint, &sender, &to, amount).map_err(VmError::from)?;
                logs.push(amount_log(&mint, transfer_topic(), &sender, &to, amount));
            }
            NativeOp::Approve { mint, spender, amount } => {
                let spender = Registry::resolve(state, &spender)?;
                Ledger::approve(state, &mint, &sender, &spender, amount).map_err(VmError::from)?;
                logs.push(amount_log(&mint, approval_topic(), &sender, &spender, amount));
            }
            NativeOp::TransferFrom { mint, owner, to, amount } => {
                let owner = Registry::resolve(state, &owner)?;
                let to = Registry::resolve_and_index(state, &to)?;
                Ledger::transfer_from(state, &mint, &sender, &owner, &to, amount)
                    .map_err(VmError::from)?;
                logs.push(amount_log(&mint, transfer_topic(), &owner, &to, amount));
            }
            NativeOp::CreateToken { name, symbol, decimals, initial_supply } => {
                let mint = token_mint_id(&sender, env.nonce);
                let info = TokenInfo { name, symbol, decimals, supply: 0, authority: Some(sender) };
                Ledger::create_token(state, &mint, info).map_err(VmError::from)?;
                if initial_supply > 0 {
                    Ledger::mint(state, &mint, &sender, &sender, initial_supply)
                        .map_err(VmError::from)?;
                }
                logs.push(amount_log(&mint, transfer_topic(), &[0; 32], &sender, initial_supply));
            }
            NativeOp::Mint { mint, to, amount } => {
                let to = Registry::resolve_and_index(state, &to)?;
                Ledger::mint(state, &mint, &sender, &to, amount).map_err(VmError::from)?;
                logs.push(amount_log(&mint, transfer_topic(), &[0; 32], &to, amount));
            }
            NativeOp::Burn { mint, amount } => {
                Ledger::burn(state, &mint, &sender, amount).map_err(VmError::from)?;
                logs.push(amount_log(&mint, transfer_topic(), &sender, &[0; 32], amount));
            }
            NativeOp::LinkEvmAccount { address, signature, mints } => {
                nvm_identity::verify_evm_link(env.block.chain_id, &sender, &address, &signature)
                    .map_err(VmError::from)?;
                link(state, &sender, &VmAddress::Evm(address), &mints, &mut logs)?;
            }
            NativeOp::LinkSolanaKey { key, signature, mints } => {
                nvm_identity::verify_svm_link(env.block.chain_id, &sender, &key, &signature)
                    .map_err(VmError::from)?;
                link(state, &sender, &VmAddress::Svm(key), &mints, &mut logs)?;
            }
            NativeOp::LinkTronKey { address, signature, mints } => {
                nvm_identity::verify_tron_link(env.block.chain_id, &sender, &address, &signature)
                    .map_err(VmError::from)?;
                link(state, &sender, &VmAddress::Tvm(address), &mints, &mut logs)?;
            }
            NativeOp::DevWriteState { writes, balances } => {
                let authority: Option<IdCom> =
                    state.get_decoded(&nvm_identity::dev_authority_key())?;
                if authority != Some(sender) {
                    return Err(VmError::Failed(format!(
                        "0x{} may not write state directly: only a dev chain's dev authority may",
                        hex::encode(sender)
                    )));
                }
                for (key, value) in writes {
                    match value {
                        Some(value) => state.set(key, value),
                        None => state.delete(key),
                    }
                }
                for (mint, id, balance) in balances {
                    if mint == NATIVE_MINT {
                        set_native_balance(state, &id, balance)?;
                    } else {
                        Ledger::set_balance(state, &mint, &id, balance);
                    }
                }
            }
        }
        Ok(ExecOutput { logs, ..ExecOutput::default() })
    }
}

/// Sets `id`'s native balance, the native supply changing by as much.
fn set_native_balance(
    state: &mut dyn StateAccess,
    id: &IdCom,
    balance: u128,
) -> Result<(), VmError> {
    let held = Ledger::balance(state, &NATIVE_MINT, id).map_err(VmError::from)?;
    let mut native = Ledger::token(state, &NATIVE_MINT)
        .map_err(VmError::from)?
        .ok_or_else(|| VmError::Failed("no native token".into()))?;
    let supply = if balance >= held {
        native.supply.checked_add(balance - held)
    } else {
        native.supply.checked_sub(held - balance)
    };
    native.supply =
        supply.ok_or_else(|| VmError::Failed("the native supply would leave u128".into()))?;
    Ledger::set_balance(state, &NATIVE_MINT, id, balance);
    state.set_encoded(token_key(&NATIVE_MINT), &native);
    Ok(())
}
