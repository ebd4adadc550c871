//! Finalization certificates as a client checks them: a block is final when 2f+1 of the chain's
//! validators signed its finalization (simplex's ed25519 scheme, the chain's namespace). Marshal
//! stores one certificate per finalized height; a node serves it, and anyone holding the
//! validator set can check a header without trusting the node that served it.

use crate::ConsensusBlock;
use commonware_codec::{Decode as _, DecodeExt as _, Encode};
use commonware_consensus::{
    marshal::{self, standard::Standard},
    simplex::{scheme::ed25519::Scheme, types::Finalization as SimplexFinalization},
    types::Height,
};
use commonware_cryptography::{certificate::Verifier as _, ed25519::PublicKey, sha256::Digest};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;

/// A finalization certificate of an n-VM block.
pub type Finalization = SimplexFinalization<Scheme, Digest>;

/// Reads the finalization certificates this validator's marshal stored.
#[derive(Clone)]
pub struct Finalizations(pub(crate) marshal::core::Mailbox<Scheme, Standard<ConsensusBlock>>);

impl Finalizations {
    /// The certificate that finalized block `height`, encoded, if this validator stores it.
    pub async fn encoded(&self, height: u64) -> Option<Vec<u8>> {
        let finalization = self.0.get_finalization(Height::new(height)).await?;
        Some(finalization.encode().to_vec())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FinalityError {
    #[error("not a validator key: {0}")]
    BadValidator(String),
    #[error("malformed finalization certificate: {0}")]
    Malformed(String),
    #[error("the certificate finalizes block 0x{found}, not 0x{expected}")]
    OtherBlock { expected: String, found: String },
    #[error("the signatures do not make a quorum of the validator set")]
    Invalid,
}

/// What a checked certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The consensus view the block was finalized in.
    pub view: u64,
    /// How many validators signed it, of how many.
    pub signers: usize,
    pub validators: usize,
}

/// Checks that `encoded` finalizes the block with header hash `block_hash` on chain `chain_id`,
/// signed by a quorum (2f+1) of `validators` (Ed25519 public keys).
pub fn verify_finalization(
    chain_id: u64,
    validators: &[[u8; 32]],
    encoded: &[u8],
    block_hash: &[u8; 32],
) -> Result<Finalized, FinalityError> {
    let keys = validators
        .iter()
        .map(|k| {
            PublicKey::decode(k.to_vec()).map_err(|e| FinalityError::BadValidator(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let participants = Set::from_iter_dedup(keys);
    let scheme = Scheme::verifier(&crate::namespace(chain_id), participants.clone());
    // Strict: bounded by the validator count, nothing left over.
    let finalization =
        Finalization::decode_cfg(encoded.to_vec(), &scheme.certificate_codec_config())
            .map_err(|e| FinalityError::Malformed(e.to_string()))?;
    if finalization.proposal.payload.0 != *block_hash {
        return Err(FinalityError::OtherBlock {
            expected: hex::encode(block_hash),
            found: hex::encode(finalization.proposal.payload.0),
        });
    }
    // Batch verification weighs signatures by random scalars: they must be unpredictable.
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| FinalityError::Malformed(format!("no randomness: {e}")))?;
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
    if !finalization.verify(&mut rng, &scheme, &Sequential) {
        return Err(FinalityError::Invalid);
    }
    Ok(Finalized {
        view: finalization.proposal.round.view().get(),
        signers: finalization.certificate.signers.count(),
        validators: participants.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_consensus::{
        simplex::types::{Finalize, Proposal},
        types::{Epoch, Round, View},
    };
    use commonware_cryptography::{Signer, ed25519::PrivateKey};

    const CHAIN: u64 = 7;

    /// A certificate of `block` by the first `signers` of four validators.
    fn certificate(block: [u8; 32], signers: usize, chain: u64) -> (Vec<[u8; 32]>, Vec<u8>) {
        let keys: Vec<PrivateKey> = (0..4).map(PrivateKey::from_seed).collect();
        let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
        let proposal =
            Proposal::new(Round::new(Epoch::zero(), View::new(9)), View::new(8), Digest(block));
        let votes: Vec<_> = keys[..signers]
            .iter()
            .map(|key| {
                let scheme =
                    Scheme::signer(&crate::namespace(chain), participants.clone(), key.clone())
                        .expect("a participant");
                Finalize::sign(&scheme, proposal.clone()).expect("signs")
            })
            .collect();
        let assembler = Scheme::verifier(&crate::namespace(chain), participants.clone());
        let mut votes = votes.into_iter();
        let first = votes.next().expect("at least one signer");
        let finalization = Finalization::from_owned_finalizes(
            &assembler,
            commonware_utils::iter::NonEmpty::new(first, votes),
            &Sequential,
        )
        .ok();
        let validators = participants
            .iter()
            .map(|k| <[u8; 32]>::try_from(k.encode().as_ref()).expect("32 bytes"))
            .collect();
        (validators, finalization.map(|f| f.encode().to_vec()).unwrap_or_default())
    }

    #[test]
    fn a_quorum_certificate_of_the_block_verifies() {
        let (validators, cert) = certificate([1; 32], 3, CHAIN);
        let finalized = verify_finalization(CHAIN, &validators, &cert, &[1; 32]).expect("valid");
        assert_eq!(finalized, Finalized { view: 9, signers: 3, validators: 4 });
    }

    proptest::proptest! {
        /// Bytes from anywhere never panic the check and never pass it.
        #[test]
        fn arbitrary_bytes_are_never_a_certificate(bytes in proptest::collection::vec(0u8.., 0..400)) {
            let (validators, _) = certificate([1; 32], 3, CHAIN);
            proptest::prop_assert!(verify_finalization(CHAIN, &validators, &bytes, &[1; 32]).is_err());
        }
    }

    #[test]
    fn a_wrong_block_chain_validator_set_or_byte_is_refused() {
        let (validators, cert) = certificate([1; 32], 3, CHAIN);
        assert!(matches!(
            verify_finalization(CHAIN, &validators, &cert, &[2; 32]),
            Err(FinalityError::OtherBlock { .. })
        ));
        assert!(matches!(
            verify_finalization(CHAIN + 1, &validators, &cert, &[1; 32]),
            Err(FinalityError::Invalid)
        ));
        let mut others = validators.clone();
        others[3] =
            PrivateKey::from_seed(99).public_key().encode().as_ref().try_into().expect("32");
        assert!(verify_finalization(CHAIN, &others, &cert, &[1; 32]).is_err());
        let mut flipped = cert.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(verify_finalization(CHAIN, &validators, &flipped, &[1; 32]).is_err());
        let mut trailing = cert;
        trailing.push(0);
        assert!(matches!(
            verify_finalization(CHAIN, &validators, &trailing, &[1; 32]),
            Err(FinalityError::Malformed(_))
        ));
    }
}
