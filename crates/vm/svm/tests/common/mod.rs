//! What the SVM tests share.

#![allow(dead_code)] // each test binary uses its own part

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

/// A System `CreateAccount` of `space` bytes for `owner`, funded rent-exempt by `payer`.
pub fn create_rent_exempt(
    payer: &solana_pubkey::Pubkey,
    account: &solana_pubkey::Pubkey,
    space: usize,
    owner: &solana_pubkey::Pubkey,
) -> solana_instruction::Instruction {
    let lamports = solana_rent::Rent::default().minimum_balance(space);
    solana_system_interface::instruction::create_account(
        payer,
        account,
        lamports,
        space as u64,
        owner,
    )
}
