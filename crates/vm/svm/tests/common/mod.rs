//! What the SVM tests share.

use nvm_vm_api::BlockEnv;

/// The block every test transaction runs in.
pub fn block() -> BlockEnv {
    BlockEnv {
        chain_id: 7,
        height: 3,
        timestamp_ms: 1_700_000_000_000,
        proposer: [0xEE; 32],
        parent_hash: [0x11; 32],
        base_fee_per_gas: 0,
        gas_limit: 0,
    }
}
