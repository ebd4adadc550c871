//! Tron's own transactions as TronWeb and java-tron build them: the protobuf `Transaction`
//! (`core/Tron.proto`) with one contract — `TransferContract`, `TriggerSmartContract` or
//! `CreateSmartContract` — whose txID is the SHA-256 of the `raw_data` bytes and whose one
//! secp256k1 signature (r ‖ s ‖ v, v = recovery id or 27 + it) over the txID recovers the
//! owner's address (`0x41 ‖ keccak256(public key)[12..]`). Decoding is strict: canonical proto3
//! bytes only (what java-tron re-encodes and hashes), so a transaction has one txID, and a
//! low-s signature with v in one of its two customary forms.

use alloy_primitives::{B256, Signature};
use prost::Message;

/// Tron's address prefix (mainnet addresses show as `T…` in base58check).
pub const TRON_ADDRESS_PREFIX: u8 = 0x41;
/// Largest transaction java-tron takes (`TRANSACTION_MAX_BYTE_SIZE`).
pub const MAX_TRON_TX_SIZE: usize = 500 * 1024;

const TYPE_URL_PREFIX: &str = "type.googleapis.com/protocol.";

/// `Transaction`, with `raw_data` kept as the bytes the txID hashes.
#[derive(Clone, PartialEq, Message)]
pub struct TransactionWire {
    #[prost(bytes = "vec", tag = "1")]
    pub raw_data: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub signature: Vec<Vec<u8>>,
}

/// `Transaction.raw` (the fields this chain reads; any other makes the bytes non-canonical here).
#[derive(Clone, PartialEq, Message)]
pub struct Raw {
    #[prost(bytes = "vec", tag = "1")]
    pub ref_block_bytes: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub ref_block_num: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub ref_block_hash: Vec<u8>,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "8")]
    pub expiration: i64,
    /// A memo.
    #[prost(bytes = "vec", tag = "10")]
    pub data: Vec<u8>,
    #[prost(message, repeated, tag = "11")]
    pub contract: Vec<Contract>,
    #[prost(int64, tag = "14")]
    pub timestamp: i64,
    /// Most sun the transaction may pay for energy.
    #[prost(int64, tag = "18")]
    pub fee_limit: i64,
}

/// `Transaction.Contract`.
#[derive(Clone, PartialEq, Message)]
pub struct Contract {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(message, optional, tag = "2")]
    pub parameter: Option<Any>,
    #[prost(int32, tag = "5")]
    pub permission_id: i32,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `TransferContract`: TRX (sun) from the owner to `to_address`.
#[derive(Clone, PartialEq, Message)]
pub struct TransferContract {
    #[prost(bytes = "vec", tag = "1")]
    pub owner_address: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub to_address: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub amount: i64,
}

/// `TransferAssetContract`: `amount` of the TRC-10 asset `asset_name` (its id, decimal digits)
/// from the owner to `to_address`.
#[derive(Clone, PartialEq, Message)]
pub struct TransferAssetContract {
    #[prost(bytes = "vec", tag = "1")]
    pub asset_name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub owner_address: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub to_address: Vec<u8>,
    #[prost(int64, tag = "4")]
    pub amount: i64,
}

/// `TriggerSmartContract`: a contract call with `call_value` sun.
#[derive(Clone, PartialEq, Message)]
pub struct TriggerSmartContract {
    #[prost(bytes = "vec", tag = "1")]
    pub owner_address: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub contract_address: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub call_value: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
    #[prost(int64, tag = "5")]
    pub call_token_value: i64,
    #[prost(int64, tag = "6")]
    pub token_id: i64,
}

/// `CreateSmartContract`: a deployment.
#[derive(Clone, PartialEq, Message)]
pub struct CreateSmartContract {
    #[prost(bytes = "vec", tag = "1")]
    pub owner_address: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    pub new_contract: Option<SmartContract>,
    #[prost(int64, tag = "3")]
    pub call_token_value: i64,
    #[prost(int64, tag = "4")]
    pub token_id: i64,
}

/// `SmartContract`, the fields a deployment sets (the ABI is kept as its bytes: present, even
/// empty, whenever the wallet gave one, as TronWeb always does).
#[derive(Clone, PartialEq, Message)]
pub struct SmartContract {
    #[prost(bytes = "vec", tag = "1")]
    pub origin_address: Vec<u8>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub abi: Option<Vec<u8>>,
    #[prost(bytes = "vec", tag = "4")]
    pub bytecode: Vec<u8>,
    #[prost(int64, tag = "5")]
    pub call_value: i64,
    #[prost(int64, tag = "6")]
    pub consume_user_resource_percent: i64,
    #[prost(string, tag = "7")]
    pub name: String,
    #[prost(int64, tag = "8")]
    pub origin_energy_limit: i64,
}

/// `ContractType` values this chain runs.
const TRANSFER: i32 = 1;
const TRANSFER_ASSET: i32 = 2;
const CREATE_SMART_CONTRACT: i32 = 30;
const TRIGGER_SMART_CONTRACT: i32 = 31;

