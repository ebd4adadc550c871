//! Account reads: `getBalance`, `getAccountInfo`, `getMultipleAccounts`, `getProgramAccounts`,
//! and the SPL Token reads over the same accounts.

use crate::{
    SolanaContext,
    params::{
        SolResult, arg, base58, base64, check_min_context_slot, config, internal, invalid_params,
        pubkey, values, with_context,
    },
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_state_api::TxOverlay;
use nvm_vm_svm::{AccountSharedData, Pubkey, ReadableAccount};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most accounts one `getMultipleAccounts` call reads (Solana's limit).
const MAX_MULTIPLE_ACCOUNTS: usize = 100;

/// Accounts an index lists, each with its entry's value.
pub(super) type Indexed = Vec<([u8; 32], Vec<u8>)>;

/// Committed state and its slot.
pub(super) struct Read {
    pub slot: u64,
    snapshot: Box<dyn nvm_node_api::CommittedState>,
    /// Most accounts one index scan lists (what it looks at before filters).
    max_scanned: usize,
}

impl Read {
    pub fn at_head(ctx: &SolanaContext, config: &Value) -> Result<Self, ErrorObjectOwned> {
        let snapshot = ctx.node.snapshot().map_err(internal)?;
        let slot = snapshot.height().unwrap_or_default();
        check_min_context_slot(config, slot)?;
        Ok(Self { slot, snapshot, max_scanned: ctx.max_scanned_accounts })
    }

    pub fn account(
        &self,
        address: &[u8; 32],
    ) -> Result<Option<AccountSharedData>, ErrorObjectOwned> {
        nvm_vm_svm::read_account(&mut self.view(), &Pubkey::new_from_array(*address))
            .map_err(internal)
    }

    /// Index entries under `prefix` from `from` on, at most `limit` (no scan error: the caller
    /// bounds `limit`).
    pub fn scan(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<nvm_state_api::IndexEntries, ErrorObjectOwned> {
        self.snapshot.scan_index(prefix, from, limit).map_err(internal)
    }

    /// Every index entry under `prefix` from `from` on; more than the node's scan limit is a
    /// scan error naming the accounts `what` (as Agave's past its scan limit), never a silently
    /// cut list.
    pub fn scan_all(
        &self,
        prefix: &[u8],
        from: &[u8],
        what: &str,
    ) -> Result<nvm_state_api::IndexEntries, ErrorObjectOwned> {
        let limit = self.max_scanned;
        let found = self.snapshot.scan_index(prefix, from, limit + 1).map_err(internal)?;
        if found.len() > limit {
            return Err(scan_error(limit, what));
        }
        Ok(found)
    }

    /// The most index entries one call may look at.
    pub fn max_scanned(&self) -> usize {
        self.max_scanned
    }

    /// The state, for reads of its own.
    pub fn view(&self) -> TxOverlay<'_> {
        TxOverlay::new(&self.snapshot)
    }

    /// The accounts the SVM's index lists under `prefix` and `field` at this slot, with each
    /// entry's value; more than the node's scan limit is a scan error (as Agave's past its
    /// scan limit), never a silently cut list.
    pub fn indexed(
        &self,
        prefix: &[u8],
        field: &[u8; 32],
        what: &str,
    ) -> Result<Indexed, ErrorObjectOwned> {
        let prefix = [prefix, field.as_slice()].concat();
        let what = format!("{what} {}", base58(field));
        Ok(self
            .scan_all(&prefix, &prefix, &what)?
            .into_iter()
            .filter_map(|(key, value)| Some((nvm_vm_svm::index::indexed_address(&key)?, value)))
            .collect())
    }
}

/// Agave's error past its scan limit.
pub(super) fn scan_error(limit: usize, what: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        crate::codes::SCAN_ERROR,
        format!("Scan aborted: more than {limit} accounts {what}: narrow the query"),
        None::<()>,
    )
}

/// How account data is sent back: `encoding` and an optional `dataSlice`.
pub(super) struct DataEncoding {
    encoding: String,
    slice: Option<(usize, usize)>,
}

impl DataEncoding {
    pub fn of(config: &Value, default: &str) -> Result<Self, ErrorObjectOwned> {
        let encoding = config.get("encoding").and_then(Value::as_str).unwrap_or(default);
        if !matches!(encoding, "base58" | "base64" | "binary" | "jsonParsed") {
            return Err(invalid_params(format!(
                "Invalid params: unsupported account encoding {encoding:?} (base58, base64, jsonParsed)"
            )));
        }
        let slice = match config.get("dataSlice") {
            None | Some(Value::Null) => None,
            Some(s) => match (
                s.get("offset").and_then(Value::as_u64),
                s.get("length").and_then(Value::as_u64),
            ) {
                (Some(o), Some(l)) => Some((o as usize, l as usize)),
                _ => {
                    return Err(invalid_params(
                        "Invalid params: dataSlice needs offset and length",
                    ));
                }
            },
        };
        Ok(Self { encoding: encoding.to_string(), slice })
    }

    fn data(&self, data: &[u8]) -> Result<Value, ErrorObjectOwned> {
        let data = match self.slice {
            Some((offset, length)) => {
                let start = offset.min(data.len());
                &data[start..start.saturating_add(length).min(data.len())]
            }
            None => data,
        };
        // Agave refuses base58 past 128 bytes: it is too slow to encode.
        if matches!(self.encoding.as_str(), "base58" | "binary") && data.len() > 128 {
            return Err(invalid_params(
                "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
            ));
        }
        Ok(match self.encoding.as_str() {
            "binary" => Value::String(base58(data)),
            "base58" => json!([base58(data), "base58"]),
            // jsonParsed falls back to base64 for data n-VM does not parse (as Agave does).
            _ => json!([base64(data), "base64"]),
        })
    }

    /// An account as Solana's RPC shows it.
    pub fn account(&self, account: &AccountSharedData) -> Result<Value, ErrorObjectOwned> {
        Ok(json!({
            "data": self.data(account.data())?,
            "executable": account.executable(),
            "lamports": account.lamports(),
            "owner": base58(account.owner().as_ref()),
            "rentEpoch": account.rent_epoch(),
            "space": account.data().len(),
        }))
    }
}

pub(super) fn get_balance(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "pubkey")?, "pubkey")?;
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let lamports = read.account(&address)?.map(|a| a.lamports()).unwrap_or(0);
    Ok(with_context(read.slot, json!(lamports)))
}

