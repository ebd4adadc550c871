//! The SPL Token builtin over the ledger against the real p-token build (`solana-program-binaries`,
//! the mainnet program) at the same program id: one instruction sequence — mints, accounts,
//! transfers, delegation, burns, freezing, authorities, closing, multisig, and the errors of each —
//! runs on two chains, and after every transaction both report the same outcome and hold
//! byte-identical account data. Both chains keep token balances in the ledger (the mapping is the
//! state's, whichever program runs), and the ledger balances match the SPL amounts.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;
#[path = "token_differential/random.rs"]
mod random;

use common::{block, create_rent_exempt};

use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_svm::{SPL_TOKEN_PROGRAM_ID, SvmRuntime, UNITS_PER_LAMPORT, accounts};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::{Transaction, sanitized::SanitizedTransaction};
use spl_token_interface::instruction as token;
use std::collections::HashSet;

const SOL: u64 = 1_000_000_000;
const TOKEN: &Pubkey = &SPL_TOKEN_PROGRAM_ID;

fn key(seed: u8) -> Keypair {
    Keypair::new_from_array([seed; 32])
}

/// One chain: a runtime and its state.
struct Chain {
    runtime: SvmRuntime,
    state: MemoryState,
    /// The ledger logs of the last transaction: (from, to, amount) by identity.
    moves: Vec<([u8; 32], [u8; 32], u128)>,
    /// The last transaction's `Program return:` log lines (its return data).
    returned: Vec<String>,
}

impl Chain {
    /// `payer` funded; with `p_token`, the mainnet p-token build at the token program's id
    /// instead of n-VM's builtin.
    fn new(payer: &Pubkey, p_token: bool) -> Self {
        let empty = MemoryState::default();
        let mut state = TxOverlay::new(&empty);
        Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
        let id = legacy_id_com(&VmAddress::Svm(payer.to_bytes())).unwrap();
        Ledger::credit(&mut state, &NATIVE_MINT, &id, u128::from(100 * SOL) * UNITS_PER_LAMPORT)
            .unwrap();
        if p_token {
            for (address, account) in
                solana_program_binaries::by_id(TOKEN, &solana_rent::Rent::default()).unwrap()
            {
                accounts::store(&mut state, &address, &account).unwrap();
            }
        }
        let (writes, _) = state.into_writes();
        let mut out = MemoryState::default();
        out.apply(&writes.into_iter().collect());
        let runtime = SvmRuntime::with_token_builtin(!p_token).unwrap();
        Self { runtime, state: out, moves: Vec::new(), returned: Vec::new() }
    }

    fn run(&mut self, tx: &Transaction) -> Result<(), String> {
        let tx =
            SanitizedTransaction::try_from_legacy_transaction(tx.clone(), &HashSet::new()).unwrap();
        let mut overlay = TxOverlay::new(&self.state);
        let outcome = self.runtime.execute(&mut overlay, &block(), &tx).unwrap();
        let (writes, _) = overlay.into_writes();
        self.state.apply(&writes.into_iter().collect());
        self.moves = outcome
            .ledger_logs
            .iter()
            .map(|l| {
                (l.topics[1], l.topics[2], u128::from_be_bytes(l.data[..].try_into().unwrap()))
            })
            .collect();
        self.returned =
            outcome.logs.iter().filter(|l| l.starts_with("Program return:")).cloned().collect();
        outcome.status
    }

    /// An account as the SVM loads it (amounts and supplies from the ledger).
    fn account(&self, address: &Pubkey) -> Option<(Vec<u8>, Pubkey, u64)> {
        use nvm_vm_svm::ReadableAccount;
        let account = accounts::load(&mut TxOverlay::new(&self.state), address).unwrap()?;
        Some((account.data().to_vec(), *account.owner(), account.lamports()))
    }

    fn ledger_balance(&self, mint: &Pubkey, owner: &Pubkey) -> u128 {
        let id = legacy_id_com(&VmAddress::Svm(owner.to_bytes())).unwrap();
        Ledger::balance(&mut TxOverlay::new(&self.state), &mint.to_bytes(), &id).unwrap()
    }
}

/// Both chains side by side.
struct Differential {
    builtin: Chain,
    p_token: Chain,
    payer: Keypair,
    watched: Vec<Pubkey>,
}

impl Differential {
    fn new() -> Self {
        let payer = key(1);
        Self {
            builtin: Chain::new(&payer.pubkey(), false),
            p_token: Chain::new(&payer.pubkey(), true),
            watched: Vec::new(),
            payer,
        }
    }

