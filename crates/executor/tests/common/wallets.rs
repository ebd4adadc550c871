//! Bitcoin wallets for the executor's tests: real secp256k1 keys signing P2WPKH spends as a
//! wallet does, and the outputs that pay an identity's BVM address.

use super::vms;
use bitcoin::{
    Amount, CompressedPublicKey, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
    absolute::LockTime,
    consensus::encode::serialize,
    secp256k1::{Message, Secp256k1, SecretKey},
    sighash::SighashCache,
    transaction::Version,
};
use nvm_executor::VerifiedTx;
use nvm_identity::derive_address;

pub struct Wallet {
    pub key: SecretKey,
    pub public: CompressedPublicKey,
}

impl Wallet {
    pub fn new(seed: u8) -> Self {
        let key = SecretKey::from_slice(&[seed; 32]).unwrap();
        let public = CompressedPublicKey(key.public_key(&Secp256k1::new()));
        Self { key, public }
    }

    pub fn script(&self) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&self.public.wpubkey_hash())
    }

    /// Signs input `index` (spending `value` under this wallet's P2WPKH script), as a wallet does.
    pub fn sign(&self, tx: &mut Transaction, index: usize, value: u64) {
        let sighash = SighashCache::new(&*tx)
            .p2wpkh_signature_hash(
                index,
                &self.script(),
                Amount::from_sat(value),
                EcdsaSighashType::All,
            )
            .unwrap();
        let signature = Secp256k1::new().sign_ecdsa(&Message::from(sighash), &self.key);
        let signature =
            bitcoin::ecdsa::Signature { signature, sighash_type: EcdsaSighashType::All };
        tx.input[index].witness = Witness::p2wpkh(&signature, &self.public.0);
    }

    /// Signs `text` as a wallet's "sign message" does (Bitcoin Signed Message, BIP-137; the
    /// compressed-key header).
    pub fn sign_message(&self, text: &str) -> Vec<u8> {
        let digest = bitcoin::sign_message::signed_msg_hash(text);
        let message = Message::from_digest(bitcoin::hashes::Hash::to_byte_array(digest));
        let signature = Secp256k1::new().sign_ecdsa_recoverable(&message, &self.key);
        bitcoin::sign_message::MessageSignature::new(signature, true).serialize().to_vec()
    }
}

/// An identity's BVM address as the witness-v1 program a Bitcoin output pays (`bc1p…`).
pub fn bvm_output(id: &[u8; 32]) -> ScriptBuf {
    let Some(program) = derive_address(&nvm_identity::BVM_FORMAT, id).bvm() else { unreachable!() };
    let mut script = vec![0x51, 0x20];
    script.extend(program);
    ScriptBuf::from_bytes(script)
}

pub fn spend(from: OutPoint, outputs: Vec<(u64, ScriptBuf)>) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: from,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: outputs
            .into_iter()
            .map(|(value, script_pubkey)| TxOut { value: Amount::from_sat(value), script_pubkey })
            .collect(),
    }
}

pub fn tagged(tx: &Transaction) -> VerifiedTx {
    let mut raw = vec![nvm_vm_bvm::BITCOIN_TX_TAG];
    raw.extend(serialize(tx));
    VerifiedTx::verify(&vms(), raw).unwrap()
}
