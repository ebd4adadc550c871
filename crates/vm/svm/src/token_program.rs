//! The SPL Token program as an SVM builtin at its canonical id: the instruction set and account
//! layouts of `spl-token-interface`, run natively. Its accounts' amounts and supplies are the
//! ledger's (see [`crate::token_ledger`]): this program works on the SPL layouts the runtime
//! loaded, and committing the transaction folds what changed back into the ledger.
//!
//! Wrapped SOL (the native mint) is not offered: lamports already are the native token.

use solana_instruction_error::InstructionError;
use solana_program_error::ProgramError;
use solana_program_option::COption;
use solana_program_pack::{IsInitialized, Pack};
use solana_program_runtime::{declare_process_instruction, invoke_context::InvokeContext};
use solana_pubkey::Pubkey;
use solana_svm_log_collector::ic_msg;
use solana_transaction_context::{IndexOfAccount, instruction::InstructionContext};
use spl_token_interface::{
    error::TokenError,
    instruction::{AuthorityType, MAX_SIGNERS, TokenInstruction},
    state::{Account, AccountState, Mint, Multisig},
};

/// Compute units every instruction costs (a native builtin: far below the sBPF builds' cost).
pub const TOKEN_COMPUTE_UNITS: u64 = 150;

/// The incinerator: tokens sent there can be burned by anyone.
const INCINERATOR: Pubkey = Pubkey::from_str_const("1nc1nerator11111111111111111111111111111111");

fn err(e: impl Into<ProgramError>) -> InstructionError {
    InstructionError::from(u64::from(e.into()))
}

/// The current instruction's accounts, read and written one at a time (an account may appear
/// twice, and only one borrow of it may be live).
struct Accounts<'a, 'b> {
    ix: &'b InstructionContext<'a, 'b>,
    program_id: Pubkey,
}

impl Accounts<'_, '_> {
    fn count(&self) -> IndexOfAccount {
        self.ix.get_number_of_instruction_accounts()
    }

    fn need(&self, n: IndexOfAccount) -> Result<(), InstructionError> {
        self.ix.check_number_of_instruction_accounts(n)
    }

    fn key(&self, i: IndexOfAccount) -> Result<Pubkey, InstructionError> {
        self.ix.get_key_of_instruction_account(i).copied()
    }

    fn is_signer(&self, i: IndexOfAccount) -> Result<bool, InstructionError> {
        self.ix.is_instruction_account_signer(i)
    }

    fn owner(&self, i: IndexOfAccount) -> Result<Pubkey, InstructionError> {
        Ok(*self.ix.try_borrow_instruction_account(i)?.get_owner())
    }

    fn lamports(&self, i: IndexOfAccount) -> Result<u64, InstructionError> {
        Ok(self.ix.try_borrow_instruction_account(i)?.get_lamports())
    }

    fn data_len(&self, i: IndexOfAccount) -> Result<usize, InstructionError> {
        Ok(self.ix.try_borrow_instruction_account(i)?.get_data().len())
    }

    fn unpack<T: Pack + IsInitialized>(&self, i: IndexOfAccount) -> Result<T, InstructionError> {
        T::unpack(self.ix.try_borrow_instruction_account(i)?.get_data()).map_err(err)
    }

    fn unpack_unchecked<T: Pack + IsInitialized>(
        &self,
        i: IndexOfAccount,
    ) -> Result<T, InstructionError> {
        T::unpack_unchecked(self.ix.try_borrow_instruction_account(i)?.get_data()).map_err(err)
    }

    /// The multisig at `i`, if the account is one of this program's multisig accounts.
    fn multisig(&self, i: IndexOfAccount) -> Result<Option<Multisig>, InstructionError> {
        let account = self.ix.try_borrow_instruction_account(i)?;
        if *account.get_owner() != self.program_id || account.get_data().len() != Multisig::LEN {
            return Ok(None);
        }
        Multisig::unpack(account.get_data()).map(Some).map_err(err)
    }

    fn pack<T: Pack + IsInitialized>(
        &self,
        i: IndexOfAccount,
        state: T,
    ) -> Result<(), InstructionError> {
        let mut account = self.ix.try_borrow_instruction_account(i)?;
        T::pack(state, account.get_data_mut()?).map_err(err)
    }