/// What a Tron transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TronCall {
    /// `TransferContract`: `amount` sun to `to`.
    Transfer { to: [u8; 20], amount: u64 },
    /// `TransferAssetContract`: `amount` of the TRC-10 asset `asset_id` to `to`.
    TransferAsset { asset_id: u64, to: [u8; 20], amount: u64 },
    /// `TriggerSmartContract`: a call of `contract` with `call_value` sun and `data`, and
    /// `call_token_value` of the TRC-10 asset `token_id` (0: none).
    Trigger {
        contract: [u8; 20],
        call_value: u64,
        data: Vec<u8>,
        token_id: u64,
        call_token_value: u64,
    },
    /// `CreateSmartContract`: deploys `bytecode` (init code and constructor arguments), with its
    /// ABI (`SmartContract.ABI`'s protobuf bytes) and name, which `getcontract` shows.
    Create {
        bytecode: Vec<u8>,
        abi: Vec<u8>,
        name: String,
        call_value: u64,
        consume_user_resource_percent: u8,
        origin_energy_limit: u64,
        token_id: u64,
        call_token_value: u64,
    },
}

/// A decoded Tron transaction whose signature recovered its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TronTx {
    /// SHA-256 of the `raw_data` bytes: Tron's transaction id.
    pub txid: [u8; 32],
    /// The owner's address (without the `0x41` prefix), whose key signed.
    pub owner: [u8; 20],
    pub call: TronCall,
    /// TAPoS: the low two bytes of a recent block's number and bytes 8..16 of its id.
    pub ref_block_bytes: [u8; 2],
    pub ref_block_hash: [u8; 8],
    /// Milliseconds since the epoch after which it is refused.
    pub expiration_ms: u64,
    /// Most sun it pays for energy.
    pub fee_limit: u64,
}

/// Why bytes are not an acceptable Tron transaction, whatever the state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TronTxError {
    #[error("malformed Tron transaction: {0}")]
    Malformed(String),
    #[error(
        "unsupported Tron contract type {0} (this chain runs TransferContract, TransferAssetContract, TriggerSmartContract and CreateSmartContract)"
    )]
    Unsupported(i32),
    #[error("bad Tron signature: {0}")]
    Signature(String),
    #[error("the signature is 0x41{} 's, not the owner 0x41{}'s", hex(.signer), hex(.owner))]
    NotOwner { signer: [u8; 20], owner: [u8; 20] },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn malformed(what: impl std::fmt::Display) -> TronTxError {
    TronTxError::Malformed(what.to_string())
}

/// Decodes `M` from `bytes`, refusing anything its own encoding would not give back.
fn canonical<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, TronTxError> {
    let message = M::decode(bytes).map_err(|e| malformed(format!("{what}: {e}")))?;
    if message.encode_to_vec() != bytes {
        return Err(malformed(format!("{what} is not in canonical protobuf form")));
    }
    Ok(message)
}

fn address(bytes: &[u8], what: &str) -> Result<[u8; 20], TronTxError> {
    match bytes.split_first() {
        Some((&TRON_ADDRESS_PREFIX, rest)) if rest.len() == 20 => {
            Ok(rest.try_into().expect("20 bytes"))
        }
        _ => Err(malformed(format!("{what} must be 21 bytes starting 0x41"))),
    }
}

fn amount(value: i64, what: &str) -> Result<u64, TronTxError> {
    u64::try_from(value).map_err(|_| malformed(format!("{what} is negative")))
}

impl TronTx {
    /// Decodes and verifies a transaction's protobuf bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, TronTxError> {
        if bytes.len() > MAX_TRON_TX_SIZE {
            return Err(malformed(format!("{} bytes, over {MAX_TRON_TX_SIZE}", bytes.len())));
        }
        let wire: TransactionWire = canonical(bytes, "transaction")?;
        let raw: Raw = canonical(&wire.raw_data, "raw_data")?;
        let [contract] = raw.contract.as_slice() else {
            return Err(malformed(format!("{} contracts, expected one", raw.contract.len())));
        };
        let [signature] = wire.signature.as_slice() else {
            return Err(malformed(format!("{} signatures, expected one", wire.signature.len())));
        };
        let txid = nvm_primitives::sha256(&wire.raw_data);
        let signer = recover(signature, &txid)?;
        let (owner, call) = call_of(contract)?;
        if signer != owner {
            return Err(TronTxError::NotOwner { signer, owner });
        }
        let ref_block_bytes = raw
            .ref_block_bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("ref_block_bytes must be 2 bytes"))?;
        let ref_block_hash = raw
            .ref_block_hash
            .as_slice()
            .try_into()
            .map_err(|_| malformed("ref_block_hash must be 8 bytes"))?;
        Ok(Self {
            txid,
            owner,
            call,
            ref_block_bytes,
            ref_block_hash,
            expiration_ms: amount(raw.expiration, "expiration")?,
            fee_limit: amount(raw.fee_limit, "fee_limit")?,
        })
    }
}

