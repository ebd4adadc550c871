//! Signature verification for every credential scheme.
//!
//! Every scheme signs the 32-byte transaction hash (or another 32-byte domain-separated digest).
//!
//! Ed25519 follows one rule in every path, ZIP-215's: the cofactored equation (`ed25519-zebra`
//! alone, `ed25519_batch.rs` together), which a batch checks exactly, so whether a signature is
//! valid never depends on the batch it arrives in. (ed25519-dalek's strict single check is cofactorless and its batch cofactored: they
//! disagree on a signature whose `R` has a small-order part, which one node could accept and
//! another refuse.) Keys are held to more than ZIP-215 asks: a canonical encoding, not of small
//! order (a weak key's signatures verify for many messages).

use fips204::traits::{SerDes, Verifier as _};
use nvm_primitives::SchemeId;
use parking_lot::Mutex;
use std::{collections::HashMap, sync::LazyLock};

/// Decompressing an Ed25519 public key costs about a third of a verification, and an active
/// sender signs many transactions, so decompressed keys are kept: 16 shards of at most 4096 keys,
/// a shard being emptied when full (bounded memory, no eviction bookkeeping).
type KeyShard = Mutex<HashMap<[u8; 32], Ed25519Key>>;
static ED25519_KEYS: LazyLock<Vec<KeyShard>> =
    LazyLock::new(|| (0..16).map(|_| Mutex::new(HashMap::new())).collect());
const ED25519_SHARD_CAPACITY: usize = 4096;

/// A cached Ed25519 key: for the single check, and for the batch equation.
#[derive(Clone, Copy)]
struct Ed25519Key {
    single: ed25519_zebra::VerificationKey,
    batch: crate::ed25519_batch::BatchKey,
}

/// The decompressed Ed25519 key for `bytes`, or `None` if it is no acceptable key: not a point,
/// not its canonical encoding, or of small order.
fn ed25519_key(bytes: &[u8]) -> Option<Ed25519Key> {
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    let shard = &ED25519_KEYS[(bytes[0] & 0x0F) as usize];
    if let Some(key) = shard.lock().get(&bytes).copied() {
        return Some(key);
    }
    let point = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
    if point.is_weak() || point.to_edwards().compress().to_bytes() != bytes {
        return None;
    }
    let single = ed25519_zebra::VerificationKey::try_from(bytes).ok()?;
    let batch = crate::ed25519_batch::BatchKey { bytes, point: point.to_edwards() };
    let key = Ed25519Key { single, batch };
    let mut shard = shard.lock();
    if shard.len() >= ED25519_SHARD_CAPACITY {
        shard.clear();
    }
    shard.insert(bytes, key);
    Some(key)
}

