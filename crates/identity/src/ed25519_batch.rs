//! ZIP-215's batch equation for Ed25519 over keys this crate already decompressed and cached:
//! what `ed25519-zebra`'s batch checks, without decompressing each key again for every batch
//! (about a third of a verification per signature). Held to the single check by the property
//! test `tests/ed25519_rule.rs`: a signature passes here exactly when `ed25519-zebra` passes it
//! alone.

use curve25519_dalek::{
    constants::ED25519_BASEPOINT_POINT,
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
    traits::{IsIdentity, VartimeMultiscalarMul},
};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha512};

/// A public key ready for the batch: its encoding (hashed into each challenge) and its point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchKey {
    pub bytes: [u8; 32],
    pub point: EdwardsPoint,
}

/// One signature of a batch.
pub(crate) struct Item<'a> {
    pub key: BatchKey,
    pub signature: &'a [u8; 64],
    pub message: &'a [u8],
}

/// Whether every item satisfies ZIP-215's cofactored equation `[8][s]B = [8]R + [8][k]A`
/// (`k = SHA-512(R ‖ A ‖ M)`, `s` canonical, `R` any encoding of a point), checked at once as
/// `[8](−(Σ zᵢsᵢ)B + Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ) = 0` with random 128-bit `zᵢ`. `false`: at least one
/// does not (or, with probability 2⁻¹²⁸, all do) — the caller then checks each alone.
pub(crate) fn holds(items: &[Item<'_>]) -> bool {
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    let mut base = Scalar::ZERO;
    for item in items {
        let (r_bytes, s_bytes) = item.signature.split_at(32);
        let r = CompressedEdwardsY::from_slice(r_bytes).ok().and_then(|r| r.decompress());
        let s_bytes: [u8; 32] = s_bytes.try_into().expect("the second half of 64 bytes");
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes));
        let (Some(r), Some(s)) = (r, s) else { return false };
        let hash: [u8; 64] = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(item.key.bytes)
            .chain_update(item.message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&hash);
        let z = Scalar::from((u128::from(OsRng.next_u64()) << 64) | u128::from(OsRng.next_u64()));
        base -= z * s;
        scalars.push(z);
        points.push(r);
        scalars.push(z * k);
        points.push(item.key.point);
    }
    scalars.push(base);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    #[test]
    fn honest_signatures_hold_together_and_one_forgery_breaks_the_batch() {
        let keys: Vec<_> =
            (1..=5u8).map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32])).collect();
        let messages: Vec<[u8; 32]> = (0..5u8).map(|i| [i; 32]).collect();
        let signatures: Vec<[u8; 64]> =
            keys.iter().zip(&messages).map(|(k, m)| k.sign(m).to_bytes()).collect();
        let batch_key = |k: &ed25519_dalek::SigningKey| BatchKey {
            bytes: k.verifying_key().to_bytes(),
            point: k.verifying_key().to_edwards(),
        };
        let items = |messages: &[[u8; 32]]| -> bool {
            let items: Vec<Item<'_>> = keys
                .iter()
                .zip(&signatures)
                .zip(messages)
                .map(|((k, s), m)| Item { key: batch_key(k), signature: s, message: m })
                .collect();
            holds(&items)
        };
        assert!(items(&messages));
        let mut forged = messages;
        forged[3][0] ^= 1;
        assert!(!items(&forged));
        assert!(holds(&[]), "nothing to check holds");
    }
}
