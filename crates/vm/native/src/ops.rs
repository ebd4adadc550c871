//! The native operations and their wire encoding: `opcode ‖ borsh(body)`.

use borsh::{BorshDeserialize, BorshSerialize};
use nvm_identity::VmAddress;
use nvm_primitives::{IdCom, Mint};

/// One native-runtime operation. The borsh discriminant *is* the opcode byte.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum NativeOp {
    /// Registers the identity of (scheme, public key, salt). The transaction's sender must be that
    /// identity's id_com and its credential that public key: the envelope signature proves possession.
    CreateIdentity { scheme: u8, public_key: Vec<u8>, salt: [u8; 32] } = 0x01,
    /// Replaces the sender's credential. `proof` is the new key's signature over
    /// `Registry::rotation_digest(chain_id, id_com, nonce, scheme, public_key)`.
    RotateCredential { scheme: u8, public_key: Vec<u8>, proof: Vec<u8> } = 0x02,
    /// Moves `amount` of `mint` to the identity behind `to`.
    Transfer { mint: Mint, to: VmAddress, amount: u128 } = 0x03,
    /// Sets how much of `mint` `spender` may move out of the sender's balance.
    Approve { mint: Mint, spender: VmAddress, amount: u128 } = 0x04,
    /// Moves `amount` of `mint` from `owner` to `to`, spending the sender's allowance.
    TransferFrom { mint: Mint, owner: VmAddress, to: VmAddress, amount: u128 } = 0x05,
    /// Creates a token whose mint id is `SHA-256("mint:" ‖ sender ‖ nonce)`, with the sender as
    /// its authority, and mints `initial_supply` to the sender.
    CreateToken { name: String, symbol: String, decimals: u8, initial_supply: u128 } = 0x06,
    /// Mints new units to `to`; only the token's authority may.
    Mint { mint: Mint, to: VmAddress, amount: u128 } = 0x07,
    /// Burns units from the authority's own balance.
    Burn { mint: Mint, amount: u128 } = 0x08,
    /// Links the Ethereum account `address` to the sender: `signature` is that key's EIP-191
    /// (`personal_sign`) signature of `evm_link_message(chain_id, sender)`. Its native balance
    /// and its balances of `mints` move to the sender, and from then on its transactions act for
    /// the sender.
    LinkEvmAccount { address: [u8; 20], signature: Vec<u8>, mints: Vec<Mint> } = 0x09,
    /// Links the Solana key `key` to the sender: `signature` is that key's Ed25519 signature of
    /// the UTF-8 bytes of `svm_link_message(chain_id, sender)`. Its lamports (native balance) and
    /// its balances of `mints` move to the sender, and from then on its Solana transactions and
    /// token accounts act for the sender.
    LinkSolanaKey { key: [u8; 32], signature: Vec<u8>, mints: Vec<Mint> } = 0x0A,
    /// Links the Tron key of `address` (the 20 bytes after `0x41`) to the sender: `signature` is
    /// that key's TronWeb `signMessageV2` (TIP-191) signature of `tron_link_message(chain_id,
    /// sender)`. Its TRX (native balance) and its balances of `mints` move to the sender, and
    /// from then on its Tron transactions act for the sender.
    LinkTronKey { address: [u8; 20], signature: Vec<u8>, mints: Vec<Mint> } = 0x0B,
    /// Writes state keys directly (`None` deletes): what anvil's `anvil_setBalance`,
    /// `anvil_setCode`, `anvil_setStorageAt` and `anvil_setNonce` do on a dev chain. Only the
    /// chain's dev authority may (`nvm_identity::dev_authority_key`, set by a single-validator
    /// dev genesis alone); from anyone else, on any other chain, it fails and writes nothing.
    /// `balances` (mint, holder, amount) are set after the writes, at execution, through the
    /// ledger (so the node's index of holders sees them); a native one changes the native supply
    /// by as much (value set into a balance is created, out of one destroyed), so the supply
    /// stays the sum of the balances whatever else moved them meanwhile. Another token's supply
    /// is its record's, which `writes` may set.
    DevWriteState { writes: Vec<([u8; 32], Option<Vec<u8>>)>, balances: Vec<(Mint, IdCom, u128)> } =
        0x0C,
}

impl NativeOp {
    /// The full transaction payload: opcode byte then body.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Strict decoding: unknown opcodes, truncated bodies and trailing bytes are errors.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        nvm_vm_api::decode_payload(payload, "native", 0x01..=0x0C)
    }

    pub fn opcode(&self) -> u8 {
        self.encode()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn discriminant_is_the_opcode() {
        let op = NativeOp::Burn { mint: [1; 32], amount: 5 };
        let bytes = op.encode();
        assert_eq!(bytes[0], 0x08);
        assert_eq!(NativeOp::decode(&bytes), Ok(op));
    }

    #[test]
    fn rejects_unknown_opcode_and_trailing_bytes() {
        assert!(NativeOp::decode(&[0x0F]).unwrap_err().contains("unknown native opcode 0x0f"));
        let mut bytes = NativeOp::Burn { mint: [1; 32], amount: 5 }.encode();
        bytes.push(0);
        assert!(NativeOp::decode(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(op) = NativeOp::decode(&bytes) {
                prop_assert_eq!(op.encode(), bytes);
            }
        }
    }
}