/// Context string bound into every ML-DSA signature (FIPS 204 domain separation).
pub(crate) const ML_DSA_CONTEXT: &[u8] = b"n-VM";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("{scheme} public key must be {expected} bytes, got {got}")]
    PublicKeyLength { scheme: &'static str, expected: usize, got: usize },
    #[error("{scheme} signature must be {expected} bytes, got {got}")]
    SignatureLength { scheme: &'static str, expected: usize, got: usize },
    #[error("invalid {scheme} public key")]
    InvalidPublicKey { scheme: &'static str },
    #[error("{scheme} signature does not verify")]
    BadSignature { scheme: &'static str },
    #[error("secp256k1 signature has a high S value (non-canonical)")]
    HighS,
}

fn expect_len(
    scheme: SchemeId,
    public_key: &[u8],
    signature: &[u8],
    pk_len: usize,
    sig_len: usize,
) -> Result<(), CredentialError> {
    if public_key.len() != pk_len {
        return Err(CredentialError::PublicKeyLength {
            scheme: scheme.name(),
            expected: pk_len,
            got: public_key.len(),
        });
    }
    if signature.len() != sig_len {
        return Err(CredentialError::SignatureLength {
            scheme: scheme.name(),
            expected: sig_len,
            got: signature.len(),
        });
    }
    Ok(())
}

/// Expected (public key, signature) lengths per scheme.
pub(crate) const fn lengths(scheme: SchemeId) -> (usize, usize) {
    match scheme {
        SchemeId::Ed25519 => (32, 64),
        SchemeId::Secp256k1Ecdsa => (33, 64),
        SchemeId::Bip340Schnorr => (32, 64),
        SchemeId::MlDsa44 => (fips204::ml_dsa_44::PK_LEN, fips204::ml_dsa_44::SIG_LEN),
    }
}

/// Checks that a public key is well-formed for its scheme (used when registering a credential).
pub fn check_public_key(scheme: SchemeId, public_key: &[u8]) -> Result<(), CredentialError> {
    let (pk_len, _) = lengths(scheme);
    if public_key.len() != pk_len {
        return Err(CredentialError::PublicKeyLength {
            scheme: scheme.name(),
            expected: pk_len,
            got: public_key.len(),
        });
    }
    let invalid = CredentialError::InvalidPublicKey { scheme: scheme.name() };
    let ok = match scheme {
        SchemeId::Ed25519 => ed25519_key(public_key).is_some(),
        SchemeId::Secp256k1Ecdsa => k256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).is_ok(),
        SchemeId::Bip340Schnorr => k256::schnorr::VerifyingKey::from_bytes(public_key).is_ok(),
        SchemeId::MlDsa44 => public_key
            .try_into()
            .ok()
            .and_then(|b| fips204::ml_dsa_44::PublicKey::try_from_bytes(b).ok())
            .is_some(),
    };
    if ok { Ok(()) } else { Err(invalid) }
}

/// Verifies `signature` over `message` by `public_key` under `scheme`.
pub fn verify(
    scheme: SchemeId,
    public_key: &[u8],
    message: &[u8; 32],
    signature: &[u8],
) -> Result<(), CredentialError> {
    let (pk_len, sig_len) = lengths(scheme);
    expect_len(scheme, public_key, signature, pk_len, sig_len)?;
    let bad = CredentialError::BadSignature { scheme: scheme.name() };
    let invalid_key = CredentialError::InvalidPublicKey { scheme: scheme.name() };
    match scheme {
        SchemeId::Ed25519 => {
            let key = ed25519_key(public_key).ok_or(invalid_key)?;
            let sig = ed25519_signature(signature).ok_or(bad.clone())?;
            key.single.verify(&sig, message).map_err(|_| bad)
        }
        SchemeId::Secp256k1Ecdsa => {
            use k256::ecdsa::signature::hazmat::PrehashVerifier;
            let key =
                k256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| invalid_key)?;
            let sig = k256::ecdsa::Signature::from_slice(signature).map_err(|_| bad.clone())?;
            if sig.normalize_s().is_some() {
                return Err(CredentialError::HighS);
            }
            key.verify_prehash(message, &sig).map_err(|_| bad)
        }
        SchemeId::Bip340Schnorr => {
            let key =
                k256::schnorr::VerifyingKey::from_bytes(public_key).map_err(|_| invalid_key)?;
            let sig = k256::schnorr::Signature::try_from(signature).map_err(|_| bad.clone())?;
            key.verify_raw(message, &sig).map_err(|_| bad)
        }
        SchemeId::MlDsa44 => {
            let pk_bytes = public_key.try_into().map_err(|_| invalid_key.clone())?;
            let key =
                fips204::ml_dsa_44::PublicKey::try_from_bytes(pk_bytes).map_err(|_| invalid_key)?;
            let sig: [u8; fips204::ml_dsa_44::SIG_LEN] =
                signature.try_into().map_err(|_| bad.clone())?;
            if key.verify(message, &sig, ML_DSA_CONTEXT) { Ok(()) } else { Err(bad) }
        }
    }
}

fn ed25519_signature(bytes: &[u8]) -> Option<ed25519_zebra::Signature> {
    Some(ed25519_zebra::Signature::from_bytes(bytes.try_into().ok()?))
}

/// One signature to check in a batch.
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    pub scheme: SchemeId,
    pub public_key: &'a [u8],
    pub message: &'a [u8; 32],
    pub signature: &'a [u8],
}

/// Verifies many signatures; Ed25519 ones together with one batch equation. Returns one result
/// per input, in order. When a batch fails, its members are checked one by one so that each bad
/// signature is named and each good one still passes.
pub fn verify_batch(checks: &[SignatureCheck<'_>]) -> Vec<Result<(), CredentialError>> {
    let mut results: Vec<Option<Result<(), CredentialError>>> = vec![None; checks.len()];
    let mut ed_index = Vec::new();
    let mut batch = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        let parsed = (check.scheme == SchemeId::Ed25519)
            .then(|| {
                let key = ed25519_key(check.public_key)?;
                Some((key, <&[u8; 64]>::try_from(check.signature).ok()?))
            })
            .flatten();
        match parsed {
            Some((key, signature)) => {
                ed_index.push(i);
                let message = check.message.as_slice();
                batch.push(crate::ed25519_batch::Item { key: key.batch, signature, message });
            }
            None => {
                results[i] =
                    Some(verify(check.scheme, check.public_key, check.message, check.signature))
            }
        }
    }
    if !ed_index.is_empty() {
        let batch_ok = crate::ed25519_batch::holds(&batch);
        for &i in &ed_index {
            let check = &checks[i];
            results[i] = Some(if batch_ok {
                Ok(())
            } else {
                verify(check.scheme, check.public_key, check.message, check.signature)
            });
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(CredentialError::BadSignature { scheme: "?" })))
        .collect()
}
