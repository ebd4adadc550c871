//! SHA-256, the one hash of the n-VM design (SPEC §2, §3).

use sha2::{Digest, Sha256};

/// A 32-byte identity commitment: the account every VM address points back to.
pub type IdCom = [u8; 32];
/// A token identifier in the unified ledger.
pub type Mint = [u8; 32];
/// A key in the flat, authenticated state: always a SHA-256 of a domain prefix and its fields.
pub type StateKey = [u8; 32];

/// SHA-256 of one byte string.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 of the concatenation of `parts`, without allocating the concatenation.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_equal_concatenation() {
        assert_eq!(sha256_parts(&[b"ab", b"", b"cd"]), sha256(b"abcd"));
    }

    #[test]
    fn known_vector() {
        // SHA-256("abc") from FIPS 180-2.
        let digest = sha256(b"abc");
        assert_eq!(digest[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
