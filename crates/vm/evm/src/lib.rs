//! The EVM (opcodes 0x10–0x1F): revm over the unified state.

mod call;
mod chain;
mod db;
mod deadline;
mod erc20;
mod ethereum;
mod format;
mod ops;
mod trace;
mod variant;
mod vm;

pub use call::{AccountOverride, CallOutcome, CallRefusal, CallRequest, apply_overrides};
pub use chain::{
    DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS, DEV_MNEMONIC_BALANCE, GenesisContract, GenesisContracts,
    mnemonic_addresses,
};
pub use db::{
    AccountSpace, DbError, ERC20_VIEW_CODE, StateDb, UnifiedDb, code_hash_key, code_key,
    storage_key,
};
pub use deadline::Deadline;
pub use erc20::{LedgerPrecompiles, erc20_address, journaled_token_balance, journaled_token_move};
pub use ethereum::{EthTxError, EthereumOutcome, EthereumTx, INITIAL_BASE_FEE, next_base_fee};
pub use format::{ETHEREUM_TX_TAG, tag_ethereum};
pub use ops::{EvmOp, OPCODE_CALL, OPCODE_CREATE, TRANSFER_GAS};
/// revm's transaction, as the EVM runs it (what [`EvmVm::trace_geth`] and [`EvmVm::call_tx`] take and give).
pub use revm::context::TxEnv as RevmTx;
pub use trace::{TraceBounds, Tracer, TransactionInfo};
pub use variant::{
    EvmContext, EvmInstructions, EvmVariant, FrameValues, Mainline, TokenValue, VariantError,
    VariantEvm,
};
pub use vm::{BLOCK_GAS_LIMIT, EvmVm, TX_GAS_CAP, evm_address, revm_block, revm_block_in, revm_tx};
