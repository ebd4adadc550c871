//! Solana transactions as wallets send them (`sendTransaction`: a bincode `VersionedTransaction`,
//! legacy or v0): strict decoding, every Ed25519 signature verified, sanitized for the SVM.

use nvm_primitives::sha256;
use solana_message::SimpleAddressLoader;
use solana_pubkey::Pubkey;
use solana_transaction::{
    sanitized::{MessageHash, SanitizedTransaction},
    versioned::VersionedTransaction,
};

/// Largest Solana transaction on the wire (one network packet, as on Solana).
pub const MAX_SOLANA_TX_SIZE: usize = 1232;

/// Why bytes are not an acceptable Solana transaction, whatever the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolanaTxError {
    #[error("Solana transaction is {0} bytes, over the {MAX_SOLANA_TX_SIZE}-byte packet limit")]
    Oversize(usize),
    #[error("malformed Solana transaction: {0}")]
    Malformed(String),
    #[error("invalid Solana transaction signature")]
    Signature,
}

impl From<SolanaTxError> for nvm_vm_api::TxError {
    fn from(e: SolanaTxError) -> Self {
        use nvm_vm_api::Rejection;
        let kind = match &e {
            SolanaTxError::Signature => Rejection::Signature,
            SolanaTxError::Oversize(_) | SolanaTxError::Malformed(_) => Rejection::Malformed,
        };
        Self::rejected(kind, e)
    }
}

/// A decoded Solana transaction whose signatures all verified.
#[derive(Clone, Debug)]
pub struct SolanaTx {
    tx: SanitizedTransaction,
}

impl PartialEq for SolanaTx {
    fn eq(&self, other: &Self) -> bool {
        self.tx.signatures() == other.tx.signatures()
    }
}

impl Eq for SolanaTx {}

impl SolanaTx {
    /// Decodes wire bytes: no trailing or non-canonical bytes, sanitized message, every signature
    /// valid. Address-table lookups (v0) are not supported yet and are refused.
    pub fn decode(raw: &[u8]) -> Result<Self, SolanaTxError> {
        Self::decode_checked(raw, true)
    }

    /// [`SolanaTx::decode`] without checking the signatures, for `simulateTransaction` with
    /// `sigVerify: false` (wallets simulate before signing). Never enters a block.
    pub fn decode_for_simulation(raw: &[u8]) -> Result<Self, SolanaTxError> {
        Self::decode_checked(raw, false)
    }

    /// An unsigned `message` as a transaction (blank signatures), for what depends on the
    /// message alone — its fee.
    pub fn of_message(message: solana_message::VersionedMessage) -> Result<Self, SolanaTxError> {
        let signatures = usize::from(message.header().num_required_signatures);
        let versioned =
            VersionedTransaction { signatures: vec![Default::default(); signatures], message };
        let raw =
            bincode::serialize(&versioned).map_err(|e| SolanaTxError::Malformed(e.to_string()))?;
        Self::decode_for_simulation(&raw)
    }

    fn decode_checked(raw: &[u8], verify: bool) -> Result<Self, SolanaTxError> {
        if raw.len() > MAX_SOLANA_TX_SIZE {
            return Err(SolanaTxError::Oversize(raw.len()));
        }
        let versioned: VersionedTransaction =
            bincode::deserialize(raw).map_err(|e| SolanaTxError::Malformed(e.to_string()))?;
        if bincode::serialize(&versioned).ok().as_deref() != Some(raw) {
            return Err(SolanaTxError::Malformed("non-canonical or trailing bytes".into()));
        }
        versioned.sanitize().map_err(|e| SolanaTxError::Malformed(e.to_string()))?;
        if versioned.message.address_table_lookups().is_some_and(|l| !l.is_empty()) {
            return Err(SolanaTxError::Malformed("address lookup tables are not supported".into()));
        }
        let hash = if verify {
            versioned.verify_and_hash_message().map_err(|_| SolanaTxError::Signature)?
        } else {
            versioned.message.hash()
        };
        let tx = SanitizedTransaction::try_create(
            versioned,
            MessageHash::Precomputed(hash),
            Some(false),
            // v0 messages load no addresses from lookup tables yet: those naming one are refused.
            SimpleAddressLoader::Enabled(Default::default()),
            crate::reserved_account_keys(),
        )
        .map_err(|e| SolanaTxError::Malformed(e.to_string()))?;
        Ok(Self { tx })
    }

    pub fn sanitized(&self) -> &SanitizedTransaction {
        &self.tx
    }

    /// The first signature: the transaction's id on Solana.
    pub fn signature(&self) -> [u8; 64] {
        (*self.tx.signature()).into()
    }

    /// The 32-byte hash n-VM files it under: `SHA-256` of its signature.
    pub fn hash(&self) -> [u8; 32] {
        sha256(&self.signature())
    }

    pub fn fee_payer(&self) -> Pubkey {
        *self.tx.message().fee_payer()
    }

    /// The signature fees the fee payer owes whatever happens (the priority fee comes on top).
    pub fn signature_fee_lamports(&self) -> u64 {
        use solana_svm_transaction::svm_message::SVMStaticMessage;
        self.tx.num_transaction_signatures().saturating_mul(crate::LAMPORTS_PER_SIGNATURE)
    }

    pub fn recent_blockhash(&self) -> [u8; 32] {
        self.tx.message().recent_blockhash().to_bytes()
    }
}