    /// Runs the instructions as one transaction (paid by the payer, signed by `signers` too) on
    /// both chains; both must agree on the outcome and on every watched account.
    fn run(&mut self, what: &str, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), String> {
        let mut all: Vec<&Keypair> = vec![&self.payer];
        for signer in signers {
            if all.iter().all(|k| k.pubkey() != signer.pubkey()) {
                all.push(signer);
            }
        }
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&self.payer.pubkey()),
            &all,
            Default::default(),
        );
        let ours = self.builtin.run(&tx);
        let theirs = self.p_token.run(&tx);
        assert_eq!(ours, theirs, "{what}: outcomes differ");
        assert_eq!(self.builtin.returned, self.p_token.returned, "{what}: return data differs");
        for address in &self.watched {
            assert_eq!(
                self.builtin.account(address),
                self.p_token.account(address),
                "{what}: account {address} differs"
            );
        }
        ours
    }

    fn create(&mut self, account: &Keypair, space: usize) -> Instruction {
        self.watched.push(account.pubkey());
        create_rent_exempt(&self.payer.pubkey(), &account.pubkey(), space, TOKEN)
    }
}

/// `n` cases, or `PROPTEST_CASES` when it is set (a longer search than the suite's).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}

fn custom(code: u32) -> Result<(), String> {
    Err(format!("{{\"InstructionError\":[0,{{\"Custom\":{code}}}]}}"))
}

