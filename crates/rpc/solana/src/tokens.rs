//! SPL Token reads: `getTokenAccountBalance`, `getTokenAccountsByOwner`, `getTokenSupply`, and
//! token accounts in the `jsonParsed` encoding. Accounts are read in the SPL layouts (Account,
//! 165 bytes; Mint, 82 bytes) whichever token program owns them.

use crate::{
    SolanaContext,
    accounts::{DataEncoding, Read},
    params::{
        SolResult, arg, base58, config, internal, invalid_params, pubkey, values, with_context,
    },
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_vm_svm::{
    AccountSharedData, COption, Pack, Pubkey, ReadableAccount,
    spl_token::state::{Account, Mint},
};
use serde_json::{Value, json};

/// SPL Token and Token-2022: the programs whose accounts these methods read.
pub(super) fn token_programs() -> [[u8; 32]; 2] {
    [nvm_vm_svm::SPL_TOKEN_PROGRAM_ID.to_bytes(), nvm_vm_svm::TOKEN_2022_PROGRAM_ID.to_bytes()]
}

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

fn owned_by_token_program(account: &AccountSharedData) -> bool {
    token_programs().iter().any(|p| account.owner().as_ref() == p)
}

/// An initialized token account of a token program, read in SPL's layout (Token-2022's
/// extensions follow the same first 165 bytes).
fn token_account(account: &AccountSharedData) -> Option<Account> {
    let base = account.data().get(..Account::LEN)?;
    owned_by_token_program(account).then(|| Account::unpack(base).ok()).flatten()
}

/// The initialized token mint at `address`, or Solana's error for one that is not.
pub(super) fn token_mint(read: &Read, address: &[u8; 32]) -> Result<Mint, ErrorObjectOwned> {
    read.account(address)?
        .as_ref()
        .and_then(mint_of)
        .ok_or_else(|| invalid_params("Invalid param: not a Token mint"))
}

/// An initialized mint of a token program.
fn mint_of(account: &AccountSharedData) -> Option<Mint> {
    let base = account.data().get(..Mint::LEN)?;
    owned_by_token_program(account).then(|| Mint::unpack(base).ok()).flatten()
}

fn decimals(read: &Read, mint: &Pubkey) -> Result<u8, ErrorObjectOwned> {
    Ok(read.account(&mint.to_bytes())?.as_ref().and_then(mint_of).map_or(0, |m| m.decimals))
}

/// A token account in `jsonParsed` form.
fn parsed(
    read: &Read,
    account: &AccountSharedData,
    token: &Account,
) -> Result<Value, ErrorObjectOwned> {
    let decimals = decimals(read, &token.mint)?;
    let mut info = json!({
        "isNative": token.is_native(),
        "mint": token.mint.to_string(),
        "owner": token.owner.to_string(),
        "state": if token.is_frozen() { "frozen" } else { "initialized" },
        "tokenAmount": ui_amount(token.amount, decimals),
    });
    if let COption::Some(delegate) = token.delegate {
        info["delegate"] = json!(delegate.to_string());
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
        .and_then(token_account)
        .ok_or_else(|| invalid_params("Invalid param: not a Token account"))?;
    Ok(with_context(read.slot, ui_amount(token.amount, decimals(&read, &token.mint)?)))
}

pub(super) fn get_token_supply(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "mint")?, "mint")?;
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let mint = token_mint(&read, &address)?;
    Ok(with_context(read.slot, ui_amount(mint.supply, mint.decimals)))
}

/// `owner`'s associated token accounts of `mint` (or of every mint its identity holds) that
/// show a token account — the ones nobody created too, which the ledger indexed for it.
fn associated_accounts(
    read: &Read,
    owner: &[u8; 32],
    mint: Option<[u8; 32]>,
) -> Result<Vec<([u8; 32], AccountSharedData)>, ErrorObjectOwned> {
    let mints = match mint {
        Some(mint) => vec![mint],
        None => {
            let mut view = read.view();
            let id =
                nvm_identity::Registry::resolve(&mut view, &nvm_identity::VmAddress::Svm(*owner))
                    .map_err(internal)?;
            nvm_ledger::Ledger::holdings(&mut view, &id).map_err(internal)?
        }
    };
    let mut found = Vec::new();
    for mint in mints {
        let address = nvm_ledger::associated_token_address(owner, &mint);
        if let Some(account) = read.account(&address)?
            && token_account(&account)
                .is_some_and(|t| t.owner.to_bytes() == *owner && t.mint.to_bytes() == mint)
        {
            found.push((address, account));
        }
    }
    Ok(found)
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
    let json_parsed = config.get("encoding").and_then(Value::as_str) == Some("jsonParsed");
    let encoding = DataEncoding::of(&config, "binary")?;
    // The SVM's index of token accounts by wallet (value: mint ‖ token program).
    let held = read.indexed(nvm_vm_svm::index::TOKEN_OWNER_PREFIX, &owner, "held by")?;
    let mut out = Vec::new();
    for program in programs {
        let mut found = Vec::new();
        for (address, value) in &held {
            let (held_mint, held_program) = value.split_at(value.len().min(32));
            if held_program != program || mint.is_some_and(|m| m != held_mint) {
                continue;
            }
            if let Some(account) = read.account(address)? {
                found.push((*address, account));
            }
        }
        if program == nvm_vm_svm::SPL_TOKEN_PROGRAM_ID.to_bytes() {
            for (address, account) in associated_accounts(&read, &owner, mint)? {
                if !found.iter().any(|(a, _)| *a == address) {
                    found.push((address, account));
                }
            }
        }
        for (address, account) in found {
            let Some(token) = token_account(&account).filter(|t| {
                t.owner.to_bytes() == owner && mint.is_none_or(|m| t.mint.to_bytes() == m)
            }) else {
                continue;
            };
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
