//! Random instruction sequences over every SPL Token instruction (0–24), on a fixed cast of
//! mints, token accounts, a multisig and people: each transaction runs on the builtin's chain and
//! on p-token's, and both must give the same outcome, the same return data and byte-identical
//! accounts after every one. The cast starts with two mints (one under the multisig), five
//! funded accounts (two of one owner, one owned by the multisig) and one mint and one account
//! created but uninitialized, so sequences both use live accounts — most authorities are the
//! rightful ones, read from the chain — and initialize (in every version), fail to initialize
//! twice, and act on uninitialized, frozen, closed and foreign accounts.

use super::{Chain, Differential, TOKEN, key};
use proptest::prelude::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use spl_token_interface::instruction::{self as token, AuthorityType};
use spl_token_interface::state::{Account, Mint};

/// Mints 0 and 1 are initialized at the start, 2 is not; accounts 0–4 are, 5 is not.
const MINTS: usize = 3;
const ACCOUNTS: usize = 6;
const PEOPLE: usize = 4;
/// The multisig's possible signers.
const SIGNERS: usize = 3;

fn mint(i: usize) -> Keypair {
    key(60 + i as u8)
}
fn account(i: usize) -> Keypair {
    key(70 + i as u8)
}
fn person(i: usize) -> Keypair {
    key(80 + i as u8)
}
fn signer(i: usize) -> Keypair {
    key(90 + i as u8)
}
fn multisig() -> Keypair {
    key(99)
}
/// A second multisig account, left uninitialized for `InitializeMultisig` to initialize.
fn spare_multisig() -> Keypair {
    key(98)
}

/// Who authorizes: a person's key, the multisig with some of its signers, or whoever the chain
/// says holds the role (resolved when the transaction is built).
#[derive(Clone, Debug)]
enum Auth {
    Person(usize),
    Multisig(Vec<usize>),
    Rightful,
}

/// The role an instruction's authority plays, for [`Auth::Rightful`].
#[derive(Clone, Copy)]
enum Role {
    Owner,
    Close,
    MintAuthority,
    FreezeAuthority,
}

/// Who holds `role` over `target` on `chain` now (the payer's key when nobody does).
fn rightful(chain: &Chain, target: &Pubkey, role: Role) -> Auth {
    let holder = chain.account(target).and_then(|(data, _, _)| match role {
        Role::Owner | Role::Close => {
            Account::unpack(&data).ok().map(|a| match (role, a.close_authority) {
                (Role::Close, solana_program_option::COption::Some(close)) => close,
                _ => a.owner,
            })
        }
        Role::MintAuthority => Mint::unpack(&data).ok().and_then(|m| m.mint_authority.into()),
        Role::FreezeAuthority => Mint::unpack(&data).ok().and_then(|m| m.freeze_authority.into()),
    });
    match holder {
        Some(key) if key == multisig().pubkey() => Auth::Multisig(vec![0, 2]),
        Some(key) => {
            (0..PEOPLE).find(|i| person(*i).pubkey() == key).map_or(Auth::Person(0), Auth::Person)
        }
        None => Auth::Person(0),
    }
}

impl Auth {
    /// This authority, resolved on `chain` for `role` over `target`.
    fn on(&self, chain: &Chain, target: &Pubkey, role: Role) -> Self {
        match self {
            Self::Rightful => rightful(chain, target, role),
            other => other.clone(),
        }
    }

    fn key(&self) -> Pubkey {
        match self {
            Self::Person(i) => person(*i).pubkey(),
            Self::Multisig(_) | Self::Rightful => multisig().pubkey(),
        }
    }
    fn signer_keys(&self) -> Vec<Pubkey> {
        match self {
            Self::Person(_) | Self::Rightful => Vec::new(),
            Self::Multisig(signers) => signers.iter().map(|s| signer(*s).pubkey()).collect(),
        }
    }
    fn signers(&self) -> Vec<Keypair> {
        match self {
            Self::Person(i) => vec![person(*i)],
            Self::Rightful => Vec::new(),
            // With no signers listed, the instruction asks the multisig's own key to sign.
            Self::Multisig(signers) if signers.is_empty() => vec![multisig()],
            Self::Multisig(signers) => signers.iter().map(|s| signer(*s)).collect(),
        }
    }
}

