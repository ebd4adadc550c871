//! Identities in state: credential records, the reverse address index and nonces.

use crate::{
    address::{VmAddress, derive_address, id_com_from_credential, legacy_id_com},
    credential::{CredentialError, check_public_key},
    format::{AddressFormat, SPEC_DERIVED, SVM_FORMAT, known_format, known_formats},
};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_ledger::{
    Ledger, NATIVE_MINT, balance_key, holdings_key, spl_owners_key, state_failure as ledger_state,
};
use nvm_primitives::{IdCom, SchemeId, StateKey, sha256_parts};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateError};
use std::borrow::Cow;

/// `SHA-256("identity:" ‖ id_com)` → [`IdentityRecord`].
pub fn identity_key(id_com: &IdCom) -> StateKey {
    sha256_parts(&[b"identity:", id_com])
}

/// `SHA-256("addr:" ‖ vm ‖ address)` → id_com: the reverse index.
pub fn index_key(address: &VmAddress) -> StateKey {
    sha256_parts(&[b"addr:", &[address.code()], address.as_bytes()])
}

/// `SHA-256("addr:script:" ‖ scriptPubKey)` → id_com: the reverse index of Bitcoin output
/// scripts an identity linked (a Bitcoin key's scripts, [`Registry::link_script`]). A script
/// no identity linked acts as its legacy identity, [`crate::legacy_btc_id`].
pub fn script_index_key(script_pubkey: &[u8]) -> StateKey {
    sha256_parts(&[b"addr:script:", script_pubkey])
}

/// `SHA-256("nvm:dev-authority")` → the id_com that may write state directly (the native
/// `DevWriteState` operation, behind anvil's `anvil_set*` methods): written only by the genesis of
/// a single-validator dev chain (`nvm node --dev`), absent on every network.
pub fn dev_authority_key() -> StateKey {
    nvm_primitives::sha256(b"nvm:dev-authority")
}

/// `SHA-256("nonce:" ‖ id_com)` → the next nonce (u64).
pub fn nonce_key(id_com: &IdCom) -> StateKey {
    sha256_parts(&[b"nonce:", id_com])
}

/// `SHA-256("identity:address-formats")` → the codes of the formats every identity's addresses
/// are indexed in (`Vec<u8>`, borsh), written by a genesis whose VMs bring formats other than
/// SPEC §2's; absent, the SPEC's ([`SPEC_DERIVED`]).
pub fn indexed_formats_key() -> StateKey {
    nvm_primitives::sha256(b"identity:address-formats")
}

/// The credential currently authorised to act for an identity.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct IdentityRecord {
    pub scheme: u8,
    pub public_key: Vec<u8>,
    /// The salt id_com was created with (kept so the first credential's commitment can be shown).
    pub salt: [u8; 32],
}

impl IdentityRecord {
    pub fn scheme(&self) -> Result<SchemeId, IdentityError> {
        SchemeId::try_from(self.scheme).map_err(|_| IdentityError::UnknownScheme(self.scheme))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("identity 0x{} already exists", hex::encode(.0))]
    AlreadyExists(IdCom),
    #[error("no identity 0x{}", hex::encode(.0))]
    Unknown(IdCom),
    #[error("address {address} already belongs to identity 0x{}", hex::encode(.owner))]
    AddressTaken { address: String, owner: IdCom },
    #[error("unknown signature scheme {0:#04x}")]
    UnknownScheme(u8),
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Identity operations over any [`StateAccess`].
pub struct Registry;

impl Registry {
    pub fn get(
        state: &mut dyn StateAccess,
        id_com: &IdCom,
    ) -> Result<Option<IdentityRecord>, StateError> {
        state.get_decoded(&identity_key(id_com))
    }

