//! The canonical, versioned transaction envelope and its strict decoder.
//!
//! Wire format (borsh, little-endian integers, `u32` length prefixes):
//! `TxBody { version, chain_id, sender, nonce, max_fee, context, payload }` followed by
//! `Credential { scheme, public_key, signature }`. The signature covers the encoded body; the
//! transaction hash is `SHA-256(encoded body)`, so it does not depend on the signature bytes.

use crate::hash::{IdCom, sha256};
use borsh::{BorshDeserialize, BorshSerialize};

/// The only envelope version this node accepts.
pub const ENVELOPE_VERSION: u8 = 1;
/// Largest encoded transaction accepted anywhere (RPC, mempool, block).
pub const MAX_TX_SIZE: usize = 64 * 1024;

/// A transaction hash: SHA-256 of the signed bytes.
pub type TxHash = [u8; 32];

/// Signature schemes a credential may use. The byte values are part of the wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SchemeId {
    Ed25519 = 1,
    Secp256k1Ecdsa = 2,
    Bip340Schnorr = 3,
    MlDsa44 = 4,
}

impl SchemeId {
    pub const ALL: [Self; 4] =
        [Self::Ed25519, Self::Secp256k1Ecdsa, Self::Bip340Schnorr, Self::MlDsa44];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Secp256k1Ecdsa => "secp256k1",
            Self::Bip340Schnorr => "schnorr",
            Self::MlDsa44 => "ml-dsa-44",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl TryFrom<u8> for SchemeId {
    type Error = DecodeError;
    fn try_from(value: u8) -> Result<Self, DecodeError> {
        Self::ALL.into_iter().find(|s| *s as u8 == value).ok_or(DecodeError::UnknownScheme(value))
    }
}

/// What the sender signs.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxBody {
    pub version: u8,
    pub chain_id: u64,
    /// The identity (id_com) this transaction acts for; its credential must sign.
    pub sender: IdCom,
    pub nonce: u64,
    /// Most the sender will pay in fees, in base units of the native token (18 decimals).
    pub max_fee: u128,
    /// Optional context tag used for sharding (SPEC §4).
    pub context: Option<[u8; 16]>,
    /// Opcode byte followed by the VM-specific payload.
    pub payload: Vec<u8>,
}

/// The public key and signature that authorise a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Credential {
    pub scheme: u8,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A decoded (not yet verified) transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    pub body: TxBody,
    pub credential: Credential,
}

/// Why bytes are not a valid transaction envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("transaction is {len} bytes, over the {max}-byte limit")]
    Oversize { len: usize, max: usize },
    #[error("empty input")]
    Empty,
    #[error("unsupported envelope version {0} (this node speaks version {ENVELOPE_VERSION})")]
    UnsupportedVersion(u8),
    #[error("malformed envelope: {0}")]
    Malformed(String),
    #[error("{count} trailing bytes after the envelope")]
    TrailingBytes { count: usize },
    #[error("unknown signature scheme {0:#04x}")]
    UnknownScheme(u8),
    #[error("empty payload: a transaction needs at least an opcode byte")]
    EmptyPayload,
}

impl TxBody {
    /// The exact bytes a credential signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// `SHA-256` of the signed bytes.
    pub fn hash(&self) -> TxHash {
        sha256(&self.signing_bytes())
    }

    /// The opcode, i.e. the first payload byte.
    pub fn opcode(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

impl Transaction {
    pub fn hash(&self) -> TxHash {
        self.body.hash()
    }

    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Decodes an envelope, rejecting oversize input, other versions, trailing bytes, unknown
    /// signature schemes and empty payloads.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_TX_SIZE {
            return Err(DecodeError::Oversize { len: bytes.len(), max: MAX_TX_SIZE });
        }
        match bytes.first() {
            None => return Err(DecodeError::Empty),
            Some(&ENVELOPE_VERSION) => {}
            Some(&other) => return Err(DecodeError::UnsupportedVersion(other)),
        }
        let mut rest = bytes;
        let tx = Self::deserialize(&mut rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { count: rest.len() });
        }
        SchemeId::try_from(tx.credential.scheme)?;
        if tx.body.payload.is_empty() {
            return Err(DecodeError::EmptyPayload);
        }
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Transaction {
        Transaction {
            body: TxBody {
                version: ENVELOPE_VERSION,
                chain_id: 7,
                sender: [1; 32],
                nonce: 3,
                max_fee: 1_000,
                context: Some([9; 16]),
                payload: vec![0x03, 1, 2, 3],
            },
            credential: Credential { scheme: 1, public_key: vec![2; 32], signature: vec![3; 64] },
        }
    }

    #[test]
    fn round_trip() {
        let tx = sample();
        assert_eq!(Transaction::decode(&tx.encode()), Ok(tx));
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = sample().encode();
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(Transaction::decode(&bytes), Err(DecodeError::TrailingBytes { count: 2 }));
    }

    #[test]
    fn rejects_oversize() {
        let bytes = vec![1u8; MAX_TX_SIZE + 1];
        assert!(matches!(Transaction::decode(&bytes), Err(DecodeError::Oversize { .. })));
    }

    #[test]
    fn rejects_unknown_scheme_and_version() {
        let mut tx = sample();
        tx.credential.scheme = 0x77;
        assert_eq!(Transaction::decode(&tx.encode()), Err(DecodeError::UnknownScheme(0x77)));
        let mut bytes = sample().encode();
        bytes[0] = 2;
        assert_eq!(Transaction::decode(&bytes), Err(DecodeError::UnsupportedVersion(2)));
    }

    #[test]
    fn rejects_truncation_and_empty_payload() {
        let bytes = sample().encode();
        assert!(matches!(
            Transaction::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
        let mut tx = sample();
        tx.body.payload.clear();
        assert_eq!(Transaction::decode(&tx.encode()), Err(DecodeError::EmptyPayload));
    }

    #[test]
    fn hash_ignores_signature() {
        let tx = sample();
        let mut other = tx.clone();
        other.credential.signature = vec![4; 64];
        assert_eq!(tx.hash(), other.hash());
    }

    proptest! {
        /// Whatever decodes re-encodes to the very same bytes: the encoding is canonical.
        #[test]
        fn decode_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(tx) = Transaction::decode(&bytes) {
                prop_assert_eq!(tx.encode(), bytes);
            }
        }

        #[test]
        fn mutated_envelopes_never_panic(flip in 0usize..200, byte in any::<u8>()) {
            let mut bytes = sample().encode();
            let at = flip % bytes.len();
            bytes[at] = byte;
            if let Ok(tx) = Transaction::decode(&bytes) {
                prop_assert_eq!(tx.encode(), bytes);
            }
        }
    }
}
