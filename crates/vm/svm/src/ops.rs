//! The SVM's envelope operation: an identity runs Solana instructions as its own Solana
//! addresses, authorised by its n-VM credential instead of an Ed25519 signature — so an identity
//! whose key is ML-DSA or secp256k1 uses Solana programs too, on the same balances.

use crate::MAX_SOLANA_TX_SIZE;
use borsh::{BorshDeserialize, BorshSerialize};
use solana_message::Message;
use solana_transaction::{Transaction, sanitized::SanitizedTransaction};

/// One SVM operation; the borsh discriminant is the opcode byte.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum SvmOp {
    /// Runs `message` (a legacy Solana message in its wire form, as `Message.serialize()` of
    /// `@solana/web3.js` gives it) through Agave's SVM. Every signer it names must be one of the
    /// sender's Solana addresses (its derived one, or a Solana key it linked); the fee payer pays
    /// Solana's fee, to the proposer. The envelope's nonce stops replays: the message's recent
    /// blockhash is not consulted.
    Invoke { message: Vec<u8> } = 0x20,
}

/// The opcode of [`SvmOp::Invoke`].
pub const OPCODE_INVOKE: u8 = 0x20;

impl SvmOp {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Strict decoding of the operation and of its message: canonical wire bytes within
    /// Solana's packet size, a sanitized message — ready for the SVM, unsigned (the envelope's
    /// credential signs for it).
    pub fn decode(payload: &[u8]) -> Result<(Self, SanitizedTransaction), String> {
        let op: Self = nvm_vm_api::decode_payload(payload, "SVM", 0x20..=0x20)?;
        let Self::Invoke { message: bytes } = &op;
        if bytes.len() > MAX_SOLANA_TX_SIZE {
            return Err(format!(
                "a Solana message of {} bytes is over the {MAX_SOLANA_TX_SIZE}-byte packet limit",
                bytes.len()
            ));
        }
        let message: Message =
            bincode::deserialize(bytes).map_err(|e| format!("malformed Solana message: {e}"))?;
        if bincode::serialize(&message).ok().as_deref() != Some(bytes.as_slice()) {
            return Err("malformed Solana message: non-canonical or trailing bytes".into());
        }
        let tx = SanitizedTransaction::try_from_legacy_transaction(
            Transaction::new_unsigned(message),
            crate::reserved_account_keys(),
        )
        .map_err(|e| format!("malformed Solana message: {e}"))?;
        Ok((op, tx))
    }
}
