//! One identity, every address (SPEC §2, issue 34): random blocks of payments to every kind of
//! address an identity shows — an identity's derived addresses, an identity's not created yet,
//! an Ethereum wallet's own address and the addresses its legacy identity shows — by native
//! transfers and Ethereum transactions, with the identity's creation and wallet links among them.
//! After every block: every address the node shows for an identity resolves back to it, the
//! native token's and a second token's holders hold exactly their supplies, no value of either
//! sits at an identity no key can reach (the legacy identity of an address that has an owner), and
//! every Solana address an identity shows has its GOLD balance at its associated token account.

use super::wide::{eth_wallet, ethereum_transfer};
use crate::common::*;
use nvm_executor::VerifiedTx;
use nvm_identity::{
    AddressFormat, BVM_FORMAT, EVM_FORMAT, Registry, SVM_FORMAT, TVM_FORMAT, VmAddress,
    derive_address, evm_link_message, legacy_id_com,
};
use nvm_ledger::{Ledger, NATIVE_MINT, token_key};
use nvm_primitives::IdCom;
use nvm_state_api::{MemoryState, StateAccessExt, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_native::NativeOp;
use proptest::prelude::*;

/// Ethereum wallets (legacy identities), funded at genesis.
const WALLETS: usize = 3;
const WALLET_FUNDS: u128 = 1_000_000_000_000_000_000;
/// The VMs whose addresses an identity shows (all but the native id_com itself).
const SHOWN: [&AddressFormat; 4] = [&EVM_FORMAT, &SVM_FORMAT, &BVM_FORMAT, &TVM_FORMAT];

/// Whom a payment is addressed to.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// An actor's derived address in `SHOWN[vm]`.
    Actor { who: usize, vm: usize },
    /// The newcomer's derived address, before or after it creates its identity.
    Newcomer { vm: usize },
    /// A wallet's own Ethereum address.
    Wallet { who: usize },
    /// An address the wallet's legacy identity shows (`nvm_getIdentity` of the wallet).
    WalletShown { who: usize, vm: usize },
}

