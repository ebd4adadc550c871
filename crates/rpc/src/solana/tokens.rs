//! SPL Token reads: `getTokenAccountBalance`, `getTokenAccountsByOwner`, `getTokenSupply`, and
//! token accounts in the `jsonParsed` encoding. Accounts are read in the SPL layouts (Account,
//! 165 bytes; Mint, 82 bytes) whichever token program owns them.

use super::{
    SolanaContext,
    accounts::{DataEncoding, Filter, Read, owned_by},
    params::{SolResult, arg, base58, config, invalid_params, pubkey, values, with_context},
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_vm_svm::{AccountSharedData, ReadableAccount};
use serde_json::{Value, json};

/// SPL Token and Token-2022: the programs whose accounts these methods read.
pub(super) fn token_programs() -> [[u8; 32]; 2] {
    [nvm_vm_svm::SPL_TOKEN_PROGRAM_ID.to_bytes(), nvm_vm_svm::TOKEN_2022_PROGRAM_ID.to_bytes()]
}

const ACCOUNT_LEN: usize = 165;
const MINT_LEN: usize = 82;

/// An amount as `uiTokenAmount` shows it.
pub(super) fn ui_amount(amount: u64, decimals: u8) -> Value {
    let ui = nvm_vm_svm::token_ledger::ui_amount(amount, decimals);
    json!({
        "amount": amount.to_string(),
        "decimals": decimals,
        "uiAmount": ui.parse::<f64>().ok(),
        "uiAmountString": ui,
    })
}

/// The fields of an SPL token account.
struct TokenAccount {
    mint: [u8; 32],
    owner: [u8; 32],
    amount: u64,
    state: u8,
    is_native: Option<u64>,
    delegate: Option<[u8; 32]>,
    delegated_amount: u64,
}

fn word(data: &[u8], at: usize) -> u64 {
    data.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes)
}

fn key(data: &[u8], at: usize) -> [u8; 32] {
    data.get(at..at + 32).and_then(|b| b.try_into().ok()).unwrap_or_default()
}

/// `COption<Pubkey>` at `at`: a 4-byte tag then the key.
fn optional_key(data: &[u8], at: usize) -> Option<[u8; 32]> {
    (data.get(at..at + 4) == Some(&[1, 0, 0, 0])).then(|| key(data, at + 4))
}

impl TokenAccount {
    /// An initialized token account owned by a token program, or `None`.
    fn parse(account: &AccountSharedData) -> Option<Self> {
        let data = account.data();
        let owned = token_programs().iter().any(|p| account.owner().as_ref() == p);
        if !owned || data.len() < ACCOUNT_LEN || data[108] == 0 {
            return None;
        }
        Some(Self {
            mint: key(data, 0),
            owner: key(data, 32),
            amount: word(data, 64),
            delegate: optional_key(data, 72),
            state: data[108],
            is_native: (data.get(109..113) == Some(&[1, 0, 0, 0])).then(|| word(data, 113)),
            delegated_amount: word(data, 121),
        })
    }
}

/// A mint's decimals and supply, if `account` is an initialized mint.
fn mint_of(account: &AccountSharedData) -> Option<(u8, u64)> {
    let data = account.data();
    let owned = token_programs().iter().any(|p| account.owner().as_ref() == p);
    (owned && data.len() >= MINT_LEN && data[45] == 1).then(|| (data[44], word(data, 36)))
}

fn decimals(read: &Read, mint: &[u8; 32]) -> Result<u8, ErrorObjectOwned> {
    Ok(read.account(mint)?.as_ref().and_then(mint_of).map_or(0, |(decimals, _)| decimals))
}

/// A token account in `jsonParsed` form.
fn parsed(
    read: &Read,
    account: &AccountSharedData,
    token: &TokenAccount,
) -> Result<Value, ErrorObjectOwned> {
    let decimals = decimals(read, &token.mint)?;
    let mut info = json!({
        "isNative": token.is_native.is_some(),
        "mint": base58(&token.mint),
        "owner": base58(&token.owner),
        "state": if token.state == 2 { "frozen" } else { "initialized" },
        "tokenAmount": ui_amount(token.amount, decimals),
    });
    if let Some(delegate) = token.delegate {
        info["delegate"] = json!(base58(&delegate));
        info["delegatedAmount"] = ui_amount(token.delegated_amount, decimals);
    }
    let program = if *account.owner() == nvm_vm_svm::TOKEN_2022_PROGRAM_ID {
        "spl-token-2022"
    } else {
        "spl-token"
    };
    Ok(json!({
        "data": { "program": program, "parsed": { "info": info, "type": "account" }, "space": account.data().len() },
        "executable": account.executable(),
        "lamports": account.lamports(),
        "owner": base58(account.owner().as_ref()),
        "rentEpoch": account.rent_epoch(),
        "space": account.data().len(),
    }))
}

pub(super) fn get_token_account_balance(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "token account")?, "token account")?;
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let token = read
        .account(&address)?
        .as_ref()
        .and_then(TokenAccount::parse)
        .ok_or_else(|| invalid_params("Invalid param: not a Token account"))?;
    Ok(with_context(read.slot, ui_amount(token.amount, decimals(&read, &token.mint)?)))
}

pub(super) fn get_token_supply(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "mint")?, "mint")?;
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let (decimals, supply) = read
        .account(&address)?
        .as_ref()
        .and_then(mint_of)
        .ok_or_else(|| invalid_params("Invalid param: not a Token mint"))?;
    Ok(with_context(read.slot, ui_amount(supply, decimals)))
}

pub(super) fn get_token_accounts_by_owner(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let owner = pubkey(arg(&values, 0, "owner")?, "owner")?;
    let filter = arg(&values, 1, "mint or programId filter")?;
    let config = config(&values, 2)?;
    let read = Read::at_head(ctx, &config)?;
    let (programs, mint) = if let Some(mint) = filter.get("mint") {
        let mint = pubkey(mint, "mint")?;
        let program = read
            .account(&mint)?
            .map(|a| a.owner().to_bytes())
            .filter(|p| token_programs().contains(p))
            .ok_or_else(|| invalid_params("Invalid param: could not find mint"))?;
        (vec![program], Some(mint))
    } else if let Some(program) = filter.get("programId") {
        let program = pubkey(program, "programId")?;
        if !token_programs().contains(&program) {
            return Err(invalid_params("Invalid param: unrecognized Token program id"));
        }
        (vec![program], None)
    } else {
        return Err(invalid_params("Invalid params: filter by mint or programId"));
    };
    let mut filters = vec![Filter::Memcmp { offset: 32, bytes: owner.to_vec() }];
    if let Some(mint) = mint {
        filters.push(Filter::Memcmp { offset: 0, bytes: mint.to_vec() });
    }
    let json_parsed = config.get("encoding").and_then(Value::as_str) == Some("jsonParsed");
    let encoding = DataEncoding::of(&config, "binary")?;
    let mut out = Vec::new();
    for program in programs {
        for (address, account) in owned_by(ctx, &read, &program, &filters)? {
            let Some(token) = TokenAccount::parse(&account) else { continue };
            let shown = if json_parsed {
                parsed(&read, &account, &token)?
            } else {
                encoding.account(&account)?
            };
            out.push(json!({ "pubkey": base58(&address), "account": shown }));
        }
    }
    Ok(with_context(read.slot, Value::Array(out)))
}
