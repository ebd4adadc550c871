//! The Jellyfish Merkle Tree over committed state, read from redb.

use crate::store::{JMT_NODES, STATE, StoreResult, open_read};
use jmt::{
    KeyHash, OwnedValue, Version,
    storage::{LeafNode, Node, NodeKey, TreeReader},
};
use redb::{ReadOnlyTable, ReadTransaction};
use std::collections::BTreeMap;

type Table = Option<ReadOnlyTable<&'static [u8], &'static [u8]>>;

/// Reads JMT nodes and values from one redb read transaction; the tables are opened once, as
/// the tree asks for many nodes per block. `parents` hold the nodes of executed blocks not yet
/// committed (newest first): they are found there first.
pub(crate) struct JmtReader<'a> {
    nodes: Table,
    values: Table,
    parents: Vec<&'a BTreeMap<NodeKey, Node>>,
}

impl<'a> JmtReader<'a> {
    pub(crate) fn new(
        txn: &ReadTransaction,
        parents: Vec<&'a BTreeMap<NodeKey, Node>>,
    ) -> StoreResult<Self> {
        Ok(Self { nodes: open_read(txn, JMT_NODES)?, values: open_read(txn, STATE)?, parents })
    }
}

impl TreeReader for JmtReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        if let Some(node) = self.parents.iter().find_map(|nodes| nodes.get(node_key)) {
            return Ok(Some(node.clone()));
        }
        let Some(table) = &self.nodes else { return Ok(None) };
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
        let Some(table) = &self.values else { return Ok(None) };
        Ok(table.get(key_hash.0.as_slice())?.map(|v| v.value().to_vec()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("tree restoration is not supported by this store")
    }
}
