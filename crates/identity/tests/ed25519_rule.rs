//! One Ed25519 rule everywhere: a signature verifies alone exactly when it verifies in a batch,
//! whatever else the batch holds — for honest signatures, for signatures whose `R` carries a
//! small-order component (which a cofactorless single check refuses and a cofactored batch takes),
//! for small-order keys, and for random bytes.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use curve25519_dalek::{
    constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION},
    scalar::Scalar,
};
use nvm_identity::{SignatureCheck, verify, verify_batch};
use nvm_primitives::SchemeId;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// A signature by the key from `seed` over `message` whose `R` is `r·B + T` for the 8-torsion
/// point `torsion` (index 0: the identity, so none), made with the secret scalar so that it
/// satisfies the cofactored equation; returns (public key, signature).
fn signed_with_torsion(
    seed: [u8; 32],
    nonce: u64,
    torsion: usize,
    message: &[u8; 32],
) -> ([u8; 32], [u8; 64]) {
    let expanded = Sha512::digest(seed);
    let mut secret: [u8; 32] = expanded[..32].try_into().unwrap();
    secret[0] &= 248;
    secret[31] &= 127;
    secret[31] |= 64;
    let a = Scalar::from_bytes_mod_order(secret);
    let public = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    let r = Scalar::from(nonce.max(1));
    let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[torsion % 8]).compress().to_bytes();
    let hash = Sha512::new().chain_update(big_r).chain_update(public).chain_update(message);
    let k = Scalar::from_hash(hash);
    let s = r + k * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&big_r);
    signature[32..].copy_from_slice(s.as_bytes());
    (public, signature)
}

type Item = ([u8; 32], [u8; 32], [u8; 64]);

/// Every signature's verdict alone, and in one batch with the others.
fn verdicts(items: &[Item]) -> (Vec<bool>, Vec<bool>) {
    let alone = items.iter().map(|(p, m, s)| verify(SchemeId::Ed25519, p, m, s).is_ok()).collect();
    let checks: Vec<_> = items
        .iter()
        .map(|(p, m, s)| SignatureCheck {
            scheme: SchemeId::Ed25519,
            public_key: p,
            message: m,
            signature: s,
        })
        .collect();
    let batched = verify_batch(&checks).iter().map(Result::is_ok).collect();
    (alone, batched)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_signature_is_valid_alone_exactly_when_it_is_in_a_batch(
        entries in proptest::collection::vec(
            (any::<[u8; 32]>(), any::<u64>(), 0usize..8, any::<[u8; 32]>(), 0u8..4, any::<[u8; 32]>()),
            1..6,
        )
    ) {
        let items: Vec<Item> = entries
            .into_iter()
            .map(|(seed, nonce, torsion, message, kind, noise)| {
                let (public, signature) = signed_with_torsion(seed, nonce, torsion, &message);
                match kind {
                    // As made (honest when torsion is 0).
                    0 | 1 => (public, message, signature),
                    // Random bytes in place of s.
                    2 => {
                        let mut forged = signature;
                        forged[32..].copy_from_slice(&noise);
                        (public, message, forged)
                    }
                    // A small-order key (a torsion point).
                    _ => (EIGHT_TORSION[torsion].compress().to_bytes(), message, signature),
                }
            })
            .collect();
        let (alone, batched) = verdicts(&items);
        prop_assert_eq!(alone, batched);
    }
}

#[test]
fn honest_signatures_pass_and_small_order_keys_never_do() {
    let message = [5u8; 32];
    let (public, signature) = signed_with_torsion([1; 32], 7, 0, &message);
    assert!(verify(SchemeId::Ed25519, &public, &message, &signature).is_ok());
    // A torsion component in R: valid under the one rule (cofactored), alone and batched.
    let (public, mixed) = signed_with_torsion([1; 32], 7, 3, &message);
    assert_eq!(verdicts(&[(public, message, mixed)]), (vec![true], vec![true]));
    // The identity point as a key (small order): refused everywhere.
    let identity = EIGHT_TORSION[0].compress().to_bytes();
    assert!(verify(SchemeId::Ed25519, &identity, &message, &signature).is_err());
    assert!(nvm_identity::check_public_key(SchemeId::Ed25519, &identity).is_err());
}
