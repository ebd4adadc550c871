//! The SPL Token view's associated token accounts (SPEC §3), kept beside the ERC-20 view's
//! address for the same reason: every VM's view of a balance must find it without anyone
//! creating anything first.
//!
//! A Solana wallet finds its balance of a mint at its associated token account (ATA), an address
//! derived one way from (owner, token program, mint). Showing a ledger balance there needs the
//! other direction too — from the ATA to (owner, mint) — which no one can compute, so the ledger
//! writes it: when an identity is first credited a mint, for each Solana address it shows (its
//! "SPL owners"), and when an identity gains a Solana address, for each mint it holds. The SVM's
//! account loader then shows an initialized token account at that ATA whose amount is the
//! owner's ledger balance, and the RPC answers for it as Solana's does.

use crate::{Ledger, LedgerResult, Mint, NATIVE_MINT};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{IdCom, StateKey, sha256_parts};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt};
use solana_pubkey::Pubkey;

/// The SPL Token program: the program ledger mints are shown under.
pub const SPL_TOKEN_PROGRAM: Pubkey =
    Pubkey::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
/// The Associated Token Account program, whose derivation wallets use.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey =
    Pubkey::from_str_const("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/// Most Solana addresses of one identity whose ATAs are indexed, so that a first credit's work
/// is bounded (an identity could link any number of keys).
pub const MAX_SPL_OWNERS: usize = 16;

/// The ATA of `owner` for `mint` under the SPL Token program, as `@solana/spl-token`'s
/// `getAssociatedTokenAddressSync` computes it.
pub fn associated_token_address(owner: &[u8; 32], mint: &Mint) -> [u8; 32] {
    let seeds: [&[u8]; 3] = [owner, SPL_TOKEN_PROGRAM.as_ref(), mint];
    Pubkey::find_program_address(&seeds, &ASSOCIATED_TOKEN_PROGRAM).0.to_bytes()
}

/// `SHA-256("spl:owners:" ‖ id_com)` → the identity's Solana addresses whose ATAs show its
/// balances, in the order they came (at most [`MAX_SPL_OWNERS`]).
pub fn spl_owners_key(id_com: &IdCom) -> StateKey {
    sha256_parts(&[b"spl:owners:", id_com])
}

/// `SHA-256("spl:ata-of:" ‖ address)` → the [`AssociatedAccount`] whose ATA `address` is.
pub fn associated_account_key(address: &[u8; 32]) -> StateKey {
    sha256_parts(&[b"spl:ata-of:", address])
}

/// Whose associated token account an address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AssociatedAccount {
    /// The Solana address that owns it (it resolves to the identity whose balance it shows).
    pub owner: [u8; 32],
    pub mint: Mint,
}

impl Ledger {
    /// The Solana addresses `id`'s ATAs are indexed for (see [`spl_owners_key`]).
    pub fn spl_owners(state: &mut dyn StateAccess, id: &IdCom) -> LedgerResult<Vec<[u8; 32]>> {
        Ok(state.get_decoded(&spl_owners_key(id))?.unwrap_or_default())
    }

    /// Adds a Solana address of `id` (derived, linked or its own external key) and indexes its
    /// ATA of every mint `id` holds. Past [`MAX_SPL_OWNERS`] an address is not added.
    pub fn add_spl_owner(
        state: &mut dyn StateAccess,
        id: &IdCom,
        owner: &[u8; 32],
    ) -> LedgerResult<()> {
        let mut owners = Self::spl_owners(state, id)?;
        if owners.contains(owner) || owners.len() >= MAX_SPL_OWNERS {
            return Ok(());
        }
        owners.push(*owner);
        state.set_encoded(spl_owners_key(id), &owners);
        for mint in Self::holdings(state, id)? {
            Self::index_associated(state, owner, &mint);
        }
        Ok(())
    }

    /// Indexes the ATAs of `mint` for every SPL owner of `id` (on its first credit of `mint`).
    pub(crate) fn index_associated_of(
        state: &mut dyn StateAccess,
        id: &IdCom,
        mint: &Mint,
    ) -> LedgerResult<()> {
        if *mint == NATIVE_MINT {
            return Ok(());
        }
        for owner in Self::spl_owners(state, id)? {
            Self::index_associated(state, &owner, mint);
        }
        Ok(())
    }

    fn index_associated(state: &mut dyn StateAccess, owner: &[u8; 32], mint: &Mint) {
        let address = associated_token_address(owner, mint);
        state.set_encoded(
            associated_account_key(&address),
            &AssociatedAccount { owner: *owner, mint: *mint },
        );
    }

    /// Whose ATA `address` is, if the ledger indexed it.
    pub fn associated_account(
        state: &mut dyn StateAccess,
        address: &[u8; 32],
    ) -> LedgerResult<Option<AssociatedAccount>> {
        Ok(state.get_decoded(&associated_account_key(address))?)
    }

    /// Declares the ATA entries a first credit of `mint` to `id` writes, for its SPL owners as
    /// `state` has them plus `new_owners` (addresses the same transaction adds).
    pub fn declare_associated(
        state: &mut dyn StateAccess,
        access: &mut AccessSet,
        mint: &Mint,
        id: &IdCom,
        new_owners: &[[u8; 32]],
    ) -> LedgerResult<()> {
        access.read(spl_owners_key(id));
        if *mint == NATIVE_MINT || Self::balance(state, mint, id)? > 0 {
            return Ok(());
        }
        let mut owners = Self::spl_owners(state, id)?;
        for owner in new_owners {
            if !owners.contains(owner) {
                owners.push(*owner);
            }
        }
        for owner in owners.iter().take(MAX_SPL_OWNERS) {
            access.write(associated_account_key(&associated_token_address(owner, mint)));
        }
        Ok(())
    }
}
