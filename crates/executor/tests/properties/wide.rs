//! Wide blocks over every VM that moves ledger value: 40 identities, Ethereum and Solana wallets,
//! a second token (GOLD) held everywhere. Native transfers to any VM's address, EVM transfers
//! and ERC-20 view calls in native envelopes, Ethereum and Solana wallet transfers, SPL Token
//! transfers — and, for the conservation property, every VM's ways of failing: overdrafts, a
//! reverted ERC-20 call, an SPL double spend through two token accounts of one owner, a transfer
//! into a sysvar or builtin (a read-only account the node synthesizes), forgeries.

use crate::common::*;
use nvm_executor::{ExecutionMode, TxError, VerifiedTx};
use nvm_identity::{VmAddress, derive_address, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{IdCom, TxStatus};
use nvm_state_api::{MemoryState, StateAccessExt, TxOverlay};
use nvm_vm_evm::{EvmOp, erc20_address, evm_address};
use nvm_vm_native::NativeOp;
use nvm_vm_svm::{AccountSharedData, Pack, Pubkey, SPL_TOKEN_PROGRAM_ID, accounts, spl_token};
use proptest::prelude::*;
use solana_signer::Signer;

/// Identities in a wide block: enough that most transactions have a sender of their own.
const ACTORS: usize = 40;
/// Ethereum wallets and Solana wallets (legacy identities), each this many.
const WALLETS: usize = 4;
/// Identities with an SPL token account of GOLD (owned by their derived Solana address).
const SPL_ACTORS: usize = 4;
/// The batch size from which the executor hands a batch to its thread pool.
const POOL_BATCH: usize = 4;
/// What every actor and Solana wallet holds of [`GOLD`].
const GOLD_EACH: u128 = 1_000_000;
/// Sent twice in one SPL double spend: each covered by the owner's balance, both together not
/// (the wallets' GOLD stays within 1,000,000 ± what a block's small transfers move).
const DOUBLE_SPEND: u64 = 700_000;
/// More than any token's supply here.
const OVERDRAFT: u128 = 1 << 100;
/// Accounts the node synthesizes and no transaction may write: a sysvar, the Instructions
/// sysvar, a builtin not invoked, n-VM's SPL Token builtin.
const RESERVED: [Pubkey; 4] = [
    Pubkey::from_str_const("SysvarC1ock11111111111111111111111111111111"),
    Pubkey::from_str_const("Sysvar1nstructions1111111111111111111111111"),
    Pubkey::from_str_const("ComputeBudget111111111111111111111111111111"),
    SPL_TOKEN_PROGRAM_ID,
];
/// Native units each wallet starts with (one SOL).
const WALLET_FUNDS: u128 = 1_000_000_000_000_000_000;

#[derive(Clone, Debug)]
enum Step {
    Native {
        from: usize,
        to: usize,
        vm: usize,
        amount: u128,
    },
    /// An EVM value transfer in a native envelope (opcode 0x12) to another identity's EVM address.
    EvmTransfer {
        from: usize,
        to: usize,
        amount: u128,
    },
    /// An ERC-20 `transfer` on GOLD's view (an EVM call, opcode 0x10) to an identity's EVM address.
    Erc20 {
        from: usize,
        to: usize,
        amount: u128,
    },
    Ethereum {
        from: usize,
        to: usize,
        amount: u128,
    },
    Solana {
        from: usize,
        to: usize,
        lamports: u64,
    },
    /// An SPL Token transfer of GOLD from a Solana wallet's token account to an identity's or
    /// another wallet's.
    Spl {
        from: usize,
        to: usize,
        amount: u64,
    },
    // What must fail and move nothing but the fee, or be refused.
    NativeOverdraft {
        from: usize,
    },
    EvmOverdraft {
        from: usize,
    },
    /// An ERC-20 transfer of more GOLD than held: the view reverts.
    Erc20Overdraft {
        from: usize,
        to: usize,
    },
    SolanaOverdraft {
        from: usize,
        to: usize,
    },
    /// A Solana wallet's transfer into one of [`RESERVED`] (whose write lock is demoted: the
    /// System program refuses). Its synthetic account written back would create or destroy value.
    SolanaToReserved {
        from: usize,
        to: usize,
    },
    /// Two SPL transfers of [`DOUBLE_SPEND`] from a wallet's two token accounts (one balance).
    SplDoubleSpend {
        from: usize,
        to: usize,
    },
    /// Signed by `signer`, claiming another identity, `victim`, as its sender.
    Forged {
        signer: usize,
        victim: usize,
        amount: u128,
    },
}

/// Steps that all succeed, with every access declared (no join-and-pay).
fn succeeding_step() -> impl Strategy<Value = Step> {
    let (actor, wallet) = (0..ACTORS, 0..WALLETS);
    prop_oneof![
        20 => (actor.clone(), actor.clone(), 0usize..5, 1u128..3_000)
            .prop_map(|(from, to, vm, amount)| Step::Native { from, to, vm, amount }),
        1 => (actor.clone(), actor.clone(), 1u128..3_000)
            .prop_map(|(from, to, amount)| Step::EvmTransfer { from, to, amount }),
        1 => (actor.clone(), actor.clone(), 1u128..3_000)
            .prop_map(|(from, to, amount)| Step::Erc20 { from, to, amount }),
        1 => (wallet.clone(), actor.clone(), 1u128..1_000_000)
            .prop_map(|(from, to, amount)| Step::Ethereum { from, to, amount }),
        1 => (wallet.clone(), actor, 1u64..1_000)
            .prop_map(|(from, to, lamports)| Step::Solana { from, to, lamports }),
        1 => (wallet, 0..SPL_ACTORS + WALLETS, 1u64..100)
            .prop_map(|(from, to, amount)| Step::Spl { from, to, amount }),
    ]
}

/// Any step, the failing ones included.
fn any_step() -> impl Strategy<Value = Step> {
    let (actor, wallet) = (0..ACTORS, 0..WALLETS);
    prop_oneof![
        6 => succeeding_step(),
        1 => actor.clone().prop_map(|from| Step::NativeOverdraft { from }),
        1 => actor.clone().prop_map(|from| Step::EvmOverdraft { from }),
        1 => (actor.clone(), actor.clone()).prop_map(|(from, to)| Step::Erc20Overdraft { from, to }),
        1 => (wallet.clone(), actor.clone()).prop_map(|(from, to)| Step::SolanaOverdraft { from, to }),
        1 => (wallet.clone(), 0..SPL_ACTORS).prop_map(|(from, to)| Step::SplDoubleSpend { from, to }),
        1 => (wallet, 0..RESERVED.len()).prop_map(|(from, to)| Step::SolanaToReserved { from, to }),
        1 => (actor, 1..ACTORS, 1u128..3_000).prop_map(|(signer, offset, amount)| {
            Step::Forged { signer, victim: (signer + offset) % ACTORS, amount }
        }),
    ]
}

fn sol_wallet(i: usize) -> solana_keypair::Keypair {
    solana_keypair::Keypair::new_from_array([i as u8 + 101; 32])
}

pub(crate) fn eth_wallet(i: usize) -> alloy_signer_local::PrivateKeySigner {
    alloy_signer_local::PrivateKeySigner::from_bytes(&[i as u8 + 1; 32].into()).unwrap()
}

/// Solana wallet `wallet`'s GOLD token account `n` (it has two).
fn wallet_token_account(wallet: usize, n: u8) -> Pubkey {
    Pubkey::new_from_array(nvm_primitives::sha256_parts(&[b"wallet-gold", &[wallet as u8, n]]))
}

/// Actor `i`'s GOLD token account (owned by its derived Solana address).
fn actor_token_account(i: usize) -> Pubkey {
    Pubkey::new_from_array(nvm_primitives::sha256_parts(&[b"actor-gold", &[i as u8]]))
}

fn svm_address(id: &IdCom) -> Pubkey {
    let Some(address) = derive_address(&nvm_identity::SVM_FORMAT, id).svm() else { unreachable!() };
    Pubkey::new_from_array(address)
}

/// The wide chain: its genesis state and everyone who can hold value in it.
struct Wide {
    actors: Vec<Actor>,
    state: MemoryState,
    holders: Vec<IdCom>,
}

impl Wide {
    fn new() -> Self {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let mut state = genesis(&actors);
        let mut overlay = TxOverlay::new(&state);
        create_gold(&mut overlay);
        let mut holders: Vec<IdCom> = actors.iter().map(|a| a.id).collect();
        // The EVM pays tips to the coinbase, the proposer's derived EVM address; this proposer is
        // no registered identity, so that address has a legacy identity of its own.
        let coinbase = VmAddress::Evm(evm_address(&env().proposer).into_array());
        holders.extend([newcomer().id, env().proposer, legacy_id_com(&coinbase).unwrap()]);
        for a in &actors {
            Ledger::credit(&mut overlay, &GOLD, &a.id, GOLD_EACH).unwrap();
        }
        let mut token_accounts = Vec::new();
        for i in 0..WALLETS {
            let eth = legacy_id_com(&VmAddress::Evm(eth_wallet(i).address().into_array())).unwrap();
            let owner = sol_wallet(i).pubkey();
            let sol = legacy_id_com(&VmAddress::Svm(owner.to_bytes())).unwrap();
            for id in [eth, sol] {
                Ledger::credit(&mut overlay, &NATIVE_MINT, &id, WALLET_FUNDS).unwrap();
            }
            Ledger::credit(&mut overlay, &GOLD, &sol, GOLD_EACH).unwrap();
            holders.extend([eth, sol]);
            token_accounts.extend((0..2).map(|n| (wallet_token_account(i, n), owner)));
        }
        token_accounts
            .extend((0..SPL_ACTORS).map(|i| (actor_token_account(i), svm_address(&actors[i].id))));
        for (address, owner) in token_accounts {
            // Its lamports are its own (legacy) identity's; its amount is read from the ledger.
            let len = spl_token::state::Account::LEN;
            let lamports = nvm_vm_svm::rent_exempt_minimum(len);
            let fields = spl_token::state::Account {
                mint: Pubkey::new_from_array(GOLD),
                owner,
                state: spl_token::state::AccountState::Initialized,
                ..Default::default()
            };
            let mut data = vec![0; len];
            fields.pack_into_slice(&mut data);
            let mut account = AccountSharedData::new(lamports, 0, &SPL_TOKEN_PROGRAM_ID);
            account.set_data_from_slice(&data);
            accounts::store(&mut overlay, &address, &account).unwrap();
            holders.push(legacy_id_com(&VmAddress::Svm(address.to_bytes())).unwrap());
        }
        // Each supply is what its holders hold.
        for mint in [NATIVE_MINT, GOLD] {
            let mut info = Ledger::token(&mut overlay, &mint).unwrap().unwrap();
            info.supply =
                holders.iter().map(|id| Ledger::balance(&mut overlay, &mint, id).unwrap()).sum();
            overlay.set_encoded(nvm_ledger::token_key(&mint), &info);
        }
        let (writes, _) = overlay.into_writes();
        state.apply(&writes.into_iter().collect());
        Self { actors, state, holders }
    }

    /// The steps' transactions in arrival order.
    fn transactions(&self, steps: &[Step]) -> Vec<VerifiedTx> {
        let actors = &self.actors;
        let mut nonces = [0u64; ACTORS];
        let mut eth_nonces = [0u64; WALLETS];
        // Makes each of a Solana wallet's transactions distinct (equal ones would be one).
        let mut sol_sequence = [0u64; WALLETS];
        let native = |nonces: &mut [u64; ACTORS], from: usize, payload: Vec<u8>| {
            let nonce = nonces[from];
            nonces[from] += 1;
            sign_payload(&actors[from], actors[from].id, nonce, payload)
        };
        let evm = |i: usize| evm_address(&actors[i].id).into_array();
        let erc20 = |to: usize, amount: u128| EvmOp::Call {
            to: erc20_address(&GOLD).into_array(),
            value: 0,
            data: erc20_transfer(evm(to), amount),
            gas_limit: 100_000,
        };
        let mut txs = Vec::with_capacity(steps.len());
        for step in steps {
            let tx = match *step {
                Step::Native { from, to, vm, amount } => {
                    let to = derive_address(crate::EVERY_FORMAT[vm], &actors[to].id);
                    native(
                        &mut nonces,
                        from,
                        NativeOp::Transfer { mint: NATIVE_MINT, to, amount }.encode(),
                    )
                }
                Step::EvmTransfer { from, to, amount } => native(
                    &mut nonces,
                    from,
                    EvmOp::Transfer { to: evm(to), value: amount }.encode(),
                ),
                Step::Erc20 { from, to, amount } => {
                    native(&mut nonces, from, erc20(to, amount).encode())
                }
                Step::NativeOverdraft { from } => {
                    let to = VmAddress::Native(actors[(from + 1) % ACTORS].id);
                    let amount = OVERDRAFT;
                    native(
                        &mut nonces,
                        from,
                        NativeOp::Transfer { mint: NATIVE_MINT, to, amount }.encode(),
                    )
                }
                Step::EvmOverdraft { from } => {
                    let op = EvmOp::Transfer { to: evm((from + 1) % ACTORS), value: OVERDRAFT };
                    native(&mut nonces, from, op.encode())
                }
                Step::Erc20Overdraft { from, to } => {
                    native(&mut nonces, from, erc20(to, OVERDRAFT).encode())
                }
                Step::Ethereum { from, to, amount } => {
                    let nonce = eth_nonces[from];
                    eth_nonces[from] += 1;
                    ethereum_transfer(&eth_wallet(from), nonce, evm(to), amount)
                }
                Step::Solana { from, to, lamports } => {
                    sol_sequence[from] += 1;
                    // Above the rent-exempt minimum (the recipient's lamports start near zero).
                    let lamports = 1_000_000 + lamports + 1_000 * sol_sequence[from];
                    system_transfer(&sol_wallet(from), &svm_address(&actors[to].id), lamports)
                }
                Step::SolanaOverdraft { from, to } => {
                    sol_sequence[from] += 1;
                    let lamports = 2_000_000_000 + sol_sequence[from];
                    system_transfer(&sol_wallet(from), &svm_address(&actors[to].id), lamports)
                }
                Step::SolanaToReserved { from, to } => {
                    sol_sequence[from] += 1;
                    system_transfer(
                        &sol_wallet(from),
                        &RESERVED[to],
                        1_000_000 + sol_sequence[from],
                    )
                }
                Step::Spl { from, to, amount } => {
                    sol_sequence[from] += 1;
                    let amount = amount * 64 + sol_sequence[from];
                    let destination = if to < SPL_ACTORS {
                        actor_token_account(to)
                    } else {
                        wallet_token_account(to - SPL_ACTORS, 0)
                    };
                    let payer = sol_wallet(from);
                    let ix =
                        spl_transfer(&wallet_token_account(from, 0), &destination, &payer, amount);
                    solana_tx(&payer, &[ix])
                }
                Step::SplDoubleSpend { from, to } => {
                    sol_sequence[from] += 1;
                    let payer = sol_wallet(from);
                    let amount = DOUBLE_SPEND + sol_sequence[from];
                    let ixs = [
                        spl_transfer(
                            &wallet_token_account(from, 0),
                            &actor_token_account(to),
                            &payer,
                            amount,
                        ),
                        spl_transfer(
                            &wallet_token_account(from, 1),
                            &actor_token_account((to + 1) % SPL_ACTORS),
                            &payer,
                            amount,
                        ),
                    ];
                    solana_tx(&payer, &ixs)
                }
                Step::Forged { signer, victim, amount } => {
                    let to = VmAddress::Native(actors[signer].id);
                    let op = NativeOp::Transfer { mint: NATIVE_MINT, to, amount };
                    sign(&actors[signer], actors[victim].id, nonces[victim], &op)
                }
            };
            txs.push(tx);
        }
        txs
    }

    /// For each mint, what everyone holds and its supply, in `state`.
    fn held_and_supply(&self, state: &MemoryState) -> Vec<(u128, u128)> {
        let mut view = TxOverlay::new(state);
        [NATIVE_MINT, GOLD]
            .iter()
            .map(|mint| {
                let held = self
                    .holders
                    .iter()
                    .map(|id| Ledger::balance(&mut view, mint, id).unwrap())
                    .sum();
                (held, Ledger::token(&mut view, mint).unwrap().unwrap().supply)
            })
            .collect()
    }
}

/// What must become of a step's transaction.
#[derive(Debug, PartialEq)]
enum Expect {
    Success,
    /// Included, failed (its fee paid), for a reason containing this.
    Failure(&'static str),
    Forgery,
}

fn expected(step: &Step) -> Expect {
    match step {
        Step::Native { .. }
        | Step::EvmTransfer { .. }
        | Step::Erc20 { .. }
        | Step::Ethereum { .. }
        | Step::Solana { .. }
        | Step::Spl { .. } => Expect::Success,
        Step::NativeOverdraft { .. } => Expect::Failure("insufficient balance"),
        Step::EvmOverdraft { .. } => Expect::Failure("lack of funds"),
        Step::Erc20Overdraft { .. } => Expect::Failure("reverted"),
        Step::SolanaOverdraft { .. } => Expect::Failure("InstructionError"),
        Step::SplDoubleSpend { .. } => Expect::Failure("LedgerDebit"),
        Step::SolanaToReserved { .. } => Expect::Failure("ReadonlyLamportChange"),
        Step::Forged { .. } => Expect::Forgery,
    }
}

pub(crate) fn ethereum_transfer(
    wallet: &alloy_signer_local::PrivateKeySigner,
    nonce: u64,
    to: [u8; 20],
    amount: u128,
) -> VerifiedTx {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    let tx = TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(nvm_vm_evm::INITIAL_BASE_FEE),
        max_priority_fee_per_gas: 1,
        to: alloy_primitives::TxKind::Call(to.into()),
        value: alloy_primitives::U256::from(amount),
        access_list: Default::default(),
        input: Default::default(),
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    VerifiedTx::verify(&vms(), nvm_vm_evm::tag_ethereum(&raw)).unwrap()
}

fn spl_transfer(
    source: &Pubkey,
    destination: &Pubkey,
    owner: &solana_keypair::Keypair,
    amount: u64,
) -> solana_transaction::Instruction {
    let owner = owner.pubkey();
    spl_token::instruction::transfer(
        &SPL_TOKEN_PROGRAM_ID,
        source,
        destination,
        &owner,
        &[],
        amount,
    )
    .unwrap()
}

fn system_transfer(payer: &solana_keypair::Keypair, to: &Pubkey, lamports: u64) -> VerifiedTx {
    solana_tx(
        payer,
        &[solana_system_interface::instruction::transfer(&payer.pubkey(), to, lamports)],
    )
}

/// A Solana transaction paid and signed by `payer`, naming the block's parent as its blockhash.
fn solana_tx(
    payer: &solana_keypair::Keypair,
    ixs: &[solana_transaction::Instruction],
) -> VerifiedTx {
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        ixs,
        Some(&payer.pubkey()),
        &[payer],
        solana_hash::Hash::new_from_array(env().parent_hash),
    );
    let versioned = solana_transaction::versioned::VersionedTransaction::from(tx);
    let wire = bincode::serialize(&versioned).unwrap();
    VerifiedTx::verify(&vms(), nvm_vm_svm::tag_solana(&wire)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), .. ProptestConfig::default() })]

    /// A workload with every access declared and many independent senders, over every VM that
    /// moves value, really runs in parallel — no fallback to serial, batches wide enough for
    /// the thread pool — and gives the serial result; and the lane order the block uses gives
    /// the same state as arrival order (transfers commute while none fails, and each sender
    /// keeps its nonce order).
    #[test]
    fn wide_workloads_run_in_parallel_and_match_serial(
        steps in proptest::collection::vec(succeeding_step(), 60..160)
    ) {
        let wide = Wide::new();
        let txs = wide.transactions(&steps);
        let state = &wide.state;
        let exec = executor();
        let ordered: Vec<VerifiedTx> =
            exec.order_for_block(state, &env(), txs.clone()).into_iter().map(|(tx, _)| tx).collect();
        let serial = exec.execute_block(state, &env(), ordered.clone(), ExecutionMode::Serial).unwrap();
        let parallel = exec.execute_block(state, &env(), ordered, ExecutionMode::Parallel).unwrap();
        prop_assert!(!parallel.fell_back_to_serial, "a declared workload fell back to serial");
        prop_assert!(
            parallel.widest_batch >= POOL_BATCH,
            "the widest batch held {} transactions", parallel.widest_batch
        );
        prop_assert!(serial.rejected.is_empty(), "{:?}", serial.rejected);
        prop_assert_eq!(&serial.included, &parallel.included);
        prop_assert_eq!(&serial.writes, &parallel.writes);
        prop_assert_eq!(serial.fees, parallel.fees);
        let arrival = exec.execute_block(state, &env(), txs, ExecutionMode::Serial).unwrap();
        for included in &arrival.included {
            prop_assert_eq!(&included.receipt.status, &TxStatus::Success);
        }
        prop_assert_eq!(&arrival.writes, &serial.writes);
    }

    /// Value is conserved across every VM in one block: after any mix of native, EVM, ERC-20
    /// view, Ethereum, Solana and SPL transactions — overdrafts, reverts, double spends and
    /// forgeries among them — what everyone holds of each token is its supply (Ethereum's
    /// burned base fee leaves both), forgeries are refused, and parallel gives serial's state.
    #[test]
    fn value_conserved_across_every_vm_in_one_block(
        steps in proptest::collection::vec(any_step(), 1..100)
    ) {
        let wide = Wide::new();
        let txs = wide.transactions(&steps);
        let exec = executor();
        let serial = exec.execute_block(&wide.state, &env(), txs.clone(), ExecutionMode::Serial).unwrap();
        let parallel = exec.execute_block(&wide.state, &env(), txs.clone(), ExecutionMode::Parallel).unwrap();
        prop_assert_eq!(&serial.writes, &parallel.writes);
        // Each transaction met its end (so each way of failing was really tried).
        for (step, tx) in steps.iter().zip(&txs) {
            let included = parallel.included.iter().find(|inc| inc.tx.hash() == tx.hash());
            let rejected = parallel.rejected.iter().find(|(r, _)| r.hash() == tx.hash());
            match (expected(step), included.map(|inc| &inc.receipt.status), rejected) {
                (Expect::Success, Some(TxStatus::Success), None) => {}
                (Expect::Failure(why), Some(status), None) if *status != TxStatus::Success => {
                    let reason = status.error().unwrap_or_default();
                    prop_assert!(reason.contains(why), "{:?} failed for {}", step, reason);
                }
                (Expect::Forgery, None, Some((_, TxError::CredentialMismatch(_)))) => {}
                (expect, status, rejected) => prop_assert!(
                    false, "{:?}: expected {:?}, got {:?} / {:?}", step, expect, status, rejected
                ),
            }
        }
        prop_assert_eq!(&serial.noted_balances, &parallel.noted_balances);
        let mut state = wide.state.clone();
        state.apply(&parallel.writes);
        for ((held, supply), mint) in wide.held_and_supply(&state).into_iter().zip(["native", "GOLD"]) {
            prop_assert_eq!(held, supply, "{} held != its supply", mint);
        }
        // Every balance the block changed is noted, whichever VM wrote it (the node's index of
        // holders learns of balances from nothing else).
        let (mut was, mut is) = (TxOverlay::new(&wide.state), TxOverlay::new(&state));
        for (mint, id) in [NATIVE_MINT, GOLD].iter().flat_map(|m| wide.holders.iter().map(move |id| (m, id))) {
            let changed = Ledger::balance(&mut was, mint, id).unwrap()
                != Ledger::balance(&mut is, mint, id).unwrap();
            prop_assert!(!changed || parallel.noted_balances.contains(&(*mint, *id)),
                "the balance of {} in {} changed unnoted", hex::encode(id), hex::encode(mint));
        }
    }
}
