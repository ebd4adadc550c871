//! BVM operations carried in native envelopes (`opcode ‖ borsh(body)`): locking ledger value
//! under a Bitcoin script, sending other tokens to a script's holder, and linking a Bitcoin key
//! to an identity. A Bitcoin address is the script it encodes.

use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::Mint;
use std::str::FromStr;

pub use nvm_utxo::MAX_SCRIPT_LEN;
use nvm_utxo::check_script;

/// One BVM operation; the borsh discriminant is the opcode byte.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum BvmOp {
    /// Moves `amount` of the sender's native balance (18 decimals, a whole number of satoshi)
    /// into a new UTXO locked by `script_pubkey`, the output of a synthetic funding transaction
    /// whose txid wallets can reference.
    Lock { script_pubkey: Vec<u8>, amount: u128 } = 0x31,
    /// Moves `amount` of the token `mint` (not the native one, which [`BvmOp::Lock`] locks)
    /// to the holder of `script_pubkey`: the identity that linked the script, else the
    /// script's legacy identity (SPEC §2), where it waits for a key of the script to link.
    Hold { mint: Mint, script_pubkey: Vec<u8>, amount: u128 } = 0x32,
    /// Links the Bitcoin key `public_key` (33 bytes, compressed) to the sender: `signature` is
    /// that key's Bitcoin Signed Message signature (BIP-137, 65 bytes) of
    /// `nvm_identity::btc_link_message`. The key's single-key scripts (P2PKH, P2WPKH,
    /// P2SH-P2WPKH, P2TR key path) then pay the sender: what their legacy identities hold (the
    /// native token, each of `mints` and their holdings) and their UTXOs move to it now, and what
    /// is paid to them later credits it.
    LinkKey { public_key: Vec<u8>, signature: Vec<u8>, mints: Vec<Mint> } = 0x33,
}

/// The opcode of [`BvmOp::Lock`].
pub const OPCODE_LOCK: u8 = 0x31;
/// Most mints a [`BvmOp::LinkKey`] names.
pub const MAX_LINK_MINTS: usize = 256;

impl BvmOp {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Strict decoding, then the checks that need no state: scripts of 1 to
    /// [`MAX_SCRIPT_LEN`] bytes, a lock of a positive whole number of satoshi, a held token
    /// that is not the native one, a link's well-formed key and signature.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        let op: Self = nvm_vm_api::decode_payload(payload, "BVM", 0x31..=0x33)?;
        match &op {
            Self::Lock { script_pubkey, amount } => {
                check_script(script_pubkey)?;
                nvm_utxo::whole_satoshi(*amount)?;
            }
            Self::Hold { mint, script_pubkey, amount } => {
                check_script(script_pubkey)?;
                if *mint == nvm_ledger::NATIVE_MINT {
                    return Err("the native token sent to a script is locked in a UTXO".into());
                }
                if *amount == 0 {
                    return Err("an amount of zero moves nothing".into());
                }
            }
            Self::LinkKey { public_key, signature, mints } => {
                crate::link::key_scripts(public_key)?;
                crate::link::message_signature(signature)?;
                if mints.len() > MAX_LINK_MINTS {
                    return Err(format!("a link names at most {MAX_LINK_MINTS} mints"));
                }
            }
        }
        Ok(op)
    }
}

/// The output script a recipient names: a Bitcoin mainnet address (`bc1q…`, `bc1p…`, `1…`,
/// `3…`) or `script:` and the script's hex.
pub fn script_of(recipient: &str) -> Result<Vec<u8>, String> {
    if let Some(hex) = recipient.strip_prefix("script:") {
        return hex::decode(hex).map_err(|e| format!("{recipient}: not a hex script: {e}"));
    }
    let address = bitcoin::Address::from_str(recipient)
        .map_err(|e| format!("{recipient}: not a Bitcoin address: {e}"))?
        .require_network(bitcoin::Network::Bitcoin)
        .map_err(|e| format!("{recipient}: {e}"))?;
    Ok(address.script_pubkey().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identitys_taproot_address_is_the_one_rust_bitcoin_shows() {
        for program in [[0u8; 32], [0x79; 32], nvm_primitives::sha256(b"bvm")] {
            let witness =
                bitcoin::WitnessProgram::new(bitcoin::WitnessVersion::V1, &program).unwrap();
            let address =
                bitcoin::Address::from_witness_program(witness, bitcoin::KnownHrp::Mainnet);
            assert_eq!(nvm_identity::taproot_address(&program), address.to_string());
            assert_eq!(
                script_of(&address.to_string()).unwrap(),
                address.script_pubkey().to_bytes()
            );
        }
    }

    #[test]
    fn addresses_are_their_scripts_and_bad_locks_are_refused() {
        // BIP-173's P2WPKH example and BIP-350's P2TR one.
        let p2wpkh = script_of("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").unwrap();
        assert_eq!(hex::encode(&p2wpkh), "0014751e76e8199196d454941c45d1b3a323f1433bd6");
        let p2tr =
            script_of("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0").unwrap();
        assert_eq!(p2tr.len(), 34);
        assert!(script_of("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx").is_err()); // testnet
        assert!(script_of("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5").is_err()); // checksum
        assert_eq!(script_of("script:51").unwrap(), vec![0x51]);

        let lock = |amount| BvmOp::Lock { script_pubkey: p2wpkh.clone(), amount }.encode();
        assert!(BvmOp::decode(&lock(5 * crate::UNITS_PER_SAT)).is_ok());
        assert!(
            BvmOp::decode(&lock(5 * crate::UNITS_PER_SAT + 1))
                .unwrap_err()
                .contains("whole number")
        );
        assert!(BvmOp::decode(&lock(0)).is_err());
        let mut trailing = lock(crate::UNITS_PER_SAT);
        trailing.push(0);
        assert!(BvmOp::decode(&trailing).is_err());
        assert!(BvmOp::decode(&[0x30]).unwrap_err().contains("unknown BVM opcode"));
    }
}