/// The owner or authority of what an authority-taking instruction names.
fn address(i: usize) -> Pubkey {
    match i {
        i if i < PEOPLE => person(i).pubkey(),
        _ => multisig().pubkey(),
    }
}

#[derive(Clone, Debug)]
enum Ix {
    /// `version` 1 or 2.
    InitializeMint {
        version: u8,
        mint: usize,
        decimals: u8,
        authority: usize,
        freezer: Option<usize>,
    },
    /// `version` 1, 2 or 3; `owner` a person or the multisig.
    InitializeAccount {
        version: u8,
        account: usize,
        mint: usize,
        owner: usize,
    },
    /// On the cast's multisig (already initialized) or on the spare.
    InitializeMultisig {
        version: u8,
        spare: bool,
        m: u8,
        signers: Vec<usize>,
    },
    /// `decimals`: the checked form.
    Transfer {
        from: usize,
        to: usize,
        mint: usize,
        auth: Auth,
        amount: u64,
        decimals: Option<u8>,
    },
    Approve {
        source: usize,
        mint: usize,
        delegate: usize,
        auth: Auth,
        amount: u64,
        decimals: Option<u8>,
    },
    Revoke {
        source: usize,
        auth: Auth,
    },
    /// On a mint (`MintTokens`, `FreezeAccount`) or an account (`AccountOwner`, `CloseAccount`).
    SetAuthority {
        on_mint: bool,
        target: usize,
        kind: u8,
        new: Option<usize>,
        auth: Auth,
    },
    MintTo {
        mint: usize,
        to: usize,
        auth: Auth,
        amount: u64,
        decimals: Option<u8>,
    },
    Burn {
        account: usize,
        mint: usize,
        auth: Auth,
        amount: u64,
        decimals: Option<u8>,
    },
    CloseAccount {
        account: usize,
        destination: usize,
        auth: Auth,
    },
    Freeze {
        thaw: bool,
        account: usize,
        mint: usize,
        auth: Auth,
    },
    SyncNative {
        account: usize,
    },
    GetAccountDataSize {
        mint: usize,
    },
    InitializeImmutableOwner {
        account: usize,
    },
    AmountToUiAmount {
        mint: usize,
        amount: u64,
    },
    UiAmountToAmount {
        mint: usize,
        ui: &'static str,
    },
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        6 => Just(Auth::Rightful),
        2 => (0..PEOPLE).prop_map(Auth::Person),
        1 => proptest::sample::subsequence((0..SIGNERS).collect::<Vec<_>>(), 0..=SIGNERS).prop_map(Auth::Multisig),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![6 => 0u64..2_000, 2 => 1_000_000u64..3_000_000, 1 => Just(u64::MAX)]
}

fn decimals() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(6), Just(9)]
}

fn checked() -> impl Strategy<Value = Option<u8>> {
    proptest::option::of(decimals())
}

