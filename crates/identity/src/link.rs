//! Linking an external wallet key to an identity (SPEC §2, beyond the paper): the identity's
//! credential signs the transaction, and the external key signs a message naming the identity and
//! the chain — so both keys consent. An Ethereum key signs it with EIP-191 (`personal_sign` in
//! MetaMask); a Solana key signs its UTF-8 bytes with Ed25519 (a wallet's `signMessage`).

use crate::{Registry, VmAddress, index_key, legacy_btc_id, legacy_id_com, script_index_key};
use alloy_primitives::{Address, Signature};
use nvm_primitives::IdCom;
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateError};

/// The text the Ethereum key signs (with `personal_sign`, EIP-191) to be linked to `id_com`.
pub fn evm_link_message(chain_id: u64, id_com: &IdCom) -> String {
    link_message("Ethereum", chain_id, id_com)
}

/// The text the Solana key signs (Ed25519 over its UTF-8 bytes) to be linked to `id_com`.
pub fn svm_link_message(chain_id: u64, id_com: &IdCom) -> String {
    link_message("Solana", chain_id, id_com)
}

/// The text a Tron key signs (TronWeb's `signMessageV2`, TIP-191) to be linked to `id_com`.
pub fn tron_link_message(chain_id: u64, id_com: &IdCom) -> String {
    link_message("Tron", chain_id, id_com)
}

/// TIP-191's prefix: what `signMessageV2` hashes before the message's length and bytes.
const TRON_MESSAGE_PREFIX: &[u8] = b"\x19TRON Signed Message:\n";

/// Checks that `signature` (65 bytes, r ‖ s ‖ v) is the Tron key of `address` (the 20 bytes
/// after `0x41`) signing the link message for `id_com` as TronWeb's `signMessageV2` does:
/// `keccak256("\x19TRON Signed Message:\n" ‖ len ‖ message)`.
pub fn verify_tron_link(
    chain_id: u64,
    id_com: &IdCom,
    address: &[u8; 20],
    signature: &[u8],
) -> Result<(), LinkError> {
    let message = tron_link_message(chain_id, id_com);
    let digest = alloy_primitives::keccak256(
        [TRON_MESSAGE_PREFIX, message.len().to_string().as_bytes(), message.as_bytes()].concat(),
    );
    let signature = Signature::try_from(signature).map_err(|_| LinkError::MalformedSignature)?;
    let signer = signature
        .recover_address_from_prehash(&digest)
        .map_err(|_| LinkError::MalformedSignature)?;
    let address = Address::from(*address);
    if signer != address {
        return Err(LinkError::WrongSigner { address, signer });
    }
    Ok(())
}

/// The text a Bitcoin key signs (Bitcoin Signed Message, BIP-137) to be linked to `id_com`.
pub fn btc_link_message(chain_id: u64, id_com: &IdCom) -> String {
    link_message("Bitcoin", chain_id, id_com)
}

