//! Transactions whose encoding decoded and whose signature verified.

use crate::TxError;
use nvm_identity::{SignatureCheck, verify, verify_batch};
use nvm_primitives::{SchemeId, Transaction, TxHash};
use nvm_vm_api::{VmRegistry, WalletTx};
use rayon::prelude::*;
use std::sync::Arc;

/// What signed a transaction: an n-VM identity's credential, or a wallet of a registered
/// format (an Ethereum key, recovered; a Solana key's Ed25519 signatures, verified).
#[derive(Clone, Debug)]
pub enum SignedTx {
    Native(Transaction),
    /// A registered wallet format's transaction, with the format's block tag and VM.
    Wallet {
        tag: u8,
        /// The name of the format's VM.
        vm: &'static str,
        tx: Arc<dyn WalletTx>,
    },
}

/// A decoded transaction with a verified signature. Only [`VerifiedTx::verify`] and
/// [`VerifiedTx::verify_many`] make one, so holding one proves the check was done.
#[derive(Clone, Debug)]
pub struct VerifiedTx {
    signed: SignedTx,
    hash: TxHash,
    raw: Vec<u8>,
}

/// Two verified transactions are the same when their bytes are (the bytes determine the rest).
impl PartialEq for VerifiedTx {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for VerifiedTx {}

/// How many Ed25519 signatures share one batch equation.
const BATCH: usize = 64;

/// A decoded transaction whose signature is still to be checked (wallet formats' are already:
/// their decoding verifies).
type Decoded = (SignedTx, TxHash, Vec<u8>);

impl VerifiedTx {
    pub fn signed(&self) -> &SignedTx {
        &self.signed
    }

    /// The n-VM envelope, if this is one.
    pub fn native(&self) -> Option<&Transaction> {
        match &self.signed {
            SignedTx::Native(tx) => Some(tx),
            _ => None,
        }
    }

    /// The wallet format's transaction, if this is one of type `T`.
    pub fn wallet<T: WalletTx>(&self) -> Option<&T> {
        match &self.signed {
            SignedTx::Wallet { tx, .. } => tx.downcast_ref(),
            _ => None,
        }
    }

    /// The key whose presence in state marks the transaction processed, for transactions not
    /// ordered by a nonce (a Solana transaction's signature, a Bitcoin transaction's txid).
    pub fn replay_key(&self) -> Option<nvm_primitives::StateKey> {
        match &self.signed {
            SignedTx::Native(_) => None,
            SignedTx::Wallet { tx, .. } => match tx.replay() {
                nvm_vm_api::Replay::Key(key) => Some(key),
                nvm_vm_api::Replay::Nonce(_) => None,
            },
        }
    }

    /// Keys at most one pending transaction may claim (see [`WalletTx::conflicts`]).
    pub fn conflicts(&self) -> Vec<nvm_primitives::StateKey> {
        match &self.signed {
            SignedTx::Wallet { tx, .. } => tx.conflicts(),
            _ => Vec::new(),
        }
    }

    /// Most the sender pays per unit of gas, for transactions priced in gas.
    pub fn max_fee_per_gas(&self) -> Option<u128> {
        match &self.signed {
            SignedTx::Wallet { tx, .. } => tx.max_fee_per_gas(),
            _ => None,
        }
    }

    /// The name of the VM whose lane the transaction runs in: a native envelope's by the VM its
    /// opcode routes to in `vms` (the native runtime's when none), a wallet format's by the
    /// format.
    pub fn lane_vm(&self, vms: &VmRegistry) -> &'static str {
        match &self.signed {
            SignedTx::Native(tx) => vms.lane_of(&tx.body.payload),
            SignedTx::Wallet { vm, .. } => vm,
        }
    }

    /// The sender's nonce this transaction uses (Solana transactions have none: their
    /// signature and recent blockhash stop replays).
    pub fn nonce(&self) -> u64 {
        match &self.signed {
            SignedTx::Native(tx) => tx.body.nonce,
            SignedTx::Wallet { tx, .. } => match tx.replay() {
                nvm_vm_api::Replay::Nonce(nonce) => nonce,
                nvm_vm_api::Replay::Key(_) => 0,
            },
        }
    }

