//! The Jellyfish Merkle Tree over committed state, read from redb.

use crate::store::{JMT_NODES, STATE};
use jmt::{
    KeyHash, OwnedValue, Version,
    storage::{LeafNode, Node, NodeKey, TreeReader},
};
use redb::ReadTransaction;

/// Reads JMT nodes and values from a redb read transaction.
pub(crate) struct JmtReader<'a> {
    pub(crate) txn: &'a ReadTransaction,
}

impl TreeReader for JmtReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let table = match self.txn.open_table(JMT_NODES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let key = borsh::to_vec(node_key)?;
        match table.get(key.as_slice())? {
            Some(bytes) => Ok(Some(borsh::from_slice(bytes.value())?)),
            None => Ok(None),
        }
    }

    /// Only the latest value of a key is kept (the state table), so this answers for the
    /// newest version; proofs are served at the head.
    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let table = match self.txn.open_table(STATE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(key_hash.0.as_slice())?.map(|v| v.value().to_vec()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("tree restoration is not supported by this store")
    }
}