fn link_message(ecosystem: &str, chain_id: u64, id_com: &IdCom) -> String {
    format!(
        "n-VM: link this {ecosystem} account to identity 0x{} on chain {chain_id}",
        hex::encode(id_com)
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link signature is not a 65-byte Ethereum signature")]
    MalformedSignature,
    #[error("the link signature was made by {signer}, not by {address}")]
    WrongSigner { address: Address, signer: Address },
    #[error("{0} is not an Ed25519 public key")]
    NotAnEd25519Key(String),
    #[error("the link signature is not {0}'s Ed25519 signature of the link message")]
    BadEd25519Signature(String),
    #[error("{0} is an identity, not a wallet address that can be linked")]
    NotExternal(String),
    #[error("{address} already belongs to identity 0x{}", hex::encode(.owner))]
    AlreadyLinked { address: String, owner: IdCom },
    #[error(transparent)]
    State(#[from] StateError),
}

/// Checks that `signature` is `address`'s EIP-191 signature of the link message for `id_com`.
pub fn verify_evm_link(
    chain_id: u64,
    id_com: &IdCom,
    address: &[u8; 20],
    signature: &[u8],
) -> Result<(), LinkError> {
    let signature = Signature::try_from(signature).map_err(|_| LinkError::MalformedSignature)?;
    let signer = signature
        .recover_address_from_msg(evm_link_message(chain_id, id_com))
        .map_err(|_| LinkError::MalformedSignature)?;
    let address = Address::from(*address);
    if signer != address {
        return Err(LinkError::WrongSigner { address, signer });
    }
    Ok(())
}

/// Checks that `signature` is the Solana key `key`'s Ed25519 signature (strict: no small-order
/// keys, canonical encodings) of the link message for `id_com`.
pub fn verify_svm_link(
    chain_id: u64,
    id_com: &IdCom,
    key: &[u8; 32],
    signature: &[u8],
) -> Result<(), LinkError> {
    let shown = || VmAddress::Svm(*key).display();
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(key)
        .map_err(|_| LinkError::NotAnEd25519Key(shown()))?;
    let signature = ed25519_dalek::Signature::from_slice(signature)
        .map_err(|_| LinkError::BadEd25519Signature(shown()))?;
    verifying
        .verify_strict(svm_link_message(chain_id, id_com).as_bytes(), &signature)
        .map_err(|_| LinkError::BadEd25519Signature(shown()))
}

impl Registry {
    /// Points `external` at `id_com` in the reverse index, so that transactions signed by its key
    /// act for `id_com`. Returns the address's legacy identity, whose holdings the caller moves.
    /// The legacy identity's derived addresses — which it showed, and may have been paid at —
    /// are `id_com`'s from now on too (with the native value sent to them while they were no
    /// one's), so nothing sent to an address the key's identity ever showed is stranded. The
    /// identity's nonce becomes at least the legacy one, so that no transaction the key signed
    /// before can run again.
    pub fn link(
        state: &mut dyn StateAccess,
        id_com: &IdCom,
        external: &VmAddress,
    ) -> Result<IdCom, LinkError> {
        let legacy =
            legacy_id_com(external).ok_or_else(|| LinkError::NotExternal(external.display()))?;
        let key = index_key(external);
        if let Some(owner) = state.get_decoded::<IdCom>(&key)? {
            return Err(LinkError::AlreadyLinked { address: external.display(), owner });
        }
        Self::point(state, external, id_com)?;
        Self::adopt_derived(state, &legacy, id_com)?;
        let nonce = Self::nonce(state, id_com)?.max(Self::nonce(state, &legacy)?);
        Self::set_nonce(state, id_com, nonce);
        Ok(legacy)
    }

    /// Points the Bitcoin output script `script_pubkey` at `id_com`, so that value paid to it
    /// credits `id_com`, and adopts its legacy identity's derived addresses as [`Registry::link`]
    /// does. Returns the legacy identity, whose holdings the caller moves. (No nonce: a Bitcoin
    /// key never signed an n-VM transaction.)
    pub fn link_script(
        state: &mut dyn StateAccess,
        id_com: &IdCom,
        script_pubkey: &[u8],
    ) -> Result<IdCom, LinkError> {
        let key = script_index_key(script_pubkey);
        if let Some(owner) = state.get_decoded::<IdCom>(&key)? {
            let address = format!("script {}", hex::encode(script_pubkey));
            return Err(LinkError::AlreadyLinked { address, owner });
        }
        state.set_encoded(key, id_com);
        let legacy = legacy_btc_id(script_pubkey);
        Self::adopt_derived(state, &legacy, id_com)?;
        Ok(legacy)
    }

    /// The identity that linked `script_pubkey`, if one did.
    pub fn script_owner(
        state: &mut dyn StateAccess,
        script_pubkey: &[u8],
    ) -> Result<Option<IdCom>, StateError> {
        state.get_decoded(&script_index_key(script_pubkey))
    }

    /// Declares what [`Registry::link_script`] reads and writes in the registry.
    pub fn declare_link_script(access: &mut AccessSet, script_pubkey: &[u8], id_com: &IdCom) {
        access.write(script_index_key(script_pubkey));
        Self::declare_derived(access, &legacy_btc_id(script_pubkey));
        access.write(nvm_ledger::balance_key(&nvm_ledger::NATIVE_MINT, id_com));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::eip191_hash_message;
    use ed25519_dalek::Signer;

    const CHAIN: u64 = 7;
    const ID: IdCom = [5; 32];

    /// An Ethereum key's address and its `personal_sign` of `text`, as a wallet makes them.
    fn personal_sign(secret: u8, text: &str) -> ([u8; 20], Vec<u8>) {
        let key = k256::ecdsa::SigningKey::from_bytes(&[secret; 32].into()).unwrap();
        let (sig, recovery) =
            key.sign_prehash_recoverable(eip191_hash_message(text).as_slice()).unwrap();
        let signature = Signature::from_signature_and_parity(sig, recovery.is_y_odd());
        (Address::from_public_key(key.verifying_key()).into(), signature.as_bytes().to_vec())
    }

    #[test]
    fn an_evm_link_is_accepted_only_from_the_linked_address_for_this_identity_and_chain() {
        let message = evm_link_message(CHAIN, &ID);
        let (address, signature) = personal_sign(1, &message);
        verify_evm_link(CHAIN, &ID, &address, &signature).unwrap();

        // Signed by another key, presented for this address: refused, naming both.
        let (other, by_other) = personal_sign(2, &message);
        assert_eq!(
            verify_evm_link(CHAIN, &ID, &address, &by_other),
            Err(LinkError::WrongSigner { address: address.into(), signer: other.into() })
        );
        // The right key, but for another identity or another chain: refused.
        for (chain, id) in [(CHAIN, [6; 32]), (CHAIN + 1, ID)] {
            assert!(matches!(
                verify_evm_link(chain, &id, &address, &signature),
                Err(LinkError::WrongSigner { .. })
            ));
        }
        // Not a signature at all.
        assert_eq!(
            verify_evm_link(CHAIN, &ID, &address, &signature[..64]),
            Err(LinkError::MalformedSignature)
        );
    }

    #[test]
    fn an_svm_link_is_accepted_only_from_the_linked_key_for_this_identity_and_chain() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let public = key.verifying_key().to_bytes();
        let message = svm_link_message(CHAIN, &ID);
        verify_svm_link(CHAIN, &ID, &public, &key.sign(message.as_bytes()).to_bytes()).unwrap();

        let other = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
        let by_other = other.sign(message.as_bytes()).to_bytes();
        assert!(matches!(
            verify_svm_link(CHAIN, &ID, &public, &by_other),
            Err(LinkError::BadEd25519Signature(_))
        ));
        let elsewhere = key.sign(svm_link_message(CHAIN + 1, &ID).as_bytes()).to_bytes();
        assert!(matches!(
            verify_svm_link(CHAIN, &ID, &public, &elsewhere),
            Err(LinkError::BadEd25519Signature(_))
        ));
    }
}