    fn check_program_owner(&self, i: IndexOfAccount) -> Result<(), InstructionError> {
        if self.owner(i)? == self.program_id {
            Ok(())
        } else {
            Err(InstructionError::IncorrectProgramId)
        }
    }

    fn rent_exempt(
        &self,
        invoke: &InvokeContext<'_, '_>,
        i: IndexOfAccount,
    ) -> Result<(), InstructionError> {
        let rent = invoke.environment_config.sysvar_cache().get_rent()?;
        let account = self.ix.try_borrow_instruction_account(i)?;
        if rent.is_exempt(account.get_lamports(), account.get_data().len()) {
            Ok(())
        } else {
            Err(err(TokenError::NotRentExempt))
        }
    }

    /// `expected` must be the account at `authority`, which signed — or a multisig of this
    /// program whose required number of its signers are among the accounts from `signers` on.
    fn validate_owner(
        &self,
        expected: &Pubkey,
        authority: IndexOfAccount,
        signers: IndexOfAccount,
    ) -> Result<(), InstructionError> {
        if self.key(authority)? != *expected {
            return Err(err(TokenError::OwnerMismatch));
        }
        if let Some(multisig) = self.multisig(authority)? {
            let mut matched = [false; MAX_SIGNERS];
            let mut signed = 0u8;
            for i in signers..self.count() {
                let key = self.key(i)?;
                for (position, member) in
                    multisig.signers[..usize::from(multisig.n)].iter().enumerate()
                {
                    if *member == key && !matched[position] {
                        if !self.is_signer(i)? {
                            return Err(InstructionError::MissingRequiredSignature);
                        }
                        matched[position] = true;
                        signed += 1;
                    }
                }
            }
            if signed < multisig.m {
                return Err(InstructionError::MissingRequiredSignature);
            }
            return Ok(());
        }
        if !self.is_signer(authority)? {
            return Err(InstructionError::MissingRequiredSignature);
        }
        Ok(())
    }

    /// The mint at `mint`, which must be `expected` and have `decimals` when they are checked.
    fn checked_mint(
        &self,
        mint: IndexOfAccount,
        expected: &Pubkey,
        decimals: Option<u8>,
    ) -> Result<Mint, InstructionError> {
        if self.key(mint)? != *expected {
            return Err(err(TokenError::MintMismatch));
        }
        let state: Mint = self.unpack(mint)?;
        if decimals.is_some_and(|d| d != state.decimals) {
            return Err(err(TokenError::MintDecimalsMismatch));
        }
        Ok(state)
    }
}

fn is_owned_by_system_or_incinerator(owner: &Pubkey) -> bool {
    *owner == solana_sdk_ids::system_program::ID || *owner == INCINERATOR
}

declare_process_instruction!(Entrypoint, TOKEN_COMPUTE_UNITS, |invoke_context| {
    let transaction_context = &invoke_context.transaction_context;
    let ix = transaction_context.get_current_instruction_context()?;
    let program_id = *ix.get_program_key()?;
    let accounts = Accounts { ix: &ix, program_id };
    let instruction = TokenInstruction::unpack(ix.get_instruction_data()).map_err(err)?;
    let (name, return_data) = process(invoke_context, &accounts, instruction)?;
    ic_msg!(invoke_context, "Program log: Instruction: {}", name);
    if let Some(data) = return_data {
        // Logged as the BPF runtime's `sol_set_return_data` logs it (clients read either).
        solana_program_runtime::stable_log::program_return(
            &invoke_context.get_log_collector(),
            &program_id,
            &data,
        );
        invoke_context.transaction_context.set_return_data(program_id, data)?;
    }
    Ok(())
});