fn ix() -> impl Strategy<Value = Ix> {
    let (m, a, p) = (0..MINTS, 0..ACCOUNTS, 0..PEOPLE);
    // A person or the multisig, as owner or new authority.
    let anyone = 0..=PEOPLE;
    let ui = proptest::sample::select(vec![
        "1",
        "0.5",
        "1.000001",
        "123456.789",
        "00.10",
        ".5",
        "5.",
        "",
        "abc",
        "-1",
        "1e3",
        "18446744073709551616",
    ]);
    prop_oneof![
        3 => (1..=2u8, m.clone(), decimals(), anyone.clone(), proptest::option::of(anyone.clone()))
            .prop_map(|(version, mint, decimals, authority, freezer)| Ix::InitializeMint { version, mint, decimals, authority, freezer }),
        4 => (1..=3u8, a.clone(), m.clone(), anyone.clone())
            .prop_map(|(version, account, mint, owner)| Ix::InitializeAccount { version, account, mint, owner }),
        1 => (1..=2u8, any::<bool>(), 0..=4u8, proptest::collection::vec(0..SIGNERS, 0..=4))
            .prop_map(|(version, spare, m, signers)| Ix::InitializeMultisig { version, spare, m, signers }),
        6 => (a.clone(), a.clone(), m.clone(), auth(), amount(), checked())
            .prop_map(|(from, to, mint, auth, amount, decimals)| Ix::Transfer { from, to, mint, auth, amount, decimals }),
        2 => (a.clone(), m.clone(), p.clone(), auth(), amount(), checked())
            .prop_map(|(source, mint, delegate, auth, amount, decimals)| Ix::Approve { source, mint, delegate, auth, amount, decimals }),
        1 => (a.clone(), auth()).prop_map(|(source, auth)| Ix::Revoke { source, auth }),
        2 => (any::<bool>(), 0..ACCOUNTS.max(MINTS), 0..4u8, proptest::option::of(anyone), auth())
            .prop_map(|(on_mint, target, kind, new, auth)| Ix::SetAuthority { on_mint, target, kind, new, auth }),
        4 => (m.clone(), a.clone(), auth(), amount(), checked())
            .prop_map(|(mint, to, auth, amount, decimals)| Ix::MintTo { mint, to, auth, amount, decimals }),
        2 => (a.clone(), m.clone(), auth(), amount(), checked())
            .prop_map(|(account, mint, auth, amount, decimals)| Ix::Burn { account, mint, auth, amount, decimals }),
        1 => (a.clone(), p, auth()).prop_map(|(account, destination, auth)| Ix::CloseAccount { account, destination, auth }),
        2 => (any::<bool>(), a.clone(), m.clone(), auth())
            .prop_map(|(thaw, account, mint, auth)| Ix::Freeze { thaw, account, mint, auth }),
        1 => a.clone().prop_map(|account| Ix::SyncNative { account }),
        1 => m.clone().prop_map(|mint| Ix::GetAccountDataSize { mint }),
        1 => a.prop_map(|account| Ix::InitializeImmutableOwner { account }),
        1 => (m.clone(), amount()).prop_map(|(mint, amount)| Ix::AmountToUiAmount { mint, amount }),
        1 => (m, ui).prop_map(|(mint, ui)| Ix::UiAmountToAmount { mint, ui }),
    ]
}

/// The instruction `make` builds for `auth` (given its key and its multisig signers' keys), with
/// the keys that sign it; `None` where the interface's builder refuses the arguments.
fn authorized<E>(
    auth: &Auth,
    make: impl FnOnce(&Pubkey, &[&Pubkey]) -> Result<Instruction, E>,
) -> Option<(Instruction, Vec<Keypair>)> {
    let keys = auth.signer_keys();
    let refs: Vec<&Pubkey> = keys.iter().collect();
    Some((make(&auth.key(), &refs).ok()?, auth.signers()))
}