pub(super) fn get_account_info(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "pubkey")?, "pubkey")?;
    let config = config(&values, 1)?;
    let encoding = DataEncoding::of(&config, "binary")?;
    let read = Read::at_head(ctx, &config)?;
    let account = read.account(&address)?.map(|a| encoding.account(&a)).transpose()?;
    Ok(with_context(read.slot, account.unwrap_or(Value::Null)))
}

pub(super) fn get_multiple_accounts(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let keys = arg(&values, 0, "pubkeys")?
        .as_array()
        .ok_or_else(|| invalid_params("Invalid params: pubkeys must be an array"))?;
    if keys.len() > MAX_MULTIPLE_ACCOUNTS {
        return Err(invalid_params(format!(
            "Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}"
        )));
    }
    let config = config(&values, 1)?;
    let encoding = DataEncoding::of(&config, "base64")?;
    let read = Read::at_head(ctx, &config)?;
    let accounts = keys
        .iter()
        .map(|key| {
            let account = read.account(&pubkey(key, "pubkey")?)?;
            Ok(account.map(|a| encoding.account(&a)).transpose()?.unwrap_or(Value::Null))
        })
        .collect::<Result<Vec<Value>, ErrorObjectOwned>>()?;
    Ok(with_context(read.slot, Value::Array(accounts)))
}

/// A `getProgramAccounts` filter: `dataSize` or `memcmp`.
pub(super) enum Filter {
    DataSize(usize),
    Memcmp { offset: usize, bytes: Vec<u8> },
}

