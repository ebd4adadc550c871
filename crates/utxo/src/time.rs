//! Bitcoin's clock over n-VM blocks (BIP113): the median time past of the last 11 blocks, which
//! time-based nLockTime and BIP68 relative locks compare against — never a single proposer's
//! timestamp, so no one proposer can move a lock's deadline.

use borsh::BorshDeserialize;
use nvm_primitives::{StateKey, sha256};
use nvm_state_api::{StateAccess, StateAccessExt, StateError};

/// How many blocks' timestamps the median is over (Bitcoin's).
pub const MEDIAN_TIME_BLOCKS: usize = 11;

/// `SHA-256("bvm:recent-block-times")` → the timestamps (seconds) of the last
/// [`MEDIAN_TIME_BLOCKS`] blocks, oldest first: written as each block closes.
pub fn recent_times_key() -> StateKey {
    sha256(b"bvm:recent-block-times")
}

/// The timestamps recorded so far (none before the first block closes).
pub fn recent_times(state: &mut dyn StateAccess) -> Result<Vec<u64>, StateError> {
    Ok(state.get_decoded(&recent_times_key())?.unwrap_or_default())
}

/// The median of `times` as Bitcoin Core takes it (the middle one once sorted, the upper one of
/// an even count); 0 for none.
pub fn median(times: &[u64]) -> u64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// The median time past of the blocks up to the one a transaction runs after: what its time
/// locks are checked against, and the time a coin it creates counts its relative locks from.
pub fn median_time_past(state: &mut dyn StateAccess) -> Result<u64, StateError> {
    Ok(median(&recent_times(state)?))
}

/// The recorded timestamps once a block at `block_time_s` closes, encoded for state.
pub fn times_after_block(mut times: Vec<u64>, block_time_s: u64) -> Vec<u8> {
    times.push(block_time_s);
    let excess = times.len().saturating_sub(MEDIAN_TIME_BLOCKS);
    times.drain(..excess);
    borsh::to_vec(&times).expect("writing to a Vec cannot fail")
}

/// Decodes a recorded list (for readers that hold raw bytes).
pub fn decode_times(bytes: &[u8]) -> Option<Vec<u64>> {
    Vec::<u64>::try_from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_cores_and_the_window_keeps_eleven() {
        assert_eq!(median(&[]), 0);
        assert_eq!(median(&[5]), 5);
        assert_eq!(median(&[9, 1]), 9); // the upper of two, as Core's pmedian[n / 2]
        assert_eq!(median(&[3, 100, 1, 2, 50]), 3); // one outlier cannot move it
        let mut times = Vec::new();
        for t in 1..=15u64 {
            times = decode_times(&times_after_block(times, t * 10)).unwrap();
        }
        assert_eq!(times, (5..=15).map(|t| t * 10).collect::<Vec<_>>());
        assert_eq!(median(&times), 100);
    }
}