    /// SHA-256 of a native envelope's body; a wallet transaction's own (an Ethereum one's keccak).
    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// The transaction as a block carries it (a wallet format's behind its tag).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    fn decode(vms: &VmRegistry, raw: Vec<u8>) -> Result<Decoded, TxError> {
        let max = nvm_primitives::MAX_TX_SIZE;
        if raw.len() > max {
            return Err(nvm_primitives::DecodeError::Oversize { len: raw.len(), max }.into());
        }
        let format = raw.first().and_then(|tag| vms.format(*tag));
        let (hash, signed) = match (raw.split_first(), format) {
            (Some((&tag, bytes)), Some(format)) => {
                let tx = format.decode(bytes)?;
                (tx.hash(), SignedTx::Wallet { tag, vm: format.vm(), tx })
            }
            _ => {
                let tx = Transaction::decode(&raw)?;
                (tx.hash(), SignedTx::Native(tx))
            }
        };
        Ok((signed, hash, raw))
    }

    /// Decodes and verifies one transaction (a wallet format's by the format `vms` registered).
    pub fn verify(vms: &VmRegistry, raw: Vec<u8>) -> Result<Self, TxError> {
        let (signed, hash, raw) = Self::decode(vms, raw)?;
        if let SignedTx::Native(tx) = &signed {
            let scheme = SchemeId::try_from(tx.credential.scheme)?;
            verify(scheme, &tx.credential.public_key, &hash, &tx.credential.signature)?;
        }
        Ok(Self { signed, hash, raw })
    }

    /// Decodes and verifies many transactions across all cores, Ed25519 signatures in batches.
    /// Returns one result per input, in order.
    pub fn verify_many(vms: &VmRegistry, raws: Vec<Vec<u8>>) -> Vec<Result<Self, TxError>> {
        raws.into_par_iter()
            .chunks(BATCH)
            .flat_map_iter(|chunk| Self::verify_chunk(vms, chunk))
            .collect()
    }

    /// [`VerifiedTx::verify_many`], taking from `known` transactions verified before (a
    /// validator's mempool holds most of the transactions of a block it is asked to vote on).
    /// `known` is trusted only for the exact bytes it verified: a transaction with the same
    /// hash but other bytes (another signature) is verified here.
    pub fn verify_many_known(
        vms: &VmRegistry,
        raws: Vec<Vec<u8>>,
        known: impl Fn(&[u8]) -> Option<Self> + Sync,
    ) -> Vec<Result<Self, TxError>> {
        raws.into_par_iter()
            .chunks(BATCH)
            .flat_map_iter(|chunk| {
                let mut results: Vec<Option<Result<Self, TxError>>> =
                    Vec::with_capacity(chunk.len());
                let mut unknown = Vec::new();
                for raw in chunk {
                    match known(&raw).filter(|tx| tx.raw == raw) {
                        Some(tx) => results.push(Some(Ok(tx))),
                        None => {
                            results.push(None);
                            unknown.push(raw);
                        }
                    }
                }
                // One verdict per unknown transaction, in order: they fill the gaps.
                let mut checked = Self::verify_chunk(vms, unknown).into_iter();
                results.into_iter().filter_map(|r| r.or_else(|| checked.next())).collect::<Vec<_>>()
            })
            .collect()
    }

    /// Decodes and verifies one chunk, its Ed25519 signatures in one batch.
    fn verify_chunk(vms: &VmRegistry, chunk: Vec<Vec<u8>>) -> Vec<Result<Self, TxError>> {
        let decoded: Vec<_> = chunk.into_iter().map(|raw| Self::decode(vms, raw)).collect();
        let mut checks = Vec::with_capacity(decoded.len());
        let mut slots = Vec::with_capacity(decoded.len());
        for (i, d) in decoded.iter().enumerate() {
            if let Ok((SignedTx::Native(tx), hash, _)) = d
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
                let (signed, hash, raw) = d?;
                match (&signed, verdict) {
                    (SignedTx::Wallet { .. }, _) | (_, Some(Ok(()))) => {
                        Ok(Self { signed, hash, raw })
                    }
                    (_, Some(Err(e))) => Err(TxError::Signature(e)),
                    (SignedTx::Native(tx), None) => Err(TxError::Decode(
                        nvm_primitives::DecodeError::UnknownScheme(tx.credential.scheme),
                    )),
                }
            })
            .collect::<Vec<_>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nvm_identity::SecretKey;
    use nvm_primitives::{ENVELOPE_VERSION, TxBody};

    fn envelope(key: &SecretKey, nonce: u64) -> Vec<u8> {
        let body = TxBody {
            version: ENVELOPE_VERSION,
            chain_id: 1,
            sender: [1; 32],
            nonce,
            max_fee: 1,
            context: None,
            payload: vec![1],
        };
        key.sign_transaction(body).expect("signs").encode()
    }

    #[test]
    fn known_transactions_are_trusted_only_for_their_exact_bytes() {
        let key = SecretKey::from_secret(SchemeId::Ed25519, &[7; 32]).expect("key");
        let good = envelope(&key, 0);
        let vms = VmRegistry::new();
        let verified = VerifiedTx::verify(&vms, good.clone()).expect("valid");
        // Same body, so the same hash, but a broken signature.
        let mut forged = Transaction::decode(&good).expect("decodes");
        forged.credential.signature[3] ^= 1;
        let forged = forged.encode();
        let other = envelope(&key, 1);
        // A lookup by hash would hand back the good transaction for the forged bytes too.
        let known = |_: &[u8]| Some(verified.clone());
        let results = VerifiedTx::verify_many_known(&vms, vec![good, forged, other.clone()], known);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(TxError::Signature(_))), "{:?}", results[1]);
        assert_eq!(results[2].as_ref().map(|t| t.raw().to_vec()).ok(), Some(other));
    }
}
