//! The initial state of a chain.

use nvm_identity::{Registry, SecretKey, VmAddress, id_com_from_credential, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_DECIMALS, NATIVE_MINT, TokenInfo};
use nvm_primitives::{IdCom, SchemeId, sha256};
use nvm_state_api::{MemoryState, StateAccess, TxOverlay, WriteSet};

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

/// The Associated Token Account program: wallets derive token accounts through it.
pub use nvm_vm_svm::ASSOCIATED_TOKEN_PROGRAM_ID;

/// The mainnet build of the Associated Token Account program (`solana-program-binaries`).
fn associated_token_elf() -> Vec<u8> {
    use nvm_vm_svm::ReadableAccount;
    solana_program_binaries::by_id(&ASSOCIATED_TOKEN_PROGRAM_ID, &Default::default())
        .and_then(|accounts| accounts.into_iter().next())
        .map(|(_, account)| account.data().to_vec())
        .unwrap_or_default()
}

/// What the Solana dev faucet holds at genesis: 500 million native tokens.
pub const DEV_FAUCET_BALANCE: u128 = 500_000_000 * ONE;

/// The standard development mnemonic (hardhat's and anvil's): tools and wallets know its accounts.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// How many of its accounts the dev genesis funds, and with how much (as anvil does).
pub const DEV_MNEMONIC_ACCOUNTS: u32 = 10;
const DEV_MNEMONIC_BALANCE: u128 = 10_000 * ONE;

/// The Ethereum addresses of the first `count` accounts of `phrase` (BIP-44 `m/44'/60'/0'/0/i`).
pub fn mnemonic_addresses(phrase: &str, count: u32) -> Result<Vec<[u8; 20]>, String> {
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    (0..count)
        .map(|i| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(phrase)
                .index(i)
                .map_err(|e| e.to_string())?
                .build()
                .map_err(|e| e.to_string())?;
            Ok(signer.address().into_array())
        })
        .collect()
}

/// Everything that fixes a chain's first state.
#[derive(Clone, Debug)]
pub struct Genesis {
    pub chain_id: u64,
    pub timestamp_ms: u64,
    pub tx_fee: u128,
    pub accounts: Vec<GenesisAccount>,
    /// Native balances of external addresses (Ethereum, Solana) no identity has linked: they
    /// belong to each address's legacy identity (SPEC §2), which the key holder can use.
    pub external_accounts: Vec<(VmAddress, u128)>,
    /// Contracts present from the start (as geth's genesis `alloc` has them).
    pub evm_contracts: Vec<GenesisContract>,
    /// Solana programs present from the start (sBPF ELFs under the BPF loader, as
    /// `solana-test-validator --bpf-program` places them).
    pub svm_programs: Vec<([u8; 32], Vec<u8>)>,
    /// Most gas one block's EVM transactions may reserve.
    pub block_gas_limit: u64,
}

/// A contract in the genesis state: runtime code and storage slots (32-byte big-endian words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisContract {
    pub address: [u8; 20],
    pub code: Vec<u8>,
    pub storage: Vec<([u8; 32], [u8; 32])>,
}

impl Genesis {
    /// The dev chain: the dev key's identity holds one billion native tokens, the first ten
    /// accounts of [`DEV_MNEMONIC`] 10,000 each, and the Solana dev faucet
    /// ([`nvm_vm_svm::Faucet::dev`], what `requestAirdrop` pays from) [`DEV_FAUCET_BALANCE`].
    pub fn dev() -> Self {
        let key = dev_key();
        let mut external_accounts: Vec<(VmAddress, u128)> =
            mnemonic_addresses(DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS)
                .expect("the standard mnemonic derives")
                .into_iter()
                .map(|address| (VmAddress::Evm(address), DEV_MNEMONIC_BALANCE))
                .collect();
        external_accounts
            .push((VmAddress::Svm(nvm_vm_svm::Faucet::dev().address()), DEV_FAUCET_BALANCE));
        Self {
            chain_id: DEV_CHAIN_ID,
            timestamp_ms: 0,
            tx_fee: DEV_TX_FEE,
            accounts: vec![GenesisAccount {
                scheme: key.scheme(),
                public_key: key.public_key(),
                salt: [0; 32],
                balance: 1_000_000_000 * ONE,
            }],
            external_accounts,
            evm_contracts: Vec::new(),
            svm_programs: vec![(ASSOCIATED_TOKEN_PROGRAM_ID.to_bytes(), associated_token_elf())],
            block_gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
        }
    }

    /// The state writes of block 0.
    pub fn writes(&self) -> Result<WriteSet, String> {
        let empty = MemoryState::default();
        let mut state = TxOverlay::new(&empty);
        Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native())
            .map_err(|e| e.to_string())?;
        let mut supply = 0u128;
        for account in &self.accounts {
            let id =
                Registry::create(&mut state, account.scheme, &account.public_key, account.salt)
                    .map_err(|e| e.to_string())?;
            Ledger::credit(&mut state, &NATIVE_MINT, &id, account.balance)
                .map_err(|e| e.to_string())?;
            supply = supply.checked_add(account.balance).ok_or("genesis supply overflows")?;
        }
        for (address, balance) in &self.external_accounts {
            // Funded, so found at every address it shows from the first block (SPEC §2).
            let id = Registry::resolve_and_index(&mut state, address).map_err(|e| e.to_string())?;
            Ledger::credit(&mut state, &NATIVE_MINT, &id, *balance).map_err(|e| e.to_string())?;
            supply = supply.checked_add(*balance).ok_or("genesis supply overflows")?;
        }
        for contract in &self.evm_contracts {
            let address = nvm_primitives::Address::from(contract.address);
            let hash = alloy_primitives::keccak256(&contract.code);
            state.set(nvm_vm_evm::code_key(&hash), contract.code.clone());
            state.set(nvm_vm_evm::code_hash_key(&address), hash.to_vec());
            for (slot, value) in &contract.storage {
                let slot = alloy_primitives::U256::from_be_bytes(*slot);
                state.set(nvm_vm_evm::storage_key(&address, &slot), value.to_vec());
            }
        }
        for (address, elf) in &self.svm_programs {
            let program = nvm_vm_svm::accounts::StoredAccount {
                owner: nvm_vm_svm::BPF_LOADER_ID.to_bytes(),
                executable: true,
                rent_epoch: u64::MAX,
                data: elf.clone(),
            };
            let key = nvm_vm_svm::account_key(&nvm_vm_svm::Pubkey::new_from_array(*address));
            nvm_state_api::StateAccessExt::set_encoded(&mut state, key, &program);
            // Rent-exempt, as on Solana (an account without lamports does not exist there).
            let lamports = u128::from(nvm_vm_svm::rent_exempt_minimum(elf.len()));
            let units = lamports * nvm_vm_svm::UNITS_PER_LAMPORT;
            let id = legacy_id_com(&VmAddress::Svm(*address)).ok_or("no legacy identity")?;
            Ledger::credit(&mut state, &NATIVE_MINT, &id, units).map_err(|e| e.to_string())?;
            supply = supply.checked_add(units).ok_or("genesis supply overflows")?;
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
        let (writes, _) = state.into_writes();
        Ok(writes.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_mnemonic_derives_the_accounts_every_tool_knows() {
        let addresses = mnemonic_addresses(DEV_MNEMONIC, 2).unwrap();
        // The addresses hardhat and anvil print for this mnemonic.
        assert_eq!(hex::encode(addresses[0]), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(hex::encode(addresses[1]), "70997970c51812dc3a010c7d01b50e0d17dc79c8");
    }
}
