//! Linking a Bitcoin key to an identity (SPEC §2, beyond the paper): the identity signs the
//! transaction, and the Bitcoin key signs `nvm_identity::btc_link_message` the way Bitcoin
//! wallets sign messages (Bitcoin Signed Message, BIP-137: `signmessage` in Core and Electrum,
//! bitcoinjs-message) — so both keys consent. The key's scripts then pay the identity.

use bitcoin::{
    CompressedPublicKey, ScriptBuf,
    secp256k1::{
        Secp256k1,
        ecdsa::{RecoverableSignature, RecoveryId},
    },
    sign_message::{MessageSignature, signed_msg_hash},
};
use nvm_primitives::IdCom;

/// The single-key output scripts of a compressed key — the addresses a wallet shows for it:
/// P2PKH, P2WPKH, P2SH-wrapped P2WPKH and the BIP-86 P2TR key path (tweaked, no script tree).
pub fn key_scripts(public_key: &[u8]) -> Result<[ScriptBuf; 4], String> {
    let key = CompressedPublicKey::from_slice(public_key)
        .map_err(|e| format!("not a compressed secp256k1 public key: {e}"))?;
    let p2wpkh = ScriptBuf::new_p2wpkh(&key.wpubkey_hash());
    let p2sh = ScriptBuf::new_p2sh(&p2wpkh.script_hash());
    let secp = Secp256k1::verification_only();
    let p2tr = ScriptBuf::new_p2tr(&secp, key.0.x_only_public_key().0, None);
    Ok([ScriptBuf::new_p2pkh(&key.pubkey_hash()), p2wpkh, p2sh, p2tr])
}

/// A 65-byte BIP-137 signature: a header byte (27–30 for an uncompressed key, 31–34
/// compressed, 35–38 P2SH-P2WPKH, 39–42 P2WPKH; the low two bits are the recovery id) and the
/// compact signature. Only compressed keys are linked.
pub fn message_signature(signature: &[u8]) -> Result<MessageSignature, String> {
    let Some((&header, compact)) = signature.split_first().filter(|_| signature.len() == 65) else {
        return Err(format!("a message signature has 65 bytes, not {}", signature.len()));
    };
    if !(31..=42).contains(&header) {
        return Err(format!(
            "header byte {header} is not a compressed key's message signature (31 to 42)"
        ));
    }
    let recovery = RecoveryId::from_i32(i32::from((header - 27) & 3))
        .map_err(|e| format!("bad recovery id: {e}"))?;
    let signature = RecoverableSignature::from_compact(compact, recovery)
        .map_err(|e| format!("not a secp256k1 signature: {e}"))?;
    Ok(MessageSignature::new(signature, true))
}

/// Checks that `signature` is `public_key`'s message signature of the link text for `id_com`
/// on `chain_id`.
pub fn verify_link(
    chain_id: u64,
    id_com: &IdCom,
    public_key: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key = CompressedPublicKey::from_slice(public_key)
        .map_err(|e| format!("not a compressed secp256k1 public key: {e}"))?;
    let digest = signed_msg_hash(&nvm_identity::btc_link_message(chain_id, id_com));
    let signer = message_signature(signature)?
        .recover_pubkey(&Secp256k1::verification_only(), digest)
        .map_err(|e| format!("the link signature recovers no key: {e}"))?;
    if signer.inner != key.0 {
        return Err(format!("the link signature was made by key {signer}, not by {key}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Message, SecretKey};

    const CHAIN: u64 = 7;
    const ID: IdCom = [5; 32];

    /// A key and its BIP-137 signature of `text` with header `base` + recovery id, as a wallet
    /// makes them.
    fn sign(secret: u8, text: &str, base: u8) -> (Vec<u8>, Vec<u8>) {
        let secp = Secp256k1::new();
        let secret = SecretKey::from_slice(&[secret; 32]).unwrap();
        let digest = Message::from_digest(signed_msg_hash(text).to_byte_array());
        let (recovery, compact) = secp.sign_ecdsa_recoverable(&digest, &secret).serialize_compact();
        let header = base + u8::try_from(recovery.to_i32()).unwrap();
        let public = secret.public_key(&secp).serialize().to_vec();
        (public, [&[header][..], &compact].concat())
    }

    use bitcoin::hashes::Hash;

    #[test]
    fn a_link_is_accepted_only_from_the_key_for_this_identity_and_chain() {
        let text = nvm_identity::btc_link_message(CHAIN, &ID);
        // Core's and Electrum's compressed header, and BIP-137's P2WPKH one.
        for base in [31, 39] {
            let (key, signature) = sign(1, &text, base);
            verify_link(CHAIN, &ID, &key, &signature).unwrap();
        }
        let (key, signature) = sign(1, &text, 31);
        let (_, by_other) = sign(2, &text, 31);
        assert!(verify_link(CHAIN, &ID, &key, &by_other).unwrap_err().contains("made by key"));
        for (chain, id) in [(CHAIN, [6; 32]), (CHAIN + 1, ID)] {
            assert!(verify_link(chain, &id, &key, &signature).is_err());
        }
        // An uncompressed header, a short signature, a key that is not one.
        let mut uncompressed = signature.clone();
        uncompressed[0] -= 4;
        assert!(verify_link(CHAIN, &ID, &key, &uncompressed).unwrap_err().contains("header"));
        assert!(verify_link(CHAIN, &ID, &key, &signature[..64]).unwrap_err().contains("65"));
        assert!(verify_link(CHAIN, &ID, &[2; 33], &signature).is_err());
    }

    #[test]
    fn a_key_pays_through_the_four_scripts_wallets_show_for_it() {
        // BIP-173's example key: its P2WPKH script is the one its `bc1qw508…` address encodes.
        let key = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
            .unwrap();
        let [p2pkh, p2wpkh, p2sh, p2tr] = key_scripts(&key).unwrap();
        let address = |s: &ScriptBuf| {
            bitcoin::Address::from_script(s, bitcoin::Network::Bitcoin).unwrap().to_string()
        };
        assert_eq!(address(&p2wpkh), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
        assert_eq!(address(&p2pkh), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
        assert_eq!(address(&p2sh), "3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN");
        // BIP-86's first test vector uses another key; this one's P2TR is a 34-byte v1 program.
        assert!(p2tr.is_p2tr());
        assert!(key_scripts(&key[..32]).is_err());
    }
}