/// The instruction and the keys that sign it besides the payer; `None` where the interface's
/// builder refuses the arguments (e.g. a multisig of no signers).
fn build(ix: &Ix, chain: &Chain) -> Option<(Instruction, Vec<Keypair>)> {
    let (mint_key, account_key) = (|i: usize| mint(i).pubkey(), |i: usize| account(i).pubkey());
    let plain = |ix: Result<Instruction, _>| Some((ix.ok()?, Vec::new()));
    match ix.clone() {
        Ix::InitializeMint { version, mint, decimals, authority, freezer } => {
            let (authority, freezer) = (address(authority), freezer.map(address));
            let build = if version == 1 { token::initialize_mint } else { token::initialize_mint2 };
            plain(build(TOKEN, &mint_key(mint), &authority, freezer.as_ref(), decimals))
        }
        Ix::InitializeAccount { version, account, mint, owner } => {
            let (account, mint, owner) = (account_key(account), mint_key(mint), address(owner));
            plain(match version {
                1 => token::initialize_account(TOKEN, &account, &mint, &owner),
                2 => token::initialize_account2(TOKEN, &account, &mint, &owner),
                _ => token::initialize_account3(TOKEN, &account, &mint, &owner),
            })
        }
        Ix::InitializeMultisig { version, spare, m, signers } => {
            let keys: Vec<Pubkey> = signers.iter().map(|s| signer(*s).pubkey()).collect();
            let refs: Vec<&Pubkey> = keys.iter().collect();
            let build =
                if version == 1 { token::initialize_multisig } else { token::initialize_multisig2 };
            let account = if spare { spare_multisig() } else { multisig() };
            plain(build(TOKEN, &account.pubkey(), &refs, m))
        }
        Ix::Transfer { from, to, mint, auth, amount, decimals } => {
            let (source, destination, mint) = (account_key(from), account_key(to), mint_key(mint));
            authorized(&auth.on(chain, &source, Role::Owner), |owner, signers| match decimals {
                None => token::transfer(TOKEN, &source, &destination, owner, signers, amount),
                Some(d) => token::transfer_checked(
                    TOKEN,
                    &source,
                    &mint,
                    &destination,
                    owner,
                    signers,
                    amount,
                    d,
                ),
            })
        }
        Ix::Approve { source, mint, delegate, auth, amount, decimals } => {
            let (source, delegate, mint) =
                (account_key(source), person(delegate).pubkey(), mint_key(mint));
            authorized(&auth.on(chain, &source, Role::Owner), |owner, signers| match decimals {
                None => token::approve(TOKEN, &source, &delegate, owner, signers, amount),
                Some(d) => token::approve_checked(
                    TOKEN, &source, &mint, &delegate, owner, signers, amount, d,
                ),
            })
        }
        Ix::Revoke { source, auth } => {
            let source = account_key(source);
            authorized(&auth.on(chain, &source, Role::Owner), |owner, signers| {
                token::revoke(TOKEN, &source, owner, signers)
            })
        }
        Ix::SetAuthority { on_mint, target, kind, new, auth } => {
            let target = if on_mint { mint_key(target % MINTS) } else { account_key(target) };
            let (kind, role) = match kind {
                0 => (AuthorityType::MintTokens, Role::MintAuthority),
                1 => (AuthorityType::FreezeAccount, Role::FreezeAuthority),
                2 => (AuthorityType::AccountOwner, Role::Owner),
                _ => (AuthorityType::CloseAccount, Role::Close),
            };
            let new = new.map(address);
            authorized(&auth.on(chain, &target, role), |current, signers| {
                token::set_authority(TOKEN, &target, new.as_ref(), kind, current, signers)
            })
        }
        Ix::MintTo { mint, to, auth, amount, decimals } => {
            let (mint, to) = (mint_key(mint), account_key(to));
            authorized(
                &auth.on(chain, &mint, Role::MintAuthority),
                |minter, signers| match decimals {
                    None => token::mint_to(TOKEN, &mint, &to, minter, signers, amount),
                    Some(d) => {
                        token::mint_to_checked(TOKEN, &mint, &to, minter, signers, amount, d)
                    }
                },
            )
        }
        Ix::Burn { account, mint, auth, amount, decimals } => {
            let (account, mint) = (account_key(account), mint_key(mint));
            authorized(&auth.on(chain, &account, Role::Owner), |owner, signers| match decimals {
                None => token::burn(TOKEN, &account, &mint, owner, signers, amount),
                Some(d) => token::burn_checked(TOKEN, &account, &mint, owner, signers, amount, d),
            })
        }
        Ix::CloseAccount { account, destination, auth } => {
            let (account, destination) = (account_key(account), person(destination).pubkey());
            authorized(&auth.on(chain, &account, Role::Close), |closer, signers| {
                token::close_account(TOKEN, &account, &destination, closer, signers)
            })
        }
        Ix::Freeze { thaw, account, mint, auth } => {
            let (account, mint) = (account_key(account), mint_key(mint));
            let build = if thaw { token::thaw_account } else { token::freeze_account };
            authorized(&auth.on(chain, &mint, Role::FreezeAuthority), |freezer, signers| {
                build(TOKEN, &account, &mint, freezer, signers)
            })
        }
        Ix::SyncNative { account } => plain(token::sync_native(TOKEN, &account_key(account))),
        Ix::GetAccountDataSize { mint } => {
            plain(token::get_account_data_size(TOKEN, &mint_key(mint)))
        }
        Ix::InitializeImmutableOwner { account } => {
            plain(token::initialize_immutable_owner(TOKEN, &account_key(account)))
        }
        Ix::AmountToUiAmount { mint, amount } => {
            plain(token::amount_to_ui_amount(TOKEN, &mint_key(mint), amount))
        }
        Ix::UiAmountToAmount { mint, ui } => {
            plain(token::ui_amount_to_amount(TOKEN, &mint_key(mint), ui))
        }
    }
}

