//! Tron's precompiles where they differ from Ethereum's: `0x09` `batchvalidatesign` and `0x0a`
//! `validatemultisign` (java-tron's `PrecompiledContracts`) in place of Ethereum's BLAKE2F and
//! KZG point evaluation; the rest is Ethereum's set at the VM's spec.
//!
//! Both take ABI-encoded arguments without a selector and 65-byte signatures (r ‖ s ‖ v, v 0/1 or
//! 27/28, bytes past 65 ignored) recovered over a 32-byte hash with no prefix.
//! - `batchvalidatesign(bytes32 hash, bytes[] signatures, address[] signers)`: a word whose byte
//!   `i` (from the most significant) is 1 if signature `i` is `signers[i]`'s; at most 16. Input
//!   it cannot read answers all zeros, as java-tron's does.
//! - `validatemultisign(address account, uint256 permission, bytes32 content, bytes[] signatures)`:
//!   1 if the signatures reach the permission's threshold over `SHA-256(0x41 ‖ account ‖
//!   permission (4 bytes) ‖ content)`, else 0; at most 5. This chain keeps no Tron account
//!   permissions, so every account has java-tron's defaults: owner (0) and active (2) are the
//!   account's own key, weight 1, threshold 1; any other id has no permission (0). A signature by
//!   any other key answers 0. Input it cannot read fails the call.
//!
//! Energy as java-tron prices them: 1,500 per 6 (batch) or 5 (multisign) words past the first 5.

use alloy_primitives::{Address, B256, Bytes, Signature, U256};
use alloy_sol_types::SolValue;
use revm::precompile::{
    Precompile, PrecompileHalt, PrecompileId, PrecompileOutput, PrecompileResult, PrecompileSpecId,
    Precompiles,
};
use std::sync::OnceLock;

/// `batchvalidatesign`'s address.
pub const BATCH_VALIDATE_SIGN: Address = revm::precompile::u64_to_address(9);
/// `validatemultisign`'s address.
pub const VALIDATE_MULTI_SIGN: Address = revm::precompile::u64_to_address(10);
/// Energy per group of signature words.
const ENERGY_PER_GROUP: u64 = 1_500;
const MAX_BATCH: usize = 16;
const MAX_MULTISIGN: usize = 5;

/// Ethereum's precompiles at `spec` with Tron's two in place. The Tron VM runs at one spec, so
/// the set is made once.
pub(crate) fn tron_precompiles(spec: PrecompileSpecId) -> &'static Precompiles {
    static SET: OnceLock<Precompiles> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = Precompiles::new(spec).clone();
        set.extend([
            Precompile::new(PrecompileId::custom("batchvalidatesign"), BATCH_VALIDATE_SIGN, batch),
            Precompile::new(PrecompileId::custom("validatemultisign"), VALIDATE_MULTI_SIGN, multi),
        ]);
        set
    })
}

/// java-tron's energy: `((words − 5) / per) × 1,500`, nothing for short input.
fn energy(input: &[u8], per: u64) -> u64 {
    ((input.len() as u64 / 32).saturating_sub(5) / per) * ENERGY_PER_GROUP
}

/// The address that signed `hash`, if `signature` is one.
fn signer(signature: &[u8], hash: &B256) -> Option<Address> {
    let bytes: [u8; 65] = signature.get(..65)?.try_into().ok()?;
    let mut bytes = bytes;
    if bytes[64] < 27 {
        bytes[64] = bytes[64].wrapping_add(27);
    }
    let parsed = Signature::from_raw_array(&bytes).ok()?;
    parsed.recover_address_from_prehash(hash).ok()
}

/// The energy `input` costs, if `gas_limit` covers it.
fn charged(input: &[u8], per: u64, gas_limit: u64) -> Option<u64> {
    Some(energy(input, per)).filter(|cost| *cost <= gas_limit)
}

fn batch(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let Some(cost) = charged(input, 6, gas_limit) else {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    };
    let mut word = [0u8; 32];
    if let Ok((hash, signatures, signers)) =
        <(B256, Vec<Bytes>, Vec<Address>)>::abi_decode_params(input)
        && !signatures.is_empty()
        && signatures.len() <= MAX_BATCH
        && signatures.len() == signers.len()
    {
        for (i, (signature, expected)) in signatures.iter().zip(&signers).enumerate() {
            word[i] = u8::from(signer(signature, &hash) == Some(*expected));
        }
    }
    Ok(PrecompileOutput::new(cost, Bytes::copy_from_slice(&word), reservoir))
}

fn multi(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let Some(cost) = charged(input, 5, gas_limit) else {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    };
    let Ok((account, permission, content, signatures)) =
        <(Address, U256, B256, Vec<Bytes>)>::abi_decode_params(input)
    else {
        let reason = PrecompileHalt::Other("validatemultisign: malformed input".into());
        return Ok(PrecompileOutput::halt(reason, reservoir));
    };
    let reached = (1..=MAX_MULTISIGN).contains(&signatures.len())
        && multisign_holds(account, permission, content, &signatures);
    let answer = U256::from(u8::from(reached)).to_be_bytes::<32>();
    Ok(PrecompileOutput::new(cost, Bytes::copy_from_slice(&answer), reservoir))
}

/// Whether `signatures` reach `account`'s permission `id` (the defaults: its own key, weight 1,
/// threshold 1, for owner 0 and active 2): every signature must be the account's own.
fn multisign_holds(account: Address, id: U256, content: B256, signatures: &[Bytes]) -> bool {
    let Some(id) = u32::try_from(id).ok().filter(|id| [0, 2].contains(id)) else {
        return false;
    };
    let preimage =
        [&[crate::TRON_ADDRESS_PREFIX][..], account.as_slice(), &id.to_be_bytes(), &content[..]]
            .concat();
    let hash = B256::from(nvm_primitives::sha256(&preimage));
    signatures.iter().all(|signature| signer(signature, &hash) == Some(account))
}