impl Target {
    fn address(self, actors: &[Actor]) -> VmAddress {
        match self {
            Self::Actor { who, vm } => derive_address(SHOWN[vm], &actors[who].id),
            Self::Newcomer { vm } => derive_address(SHOWN[vm], &newcomer().id),
            Self::Wallet { who } => VmAddress::Evm(eth_wallet(who).address().into_array()),
            Self::WalletShown { who, vm } => derive_address(SHOWN[vm], &wallet_legacy(who)),
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// A native transfer from an actor, of the native token or of GOLD.
    Pay {
        from: usize,
        to: Target,
        amount: u128,
        gold: bool,
    },
    /// An Ethereum value transfer from a wallet to the target's address, if it is an Ethereum
    /// one (otherwise to the wallet itself).
    EthPay {
        from: usize,
        to: Target,
        amount: u128,
    },
    NewcomerJoins,
    /// An actor links a wallet's key (both sign).
    Link {
        actor: usize,
        wallet: usize,
    },
}

fn target() -> impl Strategy<Value = Target> {
    let vm = 0..SHOWN.len();
    prop_oneof![
        (0..ACTORS, vm.clone()).prop_map(|(who, vm)| Target::Actor { who, vm }),
        vm.clone().prop_map(|vm| Target::Newcomer { vm }),
        (0..WALLETS).prop_map(|who| Target::Wallet { who }),
        (0..WALLETS, vm).prop_map(|(who, vm)| Target::WalletShown { who, vm }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..ACTORS, target(), 1u128..3_000, any::<bool>()).prop_map(|(from, to, amount, gold)| Step::Pay { from, to, amount, gold }),
        3 => (0..WALLETS, target(), 1u128..1_000_000_000).prop_map(|(from, to, amount)| Step::EthPay { from, to, amount }),
        1 => Just(Step::NewcomerJoins),
        1 => (0..ACTORS, 0..WALLETS).prop_map(|(actor, wallet)| Step::Link { actor, wallet }),
    ]
}

fn wallet_legacy(who: usize) -> IdCom {
    legacy_id_com(&VmAddress::Evm(eth_wallet(who).address().into_array())).unwrap()
}

/// The executor tests' genesis, the wallets funded as a node's genesis funds external accounts
/// (indexed, so found at every address they show), and the supply set to what is held.
fn world(actors: &[Actor]) -> MemoryState {
    let mut state = genesis(actors);
    let mut overlay = TxOverlay::new(&state);
    for who in 0..WALLETS {
        let wallet = VmAddress::Evm(eth_wallet(who).address().into_array());
        let id = Registry::resolve_and_index(&mut overlay, &wallet).unwrap();
        Ledger::credit(&mut overlay, &NATIVE_MINT, &id, WALLET_FUNDS).unwrap();
    }
    let mut info = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap();
    info.supply = START * (ACTORS as u128 + 1) + WALLETS as u128 * WALLET_FUNDS;
    overlay.set_encoded(token_key(&NATIVE_MINT), &info);
    create_gold(&mut overlay);
    for a in actors {
        Ledger::credit(&mut overlay, &GOLD, &a.id, START).unwrap();
    }
    let mut info = Ledger::token(&mut overlay, &GOLD).unwrap().unwrap();
    info.supply = START * ACTORS as u128;
    overlay.set_encoded(token_key(&GOLD), &info);
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    state
}

/// Every address payments can reach, and the identity each resolves to now.
fn resolved(state: &MemoryState, addresses: &[VmAddress]) -> Vec<(VmAddress, IdCom)> {
    let mut view = TxOverlay::new(state);
    addresses.iter().map(|a| (*a, Registry::resolve(&mut view, a).unwrap())).collect()
}

/// The amount a Solana wallet sees at `owner`'s associated token account of GOLD, if any.
fn associated_amount(view: &mut TxOverlay<'_>, owner: &[u8; 32]) -> Option<u128> {
    use nvm_vm_svm::{Pack, Pubkey, ReadableAccount, spl_token::state::Account};
    let ata = Pubkey::new_from_array(nvm_ledger::associated_token_address(owner, &GOLD));
    let account = nvm_vm_svm::read_account(view, &ata).unwrap()?;
    let token = Account::unpack(account.data()).ok()?;
    (token.owner.to_bytes() == *owner && token.mint.to_bytes() == GOLD)
        .then_some(u128::from(token.amount))
}

/// One block's transactions, nonces read from `state`.
fn build(state: &MemoryState, actors: &[Actor], steps: &[Step]) -> Vec<VerifiedTx> {
    let mut view = TxOverlay::new(state);
    let mut used: Vec<(IdCom, u64)> = Vec::new();
    let mut next = |view: &mut TxOverlay<'_>, id: IdCom| {
        let base = Registry::nonce(view, &id).unwrap();
        let count = used.iter().filter(|(who, _)| *who == id).count() as u64;
        used.push((id, base + count));
        base + count
    };
    steps
        .iter()
        .map(|step| match *step {
            Step::Pay { from, to, amount, gold } => {
                let a = &actors[from];
                let mint = if gold { GOLD } else { NATIVE_MINT };
                let op = NativeOp::Transfer { mint, to: to.address(actors), amount };
                sign(a, a.id, next(&mut view, a.id), &op)
            }
            Step::EthPay { from, to, amount } => {
                let wallet = eth_wallet(from);
                let own = VmAddress::Evm(wallet.address().into_array());
                let sender = Registry::resolve(&mut view, &own).unwrap();
                let to = to.address(actors).evm().unwrap_or_else(|| wallet.address().into_array());
                ethereum_transfer(&wallet, next(&mut view, sender), to, amount)
            }
            Step::NewcomerJoins => {
                let n = newcomer();
                let op = NativeOp::CreateIdentity {
                    scheme: nvm_primitives::SchemeId::Secp256k1Ecdsa as u8,
                    public_key: n.key.public_key(),
                    salt: [1; 32],
                };
                sign(&n, n.id, next(&mut view, n.id), &op)
            }
            Step::Link { actor, wallet } => {
                use alloy_signer::SignerSync;
                let a = &actors[actor];
                let message = evm_link_message(CHAIN, &a.id);
                let key = eth_wallet(wallet);
                let signature = key.sign_message_sync(message.as_bytes()).unwrap();
                let op = NativeOp::LinkEvmAccount {
                    address: key.address().into_array(),
                    signature: signature.as_bytes().to_vec(),
                    mints: Vec::new(),
                };
                sign(a, a.id, next(&mut view, a.id), &op)
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), .. ProptestConfig::default() })]