#[test]
fn builtin_matches_p_token_byte_for_byte() {
    let mut d = Differential::new();
    let (mint, authority, freezer) = (key(10), key(11), key(12));
    let (alice, bob, carol, delegate) = (key(20), key(21), key(22), key(23));
    let (alice_acct, bob_acct, carol_acct) = (key(30), key(31), key(32));
    let m = mint.pubkey();

    let create_mint = d.create(&mint, 82);
    let init_mint =
        token::initialize_mint2(TOKEN, &m, &authority.pubkey(), Some(&freezer.pubkey()), 6)
            .unwrap();
    d.run("mint", &[create_mint, init_mint.clone()], &[&mint]).unwrap();
    assert_eq!(d.run("mint again", &[init_mint], &[]), custom(6), "AlreadyInUse");

    for (acct, owner) in [(&alice_acct, &alice), (&bob_acct, &bob), (&carol_acct, &carol)] {
        let create = d.create(acct, 165);
        let init = token::initialize_account3(TOKEN, &acct.pubkey(), &m, &owner.pubkey()).unwrap();
        d.run("account", &[create, init], &[acct]).unwrap();
    }

    let mint_to =
        token::mint_to(TOKEN, &m, &alice_acct.pubkey(), &authority.pubkey(), &[], 1_000_000)
            .unwrap();
    d.run("mint to", &[mint_to], &[&authority]).unwrap();
    let forged = token::mint_to(TOKEN, &m, &alice_acct.pubkey(), &alice.pubkey(), &[], 5).unwrap();
    assert_eq!(d.run("mint by a stranger", &[forged], &[&alice]), custom(4), "OwnerMismatch");

    let pay = |amount| {
        token::transfer(
            TOKEN,
            &alice_acct.pubkey(),
            &bob_acct.pubkey(),
            &alice.pubkey(),
            &[],
            amount,
        )
        .unwrap()
    };
    d.run("transfer", &[pay(250_000)], &[&alice]).unwrap();
    assert_eq!(d.run("overdraft", &[pay(10_000_000)], &[&alice]), custom(1), "InsufficientFunds");
    let wrong_decimals = token::transfer_checked(
        TOKEN,
        &alice_acct.pubkey(),
        &m,
        &bob_acct.pubkey(),
        &alice.pubkey(),
        &[],
        1,
        9,
    )
    .unwrap();
    assert_eq!(d.run("decimals", &[wrong_decimals], &[&alice]), custom(18));
    let stolen =
        token::transfer(TOKEN, &alice_acct.pubkey(), &bob_acct.pubkey(), &bob.pubkey(), &[], 1)
            .unwrap();
    assert_eq!(d.run("not the owner", &[stolen], &[&bob]), custom(4));

    let approve =
        token::approve(TOKEN, &alice_acct.pubkey(), &delegate.pubkey(), &alice.pubkey(), &[], 100)
            .unwrap();
    d.run("approve", &[approve], &[&alice]).unwrap();
    let spend = token::transfer(
        TOKEN,
        &alice_acct.pubkey(),
        &carol_acct.pubkey(),
        &delegate.pubkey(),
        &[],
        60,
    )
    .unwrap();
    d.run("delegate spends", std::slice::from_ref(&spend), &[&delegate]).unwrap();
    assert_eq!(d.run("delegate overspends", &[spend], &[&delegate]), custom(1));
    let revoke = token::revoke(TOKEN, &alice_acct.pubkey(), &alice.pubkey(), &[]).unwrap();
    d.run("revoke", &[revoke], &[&alice]).unwrap();

    let burn =
        token::burn_checked(TOKEN, &bob_acct.pubkey(), &m, &bob.pubkey(), &[], 10_000, 6).unwrap();
    d.run("burn", &[burn], &[&bob]).unwrap();

    let freeze =
        token::freeze_account(TOKEN, &bob_acct.pubkey(), &m, &freezer.pubkey(), &[]).unwrap();
    d.run("freeze", std::slice::from_ref(&freeze), &[&freezer]).unwrap();
    assert_eq!(d.run("freeze twice", &[freeze], &[&freezer]), custom(13), "InvalidState");
    let from_frozen =
        token::transfer(TOKEN, &bob_acct.pubkey(), &alice_acct.pubkey(), &bob.pubkey(), &[], 1)
            .unwrap();
    assert_eq!(d.run("frozen", &[from_frozen], &[&bob]), custom(17), "AccountFrozen");
    let thaw = token::thaw_account(TOKEN, &bob_acct.pubkey(), &m, &freezer.pubkey(), &[]).unwrap();
    d.run("thaw", &[thaw], &[&freezer]).unwrap();

    // Carol holds 60: closing needs an empty account.
    let close = |acct: &Keypair, owner: &Keypair| {
        token::close_account(TOKEN, &acct.pubkey(), &d.payer.pubkey(), &owner.pubkey(), &[])
            .unwrap()
    };
    let close_carol = close(&carol_acct, &carol);
    assert_eq!(
        d.run("close with balance", std::slice::from_ref(&close_carol), &[&carol]),
        custom(11)
    );
    let empty_carol =
        token::transfer(TOKEN, &carol_acct.pubkey(), &bob_acct.pubkey(), &carol.pubkey(), &[], 60)
            .unwrap();
    d.run("empty", &[empty_carol], &[&carol]).unwrap();
    d.run("close", &[close_carol], &[&carol]).unwrap();

    // A 2-of-3 multisig owns an account.
    let (s1, s2, s3, multisig, shared) = (key(40), key(41), key(42), key(43), key(44));
    let create_multisig = d.create(&multisig, 355);
    let init_multisig = token::initialize_multisig2(
        TOKEN,
        &multisig.pubkey(),
        &[&s1.pubkey(), &s2.pubkey(), &s3.pubkey()],
        2,
    )
    .unwrap();
    d.run("multisig", &[create_multisig, init_multisig], &[&multisig]).unwrap();
    let create_shared = d.create(&shared, 165);
    let init_shared =
        token::initialize_account3(TOKEN, &shared.pubkey(), &m, &multisig.pubkey()).unwrap();
    let fund =
        token::transfer(TOKEN, &alice_acct.pubkey(), &shared.pubkey(), &alice.pubkey(), &[], 1_000)
            .unwrap();
    d.run("shared account", &[create_shared, init_shared, fund], &[&shared, &alice]).unwrap();
    let spend_shared = |signers: &[&Pubkey]| {
        token::transfer(
            TOKEN,
            &shared.pubkey(),
            &alice_acct.pubkey(),
            &multisig.pubkey(),
            signers,
            400,
        )
        .unwrap()
    };
    assert!(d.run("one of three", &[spend_shared(&[&s1.pubkey()])], &[&s1]).is_err());
    d.run("two of three", &[spend_shared(&[&s1.pubkey(), &s3.pubkey()])], &[&s1, &s3]).unwrap();

    let fix_supply = token::set_authority(
        TOKEN,
        &m,
        None,
        token::AuthorityType::MintTokens,
        &authority.pubkey(),
        &[],
    )
    .unwrap();
    d.run("fix supply", &[fix_supply], &[&authority]).unwrap();
    let more = token::mint_to(TOKEN, &m, &bob_acct.pubkey(), &authority.pubkey(), &[], 1).unwrap();
    assert_eq!(d.run("fixed supply", &[more], &[&authority]), custom(5), "FixedSupply");

    // The amounts are the ledger's balances, on both chains.
    for chain in [&d.builtin, &d.p_token] {
        assert_eq!(
            chain.ledger_balance(&m, &alice.pubkey()),
            1_000_000 - 250_000 - 60 - 1_000 + 400
        );
        assert_eq!(chain.ledger_balance(&m, &bob.pubkey()), 250_000 - 10_000 + 60);
        assert_eq!(chain.ledger_balance(&m, &carol.pubkey()), 0);
        assert_eq!(chain.ledger_balance(&m, &multisig.pubkey()), 600);
        let supply = Ledger::token(&mut TxOverlay::new(&chain.state), &m.to_bytes()).unwrap();
        assert_eq!(supply.unwrap().supply, 1_000_000 - 10_000);
    }
    assert_eq!(d.builtin.account(&carol_acct.pubkey()), None, "closed");
}