type Processed = (&'static str, Option<Vec<u8>>);

fn process(
    invoke: &InvokeContext<'_, '_>,
    a: &Accounts<'_, '_>,
    instruction: TokenInstruction<'_>,
) -> Result<Processed, InstructionError> {
    use TokenInstruction as T;
    Ok(match instruction {
        T::InitializeMint { decimals, mint_authority, freeze_authority } => {
            initialize_mint(invoke, a, decimals, mint_authority, freeze_authority)?;
            ("InitializeMint", None)
        }
        T::InitializeMint2 { decimals, mint_authority, freeze_authority } => {
            initialize_mint(invoke, a, decimals, mint_authority, freeze_authority)?;
            ("InitializeMint2", None)
        }
        T::InitializeAccount => {
            a.need(3)?;
            initialize_account(invoke, a, a.key(2)?)?;
            ("InitializeAccount", None)
        }
        T::InitializeAccount2 { owner } => {
            initialize_account(invoke, a, owner)?;
            ("InitializeAccount2", None)
        }
        T::InitializeAccount3 { owner } => {
            initialize_account(invoke, a, owner)?;
            ("InitializeAccount3", None)
        }
        T::InitializeMultisig { m } => {
            initialize_multisig(invoke, a, m, 2)?;
            ("InitializeMultisig", None)
        }
        T::InitializeMultisig2 { m } => {
            initialize_multisig(invoke, a, m, 1)?;
            ("InitializeMultisig2", None)
        }
        T::Transfer { amount } => {
            transfer(a, amount, None)?;
            ("Transfer", None)
        }
        T::TransferChecked { amount, decimals } => {
            transfer(a, amount, Some(decimals))?;
            ("TransferChecked", None)
        }
        T::Approve { amount } => {
            approve(a, amount, None)?;
            ("Approve", None)
        }
        T::ApproveChecked { amount, decimals } => {
            approve(a, amount, Some(decimals))?;
            ("ApproveChecked", None)
        }
        T::Revoke => {
            a.need(2)?;
            let mut source: Account = a.unpack(0)?;
            if source.is_frozen() {
                return Err(err(TokenError::AccountFrozen));
            }
            // The owner, or (as p-token allows) the delegate itself, may revoke.
            let authority = match source.delegate {
                COption::Some(delegate) if a.key(1)? == delegate => delegate,
                _ => source.owner,
            };
            a.validate_owner(&authority, 1, 2)?;
            source.delegate = COption::None;
            source.delegated_amount = 0;
            a.pack(0, source)?;
            ("Revoke", None)
        }
        T::SetAuthority { authority_type, new_authority } => {
            set_authority(a, authority_type, new_authority)?;
            ("SetAuthority", None)
        }
        T::MintTo { amount } => {
            mint_to(a, amount, None)?;
            ("MintTo", None)
        }
        T::MintToChecked { amount, decimals } => {
            mint_to(a, amount, Some(decimals))?;
            ("MintToChecked", None)
        }
        T::Burn { amount } => {
            burn(a, amount, None)?;
            ("Burn", None)
        }
        T::BurnChecked { amount, decimals } => {
            burn(a, amount, Some(decimals))?;
            ("BurnChecked", None)
        }
        T::CloseAccount => {
            close_account(a)?;
            ("CloseAccount", None)
        }
        T::FreezeAccount => {
            freeze(a, true)?;
            ("FreezeAccount", None)
        }
        T::ThawAccount => {
            freeze(a, false)?;
            ("ThawAccount", None)
        }
        T::SyncNative => {
            a.need(1)?;
            a.check_program_owner(0)?;
            let _: Account = a.unpack(0)?;
            // No account is native here (see the module's note).
            return Err(err(TokenError::NonNativeNotSupported));
        }
        T::GetAccountDataSize => {
            a.need(1)?;
            a.check_program_owner(0)?;
            let _: Mint = a.unpack(0).map_err(|_| err(TokenError::InvalidMint))?;
            ("GetAccountDataSize", Some((Account::LEN as u64).to_le_bytes().to_vec()))
        }
        T::InitializeImmutableOwner => {
            a.need(1)?;
            let account: Account = a.unpack_unchecked(0)?;
            if account.is_initialized() {
                return Err(err(TokenError::AlreadyInUse));
            }
            ic_msg!(invoke, "Please upgrade to SPL Token 2022 for immutable owner support");
            ("InitializeImmutableOwner", None)
        }
        T::AmountToUiAmount { amount } => {
            a.need(1)?;
            a.check_program_owner(0)?;
            let mint: Mint = a.unpack(0).map_err(|_| err(TokenError::InvalidMint))?;
            let ui = crate::token_ledger::ui_amount(amount, mint.decimals);
            ("AmountToUiAmount", Some(ui.into_bytes()))
        }
        T::UiAmountToAmount { ui_amount } => {
            a.need(1)?;
            a.check_program_owner(0)?;
            let mint: Mint = a.unpack(0).map_err(|_| err(TokenError::InvalidMint))?;
            let amount = crate::token_ledger::parse_ui_amount(ui_amount, mint.decimals)
                .ok_or_else(|| err(ProgramError::InvalidArgument))?;
            ("UiAmountToAmount", Some(amount.to_le_bytes().to_vec()))
        }
        _ => return Err(err(TokenError::InvalidInstruction)),
    })
}

fn initialize_mint(
    invoke: &InvokeContext<'_, '_>,
    a: &Accounts<'_, '_>,
    decimals: u8,
    mint_authority: Pubkey,
    freeze_authority: COption<Pubkey>,
) -> Result<(), InstructionError> {
    a.need(1)?;
    let mut mint: Mint = a.unpack_unchecked(0)?;
    if mint.is_initialized {
        return Err(err(TokenError::AlreadyInUse));
    }
    a.rent_exempt(invoke, 0)?;
    mint.mint_authority = COption::Some(mint_authority);
    mint.decimals = decimals;
    mint.is_initialized = true;
    mint.freeze_authority = freeze_authority;
    a.pack(0, mint)
}

fn initialize_account(
    invoke: &InvokeContext<'_, '_>,
    a: &Accounts<'_, '_>,
    owner: Pubkey,
) -> Result<(), InstructionError> {
    a.need(2)?;
    let mut account: Account = a.unpack_unchecked(0)?;
    if account.is_initialized() {
        return Err(err(TokenError::AlreadyInUse));
    }
    a.rent_exempt(invoke, 0)?;
    let mint = a.key(1)?;
    if mint == spl_token_interface::native_mint::ID {
        return Err(err(TokenError::NativeNotSupported));
    }
    a.check_program_owner(1)?;
    let _: Mint = a.unpack(1).map_err(|_| err(TokenError::InvalidMint))?;
    account.mint = mint;
    account.owner = owner;
    account.close_authority = COption::None;
    account.delegate = COption::None;
    account.delegated_amount = 0;
    account.state = AccountState::Initialized;
    account.is_native = COption::None;
    account.amount = 0;
    a.pack(0, account)
}

fn initialize_multisig(
    invoke: &InvokeContext<'_, '_>,
    a: &Accounts<'_, '_>,
    m: u8,
    first_signer: IndexOfAccount,
) -> Result<(), InstructionError> {
    a.need(1)?;
    let mut multisig: Multisig = a.unpack_unchecked(0)?;
    if multisig.is_initialized {
        return Err(err(TokenError::AlreadyInUse));
    }
    a.rent_exempt(invoke, 0)?;
    let signers = a.count().saturating_sub(first_signer);
    if !(1..=MAX_SIGNERS).contains(&usize::from(signers)) {
        return Err(err(TokenError::InvalidNumberOfProvidedSigners));
    }
    multisig.n =
        u8::try_from(signers).map_err(|_| err(TokenError::InvalidNumberOfProvidedSigners))?;
    if !(1..=multisig.n).contains(&m) {
        return Err(err(TokenError::InvalidNumberOfRequiredSigners));
    }
    for (slot, i) in multisig.signers.iter_mut().zip(first_signer..a.count()) {
        *slot = a.key(i)?;
    }
    multisig.m = m;
    multisig.is_initialized = true;
    a.pack(0, multisig)
}

/// Spends `amount` of `source` by the authority at `authority`: its delegate (within the
/// delegated amount, which shrinks unless `keep_delegation`) or its owner.
fn authorize_spend(
    a: &Accounts<'_, '_>,
    source: &mut Account,
    amount: u64,
    authority: IndexOfAccount,
    keep_delegation: bool,
) -> Result<(), InstructionError> {
    match source.delegate {
        COption::Some(delegate) if a.key(authority)? == delegate => {
            a.validate_owner(&delegate, authority, authority + 1)?;
            if source.delegated_amount < amount {
                return Err(err(TokenError::InsufficientFunds));
            }
            if !keep_delegation {
                source.delegated_amount -= amount;
                if source.delegated_amount == 0 {
                    source.delegate = COption::None;
                }
            }
            Ok(())
        }
        _ => a.validate_owner(&source.owner, authority, authority + 1),
    }
}

fn transfer(
    a: &Accounts<'_, '_>,
    amount: u64,
    decimals: Option<u8>,
) -> Result<(), InstructionError> {
    // Transfer: source, destination, authority. TransferChecked: source, mint, destination, authority.
    let (destination, authority) = if decimals.is_some() { (2, 3) } else { (1, 2) };
    a.need(authority + 1)?;
    let mut source: Account = a.unpack(0)?;
    let mut dest: Account = a.unpack(destination)?;
    if source.is_frozen() || dest.is_frozen() {
        return Err(err(TokenError::AccountFrozen));
    }
    if source.amount < amount {
        return Err(err(TokenError::InsufficientFunds));
    }
    if source.mint != dest.mint {
        return Err(err(TokenError::MintMismatch));
    }
    if decimals.is_some() {
        a.checked_mint(1, &source.mint, decimals)?;
    }
    let self_transfer = a.key(0)? == a.key(destination)?;
    authorize_spend(a, &mut source, amount, authority, self_transfer)?;
    if self_transfer || amount == 0 {
        a.check_program_owner(0)?;
        a.check_program_owner(destination)?;
    }
    if self_transfer {
        return Ok(());
    }
    source.amount = source.amount.checked_sub(amount).ok_or_else(|| err(TokenError::Overflow))?;
    dest.amount = dest.amount.checked_add(amount).ok_or_else(|| err(TokenError::Overflow))?;
    a.pack(0, source)?;
    a.pack(destination, dest)
}

fn approve(
    a: &Accounts<'_, '_>,
    amount: u64,
    decimals: Option<u8>,
) -> Result<(), InstructionError> {
    // Approve: source, delegate, owner. ApproveChecked: source, mint, delegate, owner.
    let (delegate, owner) = if decimals.is_some() { (2, 3) } else { (1, 2) };
    a.need(owner + 1)?;
    let mut source: Account = a.unpack(0)?;
    if source.is_frozen() {
        return Err(err(TokenError::AccountFrozen));
    }
    if decimals.is_some() {
        a.checked_mint(1, &source.mint, decimals)?;
    }
    a.validate_owner(&source.owner, owner, owner + 1)?;
    source.delegate = COption::Some(a.key(delegate)?);
    source.delegated_amount = amount;
    a.pack(0, source)
}

fn set_authority(
    a: &Accounts<'_, '_>,
    kind: AuthorityType,
    new_authority: COption<Pubkey>,
) -> Result<(), InstructionError> {
    a.need(2)?;
    let len = a.data_len(0)?;
    if len == Account::LEN {
        let mut account: Account = a.unpack(0)?;
        if account.is_frozen() {
            return Err(err(TokenError::AccountFrozen));
        }
        match kind {
            AuthorityType::AccountOwner => {
                a.validate_owner(&account.owner, 1, 2)?;
                let COption::Some(owner) = new_authority else {
                    return Err(err(TokenError::InvalidInstruction));
                };
                account.owner = owner;
                account.delegate = COption::None;
                account.delegated_amount = 0;
            }
            AuthorityType::CloseAccount => {
                let authority = account.close_authority.unwrap_or(account.owner);
                a.validate_owner(&authority, 1, 2)?;
                account.close_authority = new_authority;
            }
            _ => return Err(err(TokenError::AuthorityTypeNotSupported)),
        }
        a.pack(0, account)
    } else if len == Mint::LEN {
        let mut mint: Mint = a.unpack(0)?;
        match kind {
            AuthorityType::MintTokens => {
                let COption::Some(authority) = mint.mint_authority else {
                    return Err(err(TokenError::FixedSupply));
                };
                a.validate_owner(&authority, 1, 2)?;
                mint.mint_authority = new_authority;
            }
            AuthorityType::FreezeAccount => {
                let COption::Some(authority) = mint.freeze_authority else {
                    return Err(err(TokenError::MintCannotFreeze));
                };
                a.validate_owner(&authority, 1, 2)?;
                mint.freeze_authority = new_authority;
            }
            _ => return Err(err(TokenError::AuthorityTypeNotSupported)),
        }
        a.pack(0, mint)
    } else {
        Err(InstructionError::InvalidArgument)
    }
}

fn mint_to(
    a: &Accounts<'_, '_>,
    amount: u64,
    decimals: Option<u8>,
) -> Result<(), InstructionError> {
    // mint, destination, authority
    a.need(3)?;
    let mut dest: Account = a.unpack(1)?;
    if dest.is_frozen() {
        return Err(err(TokenError::AccountFrozen));
    }
    if dest.is_native() {
        return Err(err(TokenError::NativeNotSupported));
    }
    let mut mint = a.checked_mint(0, &dest.mint, decimals)?;
    let COption::Some(authority) = mint.mint_authority else {
        return Err(err(TokenError::FixedSupply));
    };
    a.validate_owner(&authority, 2, 3)?;
    if amount == 0 {
        a.check_program_owner(0)?;
        a.check_program_owner(1)?;
    }
    dest.amount = dest.amount.checked_add(amount).ok_or_else(|| err(TokenError::Overflow))?;
    mint.supply = mint.supply.checked_add(amount).ok_or_else(|| err(TokenError::Overflow))?;
    a.pack(1, dest)?;
    a.pack(0, mint)
}

fn burn(a: &Accounts<'_, '_>, amount: u64, decimals: Option<u8>) -> Result<(), InstructionError> {
    // source, mint, authority
    a.need(3)?;
    let mut source: Account = a.unpack(0)?;
    let mint_key = a.key(1)?;
    let mut mint: Mint = a.unpack(1)?;
    if source.is_frozen() {
        return Err(err(TokenError::AccountFrozen));
    }
    if source.is_native() {
        return Err(err(TokenError::NativeNotSupported));
    }
    if source.amount < amount {
        return Err(err(TokenError::InsufficientFunds));
    }
    if mint_key != source.mint {
        return Err(err(TokenError::MintMismatch));
    }
    if decimals.is_some_and(|d| d != mint.decimals) {
        return Err(err(TokenError::MintDecimalsMismatch));
    }
    if !is_owned_by_system_or_incinerator(&source.owner) {
        authorize_spend(a, &mut source, amount, 2, false)?;
    }
    if amount == 0 {
        a.check_program_owner(0)?;
        a.check_program_owner(1)?;
    }
    source.amount -= amount;
    mint.supply = mint.supply.checked_sub(amount).ok_or_else(|| err(TokenError::Overflow))?;
    a.pack(0, source)?;
    a.pack(1, mint)
}

fn close_account(a: &Accounts<'_, '_>) -> Result<(), InstructionError> {
    // account, destination, authority
    a.need(3)?;
    if a.key(0)? == a.key(1)? {
        return Err(InstructionError::InvalidAccountData);
    }
    let source: Account = a.unpack(0)?;
    if !source.is_native() && source.amount != 0 {
        return Err(err(TokenError::NonNativeHasBalance));
    }
    let authority = source.close_authority.unwrap_or(source.owner);
    if !is_owned_by_system_or_incinerator(&source.owner) {
        a.validate_owner(&authority, 2, 3)?;
    } else if a.key(1)? != INCINERATOR {
        return Err(InstructionError::InvalidAccountData);
    }
    let lamports = a.lamports(0)?;
    {
        let mut dest = a.ix.try_borrow_instruction_account(1)?;
        dest.checked_add_lamports(lamports).map_err(|_| err(TokenError::Overflow))?;
    }
    let mut account = a.ix.try_borrow_instruction_account(0)?;
    account.set_lamports(0)?;
    account.set_data_length(0)?;
    account.set_owner(solana_sdk_ids::system_program::ID.as_ref())
}

fn freeze(a: &Accounts<'_, '_>, freeze: bool) -> Result<(), InstructionError> {
    // account, mint, authority
    a.need(3)?;
    let mut source: Account = a.unpack(0)?;
    if freeze == source.is_frozen() {
        return Err(err(TokenError::InvalidState));
    }
    if source.is_native() {
        return Err(err(TokenError::NativeNotSupported));
    }
    let mint = a.checked_mint(1, &source.mint, None)?;
    let COption::Some(authority) = mint.freeze_authority else {
        return Err(err(TokenError::MintCannotFreeze));
    };
    a.validate_owner(&authority, 2, 3)?;
    source.state = if freeze { AccountState::Frozen } else { AccountState::Initialized };
    a.pack(0, source)
}
