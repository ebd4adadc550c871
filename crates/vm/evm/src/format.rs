//! The Ethereum wallet format behind the VM interface: what MetaMask, ethers and Foundry send
//! (`eth_sendRawTransaction`'s EIP-2718 bytes), in blocks as `ETHEREUM_TX_TAG ‖ bytes`.

use crate::{EthereumTx, EvmVm, OPCODE_CALL, OPCODE_CREATE};
use nvm_identity::{Registry, VmAddress};
use nvm_primitives::{TxHash, VmKind};
use nvm_state_api::TxOverlay;
use nvm_vm_api::{
    BlockEnv, EnvelopeCheck, Replay, TxEnv, TxError, VmError, WalletFormat, WalletOutcome,
    WalletTx, check_funds, check_nonce,
};
use std::sync::Arc;

/// First byte of a block transaction that is an Ethereum-signed transaction (its EIP-2718 bytes
/// follow). Native envelopes start with their version byte, and `0x01` is also the EIP-2930
/// type byte, so Ethereum transactions are tagged rather than told apart by their bytes.
pub const ETHEREUM_TX_TAG: u8 = 0xEE;

/// The block encoding of an Ethereum transaction's EIP-2718 bytes.
pub fn tag_ethereum(eip2718: &[u8]) -> Vec<u8> {
    nvm_vm_api::tagged(ETHEREUM_TX_TAG, eip2718)
}

impl WalletTx for EthereumTx {
    fn hash(&self) -> TxHash {
        Self::hash(self)
    }

    fn replay(&self) -> Replay {
        Replay::Nonce(Self::nonce(self))
    }

    fn max_fee_per_gas(&self) -> Option<u128> {
        Some(Self::max_fee_per_gas(self))
    }
}

fn ethereum(tx: &dyn WalletTx) -> Result<&EthereumTx, TxError> {
    tx.of_format("an Ethereum")
}

impl WalletFormat for EvmVm {
    fn tag(&self) -> u8 {
        ETHEREUM_TX_TAG
    }

    /// Ethereum's own: `keccak256` of the EIP-2718 bytes.
    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash> {
        Some(alloy_primitives::keccak256(bytes).0)
    }

    fn vm(&self) -> &'static str {
        VmKind::Evm.name()
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(EthereumTx::decode(bytes)?))
    }

    /// Its chain id is this chain's, it is valid under the EVM's rules, its fee cap covers the
    /// block's base fee, and its signer — acting as the identity its address resolves to (a
    /// linked identity, or the address's legacy identity) — has the nonce and the balance.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let tx = ethereum(tx)?;
        if tx.chain_id() != env.chain_id {
            return Err(TxError::WrongChain { expected: env.chain_id, got: tx.chain_id() });
        }
        tx.check(self.spec)?;
        let base_fee = env.base_fee_per_gas;
        if tx.max_fee_per_gas() < u128::from(base_fee) {
            return Err(TxError::FeeCapTooLow { max_fee_per_gas: tx.max_fee_per_gas(), base_fee });
        }
        let sender = Registry::resolve(state, &VmAddress::Evm(tx.signer().into_array()))?;
        let next = check_nonce(state, &sender, tx.nonce(), exact_nonce)?;
        let max_cost = u128::try_from(tx.max_cost()).unwrap_or(u128::MAX);
        let available = check_funds(state, &sender, max_cost)?;
        Ok(EnvelopeCheck {
            sender,
            next_nonce: next,
            native_balance: available,
            max_cost,
            gas_reserved: tx.gas_limit(),
            units_reserved: 0,
        })
    }

    /// revm charges gas at the effective price (the tip to the proposer's coinbase, the base fee
    /// burned) and bumps the nonce, whether the call succeeds or not.
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let tx = ethereum(tx)?;
        let out = match self.execute_ethereum(env, tx, state) {
            Ok(out) => out,
            Err(VmError::State(e)) => return Err(TxError::State(e)),
            Err(e) => return Err(TxError::InvalidPayload(e.to_string())),
        };
        Ok(WalletOutcome {
            status: out.status,
            proposer_fee: 0,
            fee_paid: out.fee_paid,
            gas_used: out.gas_used,
            logs: out.logs,
            vm_data: Vec::new(),
            opcode: if tx.created_address().is_some() { OPCODE_CREATE } else { OPCODE_CALL },
            units_used: 0,
        })
    }
}
