//! The SVM's part in the chain's life: programs and the faucet in genesis (as
//! `solana-test-validator` places them), and the window of blocks whose hashes Solana
//! transactions may name as their recent blockhash.

use crate::{
    ASSOCIATED_TOKEN_PROGRAM_ID, BPF_LOADER_ID, Faucet, Pubkey, ReadableAccount, SvmVm,
    UNITS_PER_LAMPORT, account_key, accounts::StoredAccount, recent_blockhash_key,
    rent_exempt_minimum,
};
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_state_api::{IndexWrites, StateAccessExt, StateError, StateReader, TxOverlay};
use nvm_vm_api::{
    BLOCK_HASH_WINDOW, BlockEnv, BlockWrites, ChainHooks, FundedAddresses, GenesisPart,
    ParentBlock, block_hash_key,
};
use std::sync::Arc;

/// What the Solana dev faucet holds at genesis: 500 million native tokens (18 decimals).
pub const DEV_FAUCET_BALANCE: u128 = 500_000_000 * 10u128.pow(18);

/// Solana programs present from the start: sBPF ELFs under the BPF loader, rent-exempt, as
/// `solana-test-validator --bpf-program` places them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisPrograms(pub Vec<([u8; 32], Vec<u8>)>);

impl GenesisPart for GenesisPrograms {
    fn write(&self, state: &mut TxOverlay<'_>) -> Result<u128, String> {
        let mut created = 0u128;
        for (address, elf) in &self.0 {
            let program = StoredAccount {
                owner: BPF_LOADER_ID.to_bytes(),
                executable: true,
                rent_epoch: u64::MAX,
                data: elf.clone(),
            };
            state.set_encoded(account_key(&Pubkey::new_from_array(*address)), &program);
            // Rent-exempt, as on Solana (an account without lamports does not exist there).
            let units = u128::from(rent_exempt_minimum(elf.len())) * UNITS_PER_LAMPORT;
            let id = legacy_id_com(&VmAddress::Svm(*address)).ok_or("no legacy identity")?;
            Ledger::credit(state, &NATIVE_MINT, &id, units).map_err(|e| e.to_string())?;
            created = created.checked_add(units).ok_or("genesis supply overflows")?;
        }
        Ok(created)
    }
}

/// The mainnet build of the Associated Token Account program (`solana-program-binaries`).
pub fn associated_token_elf() -> Vec<u8> {
    solana_program_binaries::by_id(&ASSOCIATED_TOKEN_PROGRAM_ID, &Default::default())
        .and_then(|accounts| accounts.into_iter().next())
        .map(|(_, account)| account.data().to_vec())
        .unwrap_or_default()
}

impl ChainHooks for SvmVm {
    /// The Associated Token Account program is present (wallets derive token accounts through it).
    fn genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        vec![Arc::new(GenesisPrograms(vec![(
            ASSOCIATED_TOKEN_PROGRAM_ID.to_bytes(),
            associated_token_elf(),
        )]))]
    }

    /// The dev faucet ([`Faucet::dev`], what `requestAirdrop` pays from) holds
    /// [`DEV_FAUCET_BALANCE`].
    fn dev_genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        vec![Arc::new(FundedAddresses(vec![(
            VmAddress::Svm(Faucet::dev().address()),
            DEV_FAUCET_BALANCE,
        )]))]
    }

    /// Solana accounts by owner program, token accounts by wallet, signatures by account
    /// ([`crate::index`]).
    fn index_block(
        &self,
        before: &dyn StateReader,
        after: &dyn StateReader,
        height: u64,
        transactions: &[Vec<u8>],
        index: &mut IndexWrites,
    ) -> Result<(), StateError> {
        crate::index::index_block(before, after, height, transactions, index)
    }

    /// Each block's parent joins the hashes Solana transactions may name as their recent
    /// blockhash (with its height), and the one that left the node's block-hash window
    /// ([`BLOCK_HASH_WINDOW`], wider than [`crate::MAX_BLOCKHASH_AGE`]) is dropped.
    fn end_block(
        &self,
        state: &dyn StateReader,
        parent: &ParentBlock,
        _env: &BlockEnv,
        writes: &mut BlockWrites,
    ) -> Result<(), StateError> {
        let height = borsh::to_vec(&parent.height).expect("writing to a Vec cannot fail");
        writes.insert(recent_blockhash_key(&parent.hash), Some(height));
        if let Some(old) = parent.height.checked_sub(BLOCK_HASH_WINDOW)
            && let Some(hash) =
                state.get(&block_hash_key(old))?.and_then(|h| <[u8; 32]>::try_from(h).ok())
        {
            writes.insert(recent_blockhash_key(&hash), None);
        }
        Ok(())
    }
}
