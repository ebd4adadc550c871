//! Ids of subscriptions and filters as geth hands them out: 16 random bytes in 0x-hex (clients
//! treat them as opaque strings; some assume strings).

use jsonrpsee::{core::traits::IdProvider, types::SubscriptionId};
use rand_core::RngCore;

/// A fresh id: 16 bytes from the OS's generator, `0x`-hex.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    crate::hex0x(&bytes)
}

/// Subscription ids of the node's port ([`random_id`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct HexIds;

impl IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(random_id().into())
    }
}
