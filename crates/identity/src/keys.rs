//! Secret keys for every credential scheme: what wallets, the CLI, tests and benchmarks sign with.

use crate::credential::ML_DSA_CONTEXT;
use fips204::traits::{KeyGen, SerDes, Signer as _};
use nvm_primitives::{Credential, SchemeId, Transaction, TxBody};
use rand_core::{OsRng, RngCore};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{scheme} secret key must be 32 bytes, got {got}")]
    Length { scheme: &'static str, got: usize },
    #[error("invalid {scheme} secret key")]
    Invalid { scheme: &'static str },
    #[error("{scheme} signing failed: {reason}")]
    Signing { scheme: &'static str, reason: &'static str },
}

/// A signing key. Every scheme is stored as a 32-byte secret: the Ed25519 seed, the secp256k1
/// scalar (ECDSA and BIP-340), or the ML-DSA-44 key-generation seed ξ.
#[derive(Clone)]
pub enum SecretKey {
    Ed25519(ed25519_dalek::SigningKey),
    Secp256k1Ecdsa(k256::ecdsa::SigningKey),
    Bip340Schnorr(k256::schnorr::SigningKey),
    MlDsa44 { seed: [u8; 32], key: Box<fips204::ml_dsa_44::PrivateKey>, public: Vec<u8> },
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretKey({}, public 0x{})",
            self.scheme().name(),
            hex::encode(self.public_key())
        )
    }
}

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate(scheme: SchemeId) -> Self {
        loop {
            let mut secret = [0u8; 32];
            OsRng.fill_bytes(&mut secret);
            // A random 32-byte string is a valid secp256k1 scalar except with negligible probability.
            if let Ok(key) = Self::from_secret(scheme, &secret) {
                return key;
            }
        }
    }

    /// Rebuilds a key from its 32-byte secret.
    pub fn from_secret(scheme: SchemeId, secret: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = secret
            .try_into()
            .map_err(|_| KeyError::Length { scheme: scheme.name(), got: secret.len() })?;
        let invalid = KeyError::Invalid { scheme: scheme.name() };
        Ok(match scheme {
            SchemeId::Ed25519 => Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes)),
            SchemeId::Secp256k1Ecdsa => Self::Secp256k1Ecdsa(
                k256::ecdsa::SigningKey::from_slice(&bytes).map_err(|_| invalid)?,
            ),
            SchemeId::Bip340Schnorr => Self::Bip340Schnorr(
                k256::schnorr::SigningKey::from_bytes(&bytes).map_err(|_| invalid)?,
            ),
            SchemeId::MlDsa44 => {
                let (public, key) = fips204::ml_dsa_44::KG::keygen_from_seed(&bytes);
                Self::MlDsa44 {
                    seed: bytes,
                    key: Box::new(key),
                    public: public.into_bytes().to_vec(),
                }
            }
        })
    }

    pub fn scheme(&self) -> SchemeId {
        match self {
            Self::Ed25519(_) => SchemeId::Ed25519,
            Self::Secp256k1Ecdsa(_) => SchemeId::Secp256k1Ecdsa,
            Self::Bip340Schnorr(_) => SchemeId::Bip340Schnorr,
            Self::MlDsa44 { .. } => SchemeId::MlDsa44,
        }
    }

    /// The 32-byte secret this key is rebuilt from.
    pub fn secret_bytes(&self) -> [u8; 32] {
        match self {
            Self::Ed25519(k) => k.to_bytes(),
            Self::Secp256k1Ecdsa(k) => k.to_bytes().into(),
            Self::Bip340Schnorr(k) => k.to_bytes().into(),
            Self::MlDsa44 { seed, .. } => *seed,
        }
    }

    /// The public key in the encoding credentials carry (Ed25519 32 B, secp256k1 SEC1-compressed
    /// 33 B, BIP-340 x-only 32 B, ML-DSA-44 1312 B).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            Self::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
            Self::Secp256k1Ecdsa(k) => k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
            Self::Bip340Schnorr(k) => k.verifying_key().to_bytes().to_vec(),
            Self::MlDsa44 { public, .. } => public.clone(),
        }
    }

    /// Signs a transaction body: the credential carries this key and its signature over the
    /// transaction hash `SHA-256(body)`.
    pub fn sign_transaction(&self, body: TxBody) -> Result<Transaction, KeyError> {
        let signature = self.sign(&body.hash())?;
        let credential =
            Credential { scheme: self.scheme() as u8, public_key: self.public_key(), signature };
        Ok(Transaction { body, credential })
    }

    /// Signs a 32-byte digest (a transaction hash or another domain-separated digest).
    pub fn sign(&self, message: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        let scheme = self.scheme().name();
        match self {
            Self::Ed25519(k) => {
                use ed25519_dalek::Signer;
                Ok(k.sign(message).to_bytes().to_vec())
            }
            Self::Secp256k1Ecdsa(k) => {
                use k256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: k256::ecdsa::Signature = k
                    .sign_prehash(message)
                    .map_err(|_| KeyError::Signing { scheme, reason: "prehash signing failed" })?;
                // RFC 6979 signatures from k256 are already low-S; normalise defensively.
                Ok(sig.normalize_s().unwrap_or(sig).to_bytes().to_vec())
            }
            Self::Bip340Schnorr(k) => {
                let mut aux = [0u8; 32];
                OsRng.fill_bytes(&mut aux);
                k.sign_raw(message, &aux)
                    .map(|s| s.to_bytes().to_vec())
                    .map_err(|_| KeyError::Signing { scheme, reason: "BIP-340 signing failed" })
            }
            Self::MlDsa44 { key, .. } => key
                .try_sign(message, ML_DSA_CONTEXT)
                .map(|s| s.to_vec())
                .map_err(|reason| KeyError::Signing { scheme, reason }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CredentialError, SignatureCheck, verify, verify_batch};

    #[test]
    fn every_scheme_signs_and_verifies() {
        for scheme in SchemeId::ALL {
            let key = SecretKey::generate(scheme);
            let msg = [7u8; 32];
            let sig = key.sign(&msg).unwrap();
            verify(scheme, &key.public_key(), &msg, &sig).unwrap();
            // A different message fails.
            assert!(matches!(
                verify(scheme, &key.public_key(), &[8u8; 32], &sig),
                Err(CredentialError::BadSignature { .. })
            ));
            // The key round-trips through its secret.
            let again = SecretKey::from_secret(scheme, &key.secret_bytes()).unwrap();
            assert_eq!(again.public_key(), key.public_key());
        }
    }

    #[test]
    fn wrong_lengths_are_named() {
        let key = SecretKey::generate(SchemeId::Ed25519);
        let sig = key.sign(&[0; 32]).unwrap();
        assert_eq!(
            verify(SchemeId::Ed25519, &key.public_key()[..31], &[0; 32], &sig),
            Err(CredentialError::PublicKeyLength { scheme: "ed25519", expected: 32, got: 31 })
        );
        assert_eq!(
            verify(SchemeId::Ed25519, &key.public_key(), &[0; 32], &sig[..63]),
            Err(CredentialError::SignatureLength { scheme: "ed25519", expected: 64, got: 63 })
        );
    }

    #[test]
    fn batch_names_the_bad_signature() {
        let keys: Vec<_> = (0..6).map(|_| SecretKey::generate(SchemeId::Ed25519)).collect();
        let msgs: Vec<[u8; 32]> = (0..6u8).map(|i| [i; 32]).collect();
        let mut sigs: Vec<Vec<u8>> =
            keys.iter().zip(&msgs).map(|(k, m)| k.sign(m).unwrap()).collect();
        sigs[3][0] ^= 1;
        let pks: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        let checks: Vec<_> = (0..6)
            .map(|i| SignatureCheck {
                scheme: SchemeId::Ed25519,
                public_key: &pks[i],
                message: &msgs[i],
                signature: &sigs[i],
            })
            .collect();
        let results = verify_batch(&checks);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 3, "signature {i}");
        }
    }
}
