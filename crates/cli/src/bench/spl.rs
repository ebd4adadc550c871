//! SPL Token transfers in signed Solana transactions through the node: Ed25519 verification at
//! admission, the recent-blockhash and signature checks, Agave's SVM running the SPL Token
//! builtin over ledger balances, state root, fsync'd commit.

use super::{BenchArgs, pipeline};
use nvm_identity::VmAddress;
use nvm_primitives::sha256;
use nvm_vm_svm::{SPL_TOKEN_PROGRAM_ID, UNITS_PER_LAMPORT};
use rayon::prelude::*;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;
use spl_token_interface::instruction as token;
use std::time::Instant;

fn keypair(label: &str, i: usize) -> Keypair {
    Keypair::new_from_array(sha256(format!("{label} {i}").as_bytes()))
}

fn wire(tx: &Transaction) -> Vec<u8> {
    nvm_vm_svm::tag_solana(&bincode::serialize(tx).expect("a transaction serializes"))
}

pub(super) fn run(args: &BenchArgs) -> Result<f64, String> {
    let (senders, block_txs) =
        super::announce(args, "SPL Token transfers (signed Solana transactions)", 2);
    let payer = keypair("spl payer", 0);
    let mint = keypair("spl mint", 0);
    let owners: Vec<Keypair> =
        (0..senders).into_par_iter().map(|i| keypair("spl owner", i)).collect();
    let accounts: Vec<Keypair> =
        (0..senders).into_par_iter().map(|i| keypair("spl account", i)).collect();
    let lamports = 1_000 * 1_000_000_000u128 * UNITS_PER_LAMPORT;
    let mut funded: Vec<(VmAddress, u128)> =
        owners.iter().map(|k| (VmAddress::Svm(k.pubkey().to_bytes()), lamports)).collect();
    funded.push((VmAddress::Svm(payer.pubkey().to_bytes()), lamports * 10));
    let (chain, _temp) = super::open_chain(args, &super::bench_genesis(Vec::new(), funded))?;

    // Not timed: the mint, then every owner's token account holding a million units.
    let started = Instant::now();
    let rent = solana_rent::Rent::default();
    let genesis_hash = Hash::new_from_array(chain.head().map_err(|e| e.to_string())?.hash);
    let create = |account: &Pubkey, space: usize| {
        solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            account,
            rent.minimum_balance(space),
            space as u64,
            &SPL_TOKEN_PROGRAM_ID,
        )
    };
    let token_err = |e: solana_program_error::ProgramError| e.to_string();
    let init_mint =
        token::initialize_mint2(&SPL_TOKEN_PROGRAM_ID, &mint.pubkey(), &payer.pubkey(), None, 6)
            .map_err(token_err)?;
    let mint_tx = Transaction::new_signed_with_payer(
        &[create(&mint.pubkey(), 82), init_mint],
        Some(&payer.pubkey()),
        &[&payer, &mint],
        genesis_hash,
    );
    let hash = Hash::new_from_array(super::setup_block(&chain, vec![wire(&mint_tx)], 1)?);
    let setup: Vec<Vec<u8>> = (0..senders)
        .into_par_iter()
        .map(|i| {
            let (owner, account) = (&owners[i], &accounts[i]);
            let init = token::initialize_account3(
                &SPL_TOKEN_PROGRAM_ID,
                &account.pubkey(),
                &mint.pubkey(),
                &owner.pubkey(),
            )
            .map_err(token_err)?;
            let fund = token::mint_to(
                &SPL_TOKEN_PROGRAM_ID,
                &mint.pubkey(),
                &account.pubkey(),
                &payer.pubkey(),
                &[],
                1_000_000,
            )
            .map_err(token_err)?;
            Ok(wire(&Transaction::new_signed_with_payer(
                &[create(&account.pubkey(), 165), init, fund],
                Some(&payer.pubkey()),
                &[&payer, account],
                hash,
            )))
        })
        .collect::<Result<_, String>>()?;
    let hash = Hash::new_from_array(super::setup_block(&chain, setup, 2)?);
    println!(
        "set up a mint and {senders} funded token accounts in {:.2?} (not timed)",
        started.elapsed()
    );

    // The measured transfers: sender i pays its neighbour, each with its own amount (so no
    // two transactions are the same and share a signature).
    let started = Instant::now();
    let raws: Vec<Vec<u8>> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let s = j % senders;
            let to = &accounts[(s + 1) % senders];
            let amount = 1 + (j / senders) as u64;
            let ix = token::transfer(
                &SPL_TOKEN_PROGRAM_ID,
                &accounts[s].pubkey(),
                &to.pubkey(),
                &owners[s].pubkey(),
                &[],
                amount,
            )
            .map_err(token_err)?;
            Ok(wire(&Transaction::new_signed_with_payer(
                &[ix],
                Some(&owners[s].pubkey()),
                &[&owners[s]],
                hash,
            )))
        })
        .collect::<Result<_, String>>()?;
    println!("signed {} transactions in {:.2?} (not timed below)", raws.len(), started.elapsed());
    let ceiling = super::signature_ceiling(&raws, "Ed25519", |raw| {
        bincode::deserialize::<solana_transaction::versioned::VersionedTransaction>(&raw[1..])
            .is_ok_and(|tx| tx.verify_and_hash_message().is_ok())
    });
    let ours = pipeline::sustained(&chain, raws, block_txs, args.txs)?;
    println!(
        "SPL Token transfers: n-VM {ours:.0} tx/s (Ed25519 at admission -> Agave SVM + SPL builtin over the ledger -> state root -> fsync'd commit), {:.2}x the Ed25519 ceiling",
        ours / ceiling
    );
    Ok(ours)
}
