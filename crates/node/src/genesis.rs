//! The initial state of a chain.

use nvm_identity::{AddressFormat, Registry, SecretKey, id_com_from_credential};
use nvm_ledger::{Ledger, NATIVE_DECIMALS, NATIVE_MINT, TokenInfo, holders::NotedBalances};
use nvm_primitives::{IdCom, SchemeId, sha256};
use nvm_state_api::{MemoryState, TxOverlay, WriteSet};
use nvm_vm_api::{GenesisPart, VmRegistry};
use std::sync::Arc;

/// Chain id of `--dev` networks.
pub const DEV_CHAIN_ID: u64 = 31_337;
/// Fee of one transaction on dev networks: 10^12 base units = 0.000001 native token.
pub const DEV_TX_FEE: u128 = 1_000_000_000_000;
/// One native token in base units.
const ONE: u128 = 10u128.pow(NATIVE_DECIMALS as u32);

/// The well-known dev key: Ed25519 with secret `SHA-256("n-VM dev key 0")`. Public knowledge —
/// never use it on a real network.
pub fn dev_key() -> SecretKey {
    SecretKey::from_secret(SchemeId::Ed25519, &sha256(b"n-VM dev key 0"))
        .expect("a 32-byte Ed25519 seed")
}

/// An identity registered at genesis, and its native balance.
#[derive(Clone, Debug)]
pub struct GenesisAccount {
    pub scheme: SchemeId,
    pub public_key: Vec<u8>,
    pub salt: [u8; 32],
    pub balance: u128,
}

impl GenesisAccount {
    pub fn id_com(&self) -> IdCom {
        id_com_from_credential(self.scheme, &self.public_key, &self.salt)
    }
}

/// The dev key's identity (created at genesis with salt 0 on a dev chain).
pub fn dev_id() -> IdCom {
    let key = dev_key();
    id_com_from_credential(key.scheme(), &key.public_key(), &[0; 32])
}

/// Everything that fixes a chain's first state.
#[derive(Clone, Debug)]
pub struct Genesis {
    pub chain_id: u64,
    pub timestamp_ms: u64,
    pub tx_fee: u128,
    pub accounts: Vec<GenesisAccount>,
    /// The VMs' parts of the first state: programs (each VM's `ChainHooks::genesis`), and funded
    /// external addresses (each VM's `ChainHooks::dev_genesis` on a dev chain, the operator's).
    pub parts: Vec<Arc<dyn GenesisPart>>,
    /// Most gas one block's transactions may reserve.
    pub block_gas_limit: u64,
    /// The identity that may write state directly (`NativeOp::DevWriteState`, behind anvil's
    /// dev methods): only a single-validator dev chain names one (`nvm node --dev`); a network
    /// never does, whatever accounts it funds.
    pub dev_authority: Option<IdCom>,
    /// The address formats every identity's addresses are indexed in (the VMs'): fixed here,
    /// as a VM added later finds the identities created before it without addresses of its own.
    pub address_formats: Vec<&'static AddressFormat>,
}

impl Genesis {
    /// The dev chain of the VMs of `vms`: [`Genesis::network`] at chain id [`DEV_CHAIN_ID`], the
    /// dev key's identity holding one billion native tokens, and each VM's dev part
    /// (`ChainHooks::dev_genesis`: the EVM and the Tron VM fund the standard mnemonic's accounts,
    /// the SVM its faucet); the block gas limit is the VMs' (unlimited if none meters gas).
    pub fn dev(vms: &VmRegistry) -> Self {
        let key = dev_key();
        let mut genesis = Self::network(vms, DEV_CHAIN_ID, 0);
        genesis.accounts.push(GenesisAccount {
            scheme: key.scheme(),
            public_key: key.public_key(),
            salt: [0; 32],
            balance: 1_000_000_000 * ONE,
        });
        genesis.parts.extend(vms.hooks().iter().flat_map(|h| h.dev_genesis()));
        genesis
    }

    /// A network's genesis with nothing funded: the VMs' parts every chain holds
    /// (`ChainHooks::genesis`), `chain_id`, and the VMs' block gas limit. Its operator adds the
    /// accounts it funds.
    pub fn network(vms: &VmRegistry, chain_id: u64, timestamp_ms: u64) -> Self {
        let hooks = vms.hooks();
        Self {
            chain_id,
            timestamp_ms,
            tx_fee: DEV_TX_FEE,
            accounts: Vec::new(),
            parts: hooks.iter().flat_map(|h| h.genesis()).collect(),
            block_gas_limit: hooks
                .iter()
                .filter_map(|h| h.dev_block_gas_limit())
                .min()
                .unwrap_or(u64::MAX),
            dev_authority: None,
            address_formats: vms.address_formats(),
        }
    }

    /// The state writes of block 0.
    pub fn writes(&self) -> Result<WriteSet, String> {
        Ok(self.writes_and_balances()?.0)
    }

    /// The state writes of block 0, and the (mint, holder) of each balance they credit (for the
    /// node's index of holders).
    pub fn writes_and_balances(&self) -> Result<(WriteSet, NotedBalances), String> {
        let empty = MemoryState::default();
        let mut state = TxOverlay::new(&empty);
        Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native())
            .map_err(|e| e.to_string())?;
        Registry::set_indexed_formats(&mut state, &self.address_formats);
        let mut supply = 0u128;
        for account in &self.accounts {
            let id =
                Registry::create(&mut state, account.scheme, &account.public_key, account.salt)
                    .map_err(|e| e.to_string())?;
            Ledger::credit(&mut state, &NATIVE_MINT, &id, account.balance)
                .map_err(|e| e.to_string())?;
            supply = supply.checked_add(account.balance).ok_or("genesis supply overflows")?;
        }
        for part in &self.parts {
            let created = part.write(&mut state)?;
            supply = supply.checked_add(created).ok_or("genesis supply overflows")?;
        }
        let mut info = Ledger::token(&mut state, &NATIVE_MINT)
            .map_err(|e| e.to_string())?
            .ok_or("no native token")?;
        info.supply = supply;
        nvm_state_api::StateAccessExt::set_encoded(
            &mut state,
            nvm_ledger::token_key(&NATIVE_MINT),
            &info,
        );
        if let Some(authority) = &self.dev_authority {
            nvm_state_api::StateAccessExt::set_encoded(
                &mut state,
                nvm_identity::dev_authority_key(),
                authority,
            );
        }
        let noted = state.take_noted_balances().into_iter().collect();
        let (writes, _) = state.into_writes();
        Ok((writes.into_iter().collect(), noted))
    }
}