/// Two token accounts of one owner show the one ledger balance: spending it twice in one
/// transaction, once through each, fails as a whole (the fee is paid, nothing else changes).
#[test]
fn one_balance_cannot_be_spent_twice_through_two_accounts() {
    let payer = key(1);
    let mut chain = Chain::new(&payer.pubkey(), false);
    let (mint, alice, bob) = (key(10), key(20), key(21));
    let (first, second, bobs) = (key(30), key(31), key(32));
    let m = mint.pubkey();
    let create = |account: &Keypair, space: usize| {
        create_rent_exempt(&payer.pubkey(), &account.pubkey(), space, TOKEN)
    };
    let send = |chain: &mut Chain, ixs: &[Instruction], signers: &[&Keypair]| {
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&payer.pubkey()),
            &all,
            Default::default(),
        );
        chain.run(&tx)
    };
    let init_mint = token::initialize_mint2(TOKEN, &m, &alice.pubkey(), None, 0).unwrap();
    send(&mut chain, &[create(&mint, 82), init_mint], &[&mint]).unwrap();
    for (account, owner) in [(&first, &alice), (&second, &alice), (&bobs, &bob)] {
        let init =
            token::initialize_account3(TOKEN, &account.pubkey(), &m, &owner.pubkey()).unwrap();
        send(&mut chain, &[create(account, 165), init], &[account]).unwrap();
    }
    let mint_to = token::mint_to(TOKEN, &m, &first.pubkey(), &alice.pubkey(), &[], 100).unwrap();
    send(&mut chain, &[mint_to], &[&alice]).unwrap();
    let id = |owner: &Keypair| legacy_id_com(&VmAddress::Svm(owner.pubkey().to_bytes())).unwrap();
    assert_eq!(chain.moves, [([0; 32], id(&alice), 100)], "minted: a Transfer from zero");
    // Both of Alice's accounts show her 100.
    for account in [&first, &second] {
        let (data, _, _) = chain.account(&account.pubkey()).unwrap();
        assert_eq!(u64::from_le_bytes(data[64..72].try_into().unwrap()), 100);
    }
    let payer_before = chain.account(&payer.pubkey()).unwrap().2;
    let spend = |from: &Keypair| {
        token::transfer(TOKEN, &from.pubkey(), &bobs.pubkey(), &alice.pubkey(), &[], 100).unwrap()
    };
    let status = send(&mut chain, &[spend(&first), spend(&second)], &[&alice]);
    assert!(status.unwrap_err().contains("LedgerDebit"));
    assert!(chain.moves.is_empty(), "a failed transaction moves nothing");
    assert_eq!(chain.ledger_balance(&m, &alice.pubkey()), 100);
    assert_eq!(chain.ledger_balance(&m, &bob.pubkey()), 0);
    assert_eq!(chain.account(&payer.pubkey()).unwrap().2, payer_before - 2 * 5_000);
    // One spend through either account is fine.
    send(&mut chain, &[spend(&second)], &[&alice]).unwrap();
    assert_eq!(chain.ledger_balance(&m, &bob.pubkey()), 100);
    assert_eq!(chain.moves, [(id(&alice), id(&bob), 100)]);
}

/// The one documented departure from p-token: wrapped SOL. Lamports already are the native
/// token's ledger balance, so an account of the native mint is refused (`NativeNotSupported`),
/// and `SyncNative` — which only native accounts take — answers `NonNativeNotSupported` for every
/// account (the random sequences check that p-token answers the same for non-native ones).
#[test]
fn the_native_mint_is_refused() {
    let payer = key(1);
    let mut chain = Chain::new(&payer.pubkey(), false);
    let account = key(30);
    let native = spl_token_interface::native_mint::ID;
    let init = token::initialize_account3(TOKEN, &account.pubkey(), &native, &payer.pubkey());
    let tx = Transaction::new_signed_with_payer(
        &[create_rent_exempt(&payer.pubkey(), &account.pubkey(), 165, TOKEN), init.unwrap()],
        Some(&payer.pubkey()),
        &[&payer, &account],
        Default::default(),
    );
    assert_eq!(
        chain.run(&tx),
        Err("{\"InstructionError\":[1,{\"Custom\":10}]}".to_string()),
        "NativeNotSupported"
    );
}