/// Both chains with the cast: every account created (rent-exempt, owned by the token program);
/// mint 0 (6 decimals, person 0 mints, person 1 freezes) and mint 1 (no decimals, the 2-of-3
/// multisig mints) initialized, and accounts 0–4 — of persons 0, 1, 2, the multisig and person 0
/// again — funded; mint 2 and account 5 left uninitialized.
fn cast() -> Differential {
    let mut d = Differential::new();
    let mut creates: Vec<(Keypair, usize)> = (0..MINTS).map(|i| (mint(i), 82)).collect();
    creates.extend((0..ACCOUNTS).map(|i| (account(i), 165)));
    creates.extend([(multisig(), 355), (spare_multisig(), 355)]);
    for (keypair, space) in creates {
        let create = d.create(&keypair, space);
        d.run("create", &[create], &[&keypair]).unwrap();
    }
    d.watched.extend((0..PEOPLE).map(|i| person(i).pubkey()));
    let signers: Vec<Pubkey> = (0..SIGNERS).map(|i| signer(i).pubkey()).collect();
    let refs: Vec<&Pubkey> = signers.iter().collect();
    let ms = multisig().pubkey();
    let setup = [
        token::initialize_multisig2(TOKEN, &ms, &refs, 2),
        token::initialize_mint2(
            TOKEN,
            &mint(0).pubkey(),
            &person(0).pubkey(),
            Some(&person(1).pubkey()),
            6,
        ),
        token::initialize_mint2(TOKEN, &mint(1).pubkey(), &ms, None, 0),
    ];
    for ix in setup {
        d.run("cast", &[ix.unwrap()], &[]).unwrap();
    }
    let owners =
        [person(0).pubkey(), person(1).pubkey(), person(2).pubkey(), ms, person(0).pubkey()];
    for (i, owner) in owners.iter().enumerate() {
        let mint_index = usize::from(i == 2);
        let init = token::initialize_account3(
            TOKEN,
            &account(i).pubkey(),
            &mint(mint_index).pubkey(),
            owner,
        );
        d.run("cast", &[init.unwrap()], &[]).unwrap();
        let ix = Ix::MintTo {
            mint: mint_index,
            to: i,
            auth: Auth::Rightful,
            amount: 1_000_000,
            decimals: None,
        };
        let (ix, signers) = build(&ix, &d.builtin).unwrap();
        let refs: Vec<&Keypair> = signers.iter().collect();
        d.run("cast", &[ix], &refs).unwrap();
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: super::cases(24), .. ProptestConfig::default() })]

    /// Every instruction, in random order and with random accounts, authorities and amounts:
    /// the builtin and p-token agree on every outcome, return value and account byte.
    #[test]
    fn random_instruction_sequences_match_p_token(ixs in proptest::collection::vec(ix(), 1..60)) {
        let mut d = cast();
        for (i, ix) in ixs.iter().enumerate() {
            let Some((instruction, signers)) = build(ix, &d.builtin) else { continue };
            let refs: Vec<&Keypair> = signers.iter().collect();
            let _ = d.run(&format!("step {i}: {ix:?}"), &[instruction], &refs);
        }
    }
}
