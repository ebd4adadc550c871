//! The dev network's faucet: a well-known Solana key funded at genesis, whose signed System
//! transfers answer `requestAirdrop` — real transactions through the mempool, as
//! `solana-test-validator`'s faucet sends them.

use nvm_primitives::sha256;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// A key that signs airdrops.
pub struct Faucet {
    keypair: Keypair,
}

impl Faucet {
    /// The dev faucet: Ed25519 with secret `SHA-256("n-VM dev faucet")`. Public knowledge —
    /// only ever funded on dev networks.
    pub fn dev() -> Self {
        Self { keypair: Keypair::new_from_array(sha256(b"n-VM dev faucet")) }
    }

    /// Its Solana address (its funds are its `legacy_sol:` identity's).
    pub fn address(&self) -> [u8; 32] {
        self.keypair.pubkey().to_bytes()
    }

    /// A signed System transfer of `lamports` from the faucet to `to`, valid while
    /// `recent_blockhash` is recent: the wire bytes `sendTransaction` takes.
    pub fn airdrop(&self, to: &[u8; 32], lamports: u64, recent_blockhash: [u8; 32]) -> Vec<u8> {
        let from = self.keypair.pubkey();
        let transfer = solana_system_interface::instruction::transfer(
            &from,
            &Pubkey::new_from_array(*to),
            lamports,
        );
        let tx = Transaction::new_signed_with_payer(
            &[transfer],
            Some(&from),
            &[&self.keypair],
            Hash::new_from_array(recent_blockhash),
        );
        bincode::serialize(&tx).unwrap_or_default()
    }
}
