//! The ledger's holders as Solana shows them, from the node's index of holders by balance
//! ([`nvm_ledger::holders`]): `getLargestAccounts`, `getTokenLargestAccounts`, and the token
//! accounts and mints of the SPL view nobody created, which `getProgramAccounts` lists beside
//! the SVM's own accounts.

use crate::{
    accounts::{Filter, Read, scan_error},
    params::{
        SolResult, arg, base58, config, internal, invalid_params, pubkey, values, with_context,
    },
    tokens::{token_mint, ui_amount},
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_ledger::{
    Ledger, NATIVE_MINT, associated_token_address,
    holders::{RANK_PREFIX, rank_prefix, ranked},
};
use nvm_primitives::{IdCom, Mint};
use nvm_state_api::StateAccessExt;
use nvm_vm_svm::{AccountSharedData, ReadableAccount};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How many accounts the largest-accounts methods list (Solana's 20).
const LARGEST: usize = 20;

/// The mint the index lists right after the native token's holders.
const FIRST_NON_NATIVE: Mint = {
    let mut mint = NATIVE_MINT;
    mint[31] = 1;
    mint
};

/// Up to [`LARGEST`] holders of `mint` at the read's slot, largest first, with their balances.
/// An entry whose balance the state no longer has (a raw write the index missed: a dev chain's
/// `evm_revert`) is passed over; at most the node's scan limit of entries is looked at.
fn largest(read: &Read, mint: &Mint) -> Result<Vec<(IdCom, u128)>, ErrorObjectOwned> {
    let prefix = rank_prefix(mint);
    let mut from = prefix.clone();
    let mut view = read.view();
    let (mut found, mut looked) = (Vec::new(), 0);
    while found.len() < LARGEST && looked < read.max_scanned() {
        let page = read.scan(&prefix, &from, (2 * LARGEST).min(read.max_scanned() - looked))?;
        let Some((last, _)) = page.last() else { break };
        from = [last.as_slice(), &[0]].concat();
        looked += page.len();
        for (mint, balance, holder) in page.iter().filter_map(|(key, _)| ranked(key)) {
            if found.len() < LARGEST
                && Ledger::balance(&mut view, &mint, &holder).map_err(internal)? == balance
            {
                found.push((holder, balance));
            }
        }
    }
    Ok(found)
}

/// The Solana address that stands for `id` in lists of holders: the first that resolved to it
/// (a wallet's own key, or the derived address of an identity made natively), none when no
/// Solana address does.
fn shown_at(read: &Read, id: &IdCom) -> Result<Option<[u8; 32]>, ErrorObjectOwned> {
    Ok(Ledger::spl_owners(&mut read.view(), id).map_err(internal)?.first().copied())
}

/// `getLargestAccounts`: the 20 largest native balances, in lamports, at the addresses that show
/// them. Nothing here is non-circulating (as `getSupply` says).
pub(super) fn get_largest_accounts(ctx: &crate::SolanaContext, params: &Params<'_>) -> SolResult {
    let config = config(&values(params)?, 0)?;
    let read = Read::at_head(ctx, &config)?;
    let mut accounts = Vec::new();
    match config.get("filter").and_then(Value::as_str) {
        None | Some("circulating") => {
            // An emptied balance has an entry (its token account stays), but no account with
            // no lamports exists.
            for (holder, balance) in largest(&read, &NATIVE_MINT)? {
                if balance > 0
                    && let Some(address) = shown_at(&read, &holder)?
                {
                    let lamports = balance / nvm_vm_svm::UNITS_PER_LAMPORT;
                    let lamports = u64::try_from(lamports).unwrap_or(u64::MAX);
                    accounts.push(json!({ "address": base58(&address), "lamports": lamports }));
                }
            }
        }
        Some("nonCirculating") => {}
        Some(other) => {
            return Err(invalid_params(format!(
                "Invalid params: unknown filter {other:?} (circulating, nonCirculating)"
            )));
        }
    }
    Ok(with_context(read.slot, Value::Array(accounts)))
}

/// `getTokenLargestAccounts`: the 20 largest holders of a mint, each at its associated token
/// account (where the SPL view shows its balance).
pub(super) fn get_token_largest_accounts(
    ctx: &crate::SolanaContext,
    params: &Params<'_>,
) -> SolResult {
    let values = values(params)?;
    let mint = pubkey(arg(&values, 0, "mint")?, "mint")?;
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let decimals = token_mint(&read, &mint)?.decimals;
    let mut accounts = Vec::new();
    for (holder, balance) in largest(&read, &mint)? {
        if let Some(owner) = shown_at(&read, &holder)? {
            let mut entry = ui_amount(u64::try_from(balance).unwrap_or(u64::MAX), decimals);
            entry["address"] = json!(base58(&associated_token_address(&owner, &mint)));
            accounts.push(entry);
        }
    }
    Ok(with_context(read.slot, Value::Array(accounts)))
}

/// The SPL Token accounts and mints the ledger shows without anyone having created them that
/// pass `filters`, by address: each holder's associated token account of each token it holds
/// (of one mint, when a filter names it at offset 0), and every ledger token's mint. One account
/// per holder and mint — at the address [`shown_at`] picks — though each Solana address of an
/// identity shows its balance: listing every one would count a balance several times over.
pub(super) fn ledger_token_accounts(
    read: &Read,
    filters: &[Filter],
) -> Result<BTreeMap<[u8; 32], AccountSharedData>, ErrorObjectOwned> {
    let (prefix, from) = match filters.iter().find_map(Filter::mint_at_start) {
        Some(mint) => (rank_prefix(&mint), rank_prefix(&mint)),
        None => (RANK_PREFIX.to_vec(), rank_prefix(&FIRST_NON_NATIVE)),
    };
    let mut addresses = Vec::new();
    for (mint, _, holder) in read
        .scan_all(&prefix, &from, "held of ledger tokens")?
        .iter()
        .filter_map(|(key, _)| ranked(key))
    {
        addresses.extend(shown_at(read, &holder)?.map(|o| associated_token_address(&o, &mint)));
    }
    let mut view = read.view();
    let tokens = view.get_u64(&nvm_ledger::token_count_key()).map_err(internal)?;
    if tokens > read.max_scanned() as u64 {
        return Err(scan_error(read.max_scanned(), "minted by the ledger"));
    }
    for number in 1..=tokens {
        addresses.extend(Ledger::token_by_number(&mut view, number).map_err(internal)?);
    }
    let program = nvm_vm_svm::SPL_TOKEN_PROGRAM_ID.to_bytes();
    let mut found = BTreeMap::new();
    for address in addresses {
        if found.contains_key(&address) {
            continue;
        }
        if let Some(account) = read.account(&address)?
            && account.owner().as_ref() == program
            && filters.iter().all(|f| f.matches(account.data()))
        {
            found.insert(address, account);
        }
    }
    Ok(found)
}