    /// The formats this chain indexes an identity's addresses in, when it is created or first
    /// paid: fixed by its genesis ([`Registry::set_indexed_formats`]), SPEC §2's if it names
    /// none. Its Solana address, if it has one, comes last: once it is indexed, all are.
    pub fn indexed_formats(
        state: &mut dyn StateAccess,
    ) -> Result<Cow<'static, [&'static AddressFormat]>, StateError> {
        let Some(codes) = state.get_decoded::<Vec<u8>>(&indexed_formats_key())? else {
            return Ok(Cow::Borrowed(&SPEC_DERIVED));
        };
        let mut formats = codes
            .into_iter()
            .map(|code| {
                known_format(code).ok_or_else(|| {
                    StateError::Backend(format!(
                        "this chain indexes addresses in format {code}, which no VM of this node \
                         brings"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        formats.sort_by_key(|f| (f.code == SVM_FORMAT.code, f.code));
        Ok(Cow::Owned(formats))
    }

    /// Fixes the formats this chain indexes an identity's addresses in (genesis): those of
    /// `formats` that derive an address (not the native one). Nothing is written when they are
    /// SPEC §2's, so a chain of the SPEC's VMs has the state it always had.
    pub fn set_indexed_formats(state: &mut dyn StateAccess, formats: &[&'static AddressFormat]) {
        let mut codes: Vec<u8> =
            formats.iter().filter(|f| f.derive_tag.is_some()).map(|f| f.code).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut spec: Vec<u8> = SPEC_DERIVED.iter().map(|f| f.code).collect();
        spec.sort_unstable();
        if codes != spec {
            state.set_encoded(indexed_formats_key(), &codes);
        }
    }

    /// Creates the identity of `(scheme, public_key, salt)`, registering every derived VM address
    /// in the reverse index. Native value sent to one of those addresses before (computable
    /// offline, they may be paid before the identity exists) moves to the identity. Returns its
    /// id_com.
    pub fn create(
        state: &mut dyn StateAccess,
        scheme: SchemeId,
        public_key: &[u8],
        salt: [u8; 32],
    ) -> Result<IdCom, IdentityError> {
        check_public_key(scheme, public_key)?;
        let id_com = id_com_from_credential(scheme, public_key, &salt);
        if Self::get(state, &id_com)?.is_some() {
            return Err(IdentityError::AlreadyExists(id_com));
        }
        for format in Self::indexed_formats(state)?.iter() {
            let address = derive_address(format, &id_com);
            let key = index_key(&address);
            if let Some(owner) = state.get_decoded::<IdCom>(&key)? {
                return Err(IdentityError::AddressTaken { address: address.display(), owner });
            }
            Self::point(state, &address, &id_com)?;
            Self::sweep(state, &address, &id_com)?;
        }
        let record = IdentityRecord { scheme: scheme as u8, public_key: public_key.to_vec(), salt };
        state.set_encoded(identity_key(&id_com), &record);
        Ok(id_com)
    }

    /// Replaces an identity's credential; id_com and every address stay as they are.
    pub fn rotate(
        state: &mut dyn StateAccess,
        id_com: &IdCom,
        scheme: SchemeId,
        public_key: &[u8],
    ) -> Result<(), IdentityError> {
        check_public_key(scheme, public_key)?;
        let mut record = Self::get(state, id_com)?.ok_or(IdentityError::Unknown(*id_com))?;
        record.scheme = scheme as u8;
        record.public_key = public_key.to_vec();
        state.set_encoded(identity_key(id_com), &record);
        Ok(())
    }

    /// Resolves any address to the identity it belongs to: an id_com is itself; an indexed address
    /// is its identity; any other well-formed address is its legacy identity. Total, so value
    /// sent to a valid address is never lost.
    pub fn resolve(state: &mut dyn StateAccess, address: &VmAddress) -> Result<IdCom, StateError> {
        if let Some(id) = address.native() {
            return Ok(id);
        }
        match state.get_decoded::<IdCom>(&index_key(address))? {
            Some(id) => Ok(id),
            // Every address but an id_com has a legacy identity; should a new kind not, it is
            // refused, never sent to an id_com no one holds.
            None => legacy_id_com(address).ok_or_else(|| {
                StateError::Backend(format!("{} has no legacy identity", address.display()))
            }),
        }
    }

    /// [`Registry::resolve`] for a transaction that credits `address` or names it as an
    /// account: when `address` resolves to its legacy identity, that identity's derived addresses
    /// enter the index (those not in it yet), so that every address the node shows for the
    /// identity resolves back to it from the moment it can hold value (SPEC §2). Without this,
    /// value sent to the Solana address `nvm_getIdentity` shows for a fresh Ethereum address
    /// would reach the legacy identity of that Solana address instead — out of every key's reach.
    pub fn resolve_and_index(
        state: &mut dyn StateAccess,
        address: &VmAddress,
    ) -> Result<IdCom, StateError> {
        let id = Self::resolve(state, address)?;
        if legacy_id_com(address) != Some(id) {
            return Ok(id);
        }
        let formats = Self::indexed_formats(state)?;
        // They are indexed in order: once the last is there, all of them are (one read).
        let Some(last) = formats.last() else { return Ok(id) };
        if state.get(&index_key(&derive_address(last, &id)))?.is_none() {
            if let Some(key) = address.svm() {
                // A wallet's own key shows its token balances at its associated accounts.
                Ledger::add_spl_owner(state, &id, &key).map_err(ledger_state)?;
            }
            for format in formats.iter() {
                let derived = derive_address(format, &id);
                if state.get(&index_key(&derived))?.is_none() {
                    Self::point(state, &derived, &id)?;
                    Self::sweep(state, &derived, &id)?;
                }
            }
        }
        Ok(id)
    }

    /// Points `address` at `id` in the reverse index; a Solana address becomes one of `id`'s
    /// SPL owners, whose associated token accounts show its balances.
    pub(crate) fn point(
        state: &mut dyn StateAccess,
        address: &VmAddress,
        id: &IdCom,
    ) -> Result<(), StateError> {
        state.set_encoded(index_key(address), id);
        if let Some(key) = address.svm() {
            Ledger::add_spl_owner(state, id, &key).map_err(ledger_state)?;
        }
        Ok(())
    }

    /// Points `legacy`'s derived addresses at `owner` (the identity that linked `legacy`'s key),
    /// with the native value sent to them while they were no one's.
    pub(crate) fn adopt_derived(
        state: &mut dyn StateAccess,
        legacy: &IdCom,
        owner: &IdCom,
    ) -> Result<(), StateError> {
        for format in Self::indexed_formats(state)?.iter() {
            let derived = derive_address(format, legacy);
            Self::point(state, &derived, owner)?;
            Self::sweep(state, &derived, owner)?;
        }
        Ok(())
    }

    /// Declares what [`Registry::link`] reads and writes in the registry: the external address's
    /// index entry, both nonces, and the legacy identity's derived addresses it adopts.
    pub fn declare_link(access: &mut AccessSet, external: &VmAddress, id_com: &IdCom) {
        access.write(index_key(external)).write(nonce_key(id_com));
        if let Some(legacy) = legacy_id_com(external) {
            access.write(nonce_key(&legacy));
            Self::declare_derived(access, &legacy);
        }
        access.write(balance_key(&NATIVE_MINT, id_com)).write(spl_owners_key(id_com));
    }

    /// Declares what [`Registry::resolve_and_index`] may read and write.
    pub fn declare_resolve_and_index(access: &mut AccessSet, address: &VmAddress) {
        Self::declare_resolve(access, address);
        if let Some(legacy) = legacy_id_com(address) {
            Self::declare_derived(access, &legacy);
        }
    }

    /// The index entries of `id`'s derived addresses, and the native balances a sweep into `id`
    /// touches ([`Registry::sweep`]) — in every format this node knows, as the chain's are read
    /// from state ([`Registry::indexed_formats`]) while this declares without it.
    pub(crate) fn declare_derived(access: &mut AccessSet, id: &IdCom) {
        // A sweep into `id` reads its holdings (and extends them when stranded tokens arrive).
        access
            .write(balance_key(&NATIVE_MINT, id))
            .write(spl_owners_key(id))
            .write(holdings_key(id))
            .read(indexed_formats_key());
        for format in known_formats().into_iter().filter(|f| f.derive_tag.is_some()) {
            let derived = derive_address(format, id);
            access.write(index_key(&derived));
            if let Some(stranded) = legacy_id_com(&derived) {
                access.write(balance_key(&NATIVE_MINT, &stranded)).read(holdings_key(&stranded));
            }
        }
    }

    /// Moves what was sent to `address` while it belonged to no identity — its own legacy
    /// identity's balances, which no key can reach: `address` is a SHA-256 output — to `id`,
    /// the identity it now belongs to: the native token and every mint in its holdings. (The
    /// scheduler is told of the native balances and the holdings list; a stranded balance of
    /// another token is an access it could not foresee, so such a block runs serially.)
    fn sweep(
        state: &mut dyn StateAccess,
        address: &VmAddress,
        id: &IdCom,
    ) -> Result<(), StateError> {
        let Some(stranded) = legacy_id_com(address) else { return Ok(()) };
        let mints = Ledger::holdings(state, &stranded).map_err(ledger_state)?;
        for mint in std::iter::once(NATIVE_MINT).chain(mints) {
            let held = Ledger::balance(state, &mint, &stranded).map_err(ledger_state)?;
            if held > 0 {
                Ledger::debit(state, &mint, &stranded, held).map_err(ledger_state)?;
                Ledger::credit(state, &mint, id, held).map_err(ledger_state)?;
            }
        }
        Ok(())
    }

    /// Declares what crediting `mint` to `address` (which resolves to `id`) writes: the balance,
    /// the holdings and, on a first credit, the associated token accounts of `id`'s SPL owners —
    /// with those [`Registry::resolve_and_index`] adds in the same transaction.
    pub fn declare_credit(
        state: &mut dyn StateAccess,
        access: &mut AccessSet,
        mint: &nvm_primitives::Mint,
        address: &VmAddress,
        id: &IdCom,
    ) -> Result<(), StateError> {
        Ledger::declare_credit(access, mint, id);
        let mut new_owners = Vec::new();
        if legacy_id_com(address) == Some(*id) {
            if let Some(key) = address.svm() {
                new_owners.push(key);
            }
            if let Some(derived) = derive_address(&crate::SVM_FORMAT, id).svm() {
                new_owners.push(derived);
            }
        }
        Ledger::declare_associated(state, access, mint, id, &new_owners).map_err(ledger_state)
    }

    /// Declares the reads [`Registry::resolve`] makes.
    pub fn declare_resolve(access: &mut AccessSet, address: &VmAddress) {
        if address.native().is_none() {
            access.read(index_key(address));
        }
    }

    /// Declares the writes [`Registry::create`] makes.
    pub fn declare_create(access: &mut AccessSet, id_com: &IdCom) {
        access.write(identity_key(id_com));
        Self::declare_derived(access, id_com);
    }

    pub fn nonce(state: &mut dyn StateAccess, id_com: &IdCom) -> Result<u64, StateError> {
        state.get_u64(&nonce_key(id_com))
    }

    pub fn set_nonce(state: &mut dyn StateAccess, id_com: &IdCom, nonce: u64) {
        state.set_encoded(nonce_key(id_com), &nonce);
    }

    /// The digest a new key signs to prove possession when it replaces an identity's credential.
    pub fn rotation_digest(
        chain_id: u64,
        id_com: &IdCom,
        nonce: u64,
        scheme: SchemeId,
        public_key: &[u8],
    ) -> [u8; 32] {
        sha256_parts(&[
            b"nvm:rotate:",
            &chain_id.to_le_bytes(),
            id_com,
            &nonce.to_le_bytes(),
            &[scheme as u8],
            public_key,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;
    use nvm_state_api::{MemoryState, TxOverlay};

    /// A format of this test's own (no SPEC VM's), and a chain whose genesis indexes it.
    static EXTRA: AddressFormat = AddressFormat {
        code: 0xE2,
        name: "registry-test",
        derive_tag: Some(b"e2:"),
        ..crate::EVM_FORMAT
    };

    #[test]
    fn a_chain_indexes_the_formats_its_genesis_names() {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        let spec: Vec<u8> =
            Registry::indexed_formats(&mut state).unwrap().iter().map(|f| f.code).collect();
        assert_eq!(spec, [1, 3, 4, 2], "SPEC §2's, the Solana address last");
        Registry::set_indexed_formats(&mut state, &crate::SPEC_FORMATS.iter().collect::<Vec<_>>());
        assert_eq!(state.get(&indexed_formats_key()).unwrap(), None, "the SPEC's: nothing written");

        crate::register_format(&EXTRA).unwrap();
        let formats: Vec<_> = crate::SPEC_FORMATS.iter().chain([&EXTRA]).collect();
        Registry::set_indexed_formats(&mut state, &formats);
        let codes: Vec<u8> =
            Registry::indexed_formats(&mut state).unwrap().iter().map(|f| f.code).collect();
        assert_eq!(codes, [1, 3, 4, 0xE2, 2]);
        let key = SecretKey::generate(SchemeId::Ed25519);
        let id =
            Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [0; 32]).unwrap();
        assert_eq!(Registry::resolve(&mut state, &derive_address(&EXTRA, &id)).unwrap(), id);

        // Paid before any identity holds it, a fresh address's identity is indexed in it too.
        let paid = crate::EVM_FORMAT.legacy_id(&[7; 20]).unwrap();
        let evm = VmAddress::Evm([7; 20]);
        assert_eq!(Registry::resolve_and_index(&mut state, &evm).unwrap(), paid);
        assert_eq!(Registry::resolve(&mut state, &derive_address(&EXTRA, &paid)).unwrap(), paid);
    }

    #[test]
    fn create_indexes_every_address_and_rotation_keeps_them() {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        let key = SecretKey::generate(SchemeId::Ed25519);
        let id =
            Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [5; 32]).unwrap();
        for format in &crate::SPEC_FORMATS {
            let addr = derive_address(format, &id);
            assert_eq!(Registry::resolve(&mut state, &addr).unwrap(), id);
        }
        assert_eq!(
            Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [5; 32]),
            Err(IdentityError::AlreadyExists(id))
        );
        let new_key = SecretKey::generate(SchemeId::MlDsa44);
        Registry::rotate(&mut state, &id, SchemeId::MlDsa44, &new_key.public_key()).unwrap();
        let record = Registry::get(&mut state, &id).unwrap().unwrap();
        assert_eq!(record.public_key, new_key.public_key());
        for format in &crate::SPEC_FORMATS {
            assert_eq!(Registry::resolve(&mut state, &derive_address(format, &id)).unwrap(), id);
        }
    }

    #[test]
    fn a_legacy_identity_named_by_a_transaction_is_found_at_every_address_it_shows() {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        let external = VmAddress::Evm([7; 20]);
        let legacy = legacy_id_com(&external).unwrap();
        let shown: Vec<VmAddress> =
            SPEC_DERIVED.iter().map(|format| derive_address(format, &legacy)).collect();
        // Before: each derived address is some other legacy identity's.
        for address in &shown {
            assert_ne!(Registry::resolve(&mut state, address).unwrap(), legacy);
        }
        assert_eq!(Registry::resolve_and_index(&mut state, &external).unwrap(), legacy);
        for address in &shown {
            assert_eq!(Registry::resolve(&mut state, address).unwrap(), legacy, "{address:?}");
            // A derived address is the identity's: it starts no legacy identity of its own.
            assert_eq!(Registry::resolve_and_index(&mut state, address).unwrap(), legacy);
        }
        // An identity's own addresses are indexed at creation and left as they are.
        let key = SecretKey::generate(SchemeId::Ed25519);
        let id =
            Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [1; 32]).unwrap();
        let checkpoint = state.checkpoint();
        assert_eq!(
            Registry::resolve_and_index(&mut state, &derive_address(&crate::SVM_FORMAT, &id))
                .unwrap(),
            id
        );
        assert_eq!(state.checkpoint(), checkpoint, "nothing written for an identity's address");
    }

    /// Native value sent to an address before it belonged to anyone is not stranded: creating
    /// the identity whose address it is, or first naming the legacy identity whose address it
    /// is, brings it along.
    #[test]
    fn value_sent_to_an_address_before_it_had_an_owner_reaches_its_owner() {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        let pay = |state: &mut TxOverlay<'_>, address: &VmAddress, amount: u128| {
            let to = Registry::resolve(state, address).unwrap();
            Ledger::credit(state, &NATIVE_MINT, &to, amount).unwrap();
        };
        let balance = |state: &mut TxOverlay<'_>, id: &IdCom| {
            Ledger::balance(state, &NATIVE_MINT, id).unwrap()
        };

        // An identity's Ethereum and Solana addresses, paid before it exists.
        let key = SecretKey::generate(SchemeId::Ed25519);
        let id = id_com_from_credential(SchemeId::Ed25519, &key.public_key(), &[2; 32]);
        pay(&mut state, &derive_address(&crate::EVM_FORMAT, &id), 70);
        pay(&mut state, &derive_address(&crate::SVM_FORMAT, &id), 5);
        Registry::create(&mut state, SchemeId::Ed25519, &key.public_key(), [2; 32]).unwrap();
        assert_eq!(balance(&mut state, &id), 75);

        // The Solana address a fresh Ethereum address shows, paid before that address was named.
        let external = VmAddress::Evm([9; 20]);
        let legacy = legacy_id_com(&external).unwrap();
        let shown = derive_address(&crate::SVM_FORMAT, &legacy);
        pay(&mut state, &shown, 11);
        assert_eq!(Registry::resolve_and_index(&mut state, &external).unwrap(), legacy);
        assert_eq!(balance(&mut state, &legacy), 11);
        assert_eq!(balance(&mut state, &legacy_id_com(&shown).unwrap()), 0);
    }

    #[test]
    fn unknown_addresses_resolve_to_legacy_identities() {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        let evm = VmAddress::Evm([7; 20]);
        let resolved = Registry::resolve(&mut state, &evm).unwrap();
        assert_eq!(resolved, sha256_parts(&[b"legacy_evm:", &[7; 20]]));
    }
}
