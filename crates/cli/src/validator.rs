//! `nvm node --validator --config FILE`: one validator of a multi-validator network, configured
//! by the file `nvm testnet init` writes; it runs the node path every node runs ([`crate::node`]).

use crate::node::NodeSetup;
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{Signer, ed25519};
use nvm_consensus::BlockRules;
use nvm_node::{Genesis, GenesisAccount};
use nvm_primitives::SchemeId;
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// A validator's configuration file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// This validator's consensus and p2p key (Ed25519 secret, hex). Its identity (fees of the
    /// blocks it proposes) is the n-VM Ed25519 identity of the same key.
    pub private_key: String,
    /// Where peers reach this validator.
    pub p2p_addr: SocketAddr,
    pub rpc_addr: SocketAddr,
    /// Solana JSON-RPC; its pub-sub listens on the next port.
    pub solana_rpc_addr: SocketAddr,
    /// Tron's HTTP API (java-tron's `/wallet/*`).
    #[serde(default = "default_tron_http_addr")]
    pub tron_http_addr: SocketAddr,
    /// Prometheus metrics (`GET /metrics`).
    pub metrics_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The network's genesis file (every validator reads the same one).
    pub genesis: PathBuf,
    /// Every validator (this one included): public key (hex) and p2p address.
    pub validators: Vec<Peer>,
    pub block_time_ms: u64,
    pub max_block_txs: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peer {
    pub public_key: String,
    pub p2p_addr: SocketAddr,
}

/// A network's genesis file: what its operator funds — Ed25519 keys (their identities) and any
/// VM's addresses — and, only if asked, the dev allocation (the dev key, the standard mnemonic's
/// accounts, the Solana faucet: public keys anyone can spend from).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GenesisFile {
    pub chain_id: u64,
    pub timestamp_ms: u64,
    /// The validator set (Ed25519 public keys, hex): who signs finalization certificates.
    pub validators: Vec<String>,
    #[serde(default)]
    pub funded: Vec<FundedKey>,
    #[serde(default)]
    pub funded_addresses: Vec<FundedAddress>,
    /// Fund the dev allocation too (`testnet init --dev-accounts`).
    #[serde(default)]
    pub dev_accounts: bool,
}

/// Any VM's address (as `nvm transfer --to` takes it) funded at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundedAddress {
    pub address: String,
    /// Native balance in base units (18 decimals), as a decimal string.
    pub balance: String,
}

/// An Ed25519 key whose identity (salt zero) is registered and funded at genesis.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FundedKey {
    /// Hex.
    pub public_key: String,
    /// Native balance in base units (18 decimals), as a decimal string.
    pub balance: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, String> {
    hex::decode(text.trim_start_matches("0x")).map_err(|e| format!("{what} {text}: {e}"))
}

impl GenesisFile {
    pub fn load(path: &Path) -> Result<Self, String> {
        read_json(path)
    }

    /// The validator set's keys.
    pub fn validator_keys(&self) -> Result<Vec<[u8; 32]>, String> {
        self.validators
            .iter()
            .map(|k| {
                <[u8; 32]>::try_from(hex_bytes(k, "validator key")?)
                    .map_err(|_| format!("validator key {k} is not 32 bytes"))
            })
            .collect()
    }

    pub fn genesis(&self) -> Result<Genesis, String> {
        let vms = crate::vms::registry()?;
        let mut genesis = if self.dev_accounts {
            Genesis {
                chain_id: self.chain_id,
                timestamp_ms: self.timestamp_ms,
                ..Genesis::dev(&vms)
            }
        } else {
            Genesis::network(&vms, self.chain_id, self.timestamp_ms)
        };
        let addresses = self
            .funded_addresses
            .iter()
            .map(|funded| {
                let address = nvm_identity::VmAddress::parse(&funded.address)
                    .map_err(|e| format!("funded address: {e}"))?;
                let balance = funded.balance.parse().map_err(|e| {
                    format!("balance {} of {}: {e}", funded.balance, funded.address)
                })?;
                Ok((address, balance))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if !addresses.is_empty() {
            genesis.parts.push(std::sync::Arc::new(nvm_vm_api::FundedAddresses(addresses)));
        }
        for funded in &self.funded {
            let public_key = hex_bytes(&funded.public_key, "funded key")?;
            let balance = funded
                .balance
                .parse()
                .map_err(|e| format!("balance {} of {}: {e}", funded.balance, funded.public_key))?;
            genesis.accounts.push(GenesisAccount {
                scheme: SchemeId::Ed25519,
                public_key,
                salt: [0; 32],
                balance,
            });
        }
        Ok(genesis)
    }
}

impl ValidatorConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        read_json(path)
    }

    fn key(&self) -> Result<ed25519::PrivateKey, String> {
        let bytes = hex_bytes(&self.private_key, "private_key")?;
        ed25519::PrivateKey::decode(bytes).map_err(|e| format!("private_key: {e}"))
    }

