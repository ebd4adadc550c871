//! The native runtime: identity and token-ledger operations (opcodes 0x01–0x0F).

mod ops;

pub use ops::NativeOp;

use nvm_identity::{IdentityError, Registry, VmAddress, id_com_from_credential, identity_key};
use nvm_ledger::{
    Ledger, LedgerError, NATIVE_MINT, TokenInfo, allowance_key, balance_key, token_key,
};
use nvm_primitives::{IdCom, Log, Mint, SchemeId, VmKind, sha256, sha256_parts};
use nvm_state_api::{AccessSet, StateReader, TxOverlay};
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

/// Topic of the log every ledger move emits: `SHA-256("Transfer(from,to,amount)")`.
pub fn transfer_topic() -> [u8; 32] {
    sha256(b"Transfer(from,to,amount)")
}

/// Topic of the log an allowance change emits.
pub fn approval_topic() -> [u8; 32] {
    sha256(b"Approval(owner,spender,amount)")
}

fn amount_log(mint: &Mint, topic: [u8; 32], a: &IdCom, b: &IdCom, amount: u128) -> Log {
    Log { source: *mint, topics: vec![topic, *a, *b], data: amount.to_be_bytes().to_vec() }
}

fn ledger_err(e: LedgerError) -> VmError {
    match e {
        LedgerError::State(s) => VmError::State(s),
        other => VmError::Failed(other.to_string()),
    }
}

fn identity_err(e: IdentityError) -> VmError {
    match e {
        IdentityError::State(s) => VmError::State(s),
        other => VmError::Failed(other.to_string()),
    }
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

/// The native runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeVm;

impl Vm for NativeVm {
    fn kind(&self) -> VmKind {
        VmKind::Native
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        NativeOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
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
                let to = resolve_before(state, &to, access)?;
                Ledger::declare_transfer(access, &mint, sender, &to);
            }
            NativeOp::Approve { mint, spender, .. } => {
                let spender = resolve_before(state, &spender, access)?;
                access.read(token_key(&mint)).write(allowance_key(&mint, sender, &spender));
            }
            NativeOp::TransferFrom { mint, owner, to, .. } => {
                let owner = resolve_before(state, &owner, access)?;
                let to = resolve_before(state, &to, access)?;
                access.write(allowance_key(&mint, &owner, sender));
                Ledger::declare_transfer(access, &mint, &owner, &to);
            }
            NativeOp::CreateToken { .. } => {
                let mint = token_mint_id(sender, env.nonce);
                access
                    .write(token_key(&mint))
                    .write(balance_key(&mint, sender))
                    .write(nvm_ledger::erc20_index_key(&nvm_ledger::erc20_view_address(&mint)));
            }
            NativeOp::Mint { mint, to, .. } => {
                let to = resolve_before(state, &to, access)?;
                access.write(token_key(&mint)).write(balance_key(&mint, &to));
            }
            NativeOp::Burn { mint, .. } => {
                access.write(token_key(&mint)).write(balance_key(&mint, sender));
            }
            NativeOp::LinkEvmAccount { address, .. } => {
                let external = VmAddress::Evm(address);
                let legacy = nvm_identity::legacy_id_com(&external).unwrap_or_default();
                access
                    .write(nvm_identity::index_key(&external))
                    .write(nvm_identity::nonce_key(&legacy))
                    .write(balance_key(&NATIVE_MINT, &legacy))
                    .write(balance_key(&NATIVE_MINT, sender));
            }
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
                let to = Registry::resolve(state, &to)?;
                Ledger::transfer(state, &mint, &sender, &to, amount).map_err(ledger_err)?;
                logs.push(amount_log(&mint, transfer_topic(), &sender, &to, amount));
            }
            NativeOp::Approve { mint, spender, amount } => {
                let spender = Registry::resolve(state, &spender)?;
                Ledger::approve(state, &mint, &sender, &spender, amount).map_err(ledger_err)?;
                logs.push(amount_log(&mint, approval_topic(), &sender, &spender, amount));
            }
            NativeOp::TransferFrom { mint, owner, to, amount } => {
                let owner = Registry::resolve(state, &owner)?;
                let to = Registry::resolve(state, &to)?;
                Ledger::transfer_from(state, &mint, &sender, &owner, &to, amount)
                    .map_err(ledger_err)?;
                logs.push(amount_log(&mint, transfer_topic(), &owner, &to, amount));
            }
            NativeOp::CreateToken { name, symbol, decimals, initial_supply } => {
                let mint = token_mint_id(&sender, env.nonce);
                let info = TokenInfo { name, symbol, decimals, supply: 0, authority: Some(sender) };
                Ledger::create_token(state, &mint, info).map_err(ledger_err)?;
                if initial_supply > 0 {
                    Ledger::mint(state, &mint, &sender, &sender, initial_supply)
                        .map_err(ledger_err)?;
                }
                logs.push(amount_log(&mint, transfer_topic(), &[0; 32], &sender, initial_supply));
            }
            NativeOp::Mint { mint, to, amount } => {
                let to = Registry::resolve(state, &to)?;
                Ledger::mint(state, &mint, &sender, &to, amount).map_err(ledger_err)?;
                logs.push(amount_log(&mint, transfer_topic(), &[0; 32], &to, amount));
            }
            NativeOp::Burn { mint, amount } => {
                Ledger::burn(state, &mint, &sender, amount).map_err(ledger_err)?;
                logs.push(amount_log(&mint, transfer_topic(), &sender, &[0; 32], amount));
            }
            NativeOp::LinkEvmAccount { address, signature } => {
                let link_err = |e: nvm_identity::LinkError| match e {
                    nvm_identity::LinkError::State(s) => VmError::State(s),
                    other => VmError::Failed(other.to_string()),
                };
                nvm_identity::verify_evm_link(env.block.chain_id, &sender, &address, &signature)
                    .map_err(link_err)?;
                let legacy = Registry::link_evm(state, &sender, &address).map_err(link_err)?;
                let held = Ledger::balance(state, &NATIVE_MINT, &legacy).map_err(ledger_err)?;
                if held > 0 {
                    Ledger::transfer(state, &NATIVE_MINT, &legacy, &sender, held)
                        .map_err(ledger_err)?;
                    logs.push(amount_log(&NATIVE_MINT, transfer_topic(), &legacy, &sender, held));
                }
            }
        }
        Ok(ExecOutput { logs, ..ExecOutput::default() })
    }
}
