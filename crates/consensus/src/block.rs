//! An n-VM block as commonware's consensus sees it: identified by its header hash, ordered by its
//! height, linked by its parent hash. On the wire and in marshal's archives it is its borsh
//! encoding behind a length, decoded strictly (a length past the bound, truncated bytes, trailing
//! bytes or a non-canonical encoding are errors), because blocks arrive from any peer.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{Heightable, types::Height};
use commonware_cryptography::{Digestible, sha256::Digest};
use nvm_primitives::Block;

/// The largest encoded block a node accepts or stores (the `u32` length prefix excluded).
pub const MAX_BLOCK_BYTES: usize = 32 * 1024 * 1024;

/// An n-VM block for consensus, its hash computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusBlock {
    block: Block,
    digest: Digest,
    encoded: Vec<u8>,
}

impl ConsensusBlock {
    pub fn new(block: Block) -> Self {
        let encoded = borsh::to_vec(&block).expect("writing to a Vec cannot fail");
        let digest = Digest(block.header.hash());
        Self { block, digest, encoded }
    }

    pub fn block(&self) -> &Block {
        &self.block
    }

    pub fn into_block(self) -> Block {
        self.block
    }

    /// Decodes one block from exactly `bytes` (its borsh encoding, without the length).
    pub fn from_borsh(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        let block: Block = borsh::from_slice(bytes)
            .map_err(|_| CodecError::Invalid("ConsensusBlock", "not a borsh-encoded block"))?;
        if !block.transactions_match_header() {
            // The digest is the header's hash: other transactions under the same header would
            // pass for the finalized block and then fail to execute.
            return Err(CodecError::Invalid("ConsensusBlock", "transactions differ from tx_root"));
        }
        let block = Self::new(block);
        if block.encoded != bytes {
            return Err(CodecError::Invalid("ConsensusBlock", "non-canonical encoding"));
        }
        Ok(block)
    }
}

impl Write for ConsensusBlock {
    fn write(&self, writer: &mut impl BufMut) {
        // The length fits: blocks are built and decoded within MAX_BLOCK_BYTES.
        writer.put_u32(self.encoded.len() as u32);
        writer.put_slice(&self.encoded);
    }
}

impl EncodeSize for ConsensusBlock {
    fn encode_size(&self) -> usize {
        4 + self.encoded.len()
    }
}

impl Read for ConsensusBlock {
    type Cfg = ();

    fn read_cfg(reader: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if reader.remaining() < 4 {
            return Err(CodecError::EndOfBuffer);
        }
        let len = reader.get_u32() as usize;
        if len > MAX_BLOCK_BYTES {
            return Err(CodecError::InvalidLength(len));
        }
        if reader.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0; len];
        reader.copy_to_slice(&mut bytes);
        Self::from_borsh(&bytes)
    }
}

impl Digestible for ConsensusBlock {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for ConsensusBlock {
    fn height(&self) -> Height {
        Height::new(self.block.header.height)
    }
}

impl commonware_consensus::Block for ConsensusBlock {
    fn parent(&self) -> Digest {
        Digest(self.block.header.parent_hash)
    }
}

impl commonware_consensus::BoundedBlock for ConsensusBlock {
    fn max_encode_size(_: &()) -> usize {
        4 + MAX_BLOCK_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};
    use nvm_primitives::BlockHeader;
    use proptest::prelude::*;

    fn block(height: u64, transactions: Vec<Vec<u8>>) -> ConsensusBlock {
        let header = BlockHeader {
            chain_id: 7,
            height,
            parent_hash: [height as u8; 32],
            timestamp_ms: 1_000 * height,
            proposer: [1; 32],
            tx_root: nvm_primitives::tx_root(transactions.iter().map(Vec::as_slice)),
            receipts_root: [3; 32],
            state_root: [4; 32],
            gas_used: 0,
            base_fee_per_gas: 1,
        };
        ConsensusBlock::new(Block { header, transactions })
    }

    #[test]
    fn round_trips_and_names_its_parent() {
        let b = block(5, vec![vec![1, 2, 3], vec![]]);
        let bytes = b.encode();
        assert_eq!(bytes.len(), b.encode_size());
        let back = ConsensusBlock::decode(bytes).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.digest(), Digest(b.block().header.hash()));
        assert_eq!(commonware_consensus::Block::parent(&back), Digest([5; 32]));
        assert_eq!(back.height(), Height::new(5));
    }

    #[test]
    fn truncated_oversized_and_trailing_bytes_are_errors() {
        let bytes = block(1, vec![vec![9; 10]]).encode().to_vec();
        assert!(ConsensusBlock::decode(bytes[..bytes.len() - 1].to_vec()).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(ConsensusBlock::decode(trailing).is_err());
        let mut huge = bytes;
        huge[..4].copy_from_slice(&(MAX_BLOCK_BYTES as u32 + 1).to_be_bytes());
        assert!(matches!(ConsensusBlock::decode(huge), Err(CodecError::InvalidLength(_))));
    }

    /// A peer cannot pass other transactions off under a header: the digest (the header's
    /// hash) would match the finalized block, and the block would then fail to execute.
    #[test]
    fn transactions_other_than_the_headers_are_refused() {
        let honest = block(3, vec![vec![1, 2, 3], vec![4]]);
        let mut swapped = honest.block().clone();
        swapped.transactions[0][2] ^= 1;
        let bytes = borsh::to_vec(&swapped).unwrap();
        assert!(matches!(ConsensusBlock::from_borsh(&bytes), Err(CodecError::Invalid(_, _))));
        swapped.transactions.pop();
        let fewer = borsh::to_vec(&swapped).unwrap();
        assert!(ConsensusBlock::from_borsh(&fewer).is_err());
        assert!(ConsensusBlock::from_borsh(&borsh::to_vec(honest.block()).unwrap()).is_ok());
    }

    proptest! {
        /// Any bytes either fail to decode or are the block's one encoding.
        #[test]
        fn decoding_never_panics_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(b) = ConsensusBlock::decode(bytes.clone()) {
                prop_assert_eq!(b.encode().to_vec(), bytes);
            }
        }
    }
}
