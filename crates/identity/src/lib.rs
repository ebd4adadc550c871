//! Identities, credentials and VM addresses (SPEC §2).

mod address;
mod credential;
mod ed25519_batch;
mod format;
mod keys;
mod link;
mod registry;

pub use address::{
    AddressError, VmAddress, derive_address, id_com_from_credential, legacy_btc_id, legacy_id_com,
    taproot_address,
};
pub use credential::{CredentialError, SignatureCheck, check_public_key, verify, verify_batch};
pub use format::{
    AddressFormat, BVM_FORMAT, EVM_FORMAT, FormatClash, NATIVE_FORMAT, ParseAddress, SPEC_DERIVED,
    SPEC_FORMATS, SVM_FORMAT, TVM_FORMAT, known_format, known_formats, register_format,
    spec_format,
};
pub use keys::{KeyError, SecretKey};
pub use link::{
    LinkError, btc_link_message, evm_link_message, svm_link_message, tron_link_message,
    verify_evm_link, verify_svm_link, verify_tron_link,
};
pub use registry::{
    IdentityError, IdentityRecord, Registry, dev_authority_key, identity_key, index_key,
    indexed_formats_key, nonce_key, script_index_key,
};