    #[test]
    fn every_address_an_identity_shows_is_its_own(blocks in proptest::collection::vec(proptest::collection::vec(step(), 1..5), 1..10)) {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let mut state = world(&actors);
        let targets: Vec<VmAddress> = (0..ACTORS)
            .flat_map(|who| (0..SHOWN.len()).map(move |vm| Target::Actor { who, vm }))
            .chain((0..SHOWN.len()).map(|vm| Target::Newcomer { vm }))
            .chain((0..WALLETS).map(|who| Target::Wallet { who }))
            .chain((0..WALLETS).flat_map(|who| (0..SHOWN.len()).map(move |vm| Target::WalletShown { who, vm })))
            .map(|t| t.address(&actors))
            .collect();
        // Whoever can hold value: the identities, the proposer (fees), the coinbase's legacy
        // identity (tips), and each target's own legacy identity (where a payment to an address
        // no one owns yet lands).
        let coinbase = VmAddress::Evm(nvm_vm_evm::evm_address(&env().proposer).into_array());
        let mut holders: Vec<IdCom> = actors.iter().map(|a| a.id).collect();
        holders.extend([newcomer().id, env().proposer, legacy_id_com(&coinbase).unwrap()]);
        holders.extend(targets.iter().filter_map(legacy_id_com));
        holders.sort();
        holders.dedup();

        for (height, steps) in blocks.iter().enumerate() {
            let env = BlockEnv { height: height as u64 + 1, ..env() };
            let txs = build(&state, &actors, steps);
            // (A payment resolved against an address linked earlier in the same block accesses
            // what its declaration could not name: the executor notices and runs the block
            // serially. Either way the result is the serial one.)
            execute_both_ways(&mut state, &env, txs);

            let mut view = TxOverlay::new(&state);
            for mint in [NATIVE_MINT, GOLD] {
                let held: u128 = holders.iter().map(|id| Ledger::balance(&mut view, &mint, id).unwrap()).sum();
                let supply = Ledger::token(&mut view, &mint).unwrap().unwrap().supply;
                prop_assert_eq!(held, supply, "block {}: the holders of {} hold its supply", height + 1, hex::encode(mint));
            }

            // Every address an identity shows resolves back to it.
            let mut shown: Vec<(IdCom, VmAddress)> = Vec::new();
            for a in &actors {
                shown.extend(SHOWN.iter().map(|vm| (a.id, derive_address(vm, &a.id))));
            }
            let n = newcomer().id;
            if Registry::get(&mut view, &n).unwrap().is_some() {
                shown.extend(SHOWN.iter().map(|vm| (n, derive_address(vm, &n))));
            }
            for who in 0..WALLETS {
                let own = VmAddress::Evm(eth_wallet(who).address().into_array());
                let owner = Registry::resolve(&mut view, &own).unwrap();
                // A wallet shows its owner's addresses (its legacy identity's, unless linked);
                // the addresses its legacy identity showed stay its owner's once linked.
                shown.push((owner, own));
                shown.extend(SHOWN.iter().map(|vm| (owner, derive_address(vm, &owner))));
                shown.extend(SHOWN.iter().map(|vm| (owner, derive_address(vm, &wallet_legacy(who)))));
            }
            for (owner, address) in shown {
                let found = Registry::resolve(&mut view, &address).unwrap();
                prop_assert_eq!(found, owner, "block {}: {:?} shown for 0x{}", height + 1, address, hex::encode(owner));
                // And a Solana address shows the identity's GOLD at its associated token
                // account, created by no one.
                let held = Ledger::balance(&mut view, &GOLD, &owner).unwrap();
                if let (Some(key), true) = (address.svm(), held > 0) {
                    let amount = associated_amount(&mut view, &key);
                    prop_assert_eq!(amount, Some(held), "block {}: GOLD at the ATA of {:?}", height + 1, address);
                }
            }

            // No value at the legacy identity of an address that has an owner: no key reaches it.
            for (address, owner) in resolved(&state, &targets) {
                let stranded = legacy_id_com(&address).unwrap();
                for mint in [NATIVE_MINT, GOLD] {
                    if owner != stranded {
                        let left = Ledger::balance(&mut view, &mint, &stranded).unwrap();
                        prop_assert_eq!(left, 0, "block {}: {} of {} stranded at {:?}, owned by 0x{}", height + 1, left, hex::encode(mint), address, hex::encode(owner));
                    }
                }
            }
        }
    }
}