/// The address whose key made `signature` (65 bytes, r ‖ s ‖ v) over `txid`.
fn recover(signature: &[u8], txid: &[u8; 32]) -> Result<[u8; 20], TronTxError> {
    let bytes: [u8; 65] = signature
        .try_into()
        .map_err(|_| TronTxError::Signature(format!("{} bytes, expected 65", signature.len())))?;
    // v as java-tron (the recovery id) or TronWeb (27 + it) writes it; s in the lower half. So a
    // signature has no other encodings than those two (the txID does not cover it).
    if ![0, 1, 27, 28].contains(&bytes[64]) {
        return Err(TronTxError::Signature(format!("v = {}, expected 0, 1, 27 or 28", bytes[64])));
    }
    let parsed =
        Signature::from_raw_array(&bytes).map_err(|e| TronTxError::Signature(e.to_string()))?;
    if parsed.normalize_s().is_some() {
        return Err(TronTxError::Signature("s is in the upper half of the curve order".into()));
    }
    let address = parsed
        .recover_address_from_prehash(&B256::from(*txid))
        .map_err(|e| TronTxError::Signature(e.to_string()))?;
    Ok(address.into_array())
}

/// A contract transaction's TRC-10 value, checked as java-tron checks it: an asset id or none,
/// and no amount of no asset.
fn token_value(token_id: i64, call_token_value: i64) -> Result<(u64, u64), TronTxError> {
    let token_id = amount(token_id, "token_id")?;
    if token_id != 0 && token_id < crate::FIRST_ASSET_ID {
        return Err(malformed("token_id must be > 1000000"));
    }
    if token_id == 0 && call_token_value != 0 {
        return Err(malformed("call_token_value without a token_id"));
    }
    Ok((token_id, amount(call_token_value, "call_token_value")?))
}

/// The owner and what the one contract does.
fn call_of(contract: &Contract) -> Result<([u8; 20], TronCall), TronTxError> {
    let parameter =
        contract.parameter.as_ref().ok_or_else(|| malformed("contract without parameter"))?;
    let expect = |name: &str| -> Result<(), TronTxError> {
        if parameter.type_url == format!("{TYPE_URL_PREFIX}{name}") {
            Ok(())
        } else {
            Err(malformed(format!("parameter type {:?} is not {name}", parameter.type_url)))
        }
    };
    match contract.r#type {
        TRANSFER => {
            expect("TransferContract")?;
            let c: TransferContract = canonical(&parameter.value, "TransferContract")?;
            let call = TronCall::Transfer {
                to: address(&c.to_address, "to_address")?,
                amount: amount(c.amount, "amount")?,
            };
            Ok((address(&c.owner_address, "owner_address")?, call))
        }
        TRANSFER_ASSET => {
            expect("TransferAssetContract")?;
            let c: TransferAssetContract = canonical(&parameter.value, "TransferAssetContract")?;
            let asset_id = crate::asset::parse_asset_id(&c.asset_name).ok_or_else(|| {
                malformed("asset_name must be a TRC-10 id: decimal digits, from 1000001")
            })?;
            let call = TronCall::TransferAsset {
                asset_id,
                to: address(&c.to_address, "to_address")?,
                amount: amount(c.amount, "amount")?,
            };
            Ok((address(&c.owner_address, "owner_address")?, call))
        }
        TRIGGER_SMART_CONTRACT => {
            expect("TriggerSmartContract")?;
            let c: TriggerSmartContract = canonical(&parameter.value, "TriggerSmartContract")?;
            let (token_id, call_token_value) = token_value(c.token_id, c.call_token_value)?;
            let call = TronCall::Trigger {
                contract: address(&c.contract_address, "contract_address")?,
                call_value: amount(c.call_value, "call_value")?,
                data: c.data,
                token_id,
                call_token_value,
            };
            Ok((address(&c.owner_address, "owner_address")?, call))
        }
        CREATE_SMART_CONTRACT => {
            expect("CreateSmartContract")?;
            let c: CreateSmartContract = canonical(&parameter.value, "CreateSmartContract")?;
            let (token_id, call_token_value) = token_value(c.token_id, c.call_token_value)?;
            let new = c
                .new_contract
                .ok_or_else(|| malformed("CreateSmartContract without new_contract"))?;
            if !new.origin_address.is_empty() && new.origin_address != c.owner_address {
                return Err(malformed("origin_address is not owner_address"));
            }
            let percent = u8::try_from(new.consume_user_resource_percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| malformed("consume_user_resource_percent must be 0-100"))?;
            let call = TronCall::Create {
                bytecode: new.bytecode,
                abi: new.abi.unwrap_or_default(),
                name: new.name,
                call_value: amount(new.call_value, "call_value")?,
                consume_user_resource_percent: percent,
                origin_energy_limit: amount(new.origin_energy_limit, "origin_energy_limit")?,
                token_id,
                call_token_value,
            };
            Ok((address(&c.owner_address, "owner_address")?, call))
        }
        other => Err(TronTxError::Unsupported(other)),
    }
}