impl Filter {
    fn parse(value: &Value) -> Result<Self, ErrorObjectOwned> {
        if let Some(size) = value.get("dataSize").and_then(Value::as_u64) {
            return Ok(Self::DataSize(size as usize));
        }
        let Some(memcmp) = value.get("memcmp") else {
            return Err(invalid_params(format!("Invalid params: unknown filter {value}")));
        };
        let offset = memcmp.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
        let text = memcmp.get("bytes").and_then(Value::as_str).unwrap_or_default();
        let bytes = match memcmp.get("encoding").and_then(Value::as_str).unwrap_or("base58") {
            "base58" => bs58::decode(text).into_vec().ok(),
            "base64" => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(text).ok()
            }
            _ => None,
        }
        .filter(|b| b.len() <= 128)
        .ok_or_else(|| {
            invalid_params(
                "Invalid params: memcmp bytes must be base58 or base64, at most 128 bytes",
            )
        })?;
        Ok(Self::Memcmp { offset, bytes })
    }

    /// The mint a token account filter names: 32 bytes compared at offset 0.
    pub(super) fn mint_at_start(&self) -> Option<[u8; 32]> {
        match self {
            Self::Memcmp { offset: 0, bytes } => bytes.as_slice().try_into().ok(),
            _ => None,
        }
    }

    pub(super) fn matches(&self, data: &[u8]) -> bool {
        match self {
            Self::DataSize(size) => data.len() == *size,
            Self::Memcmp { offset, bytes } => {
                data.get(*offset..offset.saturating_add(bytes.len())) == Some(bytes.as_slice())
            }
        }
    }
}

/// A config's `filters` (`dataSize`, `memcmp`), at most 4.
pub(super) fn filters(config: &Value) -> Result<Vec<Filter>, ErrorObjectOwned> {
    match config.get("filters") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= 4 => list.iter().map(Filter::parse).collect(),
        Some(_) => Err(invalid_params("Invalid params: filters is an array of at most 4")),
    }
}

/// Accounts owned by `program` that pass every filter, in address order (the SVM's index by
/// owner, each account read and its owner checked at the same slot; for SPL Token, the token
/// accounts and mints the ledger shows too).
fn owned_by(
    read: &Read,
    program: &[u8; 32],
    filters: &[Filter],
) -> Result<BTreeMap<[u8; 32], AccountSharedData>, ErrorObjectOwned> {
    let mut found = if *program == nvm_vm_svm::SPL_TOKEN_PROGRAM_ID.to_bytes() {
        crate::holders::ledger_token_accounts(read, filters)?
    } else {
        BTreeMap::new()
    };
    let owned = read.indexed(nvm_vm_svm::index::OWNER_PREFIX, program, "owned by")?;
    for (address, _) in owned {
        if let Some(account) = read.account(&address)?
            && account.owner().as_ref() == program
            && filters.iter().all(|f| f.matches(account.data()))
        {
            found.insert(address, account);
        }
    }
    Ok(found)
}

pub(super) fn get_program_accounts(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let program = pubkey(arg(&values, 0, "program id")?, "program id")?;
    let config = config(&values, 1)?;
    let encoding = DataEncoding::of(&config, "binary")?;
    let filters = filters(&config)?;
    let read = Read::at_head(ctx, &config)?;
    let accounts = owned_by(&read, &program, &filters)?
        .iter()
        .map(|(address, account)| {
            Ok(json!({ "pubkey": base58(address), "account": encoding.account(account)? }))
        })
        .collect::<Result<Vec<Value>, ErrorObjectOwned>>()?;
    let value = Value::Array(accounts);
    Ok(if config.get("withContext").and_then(Value::as_bool) == Some(true) {
        with_context(read.slot, value)
    } else {
        value
    })
}

pub(super) fn get_minimum_balance_for_rent_exemption(
    _: &SolanaContext,
    params: &Params<'_>,
) -> SolResult {
    let values = values(params)?;
    let size =
        arg(&values, 0, "data length")?.as_u64().filter(|&n| n <= 10 * 1024 * 1024).ok_or_else(
            || invalid_params("Invalid params: data length must be a number of bytes up to 10 MiB"),
        )?;
    Ok(json!(nvm_vm_svm::rent_exempt_minimum(size as usize)))
}
