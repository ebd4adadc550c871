//! Transactions whose envelope decoded and whose signature verified.

use crate::TxError;
use nvm_identity::{SignatureCheck, verify, verify_batch};
use nvm_primitives::{SchemeId, Transaction, TxHash};
use rayon::prelude::*;

/// A decoded transaction with a verified signature. Only [`VerifiedTx::verify`] and
/// [`VerifiedTx::verify_many`] make one, so holding one proves the check was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    tx: Transaction,
    hash: TxHash,
    raw: Vec<u8>,
}

/// How many Ed25519 signatures share one batch equation.
const BATCH: usize = 64;

impl VerifiedTx {
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// The envelope as received, kept for the block.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    fn decode(raw: Vec<u8>) -> Result<(Transaction, TxHash, Vec<u8>), TxError> {
        let tx = Transaction::decode(&raw)?;
        let hash = tx.hash();
        Ok((tx, hash, raw))
    }

    /// Decodes and verifies one envelope.
    pub fn verify(raw: Vec<u8>) -> Result<Self, TxError> {
        let (tx, hash, raw) = Self::decode(raw)?;
        let scheme = SchemeId::try_from(tx.credential.scheme)?;
        verify(scheme, &tx.credential.public_key, &hash, &tx.credential.signature)?;
        Ok(Self { tx, hash, raw })
    }

    /// Decodes and verifies many envelopes across all cores, Ed25519 signatures in batches.
    /// Returns one result per input, in order.
    pub fn verify_many(raws: Vec<Vec<u8>>) -> Vec<Result<Self, TxError>> {
        raws.into_par_iter()
            .chunks(BATCH)
            .flat_map_iter(|chunk| {
                let decoded: Vec<_> = chunk.into_iter().map(Self::decode).collect();
                let mut checks = Vec::with_capacity(decoded.len());
                let mut slots = Vec::with_capacity(decoded.len());
                for (i, d) in decoded.iter().enumerate() {
                    if let Ok((tx, hash, _)) = d
                        && let Ok(scheme) = SchemeId::try_from(tx.credential.scheme)
                    {
                        checks.push(SignatureCheck {
                            scheme,
                            public_key: &tx.credential.public_key,
                            message: hash,
                            signature: &tx.credential.signature,
                        });
                        slots.push(i);
                    }
                }
                let mut verdicts = vec![None; decoded.len()];
                for (slot, verdict) in slots.into_iter().zip(verify_batch(&checks)) {
                    verdicts[slot] = Some(verdict);
                }
                decoded
                    .into_iter()
                    .zip(verdicts)
                    .map(|(d, verdict)| {
                        let (tx, hash, raw) = d?;
                        match verdict {
                            Some(Ok(())) => Ok(Self { tx, hash, raw }),
                            Some(Err(e)) => Err(TxError::Signature(e)),
                            None => Err(TxError::Decode(
                                nvm_primitives::DecodeError::UnknownScheme(tx.credential.scheme),
                            )),
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
