//! The dev chain's well-known identity, for tests that sign as it.

use nvm_identity::{VmAddress, id_com_from_credential};
use nvm_ledger::NATIVE_MINT;
use nvm_node::{DEV_CHAIN_ID, DEV_TX_FEE, dev_key};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, SchemeId, TxBody};
use nvm_vm_native::NativeOp;

/// The dev identity's id_com.
pub fn dev_id() -> IdCom {
    id_com_from_credential(SchemeId::Ed25519, &dev_key().public_key(), &[0; 32])
}

/// An encoded native transfer of `amount` from the dev identity to `to`, signed by the dev key.
pub fn dev_transfer(nonce: u64, to: IdCom, amount: u128) -> Vec<u8> {
    let op = NativeOp::Transfer { mint: NATIVE_MINT, to: VmAddress::Native(to), amount };
    dev_envelope(nonce, op.encode())
}

/// A native envelope of the dev identity carrying `payload` (any VM's opcode and its
/// arguments), signed by the dev key.
pub fn dev_envelope(nonce: u64, payload: Vec<u8>) -> Vec<u8> {
    let body = TxBody {
        version: ENVELOPE_VERSION,
        chain_id: DEV_CHAIN_ID,
        sender: dev_id(),
        nonce,
        max_fee: DEV_TX_FEE,
        context: None,
        payload,
    };
    dev_key().sign_transaction(body).expect("the dev key signs").encode()
}
