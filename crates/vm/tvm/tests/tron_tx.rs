//! Tron transactions as TronWeb builds and signs them: the txID is the SHA-256 of the raw_data
//! bytes, the one signature over it recovers the owner (v as a recovery id or 27 + it), and
//! anything else — another signer, a forged signature, two contracts, non-canonical bytes,
//! negative amounts, an unsupported contract — is refused by name.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_primitives::B256;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use nvm_vm_tvm::{
    Any, Contract, Raw, TransactionWire, TransferContract, TriggerSmartContract, TronCall, TronTx,
    TronTxError,
};
use prost::Message;

fn tron(address: [u8; 20]) -> Vec<u8> {
    [&[0x41][..], &address].concat()
}

fn raw(r#type: i32, name: &str, parameter: Vec<u8>) -> Raw {
    Raw {
        ref_block_bytes: vec![0x00, 0x07],
        ref_block_num: 0,
        ref_block_hash: vec![1, 2, 3, 4, 5, 6, 7, 8],
        expiration: 1_700_000_060_000,
        data: vec![],
        contract: vec![Contract {
            r#type,
            parameter: Some(Any {
                type_url: format!("type.googleapis.com/protocol.{name}"),
                value: parameter,
            }),
            permission_id: 0,
        }],
        timestamp: 1_700_000_000_000,
        fee_limit: 0,
    }
}

fn transfer_raw(owner: [u8; 20], to: [u8; 20], amount: i64) -> Raw {
    let c = TransferContract { owner_address: tron(owner), to_address: tron(to), amount };
    raw(1, "TransferContract", c.encode_to_vec())
}

/// The transaction's bytes with `key`'s signature over its txID; `v` 27/28 unless `recovery_id`.
fn signed(raw: &Raw, key: &PrivateKeySigner, recovery_id: bool) -> (Vec<u8>, [u8; 32]) {
    let raw_data = raw.encode_to_vec();
    let txid = nvm_primitives::sha256(&raw_data);
    let mut signature = key.sign_hash_sync(&B256::from(txid)).unwrap().as_bytes().to_vec();
    if recovery_id {
        signature[64] -= 27;
    }
    (TransactionWire { raw_data, signature: vec![signature] }.encode_to_vec(), txid)
}

/// The same signature with s replaced by n - s and the recovery parity flipped: also valid for
/// the same key, the malleable form.
fn flip_s(signature: &[u8]) -> Vec<u8> {
    use alloy_primitives::U256;
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s = U256::from_be_slice(&signature[32..64]);
    let mut out = signature.to_vec();
    out[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    out[64] = if signature[64] == 27 { 28 } else { 27 };
    out
}

#[test]
fn a_signed_transfer_decodes_to_its_owner_and_txid() {
    let key = PrivateKeySigner::random();
    let owner = key.address().into_array();
    for recovery_id in [false, true] {
        let (bytes, txid) = signed(&transfer_raw(owner, [9; 20], 1_500_000), &key, recovery_id);
        let tx = TronTx::decode(&bytes).unwrap();
        assert_eq!((tx.txid, tx.owner), (txid, owner));
        assert_eq!(tx.call, TronCall::Transfer { to: [9; 20], amount: 1_500_000 });
        assert_eq!((tx.ref_block_bytes, tx.ref_block_hash), ([0, 7], [1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(tx.expiration_ms, 1_700_000_060_000);
    }
}

#[test]
fn a_contract_call_decodes() {
    let key = PrivateKeySigner::random();
    let owner = key.address().into_array();
    let call = TriggerSmartContract {
        owner_address: tron(owner),
        contract_address: tron([5; 20]),
        call_value: 0,
        data: vec![0xa9, 0x05, 0x9c, 0xbb],
        call_token_value: 0,
        token_id: 0,
    };
    let mut raw = raw(31, "TriggerSmartContract", call.encode_to_vec());
    raw.fee_limit = 100_000_000;
    let tx = TronTx::decode(&signed(&raw, &key, false).0).unwrap();
    assert_eq!(
        tx.call,
        TronCall::Trigger {
            contract: [5; 20],
            call_value: 0,
            data: vec![0xa9, 0x05, 0x9c, 0xbb],
            token_id: 0,
            call_token_value: 0,
        }
    );
    assert_eq!(tx.fee_limit, 100_000_000);
}

#[test]
fn bad_transactions_are_refused_by_name() {
    let (key, mallory) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let owner = key.address().into_array();
    let good = transfer_raw(owner, [9; 20], 1);
    let good_copy = good.clone();
    // Signed by another key than the owner's.
    let err = TronTx::decode(&signed(&good, &mallory, false).0).unwrap_err();
    assert!(matches!(err, TronTxError::NotOwner { .. }), "{err}");
    // A signature that does not verify (one byte changed): another signer, or none at all.
    let (mut bytes, _) = signed(&good, &key, false);
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    let err = TronTx::decode(&bytes).unwrap_err();
    assert!(matches!(err, TronTxError::NotOwner { .. } | TronTxError::Signature(_)), "{err}");
    // Two contracts.
    let mut two = good.clone();
    two.contract.push(two.contract[0].clone());
    assert!(matches!(TronTx::decode(&signed(&two, &key, false).0), Err(TronTxError::Malformed(_))));
    // Non-canonical bytes: a field this chain does not read (auths, tag 9) is not accepted.
    let (bytes, _) = signed(&good, &key, false);
    let mut wire = TransactionWire::decode(bytes.as_slice()).unwrap();
    wire.raw_data.extend_from_slice(&[0x4a, 0x00]);
    assert!(matches!(TronTx::decode(&wire.encode_to_vec()), Err(TronTxError::Malformed(_))));
    // A negative amount, an unsupported contract type, a type_url that is not its type.
    let negative = transfer_raw(owner, [9; 20], -1);
    assert!(matches!(
        TronTx::decode(&signed(&negative, &key, false).0),
        Err(TronTxError::Malformed(_))
    ));
    let mut freeze = good.clone();
    freeze.contract[0].r#type = 11;
    assert!(matches!(
        TronTx::decode(&signed(&freeze, &key, false).0),
        Err(TronTxError::Unsupported(11))
    ));
    let mut mislabelled = good;
    mislabelled.contract[0].parameter.as_mut().unwrap().type_url =
        "type.googleapis.com/protocol.TriggerSmartContract".into();
    assert!(matches!(
        TronTx::decode(&signed(&mislabelled, &key, false).0),
        Err(TronTxError::Malformed(_))
    ));
    // v outside {0, 1, 27, 28}, and the same signature with s in the upper half.
    let (bytes, _) = signed(&good_copy, &key, false);
    let mut wire = TransactionWire::decode(bytes.as_slice()).unwrap();
    wire.signature[0][64] = 35;
    assert!(matches!(TronTx::decode(&wire.encode_to_vec()), Err(TronTxError::Signature(_))));
    let mut wire = TransactionWire::decode(bytes.as_slice()).unwrap();
    wire.signature[0] = flip_s(&wire.signature[0]);
    assert!(matches!(TronTx::decode(&wire.encode_to_vec()), Err(TronTxError::Signature(_))));
    // Not protobuf at all, and no signature.
    assert!(TronTx::decode(&[0xff, 0xff, 0xff]).is_err());
    let unsigned = TransactionWire {
        raw_data: transfer_raw(owner, [9; 20], 1).encode_to_vec(),
        signature: vec![],
    };
    assert!(matches!(TronTx::decode(&unsigned.encode_to_vec()), Err(TronTxError::Malformed(_))));
}
