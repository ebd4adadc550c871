//! TRC-10 over HTTP: every ledger token other than the native one is an asset with a numeric id
//! (`nvm_vm_tvm::asset_id`). `getassetissuebyid`, `getassetissuelist` and
//! `getpaginatedassetissuelist` show them as java-tron's `AssetIssueContract` JSON (name, abbr
//! as hex; zero fields left out), `transferasset` builds an unsigned `TransferAssetContract`,
//! and an account's `assetV2` lists what it holds of each.

use crate::{
    json::{self, hex_address},
    wallet::{Answer, Failure, address_field, head_reference, storage, tron_shown, u64_field},
};
use nvm_ledger::{Ledger, TokenInfo};
use nvm_node_api::NodeApi;
use nvm_primitives::{IdCom, Mint};
use nvm_state_api::{StateAccess, StateAccessExt, TxOverlay};
use prost::Message;
use serde_json::{Value, json};

/// Most assets one list answer shows (a request's work is bounded).
const MAX_LISTED: u64 = 1_000;

/// java-tron's `AssetIssueContract` JSON of the asset `id` (fields in proto order, zeros left
/// out, `id` last): the token's authority as owner, its name and symbol as hex.
fn asset_json(id: u64, info: &TokenInfo) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(authority) = &info.authority {
        out.insert("owner_address".into(), json!(hex_address(&tron_shown(authority))));
    }
    if !info.name.is_empty() {
        out.insert("name".into(), json!(hex::encode(&info.name)));
    }
    if !info.symbol.is_empty() {
        out.insert("abbr".into(), json!(hex::encode(&info.symbol)));
    }
    if info.supply > 0 {
        out.insert("total_supply".into(), json!(i64::try_from(info.supply).unwrap_or(i64::MAX)));
    }
    if info.decimals > 0 {
        out.insert("precision".into(), json!(info.decimals));
    }
    out.insert("id".into(), json!(id.to_string()));
    Value::Object(out)
}

/// The asset `id`'s JSON, if it exists.
fn asset_by_id(state: &mut dyn StateAccess, id: u64) -> Result<Option<Value>, Failure> {
    let Some(mint) = nvm_vm_tvm::asset_mint(state, id).map_err(storage)? else {
        return Ok(None);
    };
    let info = Ledger::token(state, &mint).map_err(storage)?;
    Ok(info.map(|info| asset_json(id, &info)))
}

/// `getassetissuebyid {value}`: the asset, or `{}` if there is none by that id.
pub fn asset_issue_by_id(node: &dyn NodeApi, request: &Value) -> Answer {
    let Ok(id) = u64_field(request, "value") else { return Ok(json!({})) };
    let snapshot = node.snapshot()?;
    Ok(asset_by_id(&mut TxOverlay::new(&*snapshot), id)?.unwrap_or_else(|| json!({})))
}

/// `getassetissuelist` (every asset, up to [`MAX_LISTED`]) and `getpaginatedassetissuelist
/// {offset, limit}`: `{assetIssue: […]}` in id order, `{}` when there are none.
pub fn asset_issue_list(node: &dyn NodeApi, request: &Value, paginated: bool) -> Answer {
    let (offset, limit) = if paginated {
        (u64_field(request, "offset")?, u64_field(request, "limit")?.min(MAX_LISTED))
    } else {
        (0, MAX_LISTED)
    };
    let snapshot = node.snapshot()?;
    let mut state = TxOverlay::new(&*snapshot);
    let count = state.get_u64(&nvm_ledger::token_count_key()).map_err(storage)?;
    let first = nvm_vm_tvm::FIRST_ASSET_ID.saturating_add(offset);
    let mut listed = Vec::new();
    for number in offset.saturating_add(1)..=count.min(offset.saturating_add(limit)) {
        let id = first + (number - offset - 1);
        if let Some(asset) = asset_by_id(&mut state, id)? {
            listed.push(asset);
        }
    }
    if listed.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "assetIssue": listed }))
}

/// An account's `assetV2`: `[{key: id, value: amount}]` for each asset it has held (java-tron
/// keeps an entry at 0 after it is spent, so does this), in id order.
pub fn account_assets(state: &mut dyn StateAccess, id: &IdCom) -> Result<Vec<Value>, Failure> {
    let mut held: Vec<(u64, Mint)> = Vec::new();
    for mint in Ledger::holdings(state, id).map_err(storage)? {
        if let Some(asset) = nvm_vm_tvm::asset_id(state, &mint).map_err(storage)? {
            held.push((asset, mint));
        }
    }
    held.sort_unstable();
    held.into_iter()
        .map(|(asset, mint)| {
            let amount = Ledger::balance(state, &mint, id).map_err(storage)?;
            let amount = i64::try_from(amount).unwrap_or(i64::MAX);
            Ok(json!({ "key": asset.to_string(), "value": amount }))
        })
        .collect()
}

/// `transferasset {owner_address, to_address, asset_name (hex of the id's digits), amount}`: an
/// unsigned TRC-10 transfer referencing the head block, for the wallet to sign.
pub fn transfer_asset(node: &dyn NodeApi, request: &Value) -> Answer {
    let owner = address_field(request, "owner_address")?;
    let to = address_field(request, "to_address")?;
    let amount = i64::try_from(u64_field(request, "amount")?)
        .map_err(|_| Failure::Bad("amount is above Tron's range".into()))?;
    let name = request.get("asset_name").and_then(Value::as_str).unwrap_or_default();
    // `visible: true` requests give the id itself, others its hex.
    let name = hex::decode(name).ok().filter(|_| !is_visible(request)).unwrap_or(name.into());
    let Some(asset) = nvm_vm_tvm::parse_asset_id(&name) else {
        return Err(Failure::Bad("asset_name must be a TRC-10 id, from 1000001".into()));
    };
    if amount == 0 {
        return Err(Failure::Bad("Amount must be greater than 0.".into()));
    }
    if owner == to {
        return Err(Failure::Bad("Cannot transfer asset to yourself.".into()));
    }
    let snapshot = node.snapshot()?;
    let mut state = TxOverlay::new(&*snapshot);
    if nvm_vm_tvm::asset_mint(&mut state, asset).map_err(storage)?.is_none() {
        return Err(Failure::Bad("No asset !".into()));
    }
    let contract = nvm_vm_tvm::TransferAssetContract {
        asset_name: name,
        owner_address: json::prefixed(&owner),
        to_address: json::prefixed(&to),
        amount,
    };
    let entry = json::contract_entry(json::TRANSFER_ASSET_CONTRACT, &contract.encode_to_vec());
    let bytes = json::raw_of(entry, head_reference(node)?).encode_to_vec();
    json::transaction_json(&bytes, &[]).ok_or_else(|| Failure::Bad("cannot encode".into()))
}

fn is_visible(request: &Value) -> bool {
    request.get("visible").and_then(Value::as_bool).unwrap_or(false)
}