    fn peers(&self) -> Result<Vec<(ed25519::PublicKey, SocketAddr)>, String> {
        self.validators
            .iter()
            .map(|p| {
                let bytes = hex_bytes(&p.public_key, "validator key")?;
                let key = ed25519::PublicKey::decode(bytes)
                    .map_err(|e| format!("validator key {}: {e}", p.public_key))?;
                Ok((key, p.p2p_addr))
            })
            .collect()
    }
}

/// A new validator key, hex-encoded (secret, public).
pub fn new_key() -> (String, String) {
    use rand_core::RngCore;
    let mut seed = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut seed);
    let key =
        ed25519::PrivateKey::decode(seed.to_vec()).expect("any 32 bytes are an Ed25519 secret");
    (hex::encode(key.encode()), hex::encode(key.public_key().encode()))
}

pub fn run(config_path: &Path) -> Result<(), String> {
    let config = ValidatorConfig::load(config_path)?;
    let key = config.key()?;
    let validators = config.peers()?;
    let genesis_file = GenesisFile::load(&config.genesis)?;
    let mut in_genesis = genesis_file.validator_keys()?;
    let mut in_config: Vec<[u8; 32]> =
        validators.iter().filter_map(|(k, _)| k.encode().as_ref().try_into().ok()).collect();
    in_genesis.sort();
    in_config.sort();
    if in_genesis != in_config {
        return Err(format!(
            "the validators in {} are not the genesis validator set of {}",
            config_path.display(),
            config.genesis.display()
        ));
    }
    let genesis = genesis_file.genesis()?;
    let setup = NodeSetup {
        key: key.clone(),
        validators,
        p2p_addr: config.p2p_addr,
        genesis,
        data_dir: config.data_dir,
        rpc_addr: config.rpc_addr,
        rpc_limits: nvm_rpc::RpcLimits::default(),
        solana_rpc_addr: config.solana_rpc_addr,
        tron_http_addr: config.tron_http_addr,
        metrics_addr: Some(config.metrics_addr),
        faucet: None,
        history: nvm_node::HistoryWindow::default(),
        dev_authority: None,
        journal_sync: nvm_node::JournalSync::PowerLoss,
        // A validator network's pool stays bounded per sender (docs/CONSENSUS.md).
        max_pending_per_sender: nvm_node::MAX_PENDING_PER_SENDER,
        rules: BlockRules {
            max_block_txs: config.max_block_txs,
            block_time: Duration::from_millis(config.block_time_ms),
        },
    };
    let count = setup.validators.len();
    crate::node::run(setup, |chain| {
        println!(
            "n-VM validator {} — chain id {}, {count} validators, resuming at height {}",
            hex::encode(key.public_key().encode()),
            chain.chain_id(),
            chain.head().map_or(0, |h| h.height),
        );
    })
}

/// A configuration written before the Tron API had a port: any free one.
fn default_tron_http_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;
    use nvm_identity::{Registry, VmAddress};
    use nvm_ledger::{Ledger, NATIVE_MINT};
    use nvm_state_api::{MemoryState, TxOverlay};

    /// The native balance of `address` in the first state of `file`'s network.
    fn balances(file: &GenesisFile, addresses: &[VmAddress]) -> Vec<u128> {
        let mut state = MemoryState::default();
        state.apply(&file.genesis().unwrap().writes().unwrap());
        let mut view = TxOverlay::new(&state);
        addresses
            .iter()
            .map(|a| {
                let id = Registry::resolve(&mut view, a).unwrap();
                Ledger::balance(&mut view, &NATIVE_MINT, &id).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_network_funds_what_its_operator_lists_and_the_dev_keys_only_when_asked() {
        let listed = VmAddress::parse("0x1111111111111111111111111111111111111111").unwrap();
        let hardhat_0 = VmAddress::parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").unwrap();
        let dev = VmAddress::Native(nvm_identity::id_com_from_credential(
            nvm_primitives::SchemeId::Ed25519,
            &nvm_node::dev_key().public_key(),
            &[0; 32],
        ));
        let mut file = GenesisFile {
            chain_id: 4_444_444_444,
            timestamp_ms: 0,
            validators: Vec::new(),
            funded: Vec::new(),
            funded_addresses: vec![FundedAddress {
                address: "0x1111111111111111111111111111111111111111".into(),
                balance: "5000".into(),
            }],
            dev_accounts: false,
        };
        assert_eq!(file.genesis().unwrap().chain_id, 4_444_444_444);
        assert_eq!(balances(&file, &[listed, hardhat_0, dev]), vec![5_000, 0, 0]);
        file.dev_accounts = true;
        let funded = balances(&file, &[listed, hardhat_0, dev]);
        assert_eq!(funded[0], 5_000);
        assert!(funded[1] > 0 && funded[2] > 0, "{funded:?}");
        assert_eq!(file.genesis().unwrap().chain_id, 4_444_444_444, "the dev keys, not the dev id");
    }
}
