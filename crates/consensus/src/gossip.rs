//! Transaction gossip: what clients submit to one validator reaches the others (whichever leads
//! next builds it into a block). Transactions announced close together travel as one message,
//! so a burst of thousands costs each peer a few messages, and their signatures are checked in
//! one batch on arrival. Gossiped transactions are admitted like a client's, not passed on.

use commonware_codec::{Decode, Encode, RangeCfg};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner, Supervisor};
use futures::{StreamExt, channel::mpsc};
use nvm_node::{Chain, Mempool};
use nvm_primitives::MAX_TX_SIZE;
use std::{sync::Arc, time::Duration};

/// Most bytes of transactions one gossip message carries.
pub const MAX_GOSSIP_BYTES: usize = 4 * 1024 * 1024;
/// Most transactions one gossip message carries.
pub const MAX_GOSSIP_TXS: usize = 16_384;
/// How often the transactions clients submitted here that are still pending are announced
/// again: a gossip message can be lost (a peer down or partitioned, backpressure, a crash right
/// after a client's submission), and a transaction only its first validator holds waits for that
/// validator to lead.
pub const REBROADCAST_EVERY: Duration = Duration::from_secs(2);
/// Most transactions announced again per round, oldest first.
pub const REBROADCAST_MAX: usize = 4_096;

/// One gossip message: transactions in their block encoding.
pub fn encode_batch(raws: &[Vec<u8>]) -> Vec<u8> {
    raws.to_vec().encode().to_vec()
}

/// Decodes a peer's gossip message strictly: bounded counts and sizes, nothing left over.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Vec<u8>>, commonware_codec::Error> {
    let config = (RangeCfg::from(0..=MAX_GOSSIP_TXS), (RangeCfg::from(0..=MAX_TX_SIZE), ()));
    Vec::<Vec<u8>>::decode_cfg(bytes::Bytes::copy_from_slice(bytes), &config)
}

/// Starts gossip on `context`: the mempool's announcer feeds the outgoing side; what peers send
/// is admitted to the mempool.
pub fn start<E, S, R>(
    context: &E,
    chain: &Arc<Chain>,
    mempool: &Arc<Mempool>,
    (mut sender, mut receiver): (S, R),
) where
    E: Spawner + Supervisor + Clock,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let (outbox, mut outgoing) = mpsc::unbounded::<Vec<u8>>();
    let again = outbox.clone();
    mempool.set_announcer(Box::new(move |raw| {
        let _ = outbox.unbounded_send(raw.to_vec());
    }));
    let pool = mempool.clone();
    context.child("gossip_again").spawn(|clock| async move {
        // Transactions that arrived before the previous round and are still pending.
        let mut mark = pool.arrivals();
        loop {
            clock.sleep(REBROADCAST_EVERY).await;
            for raw in pool.waiting_since(mark, REBROADCAST_MAX) {
                if again.unbounded_send(raw).is_err() {
                    return;
                }
            }
            mark = pool.arrivals();
        }
    });
    context.child("gossip_out").spawn(|_| async move {
        while let Some(first) = outgoing.next().await {
            let mut size = first.len();
            let mut batch = vec![first];
            // Whatever else is already waiting goes in the same message.
            while size < MAX_GOSSIP_BYTES && batch.len() < MAX_GOSSIP_TXS {
                match outgoing.try_recv() {
                    Ok(raw) => {
                        size += raw.len();
                        batch.push(raw);
                    }
                    _ => break,
                }
            }
            sender.send(Recipients::All, encode_batch(&batch), false);
        }
    });
    let (chain, mempool) = (chain.clone(), mempool.clone());
    context.child("gossip_in").spawn(|_| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let raws = match decode_batch(message.as_ref()) {
                Ok(raws) => raws,
                Err(e) => {
                    tracing::warn!(peer = %peer, error = %e, "undecodable gossip message dropped");
                    continue;
                }
            };
            match chain.submit_from_peer(&mempool, raws) {
                Ok(results) => {
                    for e in results.into_iter().filter_map(Result::err) {
                        tracing::debug!(peer = %peer, error = %e, "gossiped transaction not admitted");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot admit gossiped transactions"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn batches_round_trip(raws in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20)) {
            prop_assert_eq!(decode_batch(&encode_batch(&raws)).unwrap(), raws);
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(raws) = decode_batch(&bytes) {
                prop_assert_eq!(encode_batch(&raws), bytes, "only canonical encodings decode");
            }
        }
    }

    #[test]
    fn oversized_batches_are_refused() {
        let too_many = vec![Vec::new(); MAX_GOSSIP_TXS + 1];
        assert!(decode_batch(&encode_batch(&too_many)).is_err());
        let too_big = vec![vec![0u8; MAX_TX_SIZE + 1]];
        assert!(decode_batch(&encode_batch(&too_big)).is_err());
        let mut trailing = encode_batch(&[vec![1, 2, 3]]);
        trailing.push(0);
        assert!(decode_batch(&trailing).is_err());
    }
}
