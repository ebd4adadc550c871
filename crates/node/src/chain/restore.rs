//! What writing back the state after an earlier block takes — a dev chain's `evm_revert`: every
//! key the blocks since changed, as it was then, but for what the chain itself keeps as blocks
//! close (the block hash window, the Solana recent blockhashes, the Bitcoin median-time window,
//! the block's meta: later blocks still follow the real ones), and with each balance set back
//! through the ledger (the holders index sees it; a native one moves the native supply with it,
//! so the supply stays the sum of the balances whatever fees were paid meanwhile).

use super::{Chain, ChainError, ChainResult, index_keys};
use nvm_ledger::{NATIVE_MINT, balance_key, holders, token_key};
use nvm_node_api::StateRestore;
use nvm_primitives::{ChainHead, IdCom, Mint, StateKey};
use nvm_state_api::decode_value;
use std::collections::{BTreeSet, HashMap};

impl Chain {
    /// What restoring the state after block `height` writes, while the node keeps the history
    /// since (`StoreError::NotKept` otherwise).
    pub fn restore_of(&self, height: u64) -> ChainResult<StateRestore> {
        let changes = self.store.changes_since(height)?;
        // Read after the changes: the index names every holder they touched.
        let holders = self.balance_keys()?;
        let maintained = self.maintained_since(height)?;
        let native_record = token_key(&NATIVE_MINT);
        let mut restore = StateRestore::default();
        for (key, value) in changes {
            if maintained.contains(&key) || key == native_record {
                continue;
            }
            match holders.get(&key) {
                Some(&(mint, holder)) => {
                    let amount = value.map_or(Ok(0), |bytes| decode_value(&key, &bytes))?;
                    restore.balances.push((mint, holder, amount));
                }
                None => restore.writes.push((key, value)),
            }
        }
        Ok(restore)
    }

    /// The state key of every balance the holders index names (every one ever held).
    fn balance_keys(&self) -> ChainResult<HashMap<StateKey, (Mint, IdCom)>> {
        let head = self.store.snapshot()?;
        let ranked = index_keys(&head, holders::RANK_PREFIX)?;
        Ok(ranked
            .iter()
            .filter_map(|key| holders::ranked(key))
            .map(|(mint, _, holder)| (balance_key(&mint, &holder), (mint, holder)))
            .collect())
    }

    /// The keys the chain wrote as each block after `height` closed (what
    /// [`Chain::closing_writes`] writes, run again over the state before each).
    fn maintained_since(&self, height: u64) -> ChainResult<BTreeSet<StateKey>> {
        let header_at = |h: u64| -> ChainResult<_> {
            let block = self.store.block(h)?;
            Ok(block
                .ok_or_else(|| ChainError::InvalidBlock(format!("block {h} is missing")))?
                .header)
        };
        let mut keys = BTreeSet::new();
        let mut parent = ChainHead::of(&header_at(height)?);
        let head = self.store.head()?.map_or(height, |h| h.height);
        for h in height + 1..=head {
            let header = header_at(h)?;
            let before = self.store.snapshot_at(h - 1)?;
            let env = self.env_after(&parent, header.timestamp_ms, header.proposer);
            keys.extend(self.closing_writes(&before, &parent, &env)?.into_keys());
            parent = ChainHead::of(&header);
        }
        Ok(keys)
    }
}
